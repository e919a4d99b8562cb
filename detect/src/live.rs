//! The rules in force, replaced whole when the files change or on SIGHUP.
//!
//! A reload that finds an error keeps the rules already loaded and keeps
//! the errors for whoever asks (`GET /api/v1/rules`, the log): a typo in
//! one file must not disarm the detector. The detector refuses to start on
//! rules that do not load; the query API starts anyway, lists the errors,
//! and loads the rules once they are fixed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use logwarden_config::detect::DetectConfig;
use tokio_util::sync::CancellationToken;

use crate::rules::{RuleSet, RulesError, Unsupported, expand_paths};

/// Every rule and pipeline file with its modification time and length.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// How often the rule files are checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

pub struct LiveRules {
    config: DetectConfig,
    /// Who loads them (`detect`, `query-api`): a label of the metrics.
    component: &'static str,
    current: RwLock<Snapshot>,
    /// The files as they were just before the last load: a change made
    /// while loading is seen by the next check.
    loaded_from: Mutex<Fingerprint>,
}

/// The rules in force, as one reader sees them.
#[derive(Clone)]
pub struct Snapshot {
    /// Bumped on each successful load; 0 while no rules ever loaded.
    pub generation: u64,
    pub rules: Option<Arc<RuleSet>>,
    /// Why the files on disk are not what is in force, when they are not.
    pub errors: Option<Vec<Unsupported>>,
}

impl LiveRules {
    /// Loads the configured rules for the detector: an unreadable path or
    /// a file that does not parse stops the start, naming it.
    pub fn load(config: &DetectConfig) -> anyhow::Result<Arc<LiveRules>> {
        let live = LiveRules::load_reporting(config, "detect");
        if let Some(first) = live.snapshot().errors.and_then(|e| e.into_iter().next()) {
            anyhow::bail!("detect.rules: {}: {}", first.file, first.reason);
        }
        Ok(live)
    }

    /// Loads the configured rules; when they do not load, starts with none
    /// and the errors (the query API).
    pub fn load_reporting(config: &DetectConfig, component: &'static str) -> Arc<LiveRules> {
        let live = LiveRules {
            config: config.clone(),
            component,
            current: RwLock::new(Snapshot { generation: 0, rules: None, errors: None }),
            loaded_from: Mutex::new(Vec::new()),
        };
        live.reload();
        Arc::new(live)
    }

    /// The generation and the rules (none loaded: an empty set).
    pub fn get(&self) -> (u64, Arc<RuleSet>) {
        let snapshot = self.snapshot();
        (snapshot.generation, snapshot.rules.unwrap_or_else(|| Arc::new(RuleSet::empty())))
    }

    pub fn snapshot(&self) -> Snapshot {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Loads the files again; keeps the current rules if that fails.
    pub fn reload(&self) -> bool {
        let _span = tracing::info_span!("rules", component = self.component).entered();
        *self.loaded_from.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&self.config);
        let loaded = try_load(&self.config);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        match loaded {
            Ok(rules) => {
                current.generation += 1;
                log_report(&rules, self.component, current.generation);
                current.rules = Some(Arc::new(rules));
                current.errors = None;
                metrics::counter!("logwarden_detect_reloads_total", "component" => self.component, "result" => "ok").increment(1);
                if current.generation > 1 {
                    tracing::info!(generation = current.generation, "rules reloaded");
                }
                true
            }
            Err(errors) => {
                metrics::counter!("logwarden_detect_reloads_total", "component" => self.component, "result" => "error").increment(1);
                let first = errors.first().map(|e| format!("{}: {}", e.file, e.reason)).unwrap_or_default();
                tracing::error!(error = %first, errors = errors.len(), "rules not reloaded; the rules already loaded stay in force");
                current.errors = Some(errors);
                false
            }
        }
    }

    /// Reloads when a rule or pipeline file changes (checked every
    /// `interval`) and on SIGHUP, until `shutdown`.
    pub async fn watch(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
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
            let changed = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hup => {
                    tracing::info!(component = self.component, "SIGHUP: reloading rules");
                    true
                }
                _ = tokio::time::sleep(interval) => {
                    fingerprint(&self.config) != *self.loaded_from.lock().unwrap_or_else(|e| e.into_inner())
                }
            };
            if changed {
                let this = self.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || this.reload()).await {
                    tracing::error!(error = %e, "reloading the rules panicked");
                }
            }
        }
    }
}

fn fingerprint(config: &DetectConfig) -> Fingerprint {
    let mut files = expand_paths(&config.rules).unwrap_or_default();
    files.extend(config.pipelines.iter().cloned());
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

/// The rules, or what keeps them from loading (a path that matches
/// nothing, an unreadable file or pipeline, a file that does not parse).
fn try_load(config: &DetectConfig) -> Result<RuleSet, Vec<Unsupported>> {
    match RuleSet::load(&config.rules, &config.pipelines) {
        Ok(rules) if rules.report.errors.is_empty() => Ok(rules),
        Ok(rules) => Err(rules.report.errors),
        Err(e) => {
            let file = match &e {
                RulesError::NoMatch(path) | RulesError::BadGlob { pattern: path, .. } => path.clone(),
                RulesError::Read { path, .. } | RulesError::Pipeline { path, .. } => path.clone(),
            };
            Err(vec![Unsupported { file, id: None, title: None, reason: e.to_string() }])
        }
    }
}

fn log_report(rules: &RuleSet, component: &'static str, generation: u64) {
    let report = &rules.report;
    for rule in &report.unsupported {
        tracing::warn!(file = %rule.file, id = rule.id.as_deref().unwrap_or(""), title = rule.title.as_deref().unwrap_or(""), reason = %rule.reason, "rule not loaded: unsupported");
    }
    for rule in report.loaded.iter().filter(|r| r.matches_no_source) {
        tracing::warn!(id = %rule.rule.id, title = %rule.rule.title, "rule loaded but its logsource matches no source logwarden ingests");
    }
    metrics::gauge!("logwarden_detect_rules_loaded", "component" => component).set(report.loaded.len() as f64);
    metrics::gauge!("logwarden_detect_rules_unsupported", "component" => component).set(report.unsupported.len() as f64);
    tracing::info!(generation, files = report.files, loaded = report.loaded.len(), unsupported = report.unsupported.len(), "rules loaded");
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: SSH failed login\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n    product: linux\n    service: sshd\ndetection:\n    selection:\n        event.outcome: failure\n    condition: selection\nlevel: low\n";

    fn config(rules: &std::path::Path) -> DetectConfig {
        let text = format!("[detect]\nrules = [{:?}]\n", rules.display().to_string());
        let raw = logwarden_config::RawConfig::from_toml(&text).unwrap();
        raw.validate_with_env(&|_| None).unwrap().detect
    }

    #[test]
    fn a_broken_file_keeps_the_rules_in_force_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir(&rules_dir).unwrap();
        std::fs::write(rules_dir.join("good.yml"), RULE).unwrap();
        let rules = LiveRules::load(&config(&rules_dir)).unwrap();
        let first = rules.snapshot();
        assert_eq!(first.generation, 1);
        assert!(first.errors.is_none());
        assert_eq!(first.rules.unwrap().report.loaded.len(), 1);

        std::fs::write(rules_dir.join("broken.yml"), "title: [unclosed\n").unwrap();
        assert!(!rules.reload());
        let broken = rules.snapshot();
        assert_eq!(broken.generation, 1, "the rules in force stay");
        assert_eq!(broken.rules.unwrap().report.loaded.len(), 1);
        let errors = broken.errors.expect("the broken file is reported");
        assert!(errors.iter().all(|e| e.file.ends_with("broken.yml")), "{errors:?}");

        std::fs::remove_file(rules_dir.join("broken.yml")).unwrap();
        assert!(rules.reload());
        let fixed = rules.snapshot();
        assert_eq!(fixed.generation, 2);
        assert!(fixed.errors.is_none());
    }

    #[test]
    fn the_detector_refuses_rules_that_do_not_load_and_the_api_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir(&rules_dir).unwrap();
        std::fs::write(rules_dir.join("broken.yml"), "title: [unclosed\n").unwrap();
        let error = LiveRules::load(&config(&rules_dir)).err().unwrap().to_string();
        assert!(error.contains("broken.yml"), "{error}");

        let rules = LiveRules::load_reporting(&config(&rules_dir), "query-api");
        let snapshot = rules.snapshot();
        assert!(snapshot.rules.is_none() && snapshot.generation == 0);
        assert_eq!(snapshot.errors.unwrap().len(), 1);
        assert_eq!(rules.get().1.rule_count(), 0);

        std::fs::write(rules_dir.join("broken.yml"), RULE).unwrap();
        assert!(rules.reload());
        let snapshot = rules.snapshot();
        assert_eq!(snapshot.rules.unwrap().report.loaded.len(), 1);
        assert!(snapshot.errors.is_none());
    }
}
