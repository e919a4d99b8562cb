//! Micro-benchmarks of each parser on realistic lines, reported as events/s
//! (`.../events`) and bytes/s (`.../bytes`):
//!
//!     cargo bench -p logwarden-parse
//!
//! Each iteration parses a small batch of lines, each into a fresh event
//! (the cost a source pays per line).

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput};
use logwarden_event::Event;
use logwarden_parse::syslog::{SyslogOptions, rfc3164, rfc5424};
use logwarden_parse::{LineContext, Parsers, PatternLibrary, Tz, cef, json, leef, logfmt};

const JSON: &[&str] = &[
    r#"{"@timestamp":"2026-02-11T08:15:01.123Z","event":{"code":"4625"},"host":{"name":"DC01"},"winlog":{"channel":"Security","event_id":"4625","event_data":{"TargetUserName":"bob","IpAddress":"192.0.2.10","IpPort":"51234","LogonType":"3"}},"message":"An account failed to log on."}"#,
    r#"{"time":"2026-03-01T10:00:00.123Z","level":"info","msg":"request served","method":"GET","path":"/api/v1/search","status":200,"duration_ms":12.5,"user":"alice"}"#,
];
const LOGFMT: &[&str] = &[
    r#"time=2026-03-01T10:00:00.000Z level=info msg="request served" method=GET path=/api/v1/search status=200 duration=12ms user=alice"#,
    r#"at=info method=GET path="/users?id=1" host=myapp.herokuapp.com fwd="204.204.204.204" dyno=web.1 connect=1ms service=18ms status=200 bytes=1234"#,
];
const RFC5424: &[&str] = &[
    r#"<165>1 2026-03-01T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry"#,
    "<38>1 2026-03-01T10:00:00.5+01:00 bastion sshd 4242 - - Failed password for root from 198.51.100.3 port 2222 ssh2",
];
const RFC3164: &[&str] = &[
    "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    "<86>Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
    "<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)",
];
const CEF: &[&str] = &[
    "CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|rt=1772360430000 src=10.1.1.1 dst=8.8.8.8 spt=5000 dpt=53 proto=UDP act=allow suser=corp\\\\alice cs1=rule-dns cs1Label=Rule",
    "CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=hostname duser=root outcome=Failure msg=Realtime scan found a virus",
];
const LEEF: &[&str] = &[
    "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black",
    "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^devTime=1772360430000",
];
/// (program, message) as the syslog header leaves them.
const PATTERNS: &[(&str, &str)] = &[
    ("sshd", "Failed password for invalid user admin from 203.0.113.5 port 2222 ssh2"),
    ("sshd", "Received disconnect from 139.59.209.18 port 53386:11: Bye Bye [preauth]"),
    (
        "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root",
    ),
    (
        "kernel",
        "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=203.0.113.9 DST=10.0.0.5 LEN=60 PROTO=TCP SPT=51234 DPT=22 WINDOW=29200 SYN",
    ),
    ("CRON", "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)"),
];

fn received() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_323_200, 0).expect("valid time")
}

/// One benchmark: a batch of lines and how to parse the whole batch.
struct Case<'a> {
    name: &'static str,
    events: u64,
    bytes: u64,
    run: Box<dyn Fn() -> usize + 'a>,
}

fn case<'a, T>(
    name: &'static str,
    lines: &'a [T],
    len: impl Fn(&T) -> usize,
    parse: impl Fn(&T) -> Event + 'a,
) -> Case<'a> {
    Case {
        name,
        events: lines.len() as u64,
        bytes: lines.iter().map(len).sum::<usize>() as u64,
        run: Box::new(move || {
            for line in lines {
                black_box(parse(black_box(line)));
            }
            lines.len()
        }),
    }
}

fn with(line: &str, parse: impl Fn(&str, &mut Event) -> bool) -> Event {
    let mut event = Event::new(line, received());
    assert!(parse(line, &mut event), "benchmark line not recognized: {line}");
    event
}

fn main() {
    let openssh =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/loghub/OpenSSH_2k.log"))
            .unwrap_or_default();
    let openssh: Vec<&str> = openssh.lines().collect();
    let library = PatternLibrary::builtin();
    let options = SyslogOptions::default();
    let chain = Parsers::default();
    let ctx = LineContext { ingested: received(), host_name: "bench", file_path: None, stream: None };
    let mixed: Vec<&str> = [JSON, LOGFMT, RFC5424, RFC3164, CEF, LEEF].concat();
    let str_len = |l: &&str| l.len();
    // The `logwarden bench` corpus mix (auth and system syslog, access
    // lines, 20% JSON), parsed and encoded as the collector does per line:
    // the "parse+encode, 1 thread" figure of BENCHMARKS.md.
    let generated: Vec<String> =
        logwarden_generator::Generator::new(1, received(), chrono::Duration::milliseconds(900))
            .with_json_share(0.2)
            .take(1000)
            .map(|(_, line)| line)
            .collect();
    let payload = std::cell::RefCell::new(Vec::new());
    let mut cases = vec![
        case("json", JSON, str_len, |l| with(l, json::parse_json)),
        case("logfmt", LOGFMT, str_len, |l| with(l, logfmt::parse_logfmt)),
        case("rfc5424", RFC5424, str_len, |l| with(l, rfc5424::parse_rfc5424)),
        case("rfc3164", RFC3164, str_len, |l| with(l, |l, e| rfc3164::parse_rfc3164(l, received(), &options, e))),
        case("cef", CEF, str_len, |l| with(l, cef::parse_cef)),
        case("leef", LEEF, str_len, |l| with(l, leef::parse_leef)),
        case(
            "patterns",
            PATTERNS,
            |(_, m)| m.len(),
            |(program, message)| with(message, |l, e| library.apply(l, Some(program), Tz::UTC, e).is_some()),
        ),
        case("chain_auto_mixed", &mixed, str_len, |l| chain.parse(l, &ctx)),
    ];
    cases.push(case(
        "chain_auto_generated_encode",
        &generated,
        |l| l.len(),
        |l| {
            let event = chain.parse(l, &ctx);
            let mut payload = payload.borrow_mut();
            payload.clear();
            logwarden_event::wire::encode_into(&event, &mut payload);
            event
        },
    ));
    // Real sshd traffic (syslog header + pattern library), when the shared
    // loghub data is there.
    if !openssh.is_empty() {
        cases.push(case("chain_auto_openssh_2k", &openssh, str_len, |l| chain.parse(l, &ctx)));
    }

    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs this binary with libtest flags
        // criterion refuses: run each case once (every line must parse).
        for case in &cases {
            assert_eq!((case.run)() as u64, case.events, "{}", case.name);
        }
        println!("benchmark smoke test ok: {} cases", cases.len());
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    for case in &cases {
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(case.events));
        group.bench_function("events", |b| b.iter(&case.run));
        group.throughput(Throughput::Bytes(case.bytes));
        group.bench_function("bytes", |b| b.iter(&case.run));
        group.finish();
    }
    c.final_summary();
}
