//! `[kafka]`: the brokers, the events topic, and how every Kafka client
//! (producers, consumers, admin) connects: security protocol, SASL, TLS,
//! and librdkafka overrides per client kind. One section gives every client
//! the same security settings through [`KafkaConfig::client_properties`], so
//! no client can be left connecting in plain text.
//!
//! ```toml
//! [kafka]
//! brokers = "kafka-1:9094,kafka-2:9094"
//! security_protocol = "sasl_ssl"        # derived from [kafka.sasl] / [kafka.tls] when absent
//! [kafka.sasl]
//! mechanism = "SCRAM-SHA-512"           # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
//! username = "logwarden"
//! password_env = "LOGWARDEN_KAFKA_PASSWORD"   # or password_file = "/run/secrets/kafka"
//! [kafka.tls]
//! ca = "/etc/logwarden/kafka-ca.pem"    # client cert and key for mutual TLS: cert, key
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ConfigError;
use crate::raw::{RawKafka, RawKafkaSasl, RawKafkaTls};

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    pub partitions: u32,
    pub compression: Compression,
    pub linger: Duration,
    pub security: KafkaSecurity,
    /// librdkafka overrides for producers, consumers and admin clients.
    pub producer: BTreeMap<String, String>,
    pub consumer: BTreeMap<String, String>,
    pub admin: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Zstd,
}

impl Compression {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The kinds of Kafka client logwarden runs; each gets the common
/// properties and its own overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Producer,
    Consumer,
    Admin,
}

#[derive(Debug, Clone, Default)]
pub struct KafkaSecurity {
    pub protocol: SecurityProtocol,
    pub sasl: Option<KafkaSasl>,
    pub tls: KafkaTls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

#[derive(Debug, Clone)]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: &'static str,
    pub username: String,
    pub password: Secret,
    /// The key the password came from, for error messages:
    /// `kafka.sasl.password_env (LOGWARDEN_KAFKA_PASSWORD)`.
    pub password_source: String,
}

#[derive(Debug, Clone, Default)]
pub struct KafkaTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A secret from the environment or a file: never printed, not even by
/// `{:?}` of the whole configuration.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl KafkaConfig {
    /// The default section with these brokers: plain text, no overrides
    /// (benchmarks and tests against a local broker).
    pub fn for_brokers(brokers: &str) -> KafkaConfig {
        let raw = RawKafka { brokers: Some(brokers.to_string()), ..RawKafka::default() };
        validate(raw, &|_| None).expect("a plain-text section with brokers is valid")
    }

    /// The librdkafka properties of a client of `kind`: the brokers, the
    /// security settings, then the overrides of that kind.
    pub fn client_properties(&self, kind: ClientKind) -> Vec<(String, String)> {
        let mut properties = vec![
            ("bootstrap.servers".to_string(), self.brokers.clone()),
            ("security.protocol".to_string(), self.security.protocol.as_librdkafka().to_string()),
        ];
        if let Some(sasl) = &self.security.sasl {
            properties.push(("sasl.mechanism".into(), sasl.mechanism.into()));
            properties.push(("sasl.username".into(), sasl.username.clone()));
            properties.push(("sasl.password".into(), sasl.password.expose().to_string()));
        }
        let tls = &self.security.tls;
        for (key, path) in [("ssl.ca.location", &tls.ca), ("ssl.certificate.location", &tls.cert), ("ssl.key.location", &tls.key)] {
            if let Some(path) = path {
                properties.push((key.into(), path.display().to_string()));
            }
        }
        let overrides = match kind {
            ClientKind::Producer => &self.producer,
            ClientKind::Consumer => &self.consumer,
            ClientKind::Admin => &self.admin,
        };
        properties.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        properties
    }

    /// Who connects, for error messages: `user `logwarden` (SCRAM-SHA-512,
    /// password from kafka.sasl.password_env (VAR))`.
    pub fn credentials(&self) -> Option<String> {
        self.security.sasl.as_ref().map(|sasl| {
            format!("user `{}` ({}, password from {})", sasl.username, sasl.mechanism, sasl.password_source)
        })
    }
}

/// librdkafka properties that carry the delivery guarantee: overriding them
/// could lose data, so the config refuses them.
const GUARANTEE_PROPERTIES: &[&str] = &[
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "compression.type",
    "compression.codec",
    "linger.ms",
    "queue.buffering.max.ms",
    // Derived from collector.id: the same id after a restart fences a
    // killed predecessor's transactions.
    "transactional.id",
];

/// Consumer properties the indexer's exactly-once reading depends on.
/// `isolation.level` too: a consumer reading uncommitted events would see
/// those of aborted transactions.
const CONSUMER_PROPERTIES: &[&str] = &["enable.auto.commit", "group.id", "enable.auto.offset.store", "isolation.level"];

pub(crate) fn validate(kafka: RawKafka, read_env: &dyn Fn(&str) -> Option<String>) -> Result<KafkaConfig, ConfigError> {
    let brokers = kafka.brokers.unwrap_or_else(|| "127.0.0.1:9092".to_string());
    if brokers.trim().is_empty() {
        return Err(ConfigError::invalid("kafka.brokers", "must list at least one host:port"));
    }
    let topic = kafka.topic.unwrap_or_else(|| "logwarden.events".to_string());
    if !is_valid_topic(&topic) {
        return Err(ConfigError::invalid(
            "kafka.topic",
            format!("`{topic}` is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249)"),
        ));
    }
    let compression = match kafka.compression.as_deref().unwrap_or("lz4") {
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => {
            return Err(ConfigError::invalid(
                "kafka.compression",
                format!("`{other}` is not supported; use \"lz4\" or \"zstd\""),
            ));
        }
    };
    for (section, overrides) in [("producer", &kafka.producer), ("consumer", &kafka.consumer), ("admin", &kafka.admin)] {
        for key in overrides.keys() {
            let reason = if key == "bootstrap.servers" {
                Some("is set by kafka.brokers")
            } else if key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.") {
                Some("is set by kafka.security_protocol, [kafka.sasl] and [kafka.tls], for every client alike")
            } else if section == "producer" && GUARANTEE_PROPERTIES.contains(&key.as_str()) {
                Some("is set by logwarden (delivery guarantee or a dedicated key); remove it")
            } else if section == "consumer" && CONSUMER_PROPERTIES.contains(&key.as_str()) {
                Some("is set by logwarden (exactly-once reading, indexer.group); remove it")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(ConfigError::invalid(format!("kafka.{section}.{key}"), reason));
            }
        }
    }
    let security = validate_security(kafka.security_protocol, kafka.sasl, kafka.tls, read_env)?;
    Ok(KafkaConfig {
        brokers,
        topic,
        partitions: kafka.partitions.filter(|&p| p > 0).unwrap_or_else(crate::cpu_cores),
        compression,
        linger: kafka.linger.unwrap_or(Duration::from_millis(5)),
        security,
        producer: kafka.producer,
        consumer: kafka.consumer,
        admin: kafka.admin,
    })
}

fn validate_security(
    protocol: Option<String>,
    sasl: Option<RawKafkaSasl>,
    tls: Option<RawKafkaTls>,
    read_env: &dyn Fn(&str) -> Option<String>,
) -> Result<KafkaSecurity, ConfigError> {
    let protocol = match protocol.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => match (sasl.is_some(), tls.is_some()) {
            (false, false) => SecurityProtocol::Plaintext,
            (false, true) => SecurityProtocol::Ssl,
            (true, false) => SecurityProtocol::SaslPlaintext,
            (true, true) => SecurityProtocol::SaslSsl,
        },
        Some("plaintext") => SecurityProtocol::Plaintext,
        Some("ssl") => SecurityProtocol::Ssl,
        Some("sasl_plaintext") => SecurityProtocol::SaslPlaintext,
        Some("sasl_ssl") => SecurityProtocol::SaslSsl,
        Some(other) => {
            return Err(ConfigError::invalid(
                "kafka.security_protocol",
                format!("`{other}` is not one of plaintext, ssl, sasl_plaintext, sasl_ssl"),
            ));
        }
    };
    if protocol.uses_sasl() != sasl.is_some() {
        return Err(ConfigError::invalid(
            "kafka.sasl",
            format!(
                "security_protocol {} {} a [kafka.sasl] section",
                protocol.as_librdkafka(),
                if protocol.uses_sasl() { "needs" } else { "does not use" }
            ),
        ));
    }
    if tls.is_some() && !protocol.uses_tls() {
        return Err(ConfigError::invalid(
            "kafka.tls",
            format!("security_protocol {} does not use TLS; use ssl or sasl_ssl", protocol.as_librdkafka()),
        ));
    }
    let sasl = sasl.map(|raw| validate_sasl(raw, read_env)).transpose()?;
    let tls = match tls {
        None => KafkaTls::default(),
        Some(raw) => {
            for (key, path) in [("ca", &raw.ca), ("cert", &raw.cert), ("key", &raw.key)] {
                if let Some(path) = path {
                    readable(&format!("kafka.tls.{key}"), path)?;
                }
            }
            if raw.cert.is_some() != raw.key.is_some() {
                return Err(ConfigError::invalid("kafka.tls", "cert and key go together (mutual TLS): give both or neither"));
            }
            KafkaTls { ca: raw.ca, cert: raw.cert, key: raw.key }
        }
    };
    Ok(KafkaSecurity { protocol, sasl, tls })
}

fn validate_sasl(raw: RawKafkaSasl, read_env: &dyn Fn(&str) -> Option<String>) -> Result<KafkaSasl, ConfigError> {
    let mechanism = match raw.mechanism.as_deref().unwrap_or("SCRAM-SHA-512").to_ascii_uppercase().as_str() {
        "PLAIN" => "PLAIN",
        "SCRAM-SHA-256" => "SCRAM-SHA-256",
        "SCRAM-SHA-512" => "SCRAM-SHA-512",
        other => {
            return Err(ConfigError::invalid(
                "kafka.sasl.mechanism",
                format!("`{other}` is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
            ));
        }
    };
    if raw.username.trim().is_empty() {
        return Err(ConfigError::invalid("kafka.sasl.username", "must not be empty"));
    }
    let (password, source) = match (raw.password_env, raw.password_file) {
        (Some(var), None) => {
            let value = read_env(&var).ok_or_else(|| {
                ConfigError::invalid("kafka.sasl.password_env", format!("the environment variable {var} is not set"))
            })?;
            (value, format!("kafka.sasl.password_env ({var})"))
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::invalid("kafka.sasl.password_file", format!("cannot read {}: {e}", path.display()))
            })?;
            (text.trim_end_matches(['\n', '\r']).to_string(), format!("kafka.sasl.password_file ({})", path.display()))
        }
        _ => {
            return Err(ConfigError::invalid(
                "kafka.sasl",
                "give the password as exactly one of password_env (a variable's name) or password_file (a path); never in the file itself",
            ));
        }
    };
    if password.is_empty() {
        return Err(ConfigError::invalid(source, "the password is empty"));
    }
    Ok(KafkaSasl { mechanism, username: raw.username, password: Secret(password), password_source: source })
}

fn readable(key: &str, path: &Path) -> Result<(), ConfigError> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {}: {e}", path.display())))
}

pub(crate) fn is_valid_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawConfig;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<KafkaConfig, ConfigError> {
        let raw = RawConfig::from_toml(text)?;
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        validate(raw.kafka, &|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn every_client_kind_gets_the_security_settings() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "[kafka]\nbrokers = \"k:9094\"\n[kafka.sasl]\nmechanism = \"scram-sha-256\"\nusername = \"lw\"\npassword_env = \"PW\"\n\
             [kafka.tls]\nca = \"{}\"\n[kafka.consumer]\n\"fetch.max.bytes\" = \"1000000\"\n",
            ca.path().display()
        );
        let config = load(&text, &[("PW", "s3cret")]).unwrap();
        assert_eq!(config.security.protocol, SecurityProtocol::SaslSsl);
        for kind in [ClientKind::Producer, ClientKind::Consumer, ClientKind::Admin] {
            let properties: BTreeMap<String, String> = config.client_properties(kind).into_iter().collect();
            assert_eq!(properties["security.protocol"], "sasl_ssl", "{kind:?}");
            assert_eq!(properties["sasl.mechanism"], "SCRAM-SHA-256");
            assert_eq!(properties["sasl.username"], "lw");
            assert_eq!(properties["sasl.password"], "s3cret");
            assert_eq!(properties["ssl.ca.location"], ca.path().display().to_string());
            assert_eq!(properties.contains_key("fetch.max.bytes"), kind == ClientKind::Consumer);
        }
        assert!(!format!("{config:?}").contains("s3cret"), "the password is never printed");
        assert!(config.credentials().unwrap().contains("password_env (PW)"));
    }

    #[test]
    fn plaintext_by_default_and_every_mistake_names_its_key() {
        let config = load("", &[]).unwrap();
        let properties: BTreeMap<String, String> = config.client_properties(ClientKind::Admin).into_iter().collect();
        assert_eq!(properties["security.protocol"], "plaintext");
        assert!(!properties.contains_key("sasl.username"));
        let cases = [
            ("[kafka]\nsecurity_protocol = \"tls\"\n", "kafka.security_protocol"),
            ("[kafka]\nsecurity_protocol = \"sasl_ssl\"\n", "`kafka.sasl`"),
            ("[kafka.sasl]\nusername = \"u\"\npassword_env = \"NOPE\"\n", "NOPE is not set"),
            ("[kafka.sasl]\nusername = \"u\"\n", "exactly one of password_env"),
            ("[kafka.sasl]\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n", "kafka.sasl.password_file"),
            ("[kafka.sasl]\nmechanism = \"GSSAPI\"\nusername = \"u\"\npassword_env = \"PW\"\n", "kafka.sasl.mechanism"),
            ("[kafka.tls]\nca = \"/nonexistent/ca.pem\"\n", "kafka.tls.ca"),
            ("[kafka]\nsecurity_protocol = \"plaintext\"\n[kafka.tls]\n", "`kafka.tls`"),
            ("[kafka.producer]\n\"sasl.password\" = \"x\"\n", "kafka.producer.sasl.password"),
            ("[kafka.admin]\n\"bootstrap.servers\" = \"x\"\n", "kafka.admin.bootstrap.servers"),
            ("[kafka.consumer]\n\"enable.auto.commit\" = \"true\"\n", "kafka.consumer.enable.auto.commit"),
            ("[kafka.producer]\nacks = \"1\"\n", "kafka.producer.acks"),
            ("[kafka.producer]\n\"transactional.id\" = \"x\"\n", "kafka.producer.transactional.id"),
            ("[kafka.consumer]\n\"isolation.level\" = \"read_uncommitted\"\n", "kafka.consumer.isolation.level"),
        ];
        for (text, fragment) in cases {
            let err = load(text, &[("PW", "x")]).unwrap_err().to_string();
            assert!(err.contains(fragment), "{text:?} gave {err}");
        }
    }
}
