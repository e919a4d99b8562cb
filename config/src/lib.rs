//! Typed configuration for every logwarden component: parsed, validated, and
//! nothing else (no tokio, no Kafka client here).
//!
//! Loading is two-staged: a raw serde struct that refuses unknown keys, then
//! [`RawConfig::validate`] into the [`Config`] the program uses. Every error
//! names the key at fault, so an operator knows what to fix.
//!
//! # Layout
//!
//! - `raw`: the file format as written by operators (TOML, serde, defaults).
//! - `validated`: the checked configuration the components receive, and
//!   the `[indexer]` and `[api]` sections.
//! - `collector`: `[collector]`: file inputs, multiline, the parser chain,
//!   pattern files and routes.
//! - `retention`: per-stream retention classes and regulation presets.
//! - `index`: `[index]`: the free fields indexed (indexer and query API).
//! - `review`: `[compliance.review]`: the monthly access review's checks,
//!   thresholds with their citations, and access-record streams.
//! - `kafka`: brokers, topic and how every Kafka client connects (SASL,
//!   TLS, overrides per client kind).
//! - `push`: syslog listeners, HTTP ingest and the spool (push sources).
//! - `tls`: certificate and key files loaded into a TLS server configuration.
//! - `auth`: ingest/API keys as SHA-256 hashes, checked in constant time.
//! - `detect`: `[detect]`: rules, pipelines, topics and hooks of the detector.
//! - `error`: [`ConfigError`], naming the key at fault.

pub mod auth;
mod collector;
pub mod detect;
mod error;
pub mod index;
pub mod kafka;
mod push;
mod tls;
pub mod raw;
pub mod retention;
pub mod review;
mod validated;

pub use error::ConfigError;
pub use push::{
    FsyncPolicy, HttpIngestConfig, MAX_MESSAGE_BYTES, SpoolConfig, SyslogListener, SyslogTransport,
    parse_syslog_address,
};
pub use tls::TlsFiles;
pub use raw::RawConfig;
pub use retention::{PRESETS, Preset, StreamPolicy};
pub use kafka::{ClientKind, Compression, KafkaConfig};
pub use collector::{CollectorConfig, CollectorId, Delivery, FileInput, Multiline, ParseConfig};
pub use validated::{ApiConfig, ComplianceConfig, Config, DEFAULT_MAX_EXPORT_BYTES, IndexerConfig};

use std::path::Path;

impl Config {
    /// Reads, overrides from the environment, and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut raw = RawConfig::from_toml(&text)?;
        raw.apply_env(|name| std::env::var(name).ok());
        raw.validate()
    }
}

/// The number of CPU cores: the default for partitions and indexer workers.
pub fn cpu_cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}
