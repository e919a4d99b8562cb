//! Building the validated config from file, environment and flags.

use anyhow::Context;
use logwarden_config::{Config, RawConfig};
use logwarden_config::raw::{RawFileInput, RawSyslogListener};

use super::PipelineArgs;

impl PipelineArgs {
    pub fn load(&self) -> anyhow::Result<Config> {
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
        raw.detect.rules.extend(self.rules.iter().cloned());
        for url in &self.alert_webhooks {
            raw.detect.hooks.push(logwarden_config::detect::RawHook {
                name: Some(format!("webhook-{}", raw.detect.hooks.len())),
                kind: "alertmanager".into(),
                url: url.clone(),
                ..Default::default()
            });
        }
        Ok(raw.validate()?)
    }
}
