//! The rules configured in `[detect]`, as the detector runs them: loaded
//! with the detector's own loader ([`LiveRules`]) and reloaded on the same
//! triggers (a rule or pipeline file changed, SIGHUP), the rules already
//! loaded staying in force when a reload fails.
//!
//! Unlike the detector, the query API starts when the files do not load:
//! it then lists no rules and the errors, and loads them once they are
//! fixed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use logwarden_config::detect::DetectConfig;
use logwarden_detect::live::LiveRules;
use logwarden_detect::rules::{RuleSet, RulesError, Unsupported, expand_paths};
use tokio_util::sync::CancellationToken;

/// How often the files are checked for changes (as often as the detector does).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Every rule and pipeline file with its modification time and length.
type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The rules of `[detect]`, kept current.
pub struct ConfiguredRules {
    config: DetectConfig,
    live: RwLock<Option<Arc<LiveRules>>>,
    /// The errors in the files on disk, while they keep them from loading.
    failure: RwLock<Option<Vec<Unsupported>>>,
    /// The files as they were just before the last load: a change made
    /// while loading is seen by the next check.
    loaded_from: Mutex<Fingerprint>,
}

/// The rules in force, as one request sees them.
pub struct Snapshot {
    /// Bumped on each reload; 0 while no rules ever loaded.
    pub generation: u64,
    pub rules: Option<Arc<RuleSet>>,
    /// Why the files on disk are not what is in force, when they are not.
    pub errors: Option<Vec<Unsupported>>,
}

impl ConfiguredRules {
    /// Loads `[detect] rules`; `None` when no rules are configured.
    /// Blocking (reads the files).
    pub fn load(config: &DetectConfig) -> Option<Arc<ConfiguredRules>> {
        if config.rules.is_empty() {
            return None;
        }
        let rules = ConfiguredRules {
            config: config.clone(),
            live: RwLock::new(None),
            failure: RwLock::new(None),
            loaded_from: Mutex::new(Vec::new()),
        };
        rules.refresh();
        Some(Arc::new(rules))
    }

    pub fn snapshot(&self) -> Snapshot {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner()).clone();
        let (generation, rules) = match live {
            Some(live) => {
                let (generation, rules) = live.get();
                (generation, Some(rules))
            }
            None => (0, None),
        };
        let errors = self.failure.read().unwrap_or_else(|e| e.into_inner()).clone();
        Snapshot { generation, rules, errors }
    }

    /// Loads the files (again); blocking. On failure the rules in force
    /// stay and the errors are kept for the endpoint.
    fn refresh(&self) {
        let _span = tracing::info_span!("rules", component = "query-api").entered();
        *self.loaded_from.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&self.config);
        let live = self.live.read().unwrap_or_else(|e| e.into_inner()).clone();
        let loaded = match live {
            Some(live) => live.reload(),
            None => match LiveRules::load(&self.config) {
                Ok(live) => {
                    *self.live.write().unwrap_or_else(|e| e.into_inner()) = Some(live);
                    true
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "rules not loaded; GET /api/v1/rules lists the errors");
                    false
                }
            },
        };
        let failure = (!loaded).then(|| self.errors_on_disk());
        *self.failure.write().unwrap_or_else(|e| e.into_inner()) = failure;
    }

    /// What keeps the files on disk from loading (read again: the loader
    /// logs the errors but does not hand them out).
    fn errors_on_disk(&self) -> Vec<Unsupported> {
        let unloadable = |file: &str, reason: String| vec![Unsupported { file: file.to_string(), id: None, title: None, reason }];
        match RuleSet::load(&self.config.rules, &self.config.pipelines) {
            Ok(rules) if !rules.report.errors.is_empty() => rules.report.errors.clone(),
            // Fixed in the meantime: the next check of the files loads them.
            Ok(_) => unloadable("detect.rules", "the rules could not be loaded; see the log".into()),
            Err(e) => {
                let file = match &e {
                    RulesError::NoMatch(path) | RulesError::BadGlob { pattern: path, .. } => path.clone(),
                    RulesError::Read { path, .. } | RulesError::Pipeline { path, .. } => path.clone(),
                };
                unloadable(&file, e.to_string())
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
                _ = hup => true,
                _ = tokio::time::sleep(interval) => {
                    fingerprint(&self.config) != *self.loaded_from.lock().unwrap_or_else(|e| e.into_inner())
                }
            };
            if changed {
                let this = self.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || this.refresh()).await {
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
        let rules = ConfiguredRules::load(&config(&rules_dir)).unwrap();
        let first = rules.snapshot();
        assert_eq!(first.generation, 1);
        assert!(first.errors.is_none());
        assert_eq!(first.rules.unwrap().report.loaded.len(), 1);

        std::fs::write(rules_dir.join("broken.yml"), "title: [unclosed\n").unwrap();
        rules.refresh();
        let broken = rules.snapshot();
        assert_eq!(broken.generation, 1, "the rules in force stay");
        assert_eq!(broken.rules.unwrap().report.loaded.len(), 1);
        let errors = broken.errors.expect("the broken file is reported");
        assert!(errors.iter().all(|e| e.file.ends_with("broken.yml")), "{errors:?}");

        std::fs::remove_file(rules_dir.join("broken.yml")).unwrap();
        rules.refresh();
        let fixed = rules.snapshot();
        assert_eq!(fixed.generation, 2);
        assert!(fixed.errors.is_none());
    }

    #[test]
    fn rules_that_never_loaded_are_loaded_once_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let rules_dir = dir.path().join("rules");
        std::fs::create_dir(&rules_dir).unwrap();
        std::fs::write(rules_dir.join("broken.yml"), "title: [unclosed\n").unwrap();
        let rules = ConfiguredRules::load(&config(&rules_dir)).unwrap();
        let snapshot = rules.snapshot();
        assert!(snapshot.rules.is_none() && snapshot.generation == 0);
        assert_eq!(snapshot.errors.unwrap().len(), 1);

        std::fs::write(rules_dir.join("broken.yml"), RULE).unwrap();
        rules.refresh();
        let snapshot = rules.snapshot();
        assert_eq!(snapshot.rules.unwrap().report.loaded.len(), 1);
        assert!(snapshot.errors.is_none());
    }
}
