//! A golden check of everything the chain produces, recorded before the
//! parsers were rewritten for speed (hand-written RFC 3164 header and
//! timestamps, the pattern library dispatched by program): every line's
//! event must stay the same, field by field.
//!
//! The inputs are read in place (loghub's corpora from the shared data
//! folder, the fuzz seeds) or generated; only a 64-bit FNV-1a digest of
//! the events (as canonical JSON, with the chain in UTC and in a zone with
//! summer time; one digest per 10 lines of a corpus) is kept in
//! `tests/golden/events.fnv`, so no log text is copied into the repository. Besides the lines themselves, the header
//! parsers' rejection paths are covered by every prefix of the first bytes
//! of a line and by single-byte substitutions in its header.
//!
//! After an intended change of the parsers' output, re-record with
//! `LOGWARDEN_BLESS=1 cargo test -p logwarden-parse --test golden` and
//! review the lines it reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::DateTime;
use logwarden_parse::{LineContext, Parsers};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/events.fnv");
const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/loghub/");
const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds/");

/// Vendor variants and near misses of every header and whole-line format.
const EDGE: &[&str] = &[
    "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
    "Jan  1 09:00:55 combo kernel: Linux version 2.6.5",
    "<38>Jan  2 03:04:05 web01 sshd[7]: Accepted password for bob from 10.0.0.1 port 22 ssh2",
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
    "Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
    "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2",
    "<86>Jan  3 10:00:00 sshd[99]: Connection closed by 10.1.1.1 port 22",
    "<30>2026-01-03T10:00:00.123456+01:00 web01 systemd[1]: Started x.",
    "<30>2026-01-03T10:00:00.123456+0100 web01 systemd[1]: Started x.",
    "<30>2026-01-03T10:00:00Z web01 systemd[1]: Started x.",
    "2026-01-03T10:00:00 web01 app: x",
    "2026-03-29T02:30:00 web01 app: skipped by the change to summer time",
    "Mar 29 02:30:00 web01 app: skipped by the change to summer time",
    "Oct 25 02:30:00 web01 app: ambiguous at the change to winter time",
    "<189>123: *Jan  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)",
    "<187>45: router1: Jan  2 00:27:49.243 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
    "<187>45: router1: .Jan  2 00:27:49.243 CEST: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
    "<187>Jan  2 00:27:49 GMT: %LINK-3-UPDOWN: x",
    "<166>Jan 05 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:1.2.3.4/443",
    "Jan 05 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound",
    "<166>Feb 29 2025 10:00:00 fw01 : %ASA-6-302013: not a leap year",
    "Feb 29 10:00:00 host app: leap day in a year that has none",
    "Dec 31 23:59:59 host app[1]: last year, read in March",
    "Mar  2 00:00:00 host app[1]: more than a day ahead",
    "Mar  1 23:59:59 host app[1]: within a day",
    "Feb 31 03:04:05 web01 sshd[7]: x",
    "Foo  2 03:04:05 web01 sshd[7]: x",
    "<200>Jan  2 03:04:05 web01 sshd[7]: x",
    "<034>Jan  2 03:04:05 web01 sshd[7]: x",
    "Jan  2 24:04:05 web01 sshd[7]: x",
    "Jan  2 23:60:05 web01 sshd[7]: x",
    "Jan  2 23:59:60 web01 sshd[7]: leap second",
    "Jan 32 03:04:05 web01 sshd[7]: x",
    "Jan  0 03:04:05 web01 sshd[7]: x",
    "Jan 002 03:04:05 web01 sshd[7]: x",
    "Jan 2 03:04:05 web01 sshd[7]: one space",
    "Jan   2 03:04:05 web01 sshd[7]: three spaces",
    "Jan  2 03:04:05.1234567891 web01 sshd[7]: ten fraction digits",
    "Jan  2 03:04:05.5 web01 sshd[7]: one fraction digit",
    "Jan  2 3:04:05 web01 sshd[7]: one-digit hour",
    "Jan  2 03:04:05: web01 sshd[7]: colon after the time",
    "Jan  2 03:04:05 web01 sshd[abc]: non-numeric pid",
    "Jan  2 03:04:05 web01 sshd[]: empty pid",
    "Jan  2 03:04:05 web01 sshd[99999999999]: pid too large",
    "Jan  2 03:04:05 web01 sshd[1] no colon",
    "Jan  2 03:04:05 web01 sshd[1]:",
    "Jan  2 03:04:05 web01 sshd:",
    "Jan  2 03:04:05 web01 sshd",
    "Jan  2 03:04:05 web01",
    "Jan  2 03:04:05 ",
    "Jan  2 03:04:05",
    "Jan  2 03:04:05 web01 : x",
    "Jan  2 03:04:05 web01 %ASA-6-1: x",
    "Jan  2 03:04:05 sshd[1]: %ASA-6-1: x",
    "<13>Jan  2 03:04:05 web01 java.lang.Thread[main]: x",
    "<13>Jan  2 03:04:05 web01 a:b: x",
    "<13>Jan  2 03:04:05 web01 tab\there: x",
    "<13>Jan  2 03:04:05 wéb01 prög[1]: ünïcode",
    "<13>1: Jan  2 03:04:05 web01 app: seq",
    "<13>12345678901: Jan  2 03:04:05 web01 app: seq too long",
    "<13>r-1.x: Jan  2 03:04:05 web01 app: origin",
    "<13>_r: Jan  2 03:04:05 web01 app: origin starting with underscore",
    "<13>1: r1: *Jan  2 03:04:05.123 PST: %A-1-B: x",
    "<13>1: r1: *Jan  2 03:04:05.123 PST:   %A-1-B: x",
    "<13>Jan  2 03:04:05 PSTX app: zone-like host",
    "<13>Jan  2 03:04:05 PSTXY app: too long for a zone",
    "<13>Jan  2 2026 03:04:05 web01 app: year",
    "<13>Jan  2 26 03:04:05 web01 app: short year",
    "<13>2026-13-03T10:00:00 web01 app: bad month",
    "<13>2026-01-03T10:00:00.1234567891 web01 app: ten digits",
    "<13>2026-01-03T10:00:00+25:00 web01 app: bad offset",
    "<13>2026-01-03T10:00:00+0130 web01 app: offset without colon",
    "<13>2026-01-03 10:00:00 web01 app: space instead of T",
    "<134>Feb 28 23:59:58 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|src=10.1.1.1 dst=8.8.8.8 spt=5000 dpt=53 act=allow",
    "<134>Feb 28 23:59:58 fw01 LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5",
    r#"Feb 28 10:00:00 app1 api[7]: @cee: {"msg":"slow query","level":"warn","duration_ms":1200}"#,
    "<38>1 2026-02-28T10:00:00.5+01:00 bastion sshd 4242 - [meta@1 tenant=\"pci-eu\"] Failed password for root from 198.51.100.3 port 2222 ssh2",
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    "<165>1 - - - - - -",
    "<165>1 2003-08-24T05:14:15.000003-07:00 host app abc MSG - x",
    "Feb 28 10:00:00 h sshd[1]: Failed password for invalid user admin from 203.0.113.5 port 2222 ssh2",
    "Feb 28 10:00:00 h sshd[1]: Accepted publickey for bob from 2001:db8::1 port 2222 ssh2",
    "Feb 28 10:00:00 h sshd[1]: Received disconnect from 139.59.209.18 port 53386:11: Bye Bye [preauth]",
    "Feb 28 10:00:00 h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root",
    "Feb 28 10:00:00 h sshd[1]: Disconnected from authenticating user root 1.2.3.4 port 22 [preauth]",
    "Feb 28 10:00:00 h sshd[1]: Invalid user oracle from 1.2.3.4 port 22",
    "Feb 28 10:00:00 h sshd[1]: input_userauth_request: invalid user oracle [preauth]",
    "Feb 28 10:00:00 h sshd[1]: reverse mapping checking getaddrinfo for x.example [1.2.3.4] failed - POSSIBLE BREAK-IN ATTEMPT!",
    "Feb 28 10:00:00 h sshd[1]: Disconnecting: Too many authentication failures for root 1.2.3.4 port 22",
    "Feb 28 10:00:00 h sshd[1]: Connection closed by invalid user x 1.2.3.4 port 22 [preauth]",
    "Feb 28 10:00:00 h sshd[1]: Did not receive identification string from 1.2.3.4",
    "Feb 28 10:00:00 h sshd[1]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
    "Feb 28 10:00:00 h sshd(pam_unix)[1]: check pass; user unknown",
    "Feb 28 10:00:00 h su(pam_unix)[1]: session opened for user root by alice(uid=1000)",
    "Feb 28 10:00:00 h login[1]: pam_unix(login:session): session closed for user root",
    "Feb 28 10:00:00 h sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
    "Feb 28 10:00:00 h sudo[12]: alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
    "Feb 28 10:00:00 h su[1]: Successful su for root by alice",
    "Feb 28 10:00:00 h su[1]: (to root) alice on pts/1",
    "Feb 28 10:00:00 h su[1]: FAILED su for root by alice",
    "Feb 28 10:00:00 h CRON[1]: (root) CMD (run-parts /etc/cron.hourly)",
    "Feb 28 10:00:00 h crond(pam_unix)[1]: session closed for user root",
    "Feb 28 10:00:00 h anacron[1]: (root) CMD (x)",
    "Feb 28 10:00:00 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=203.0.113.9 DST=10.0.0.5 LEN=60 PROTO=TCP SPT=51234 DPT=22",
    "Feb 28 10:00:00 h kernel: [ 1234.5678] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.5 LEN=60 PROTO=ICMP TYPE=8",
    "Feb 28 10:00:00 h nginx: 10.1.2.3 - - [10/Oct/2026:13:55:36 +0200] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"",
    "Feb 28 10:00:00 h nginx: 2026/01/05 10:00:00 [error] 1234#5678: *9 open() \"/x\" failed, client: 198.51.100.7, server: example.com, request: \"GET /x HTTP/1.1\"",
    "Feb 28 10:00:00 h httpd: [Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
    "Feb 28 10:00:00 h otherprog[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    "Feb 28 10:00:00 h sshd-session[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    "Feb 28 10:00:00 h sshd(x[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    "Feb 28 10:00:00 h (sshd)[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    "Feb 28 10:00:00 h pam(sshd)[1]: Failed password for root from 1.2.3.4 port 22 ssh2",
    r#"10.1.2.3 - alice [10/Oct/2026:13:55:36 +0200] "GET /login?x=1 HTTP/1.1" 401 512 "-" "curl/8.0""#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 -0730] "POST /x HTTP/2.0" 200 - "https://r/" "Mozilla/5.0 (X11)""#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x" 200 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 12 "ref only""#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "get /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 2000 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 99999999999999999999999"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [31/Feb/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/Foo/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [1/Oct/2026:3:55:36 +0000] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/October/2026:13:55:36 +0000] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +00:00] "GET /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1" 500 12 "-" "-" extra"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET  /x HTTP/1.1" 200 12"#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "GET /x HTTP/1.1 extra" 200 12"#,
    r#"10.1.2.3 x - [10/Oct/2026:13:55:36 +0000] "\x16\x03" 400 0 "-" "-""#,
    r#"10.1.2.3 - - [10/Oct/2026:13:55:36 +0000] "-" 400 0 "-" "-""#,
    "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
    "[Sat Jun 11 03:03:03 2005] [error] [client 202.133.98.6] File does not exist: /var/www/html/x",
    "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:1234] File does not exist",
    "2026/01/05 10:00:00 [error] 1234#5678: *9 open() \"/x\" failed, client: 198.51.100.7, server: example.com, request: \"GET /x HTTP/1.1\"",
    "level=info msg=hello user=alice",
    r#"{"@timestamp":"2026-02-11T08:15:01.123Z","message":"x","host":{"name":"DC01"}}"#,
    "CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar|6|cn1=1 suser=alice spt=51515 dpt=22",
    "just some text",
    "",
    " ",
    "<",
    "<1>",
];

/// 64-bit FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

struct Digester {
    utc: Parsers,
    berlin: Parsers,
}

impl Digester {
    fn new() -> Digester {
        let utc = Parsers::default();
        let berlin = Parsers::default().with_timezone(logwarden_parse::Tz::Europe__Berlin);
        Digester { utc, berlin }
    }

    /// The events of `line` in both zones, as canonical JSON (sorted keys),
    /// folded into `hash`.
    fn add(&self, line: &str, hash: u64) -> u64 {
        let ctx = LineContext {
            ingested: DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc(),
            host_name: "collector01",
            file_path: Some("/var/log/x.log"),
            stream: None,
        };
        let mut hash = hash;
        for parsers in [&self.utc, &self.berlin] {
            let event = parsers.parse(line, &ctx);
            let canonical = serde_json::to_value(&event).expect("event to JSON").to_string();
            hash = fnv(canonical.as_bytes(), hash);
            hash = fnv(b"\n", hash);
        }
        hash
    }

    fn line(&self, line: &str) -> u64 {
        self.add(line, FNV_OFFSET)
    }

    /// Every prefix of the first 64 bytes and single-byte substitutions in
    /// the first 48: the header parsers' accept/reject decisions.
    fn mutations(&self, line: &str) -> u64 {
        let mut hash = FNV_OFFSET;
        let bytes = line.as_bytes();
        for end in 0..=bytes.len().min(64) {
            if line.is_char_boundary(end) {
                hash = self.add(&line[..end], hash);
            }
        }
        for at in 0..bytes.len().min(48) {
            for b in *b" :0a9A[]().*%<>-T+Z" {
                let mut mutated = bytes.to_vec();
                mutated[at] = b;
                if let Ok(mutated) = std::str::from_utf8(&mutated) {
                    hash = self.add(mutated, hash);
                }
            }
        }
        hash
    }
}

fn digests() -> BTreeMap<String, u64> {
    let digester = Digester::new();
    let mut digests = BTreeMap::new();
    for name in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
        let text = std::fs::read_to_string(format!("{LOGHUB}{name}")).expect("loghub data in the shared folder");
        let lines: Vec<&str> = text.lines().collect();
        for (chunk, group) in lines.chunks(10).enumerate() {
            let digest = group.iter().fold(FNV_OFFSET, |hash, line| digester.add(line, hash));
            digests.insert(format!("{name}:{:04}-{:04}", chunk * 10 + 1, chunk * 10 + group.len()), digest);
        }
        for (number, line) in lines.iter().enumerate() {
            if number % 40 == 0 {
                digests.insert(format!("{name}:{:04}:mutations", number + 1), digester.mutations(line));
            }
        }
    }
    for (number, line) in EDGE.iter().enumerate() {
        digests.insert(format!("edge:{number:03}"), digester.line(line));
        digests.insert(format!("edge:{number:03}:mutations"), digester.mutations(line));
    }
    for kind in ["rfc3164", "rfc5424", "patterns", "chain"] {
        let mut files: Vec<_> = std::fs::read_dir(Path::new(SEEDS).join(kind))
            .expect("fuzz seeds")
            .map(|entry| entry.expect("seed").path())
            .collect();
        files.sort();
        for path in files {
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("seed")).into_owned();
            let name = path.file_name().unwrap().to_string_lossy();
            digests.insert(format!("seed:{kind}/{name}"), digester.line(&text));
            for (number, line) in text.lines().enumerate() {
                digests.insert(format!("seed:{kind}/{name}:{number}:mutations"), digester.mutations(line));
            }
        }
    }
    let start = DateTime::parse_from_rfc3339("2026-02-27T00:00:00Z").unwrap().to_utc();
    let generated = logwarden_generator::Generator::new(11, start, chrono::Duration::seconds(7)).with_json_share(0.1);
    let generated: Vec<String> = generated.take(3000).map(|(_, line)| line).collect();
    for (chunk, group) in generated.chunks(10).enumerate() {
        let digest = group.iter().fold(FNV_OFFSET, |hash, line| digester.add(line, hash));
        digests.insert(format!("generated:{:04}-{:04}", chunk * 10 + 1, chunk * 10 + group.len()), digest);
    }
    digests
}

#[test]
fn every_event_is_the_one_recorded() {
    let digests = digests();
    if std::env::var_os("LOGWARDEN_BLESS").is_some() {
        let mut text = String::new();
        for (name, digest) in &digests {
            writeln!(text, "{name} {digest:016x}").unwrap();
        }
        std::fs::create_dir_all(Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, text).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(GOLDEN).expect("golden digests (LOGWARDEN_BLESS=1 records them)");
    let recorded: BTreeMap<&str, &str> = recorded.lines().filter_map(|l| l.split_once(' ')).collect();
    let mut differ = Vec::new();
    for (name, digest) in &digests {
        if recorded.get(name.as_str()) != Some(&format!("{digest:016x}").as_str()) {
            differ.push(name.clone());
        }
    }
    assert_eq!(recorded.len(), digests.len(), "inputs added or removed: re-record");
    assert!(
        differ.is_empty(),
        "{} events differ from the recorded ones: {:?}",
        differ.len(),
        &differ[..differ.len().min(20)]
    );
}

/// The collector's encoder (`wire::encode_into`, written by hand) against
/// serde's derived serialization, and back, on every event above.
#[test]
fn encode_into_writes_what_serde_writes() {
    let parsers = Parsers::default();
    let ctx = LineContext {
        ingested: DateTime::parse_from_rfc3339("2026-03-01T12:00:00.123456Z").unwrap().to_utc(),
        host_name: "collector01",
        file_path: Some("/var/log/x.log"),
        stream: None,
    };
    let mut lines: Vec<String> = EDGE.iter().map(|l| l.to_string()).collect();
    for name in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
        let text = std::fs::read_to_string(format!("{LOGHUB}{name}")).expect("loghub data in the shared folder");
        lines.extend(text.lines().map(str::to_string));
    }
    let start = DateTime::parse_from_rfc3339("2026-02-27T00:00:00Z").unwrap().to_utc();
    let generated =
        logwarden_generator::Generator::new(11, start, chrono::Duration::milliseconds(7001)).with_json_share(0.2);
    lines.extend(generated.take(3000).map(|(_, line)| line));
    let mut buf = Vec::new();
    for line in &lines {
        let mut event = parsers.parse(line, &ctx);
        event.id = Some(format!("1:2:{}", line.len()));
        buf.clear();
        logwarden_event::wire::encode_into(&event, &mut buf);
        assert_eq!(buf, serde_json::to_vec(&event).unwrap(), "{line}");
        assert_eq!(logwarden_event::wire::decode(&buf).unwrap(), event, "{line}");
    }
}
