//! The rules in force, replaced whole when the files change or on SIGHUP.
//!
//! A reload that finds a parse error keeps the rules already loaded and
//! says what is wrong: a typo in one file must not disarm the detector.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use logwarden_config::detect::DetectConfig;
use tokio_util::sync::CancellationToken;

use crate::rules::{RuleSet, RulesError, expand_paths};

pub struct LiveRules {
    current: RwLock<(u64, Arc<RuleSet>)>,
    config: DetectConfig,
}

impl LiveRules {
    /// Loads the configured rules; an unreadable path or any file that
    /// does not parse stops the start, naming it.
    pub fn load(config: &DetectConfig) -> anyhow::Result<Arc<LiveRules>> {
        let rules = load_checked(config)?;
        log_report(&rules);
        Ok(Arc::new(LiveRules { current: RwLock::new((1, Arc::new(rules))), config: config.clone() }))
    }

    /// The generation (bumped on each reload) and the rules.
    pub fn get(&self) -> (u64, Arc<RuleSet>) {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        (current.0, current.1.clone())
    }

    /// Loads the files again; keeps the current rules if that fails.
    pub fn reload(&self) -> bool {
        match load_checked(&self.config) {
            Ok(rules) => {
                log_report(&rules);
                let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
                *current = (current.0 + 1, Arc::new(rules));
                metrics::counter!("logwarden_detect_reloads_total", "result" => "ok").increment(1);
                tracing::info!(generation = current.0, "rules reloaded");
                true
            }
            Err(e) => {
                metrics::counter!("logwarden_detect_reloads_total", "result" => "error").increment(1);
                tracing::error!(error = format!("{e:#}"), "rules not reloaded; the rules already loaded stay in force");
                false
            }
        }
    }

    /// Reloads when a rule or pipeline file changes (checked every
    /// `interval`) and on SIGHUP, until `shutdown`.
    pub async fn watch(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
        let mut last = self.fingerprint();
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hup = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hup = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hup => {
                    tracing::info!("SIGHUP: reloading rules");
                    let this = self.clone();
                    let _ = tokio::task::spawn_blocking(move || this.reload()).await;
                    last = self.fingerprint();
                }
                _ = tokio::time::sleep(interval) => {
                    let now = self.fingerprint();
                    if now != last {
                        last = now;
                        let this = self.clone();
                        let _ = tokio::task::spawn_blocking(move || this.reload()).await;
                    }
                }
            }
        }
    }

    fn fingerprint(&self) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
        let mut files = expand_paths(&self.config.rules).unwrap_or_default();
        files.extend(self.config.pipelines.iter().cloned());
        files
            .into_iter()
            .map(|path| {
                let meta = std::fs::metadata(&path).ok();
                let modified = meta.as_ref().and_then(|m| m.modified().ok());
                let len = meta.map(|m| m.len()).unwrap_or(0);
                (path, modified, len)
            })
            .collect()
    }
}

fn load_checked(config: &DetectConfig) -> anyhow::Result<RuleSet> {
    let rules = RuleSet::load(&config.rules, &config.pipelines).map_err(|e: RulesError| anyhow::anyhow!("detect.rules: {e}"))?;
    if let Some(first) = rules.report.errors.first() {
        anyhow::bail!(
            "{} rule file error(s); first: {}: {}",
            rules.report.errors.len(),
            first.file,
            first.reason
        );
    }
    Ok(rules)
}

fn log_report(rules: &RuleSet) {
    let report = &rules.report;
    for rule in &report.unsupported {
        tracing::warn!(file = %rule.file, id = rule.id.as_deref().unwrap_or(""), title = rule.title.as_deref().unwrap_or(""), reason = %rule.reason, "rule not loaded: unsupported");
    }
    for rule in report.loaded.iter().filter(|r| r.matches_no_source) {
        tracing::warn!(id = %rule.rule.id, title = %rule.rule.title, "rule loaded but its logsource matches no source logwarden ingests");
    }
    metrics::gauge!("logwarden_detect_rules_loaded").set(report.loaded.len() as f64);
    metrics::gauge!("logwarden_detect_rules_unsupported").set(report.unsupported.len() as f64);
    tracing::info!(files = report.files, loaded = report.loaded.len(), unsupported = report.unsupported.len(), "rules loaded");
}
