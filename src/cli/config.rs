//! Building the validated config from file, environment and flags, with
//! the API keys: the config's `[[auth.keys]]` (or else the created admin
//! key) and those of `DATA_DIR/api-keys.toml` (`logwarden keys`).

use std::path::PathBuf;

use anyhow::Context;
use logwarden_config::{Config, RawConfig};
use logwarden_config::raw::{RawFileInput, RawSyslogListener};

use super::PipelineArgs;
use crate::{admin_key, keys};

impl PipelineArgs {
    /// The config of a process that serves no HTTP of its own.
    pub fn load(&self) -> anyhow::Result<Config> {
        Ok(self.load_keys(false)?.0)
    }

    /// The config of a process that serves the query API (`api`) or HTTP
    /// ingest: without `[[auth.keys]]` in the config, the admin key of
    /// `DATA_DIR/admin.key` (created on first start) is accepted, and the
    /// file holding it is returned so the process can say how to use it.
    pub fn load_serving(&self, api: bool) -> anyhow::Result<(Config, Option<PathBuf>)> {
        self.load_keys(api)
    }

    fn load_keys(&self, api: bool) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let mut raw = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                RawConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => RawConfig::default(),
        };
        raw.apply_env(|name| std::env::var(name).ok());
        if !self.inputs.is_empty() {
            raw.collector.files.push(RawFileInput {
                include: self.inputs.clone(),
                ..Default::default()
            });
        }
        for listen in &self.syslog {
            raw.collector.syslog.push(RawSyslogListener { listen: listen.clone(), ..Default::default() });
        }
        if let Some(addr) = &self.http_ingest {
            raw.collector.http.listen = Some(addr.clone());
        }
        if let Some(dir) = &self.data_dir {
            raw.data_dir = Some(dir.clone());
        }
        if let Some(id) = &self.collector_id {
            raw.collector.id = Some(id.clone());
        }
        if let Some(addr) = &self.http_addr {
            raw.api.listen = Some(addr.clone());
        }
        if let Some(brokers) = &self.brokers {
            raw.kafka.brokers = Some(brokers.clone());
        }
        if let Some(topic) = &self.topic {
            raw.kafka.topic = Some(topic.clone());
        }
        if let Some(group) = &self.group {
            raw.indexer.group = Some(group.clone());
        }
        if let Some(workers) = self.workers {
            raw.indexer.workers = Some(workers);
        }
        if let Some(interval) = self.commit_interval {
            raw.indexer.commit_interval = Some(interval);
        }
        if let Some(addr) = &self.metrics_addr {
            raw.telemetry.listen = Some(addr.clone());
        }
        raw.detect.rules.extend(self.rules.iter().cloned());
        for url in &self.alert_webhooks {
            raw.detect.hooks.push(logwarden_config::detect::RawHook {
                name: Some(format!("webhook-{}", raw.detect.hooks.len())),
                kind: "alertmanager".into(),
                url: url.clone(),
                ..Default::default()
            });
        }
        let data_dir = raw.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"));
        let admin_key_file = if api || raw.collector.http.listen.is_some() {
            admin_key::ensure(&mut raw, &data_dir)?
        } else {
            None
        };
        keys::merge_store(&mut raw, &data_dir)?;
        Ok((raw.validate()?, admin_key_file))
    }
}
