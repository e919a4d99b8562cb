//! The rules configured in `[detect]`, as the detector runs them: the
//! detector's own loader, reloaded on the same triggers. Unlike the
//! detector, the query API starts when the files do not load: it lists no
//! rules and the errors, and loads them once they are fixed.

use std::sync::Arc;

use logwarden_config::detect::DetectConfig;
pub use logwarden_detect::live::{LiveRules, Snapshot, WATCH_INTERVAL};

/// The rules of `[detect]`; `None` when no rules are configured.
/// Blocking (reads the files).
pub fn load(config: &DetectConfig) -> Option<Arc<LiveRules>> {
    (!config.rules.is_empty()).then(|| LiveRules::load_reporting(config, "query-api"))
}
