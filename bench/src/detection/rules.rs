//! The rules the detector runs, read in place: SigmaHQ's Linux rules, the
//! first N SigmaHQ Windows rules of the regression set, and logwarden's
//! SSH brute-force correlation (so hits and correlations happen); and the
//! detector's configuration file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The rule paths given to the detector and to the in-process baselines.
#[derive(Debug, Clone)]
pub struct RulePaths {
    pub linux_dir: PathBuf,
    pub windows: Vec<PathBuf>,
    pub own: PathBuf,
}

impl RulePaths {
    /// `sigma_dir/linux`, the first `windows` of `sigma_dir/regression/*/rule.yml`
    /// (by directory name) and `rules/linux/ssh_brute_force.yml` of the
    /// source tree this binary was built from.
    pub fn find(sigma_dir: &Path, windows: usize) -> anyhow::Result<RulePaths> {
        let linux_dir = sigma_dir.join("linux");
        if !linux_dir.is_dir() {
            bail!(
                "{} not found: give --sigma-dir (the Sigma data with linux/ and regression/) or --skip-detect",
                linux_dir.display()
            );
        }
        let regression = sigma_dir.join("regression");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&regression)
            .with_context(|| format!("reading {}", regression.display()))?
            .filter_map(|entry| Some(entry.ok()?.path().join("rule.yml")))
            .filter(|rule| rule.is_file())
            .collect();
        dirs.sort();
        if dirs.len() < windows {
            bail!(
                "{} holds {} Windows rules, fewer than --windows-rules {windows}",
                regression.display(),
                dirs.len()
            );
        }
        dirs.truncate(windows);
        let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/linux/ssh_brute_force.yml");
        if !own.is_file() {
            bail!(
                "{} not found (logwarden's SSH brute-force rule)",
                own.display()
            );
        }
        Ok(RulePaths {
            linux_dir,
            windows: dirs,
            own,
        })
    }

    /// Every path, as `--rules`/`[detect] rules` take them.
    pub fn all(&self) -> Vec<String> {
        std::iter::once(&self.linux_dir)
            .chain(&self.windows)
            .chain(std::iter::once(&self.own))
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// Names of a detector's groups and topics, unique to one stage of a run.
#[derive(Debug, Clone)]
pub struct DetectorNames {
    pub group: String,
    pub correlate_group: String,
    pub notify_group: String,
    pub hits_topic: String,
    pub alerts_topic: String,
    pub alerts_dlq_topic: String,
}

impl DetectorNames {
    pub fn new(events_topic: &str) -> DetectorNames {
        DetectorNames {
            group: format!("{events_topic}-detect"),
            correlate_group: format!("{events_topic}-correlate"),
            notify_group: format!("{events_topic}-notify"),
            hits_topic: format!("{events_topic}.hits"),
            alerts_topic: format!("{events_topic}.alerts"),
            alerts_dlq_topic: format!("{events_topic}.alerts.dlq"),
        }
    }

    /// The topics the detector creates (deleted with the bench's own).
    pub fn topics(&self) -> Vec<String> {
        vec![
            self.hits_topic.clone(),
            format!("{}.state", self.hits_topic),
            self.alerts_topic.clone(),
            self.alerts_dlq_topic.clone(),
        ]
    }

    /// The consumer group of the hook named `hook`.
    pub fn hook_group(&self, hook: &str) -> String {
        format!("{}-{hook}", self.notify_group)
    }
}

/// The name of the bench's hook in the detector's configuration.
pub const HOOK: &str = "bench";

/// Writes the detector's configuration: `topic` on `brokers`, the rules,
/// the stage's groups and topics, an Alertmanager hook to `webhook`.
pub fn write_config(
    path: &Path,
    brokers: &str,
    topic: &str,
    data_dir: &Path,
    rules: &RulePaths,
    names: &DetectorNames,
    webhook: &str,
) -> anyhow::Result<()> {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let rules: Vec<String> = rules.all().iter().map(|r| quote(r)).collect();
    let text = format!(
        "data_dir = {data}\n\
         [kafka]\nbrokers = {brokers}\ntopic = {topic}\n\
         [detect]\nrules = [{rules}]\ngroup = {group}\ncorrelate_group = {correlate}\n\
         notify_group = {notify}\nhits_topic = {hits}\nalerts_topic = {alerts}\nalerts_dlq_topic = {dlq}\n\
         [[detect.hooks]]\nname = {hook}\ntype = \"alertmanager\"\nurl = {webhook}\n",
        data = quote(&data_dir.display().to_string()),
        brokers = quote(brokers),
        topic = quote(topic),
        rules = rules.join(", "),
        group = quote(&names.group),
        correlate = quote(&names.correlate_group),
        notify = quote(&names.notify_group),
        hits = quote(&names.hits_topic),
        alerts = quote(&names.alerts_topic),
        dlq = quote(&names.alerts_dlq_topic),
        hook = quote(HOOK),
        webhook = quote(webhook),
    );
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let rule = dir.path().join("r.yml");
        std::fs::write(&rule, "").unwrap();
        let rules = RulePaths {
            linux_dir: dir.path().to_path_buf(),
            windows: vec![rule.clone()],
            own: rule,
        };
        let names = DetectorNames::new("t");
        let path = dir.path().join("detect.toml");
        write_config(
            &path,
            "127.0.0.1:9092",
            "t",
            dir.path(),
            &rules,
            &names,
            "http://127.0.0.1:1/alerts",
        )
        .unwrap();
        let raw = logwarden_config::RawConfig::from_toml(&std::fs::read_to_string(&path).unwrap())
            .unwrap();
        let config = raw.validate().unwrap();
        assert_eq!(config.detect.rules.len(), 3);
        assert_eq!(config.detect.alerts_topic, "t.alerts");
        assert_eq!(config.detect.hooks[0].name, HOOK);
        assert_eq!(names.hook_group(HOOK), "t-notify-bench");
    }
}
