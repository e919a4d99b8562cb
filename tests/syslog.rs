//! Syslog from real senders (util-linux `logger`, rsyslog) through the real
//! collector binary into the real Kafka broker, read back with a consumer.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::push::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(120);
/// Messages per sender; UDP bursts of this size fit the default socket buffer
/// (212992 bytes) even if the collector is briefly descheduled.
const N: usize = 100;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// Sends every line of `file` as one message with `logger` (RFC 3164).
fn logger(transport: &[&str], (host, port): &(String, String), tag: &str, file: &Path) {
    logger_as("--rfc3164", transport, &(host.clone(), port.clone()), tag, file);
}

/// Sends every line of `file` with `logger` in `format` (`--rfc3164` or
/// `--rfc5424`, the latter with structured data).
fn logger_as(format: &str, transport: &[&str], (host, port): &(String, String), tag: &str, file: &Path) {
    let structured: &[&str] = if format == "--rfc5424" {
        &["--sd-id", "zoo@32473", "--sd-param", "tiger=\"hungry\"", "--msgid", "FEED"]
    } else {
        &[]
    };
    let status = Command::new("logger")
        .args(transport)
        .args(structured)
        .args([
            format,
            "-n",
            host,
            "-P",
            port,
            "-t",
            tag,
            "--id=4242",
            "-f",
        ])
        .arg(file)
        .status()
        .expect("logger (util-linux) is installed");
    assert!(status.success(), "logger {transport:?}");
}

fn write_lines(dir: &Path, name: &str, prefix: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let text: String = (0..N)
        .map(|i| format!("{prefix} message {i:04}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Every expected message exactly once.
fn assert_exactly_once(counts: &HashMap<String, usize>, prefix: &str) {
    for i in 0..N {
        let message = format!("{prefix} message {i:04}");
        assert_eq!(counts.get(&message).copied().unwrap_or(0), 1, "`{message}`");
    }
}

#[test]
fn logger_over_udp_tcp_octet_counting_and_tcp_newline_arrives_exactly_once() {
    let dir = temp_dir("syslog-logger");
    let topic = unique("lw-syslog");
    let data = dir.join("data");
    let collector = Collector::start(
        &[
            "collector",
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--syslog",
            "udp://127.0.0.1:0",
            "--syslog",
            "tcp://127.0.0.1:0",
        ],
        &brokers(),
        &["syslog udp", "syslog tcp"],
    );
    let udp = collector.host_port("syslog udp");
    let tcp = collector.host_port("syslog tcp");
    logger(
        &["-d"],
        &udp,
        "udpprog",
        &write_lines(&dir, "udp.txt", "udp"),
    );
    logger(
        &["-T", "--octet-count"],
        &tcp,
        "octetprog",
        &write_lines(&dir, "octet.txt", "octet"),
    );
    logger(
        &["-T"],
        &tcp,
        "lineprog",
        &write_lines(&dir, "line.txt", "line"),
    );

    logger_as(
        "--rfc5424",
        &["-T", "--octet-count"],
        &tcp,
        "fiveprog",
        &write_lines(&dir, "five.txt", "five"),
    );

    let events = read_topic(&brokers(), &topic, TIMEOUT, |events| events.len() >= 4 * N);
    let counts = message_counts(&events);
    for prefix in ["udp", "octet", "line", "five"] {
        assert_exactly_once(&counts, prefix);
    }
    let host = hostname();
    for event in &events {
        let message = event["message"].as_str().unwrap();
        let program = match message.split(' ').next().unwrap() {
            "udp" => "udpprog",
            "octet" => "octetprog",
            "line" => "lineprog",
            "five" => {
                // RFC 5424: structured data lands in fields.
                assert_eq!(event["fields"]["sd.zoo@32473.tiger"], "hungry", "{event}");
                "fiveprog"
            }
            other => panic!("unexpected message {other}"),
        };
        assert_eq!(event["process.name"], program, "{event}");
        assert_eq!(event["process.pid"], 4242, "{event}");
        assert_eq!(event["host.name"], host.as_str(), "{event}");
        assert!(
            event["log.source.address"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:"),
            "{event}"
        );
        assert!(event.get("parse.error").is_none(), "{event}");
    }
    collector.stop();
    // Nothing was produced twice (the idempotent producer retried nothing visible).
    assert_eq!(topic_message_count(&brokers(), &topic), 4 * N as i64);
}

#[test]
fn rsyslog_forwards_a_file_over_tcp_octet_counted_and_udp() {
    if Command::new("rsyslogd")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        panic!("rsyslogd is not installed (apt-get install rsyslog; .ci/run installs it)");
    }
    let dir = temp_dir("syslog-rsyslog");
    let topic = unique("lw-rsyslog");
    let data = dir.join("data");
    let collector = Collector::start(
        &[
            "collector",
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--syslog",
            "udp://127.0.0.1:0",
            "--syslog",
            "tcp://127.0.0.1:0",
        ],
        &brokers(),
        &["syslog udp", "syslog tcp"],
    );
    let (_, udp_port) = collector.host_port("syslog udp");
    let (_, tcp_port) = collector.host_port("syslog tcp");
    let tcp_file = write_lines(&dir, "tcp.log", "rsyslog-tcp");
    let udp_file = write_lines(&dir, "udp.log", "rsyslog-udp");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{tcp_file}" Tag="rsyslogtcp:" ruleset="tcp")
input(type="imfile" File="{udp_file}" Tag="rsyslogudp:" ruleset="udp")
ruleset(name="tcp") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_TraditionalForwardFormat" queue.type="LinkedList" action.resumeRetryCount="-1")
}}
ruleset(name="udp") {{
  action(type="omfwd" target="127.0.0.1" port="{udp_port}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
}}
"#,
            work = work.display(),
            tcp_file = tcp_file.display(),
            udp_file = udp_file.display(),
        ),
    )
    .unwrap();
    let pidfile = dir.join("rsyslogd.pid");
    let mut rsyslog = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(&pidfile)
        .stdout(Stdio::null())
        .spawn()
        .expect("starting rsyslogd");

    let events = read_topic(&brokers(), &topic, TIMEOUT, |events| {
        let counts = message_counts(events);
        (0..N).all(|i| {
            counts.contains_key(&format!("rsyslog-tcp message {i:04}"))
                && counts.contains_key(&format!("rsyslog-udp message {i:04}"))
        })
    });
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    let counts = message_counts(&events);
    assert_exactly_once(&counts, "rsyslog-tcp");
    assert_exactly_once(&counts, "rsyslog-udp");
    let by_tag: HashMap<&str, usize> = events.iter().fold(HashMap::new(), |mut m, e: &Value| {
        *m.entry(e["process.name"].as_str().unwrap_or(""))
            .or_insert(0) += 1;
        m
    });
    assert_eq!(by_tag.get("rsyslogtcp"), Some(&N), "{by_tag:?}");
    assert_eq!(by_tag.get("rsyslogudp"), Some(&N), "{by_tag:?}");
    collector.stop();
}

/// The configured parser set (routes, syslog time zone, the chain) reaches
/// syslog and HTTP ingest as it reaches files: before, push sources parsed
/// with the built-in defaults, and a route sent 0 of 50 `logger` messages
/// where it sent 20 of 20 file lines.
#[test]
fn routes_and_the_syslog_time_zone_reach_every_push_source() {
    let dir = temp_dir("syslog-config");
    let topic = unique("lw-syslog-config");
    let data = dir.join("data");
    let config = key_config(
        &dir,
        "[collector.parse]\nsyslog_timezone = \"Asia/Seoul\"\n\
         [[collector.routes]]\nfield = \"process.name\"\nequals = \"fwprog\"\nstream = \"firewall\"\n",
    );
    let collector = Collector::start(
        &[
            "collector",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--topic",
            &topic,
            "--syslog",
            "tcp://127.0.0.1:0",
            "--http-ingest",
            "127.0.0.1:0",
        ],
        &brokers(),
        &["syslog tcp", "http ingest"],
    );
    let lines = 50;
    let path = dir.join("fw.txt");
    std::fs::write(&path, (0..lines).map(|i| format!("fw message {i:04}\n")).collect::<String>()).unwrap();
    logger(&["-T"], &collector.host_port("syslog tcp"), "fwprog", &path);
    // A classic syslog line (no zone in its time) sent over HTTP ingest.
    let response = reqwest::blocking::Client::new()
        .post(collector.url("/api/v1/ingest/app"))
        .bearer_auth(INGEST_KEY)
        .body("Mar  1 09:00:00 gw01 sshd[7]: http line in seoul time\n")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let doc = serde_json::json!({"message": "Mar  1 09:00:00 gw01 fwprog[9]: bulk routed"}).to_string();
    let response = reqwest::blocking::Client::new()
        .post(collector.url("/_bulk"))
        .bearer_auth(INGEST_KEY)
        // An index name that is no stream name: routing picks the stream.
        .body(format!("{{\"index\":{{\"_index\":\"Filebeat-8\"}}}}\n{doc}\n"))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let events = read_topic(&brokers(), &topic, TIMEOUT, |events| events.len() >= lines + 2);
    let routed = events.iter().filter(|e| e["process.name"] == "fwprog" && e["stream"] == "firewall").count();
    assert_eq!(routed, lines + 1, "every fwprog message from logger and _bulk went to the routed stream");
    let http = events.iter().find(|e| e["message"] == "http line in seoul time").expect("the http line");
    // 09:00 in Seoul (UTC+9) is midnight UTC.
    let at = http["@timestamp"].as_str().unwrap();
    assert!(at.ends_with("-03-01T00:00:00Z"), "{at}");
    // The path stream is forced; the route does not move it.
    assert_eq!(http["stream"], "app");
    collector.stop();
}
