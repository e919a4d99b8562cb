//! Realistic synthetic logs for demos, tests and benchmarks: sshd, sudo,
//! PAM, su, cron and kernel lines in RFC 3164 syslog, and nginx access lines,
//! with varied hosts, users, IPs and timestamps, and optionally ECS-style
//! JSON application lines. Deterministic for a seed.
//!
//! # Layout
//!
//! - [`Generator`]: yields `(Kind, line)` pairs in time order.
//! - [`write_corpus`]: writes a corpus as `auth.log`, `syslog` and
//!   `nginx-access.log` (and `app.json` when JSON lines are on) into a
//!   directory, up to a line count or a byte size.
//! - [`parse_size`]: human sizes (`1GB`, `512MiB`) for size flags.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Which file a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Auth,
    Syslog,
    Access,
    /// One ECS-style JSON object per line (an application log).
    Json,
}

impl Kind {
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Auth => "auth.log",
            Kind::Syslog => "syslog",
            Kind::Access => "nginx-access.log",
            Kind::Json => "app.json",
        }
    }
}

const HOSTS: &[&str] = &[
    "web01",
    "web02",
    "web03",
    "db01",
    "db02",
    "bastion",
    "mail01",
    "vpn-gw",
    "app01",
    "app02",
    "ci-runner",
    "ldap01",
];
const USERS: &[&str] = &[
    "root", "admin", "alice", "bob", "carol", "deploy", "backup", "postgres", "www-data",
    "jenkins", "oracle", "test", "guest", "ubuntu",
];
const PATHS: &[&str] = &[
    "/",
    "/login",
    "/api/v1/accounts",
    "/api/v1/transfer",
    "/static/app.js",
    "/admin",
    "/wp-login.php",
    "/health",
    "/api/v1/search?q=card",
    "/.env",
    "/favicon.ico",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "sqlmap/1.8#stable (https://sqlmap.org)",
    "kube-probe/1.31",
];
const COMMANDS: &[&str] = &[
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get upgrade -y",
    "/bin/cat /etc/shadow",
    "/usr/bin/journalctl -u sshd",
    "/usr/sbin/useradd tmpuser",
    "/usr/bin/docker ps",
];
const KERNEL: &[&str] = &[
    "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC={ip} DST=10.0.0.5 LEN=60 PROTO=TCP SPT=51234 DPT=22 WINDOW=29200 SYN",
    "Out of memory: Killed process {pid} (java) total-vm:8123456kB",
    "EXT4-fs (sda1): mounted filesystem with ordered data mode",
    "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.",
    "audit: type=1400 apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/named\" name=\"/etc/shadow\" pid={pid}",
];

const SERVICES: &[&str] = &["payments", "accounts", "gateway", "search", "notifier"];

pub struct Generator {
    rng: StdRng,
    now: DateTime<Utc>,
    step_ms: i64,
    json_share: f64,
}

impl Generator {
    /// Lines start at `start` and advance by about `step` each on average.
    pub fn new(seed: u64, start: DateTime<Utc>, step: Duration) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            now: start,
            step_ms: step.num_milliseconds().max(1),
            json_share: 0.0,
        }
    }

    /// Makes about `share` (0..=1) of the lines ECS-style JSON lines. The
    /// default (0) yields exactly the lines it always did for a seed.
    pub fn with_json_share(mut self, share: f64) -> Generator {
        self.json_share = share.clamp(0.0, 1.0);
        self
    }

    /// The kinds this generator yields, in file order.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::Auth, Kind::Syslog, Kind::Access];
        if self.json_share > 0.0 {
            kinds.push(Kind::Json);
        }
        kinds
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn ip(&mut self) -> String {
        // A few noisy scanners, many ordinary clients.
        if self.rng.random_bool(0.3) {
            let scanners = [
                "185.220.101.4",
                "45.155.205.233",
                "218.92.0.107",
                "61.177.172.19",
            ];
            return scanners[self.rng.random_range(0..scanners.len())].to_string();
        }
        format!(
            "{}.{}.{}.{}",
            self.rng.random_range(1..224),
            self.rng.random_range(0..256),
            self.rng.random_range(0..256),
            self.rng.random_range(1..255)
        )
    }

    fn syslog(&mut self, host: &str, program: &str, message: &str) -> String {
        let pid = self.rng.random_range(300..65000);
        format!(
            "{} {host} {program}[{pid}]: {message}",
            self.now.format("%b %e %H:%M:%S")
        )
    }

    fn auth_line(&mut self) -> String {
        let host = self.pick(HOSTS);
        let user = self.pick(USERS);
        let ip = self.ip();
        let port = self.rng.random_range(1024..65535);
        match self.rng.random_range(0..10) {
            0..=3 => self.syslog(host, "sshd", &format!("Failed password for {user} from {ip} port {port} ssh2")),
            4 => self.syslog(host, "sshd", &format!("Failed password for invalid user {user} from {ip} port {port} ssh2")),
            5 => self.syslog(host, "sshd", &format!("Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:3q2+7w")),
            6 => {
                let cmd = self.pick(COMMANDS);
                self.syslog(host, "sudo", &format!("{user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}"))
            }
            7 => self.syslog(host, "sshd", &format!("pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)")),
            8 => self.syslog(host, "su", &format!("pam_unix(su:auth): authentication failure; logname={user} uid=1000 euid=0 tty=pts/1 ruser={user} rhost=  user=root")),
            _ => self.syslog(host, "sshd", &format!("Disconnected from authenticating user {user} {ip} port {port} [preauth]")),
        }
    }

    fn syslog_line(&mut self) -> String {
        let host = self.pick(HOSTS);
        if self.rng.random_bool(0.5) {
            let user = self.pick(&["root", "www-data", "backup"]);
            self.syslog(
                host,
                "CRON",
                &format!("({user}) CMD (/usr/local/bin/rotate-logs.sh >/dev/null 2>&1)"),
            )
        } else {
            let template = self.pick(KERNEL);
            let message = template
                .replace("{ip}", &self.ip())
                .replace("{pid}", &self.rng.random_range(300..65000).to_string());
            format!(
                "{} {host} kernel: {message}",
                self.now.format("%b %e %H:%M:%S")
            )
        }
    }

    fn access_line(&mut self) -> String {
        let ip = self.ip();
        let path = self.pick(PATHS);
        let agent = self.pick(AGENTS);
        let method = if self.rng.random_bool(0.8) {
            "GET"
        } else {
            "POST"
        };
        let status = *[200, 200, 200, 200, 301, 304, 401, 403, 404, 500]
            .get(self.rng.random_range(0..10))
            .unwrap_or(&200);
        let bytes = self.rng.random_range(0..50_000);
        let user = if self.rng.random_bool(0.1) {
            self.pick(USERS)
        } else {
            "-"
        };
        format!(
            "{ip} - {user} [{}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\"",
            self.now.format("%d/%b/%Y:%H:%M:%S +0000")
        )
    }
}

impl Generator {
    fn json_line(&mut self) -> String {
        let host = self.pick(HOSTS);
        let service = self.pick(SERVICES);
        let user = self.pick(USERS);
        let ip = self.ip();
        let path = self.pick(PATHS);
        let trace: u64 = self.rng.random();
        let duration = self.rng.random_range(200_000..900_000_000u64);
        let (level, action, outcome, status, message) = match self.rng.random_range(0..10) {
            0..=5 => ("info", "request", "success", 200, "request completed"),
            6 => (
                "warn",
                "login",
                "failure",
                401,
                "login failed: bad credentials",
            ),
            7 => ("warn", "rate-limit", "failure", 429, "rate limit exceeded"),
            8 => (
                "error",
                "transfer",
                "failure",
                500,
                "upstream timeout calling ledger",
            ),
            _ => ("info", "login", "success", 200, "user logged in"),
        };
        format!(
            concat!(
                "{{\"@timestamp\":\"{}\",\"log.level\":\"{}\",\"service.name\":\"{}\",",
                "\"host.name\":\"{}\",\"user.name\":\"{}\",\"source.ip\":\"{}\",",
                "\"event.action\":\"{}\",\"event.outcome\":\"{}\",\"event.duration\":{},",
                "\"url.path\":\"{}\",\"http.response.status_code\":{},",
                "\"trace.id\":\"{:016x}\",\"message\":\"{}\"}}"
            ),
            self.now.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            level,
            service,
            host,
            user,
            ip,
            action,
            outcome,
            duration,
            path,
            status,
            trace,
            message
        )
    }
}

impl Iterator for Generator {
    type Item = (Kind, String);

    fn next(&mut self) -> Option<(Kind, String)> {
        self.now += Duration::milliseconds(self.rng.random_range(0..=2 * self.step_ms));
        // No extra draw when JSON is off: a seed keeps its old lines.
        let json = self.json_share > 0.0 && self.rng.random_bool(self.json_share);
        let kind = match self.rng.random_range(0..10) {
            _ if json => Kind::Json,
            0..=3 => Kind::Auth,
            4..=5 => Kind::Syslog,
            _ => Kind::Access,
        };
        let line = match kind {
            Kind::Auth => self.auth_line(),
            Kind::Syslog => self.syslog_line(),
            Kind::Access => self.access_line(),
            Kind::Json => self.json_line(),
        };
        Some((kind, line))
    }
}

/// When [`write_corpus`] stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Lines(usize),
    /// Stops after the line that reaches this many bytes (newlines included).
    Bytes(u64),
}

/// What one file of a corpus holds.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub kind: Kind,
    pub lines: usize,
    /// Bytes written, newlines included.
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Corpus {
    pub files: Vec<CorpusFile>,
    /// The time of the last line written (`None`: no line). With a step
    /// rounded down to whole milliseconds and `Limit::Bytes` guessed as
    /// lines, it can fall hours before the span's end.
    pub last_event: Option<DateTime<Utc>>,
}

impl Corpus {
    pub fn lines(&self) -> usize {
        self.files.iter().map(|f| f.lines).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Writes generated lines into `dir`, one file per kind, until `limit`.
pub fn write_corpus(dir: &Path, generator: Generator, limit: Limit) -> std::io::Result<Corpus> {
    std::fs::create_dir_all(dir)?;
    let kinds = generator.kinds();
    let mut writers = Vec::new();
    for kind in &kinds {
        writers.push(BufWriter::new(File::create(dir.join(kind.file_name()))?));
    }
    let mut files: Vec<CorpusFile> = kinds
        .iter()
        .map(|&kind| CorpusFile {
            kind,
            lines: 0,
            bytes: 0,
        })
        .collect();
    let (mut lines, mut bytes) = (0usize, 0u64);
    let mut generator = generator;
    let mut last_event = None;
    loop {
        let done = match limit {
            Limit::Lines(n) => lines >= n,
            Limit::Bytes(n) => bytes >= n,
        };
        if done {
            break;
        }
        let Some((kind, line)) = generator.next() else { break };
        last_event = Some(generator.now);
        let i = kinds.iter().position(|k| *k == kind).expect("known kind");
        writeln!(writers[i], "{line}")?;
        let size = line.len() as u64 + 1;
        files[i].lines += 1;
        files[i].bytes += size;
        lines += 1;
        bytes += size;
    }
    for mut writer in writers {
        writer.flush()?;
    }
    Ok(Corpus { files, last_event })
}

/// Parses a human size: `1GB`, `500MB`, `64KiB`, `1000` (bytes). Decimal
/// units are powers of 1000, binary (`KiB`, `MiB`, `GiB`) of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 1GB or 512MiB"))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` in `{text}`")),
    };
    Ok((number * multiplier) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn same_seed_same_lines() {
        let a: Vec<_> = Generator::new(7, start(), Duration::seconds(1))
            .take(50)
            .collect();
        let b: Vec<_> = Generator::new(7, start(), Duration::seconds(1))
            .take(50)
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = Generator::new(8, start(), Duration::seconds(1))
            .take(50)
            .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn writes_every_line_to_one_file() {
        let dir = std::env::temp_dir().join(format!("lw-gen-{}", std::process::id()));
        let corpus = write_corpus(&dir, Generator::new(1, start(), Duration::seconds(1)), Limit::Lines(1000)).unwrap();
        // The time of the 1,000th line, not of one generated past the limit.
        let mut same = Generator::new(1, start(), Duration::seconds(1));
        same.nth(999);
        assert_eq!(corpus.last_event, Some(same.now));
        assert!(same.now > start() + Duration::seconds(500));
        let counts: Vec<(Kind, usize)> = corpus.files.into_iter().map(|f| (f.kind, f.lines)).collect();
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 1000);
        for (kind, n) in counts {
            assert!(n > 0, "{kind:?} got no lines");
            let text = std::fs::read_to_string(dir.join(kind.file_name())).unwrap();
            assert_eq!(text.lines().count(), n);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn json_lines_are_json_and_size_limit_holds() {
        let dir = std::env::temp_dir().join(format!("lw-gen-json-{}", std::process::id()));
        let generator = Generator::new(3, start(), Duration::seconds(1)).with_json_share(0.25);
        let corpus = write_corpus(&dir, generator, Limit::Bytes(200_000)).unwrap();
        assert!(corpus.bytes() >= 200_000 && corpus.bytes() < 201_000);
        let json = corpus.files.iter().find(|f| f.kind == Kind::Json).unwrap();
        assert!(json.lines > 0);
        let text = std::fs::read_to_string(dir.join("app.json")).unwrap();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["@timestamp"].is_string() && value["host.name"].is_string());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("512MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(parse_size("1.5 kb"), Ok(1500));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }
}
