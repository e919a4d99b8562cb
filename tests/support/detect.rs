//! Detector test set-up: a config whose topics and consumer groups are this
//! test's own, and rule files tests share.

use std::path::{Path, PathBuf};

/// `dir/logwarden.toml`: data in `dir/data`, topics and groups named after
/// `name`, then `detect` (more `[detect]` keys) and `rest` (other tables).
pub fn write_config(dir: &Path, name: &str, detect: &str, rest: &str) -> PathBuf {
    let path = dir.join("logwarden.toml");
    let text = format!(
        r#"data_dir = "{data}"
[kafka]
topic = "{name}"
[indexer]
group = "{name}-indexer"
[detect]
group = "{name}-detect"
correlate_group = "{name}-correlate"
notify_group = "{name}-notify"
hits_topic = "{name}.hits"
alerts_topic = "{name}.alerts"
alerts_dlq_topic = "{name}.alerts.dlq"
{detect}
{rest}"#,
        data = dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[path = "../../detect/tests/common/sigma.rs"]
pub mod sigma;

/// A correlation of a rule that does not exist: reported unsupported.
pub fn dangling() -> String {
    sigma::event_count(
        "Correlation Of A Missing Rule",
        DANGLING_ID,
        "status: test\ndescription: References a rule that does not exist.\nauthor: logwarden tests\n",
        &["no_such_rule"],
        "5m",
        3,
    )
}
pub const DANGLING_ID: &str = "9a7b2c1d-0000-4000-8000-000000000002";
