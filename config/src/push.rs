//! Checked settings of the push sources (syslog, HTTP ingest), the spool
//! that holds their events while Kafka is unavailable, and the keys that
//! authenticate HTTP clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::tls::TlsFiles;
use crate::ConfigError;
use crate::auth::{ApiKey, KeyRing, Role};
use crate::raw::{RawAuth, RawHttpIngest, RawSpool, RawSyslogListener, RawTls};

/// Largest syslog message or line kept whole (events must fit Kafka's 1 MB
/// message limit; the text is held twice).
pub const MAX_MESSAGE_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTransport {
    Udp,
    Tcp,
    Tls,
}

impl SyslogTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            SyslogTransport::Udp => "udp",
            SyslogTransport::Tcp => "tcp",
            SyslogTransport::Tls => "tls",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SyslogListener {
    pub transport: SyslogTransport,
    pub addr: SocketAddr,
    /// Stream for every event of this listener; absent = chosen by routing.
    pub stream: Option<String>,
    /// Longer messages are cut to this size and flagged with `parse.error`.
    pub max_message_bytes: usize,
    /// TCP/TLS: connections beyond this are refused.
    pub max_connections: usize,
    /// TCP/TLS: a connection silent this long is closed.
    pub idle_timeout: Duration,
    /// TCP/TLS: a message must arrive whole within this time of its first
    /// byte (and a TLS handshake complete within it), or the connection is
    /// closed: a sender trickling a byte now and then cannot hold a
    /// connection slot forever.
    pub frame_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpIngestConfig {
    /// `None`: no HTTP ingest listener.
    pub listen: Option<SocketAddr>,
    pub max_body_bytes: usize,
    /// What all requests together may hold in memory (each reserves four
    /// times its body); past it, 429.
    pub memory_budget: usize,
    /// How long a client may take to send a whole body (408 past it).
    pub body_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync every spool write before the events count as accepted.
    Always,
    /// Leave flushing to the operating system (survives a process crash,
    /// not a power loss).
    Never,
}

#[derive(Debug, Clone)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub fsync: FsyncPolicy,
    pub kafka_timeout: Duration,
}

/// Parses `udp://ADDR`, `tcp://ADDR` or `tls://ADDR`.
pub fn parse_syslog_address(text: &str) -> Result<(SyslogTransport, SocketAddr), String> {
    let (scheme, addr) = text
        .split_once("://")
        .ok_or_else(|| format!("`{text}` needs a scheme: udp://, tcp:// or tls://"))?;
    let transport = match scheme {
        "udp" => SyslogTransport::Udp,
        "tcp" => SyslogTransport::Tcp,
        "tls" => SyslogTransport::Tls,
        other => {
            return Err(format!(
                "`{other}://` is not a syslog transport; use udp://, tcp:// or tls://"
            ));
        }
    };
    let addr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an address like 0.0.0.0:514"))?;
    Ok((transport, addr))
}

pub(crate) fn validate_syslog(
    listeners: Vec<RawSyslogListener>,
    tls: &Option<RawTls>,
) -> Result<Vec<SyslogListener>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in listeners.into_iter().enumerate() {
        let key = format!("collector.syslog[{i}]");
        let (transport, addr) = parse_syslog_address(&raw.listen)
            .map_err(|m| ConfigError::invalid(format!("{key}.listen"), m))?;
        if transport == SyslogTransport::Tls && tls.is_none() {
            return Err(ConfigError::invalid(
                format!("{key}.listen"),
                "tls:// needs [collector.tls] cert and key (PEM files)",
            ));
        }
        if let Some(stream) = &raw.stream {
            check_source_stream(&format!("{key}.stream"), stream)?;
        }
        let max_message_bytes = raw.max_message_bytes.unwrap_or(64 * 1024);
        if !(256..=MAX_MESSAGE_BYTES).contains(&max_message_bytes) {
            return Err(ConfigError::invalid(
                format!("{key}.max_message_bytes"),
                format!(
                    "must be between 256 and {MAX_MESSAGE_BYTES} (events must fit Kafka's 1 MB message limit)"
                ),
            ));
        }
        let max_connections = raw.max_connections.unwrap_or(1024);
        if max_connections == 0 {
            return Err(ConfigError::invalid(
                format!("{key}.max_connections"),
                "must be greater than zero",
            ));
        }
        let idle_timeout = raw.idle_timeout.unwrap_or(Duration::from_secs(300));
        if idle_timeout.is_zero() {
            return Err(ConfigError::invalid(
                format!("{key}.idle_timeout"),
                "must be greater than zero",
            ));
        }
        let frame_timeout = raw.frame_timeout.unwrap_or(Duration::from_secs(30));
        if frame_timeout.is_zero() {
            return Err(ConfigError::invalid(
                format!("{key}.frame_timeout"),
                "must be greater than zero",
            ));
        }
        out.push(SyslogListener {
            transport,
            addr,
            stream: raw.stream,
            max_message_bytes,
            max_connections,
            idle_timeout,
            frame_timeout,
        });
    }
    Ok(out)
}

pub(crate) fn validate_tls(tls: Option<RawTls>) -> Option<TlsFiles> {
    tls.map(|t| TlsFiles {
        cert: t.cert,
        key: t.key,
    })
}

pub(crate) fn validate_http(
    http: RawHttpIngest,
    keys: &KeyRing,
) -> Result<HttpIngestConfig, ConfigError> {
    let listen = match http.listen {
        Some(text) => Some(text.parse().map_err(|_| {
            ConfigError::invalid(
                "collector.http.listen",
                format!("`{text}` is not an address like 127.0.0.1:9200"),
            )
        })?),
        None => None,
    };
    if listen.is_some() && !keys.keys().iter().any(|k| k.role.may_ingest()) {
        return Err(ConfigError::invalid(
            "collector.http.listen",
            "HTTP ingest needs at least one [[auth.keys]] entry with role \"ingest\" or \"admin\"",
        ));
    }
    let max_body_bytes = http.max_body_bytes.unwrap_or(10 * 1024 * 1024);
    if !(1024..=1024 * 1024 * 1024).contains(&max_body_bytes) {
        return Err(ConfigError::invalid(
            "collector.http.max_body_bytes",
            "must be between 1024 and 1073741824",
        ));
    }
    // One request of the largest body must fit, with its handling cost.
    let least_budget = max_body_bytes.saturating_mul(4);
    let memory_budget = http.memory_budget.unwrap_or((256 * 1024 * 1024).max(least_budget));
    if memory_budget < least_budget {
        return Err(ConfigError::invalid(
            "collector.http.memory_budget",
            format!(
                "{memory_budget} bytes cannot hold one request of collector.http.max_body_bytes ({max_body_bytes}): it must be at least 4 times that ({least_budget})"
            ),
        ));
    }
    let body_timeout = http.body_timeout.unwrap_or(Duration::from_secs(60));
    if body_timeout.is_zero() {
        return Err(ConfigError::invalid("collector.http.body_timeout", "must be more than 0s"));
    }
    Ok(HttpIngestConfig {
        listen,
        max_body_bytes,
        memory_budget,
        body_timeout,
    })
}

pub(crate) fn validate_spool(spool: RawSpool, data_dir: &Path) -> Result<SpoolConfig, ConfigError> {
    let max_bytes = spool.max_bytes.unwrap_or(1024 * 1024 * 1024);
    if max_bytes < 1024 {
        return Err(ConfigError::invalid(
            "collector.spool.max_bytes",
            "must be at least 1024",
        ));
    }
    let fsync = match spool.fsync.as_deref().unwrap_or("always") {
        "always" => FsyncPolicy::Always,
        "never" => FsyncPolicy::Never,
        other => {
            return Err(ConfigError::invalid(
                "collector.spool.fsync",
                format!("`{other}` is not a policy; use \"always\" or \"never\""),
            ));
        }
    };
    let kafka_timeout = spool.kafka_timeout.unwrap_or(Duration::from_secs(10));
    if kafka_timeout < Duration::from_millis(100) {
        return Err(ConfigError::invalid(
            "collector.spool.kafka_timeout",
            "must be at least 100ms",
        ));
    }
    Ok(SpoolConfig {
        dir: spool.dir.unwrap_or_else(|| data_dir.join("spool")),
        max_bytes,
        fsync,
        kafka_timeout,
    })
}

pub(crate) fn validate_auth(auth: RawAuth) -> Result<KeyRing, ConfigError> {
    let mut keys = Vec::new();
    for (i, raw) in auth.keys.into_iter().enumerate() {
        let key = format!("auth.keys[{i}]");
        if raw.name.trim().is_empty() {
            return Err(ConfigError::invalid(
                format!("{key}.name"),
                "must not be empty",
            ));
        }
        if keys.iter().any(|k: &ApiKey| k.name == raw.name) {
            return Err(ConfigError::invalid(
                format!("{key}.name"),
                format!("`{}` is used twice", raw.name),
            ));
        }
        let role = Role::parse(&raw.role).ok_or_else(|| {
            ConfigError::invalid(
                format!("{key}.role"),
                format!(
                    "`{}` is not a role; use admin, analyst, auditor or ingest",
                    raw.role
                ),
            )
        })?;
        if let Some(streams) = &raw.streams {
            for stream in streams {
                check_stream(&format!("{key}.streams"), stream)?;
            }
        }
        let api_key = ApiKey::new(raw.name, role, &raw.hash, raw.streams).ok_or_else(|| {
            ConfigError::invalid(
                format!("{key}.hash"),
                "must be \"sha256:\" followed by 64 hex digits",
            )
        })?;
        keys.push(api_key);
    }
    Ok(KeyRing::new(keys))
}

/// A stream a source or a route writes to: valid, and not one logwarden
/// reserves for what it writes itself (`audit`, `alerts`).
pub(crate) fn check_source_stream(key: &str, stream: &str) -> Result<(), ConfigError> {
    check_stream(key, stream)?;
    if logwarden_event::is_reserved_stream(stream) {
        return Err(ConfigError::invalid(
            key,
            format!(
                "stream `{stream}` is reserved: logwarden writes it itself (reserved: {}); name your source's stream otherwise, e.g. `os-{stream}`",
                logwarden_event::RESERVED_STREAMS.join(", ")
            ),
        ));
    }
    Ok(())
}

fn check_stream(key: &str, stream: &str) -> Result<(), ConfigError> {
    if logwarden_event::is_valid_stream_name(stream) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("`{stream}` must be lowercase letters, digits, '_' or '-'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, ConfigError, RawConfig};

    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        RawConfig::from_toml(text)?.validate()
    }

    const KEY: &str = "[[auth.keys]]\nname = \"fb\"\nrole = \"ingest\"\nhash = \"sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\"\n";

    #[test]
    fn push_sources_parse() {
        let text = format!(
            "[[collector.syslog]]\nlisten = \"udp://127.0.0.1:5514\"\nstream = \"network\"\n\
             [[collector.syslog]]\nlisten = \"tcp://127.0.0.1:0\"\nidle_timeout = \"30s\"\n\
             [collector.http]\nlisten = \"127.0.0.1:9200\"\n[collector.spool]\nmax_bytes = 4096\nfsync = \"never\"\n{KEY}"
        );
        let config = load(&text).unwrap();
        let syslog = &config.collector.syslog;
        assert_eq!(syslog[0].transport, SyslogTransport::Udp);
        assert_eq!(syslog[0].stream.as_deref(), Some("network"));
        assert_eq!(syslog[1].idle_timeout, Duration::from_secs(30));
        assert_eq!(
            config.collector.http.listen,
            Some("127.0.0.1:9200".parse().unwrap())
        );
        assert_eq!(config.collector.spool.fsync, FsyncPolicy::Never);
        assert_eq!(config.collector.spool.dir, PathBuf::from("data/spool"));
        assert!(config.auth.verify("secret").is_some());
    }

    #[test]
    fn bad_push_settings_name_their_key() {
        let cases = [
            (
                "[[collector.syslog]]\nlisten = \"127.0.0.1:514\"\n".to_string(),
                "collector.syslog[0].listen",
            ),
            (
                "[[collector.syslog]]\nlisten = \"http://127.0.0.1:514\"\n".to_string(),
                "collector.syslog[0].listen",
            ),
            (
                "[[collector.syslog]]\nlisten = \"tls://127.0.0.1:6514\"\n".to_string(),
                "collector.syslog[0].listen",
            ),
            (
                "[[collector.syslog]]\nlisten = \"udp://127.0.0.1:1\"\nmax_message_bytes = 10\n"
                    .to_string(),
                "max_message_bytes",
            ),
            (
                "[collector.http]\nlisten = \"127.0.0.1:9200\"\n".to_string(),
                "collector.http.listen",
            ),
            (
                "[collector.spool]\nfsync = \"sometimes\"\n".to_string(),
                "collector.spool.fsync",
            ),
            (
                "[collector.spool]\nmax_bytes = 1\n".to_string(),
                "collector.spool.max_bytes",
            ),
            (
                "[[auth.keys]]\nname = \"a\"\nrole = \"root\"\nhash = \"sha256:00\"\n".to_string(),
                "auth.keys[0].role",
            ),
            (
                "[[auth.keys]]\nname = \"a\"\nrole = \"admin\"\nhash = \"plain\"\n".to_string(),
                "auth.keys[0].hash",
            ),
            (format!("{KEY}{KEY}"), "auth.keys[1].name"),
        ];
        for (text, key) in cases {
            let err = load(&text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }
}
