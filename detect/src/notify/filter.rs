//! Which alerts a hook wants, and notification suppression.
//!
//! Suppression only quiets notifications: the alert stays on the topic and
//! in the index. Within a rule's window, one alert per (rule, group) is
//! sent; the others are counted and recorded as handled. Windows compare
//! alerts' `first_seen` (event time), so a replay decides as the first run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use logwarden_config::detect::{DetectConfig, HookConfig, level_rank};

use crate::Alert;
use crate::alert::digest_id;

/// Whether `hook` wants `alert`: at least its minimum level (an unknown
/// level counts as `informational`), and one of its tags when it lists any.
pub fn wanted(hook: &HookConfig, alert: &Alert) -> bool {
    if let Some(min) = hook.min_level.as_deref().and_then(level_rank)
        && level_rank(&alert.rule.level).unwrap_or(0) < min
    {
        return false;
    }
    hook.tags.is_empty()
        || hook
            .tags
            .iter()
            .any(|tag| alert.rule.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
}

/// The suppression windows: per rule id, else the default.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    default: Option<Duration>,
    rules: BTreeMap<String, Duration>,
}

impl Suppression {
    pub fn new(detect: &DetectConfig) -> Suppression {
        Suppression { default: detect.suppress, rules: detect.suppress_rules.clone() }
    }

    /// The window of `rule_id`; `None` when its notifications are never suppressed.
    pub fn window(&self, rule_id: &str) -> Option<Duration> {
        self.rules.get(rule_id).copied().or(self.default).filter(|w| !w.is_zero())
    }

    /// The longest window of any rule: how far back a last-sent time matters.
    pub fn longest(&self) -> Duration {
        self.rules.values().copied().chain(self.default).max().unwrap_or_default()
    }

    /// Whether `alert` is suppressed, given when (event time) the last alert
    /// of its rule and group was sent to the hook.
    pub fn suppresses(&self, alert: &Alert, last_sent: Option<DateTime<Utc>>) -> bool {
        let (Some(window), Some(last)) = (self.window(&alert.rule.id), last_sent) else {
            return false;
        };
        let apart = (alert.first_seen - last).abs().to_std().unwrap_or(Duration::MAX);
        apart < window
    }
}

/// The key last-sent times are kept under: rule id and group key, digested
/// so that it is one token in the delivered record whatever the group holds.
pub fn suppression_key(alert: &Alert) -> String {
    digest_id(&["suppress", &alert.rule.id, &alert.group.key])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(level: &str, tags: &[&str]) -> Alert {
        let mut alert = crate::notify::payload::tests::sample();
        alert.rule.level = level.into();
        alert.rule.tags = tags.iter().map(|t| t.to_string()).collect();
        alert
    }

    fn hook(min_level: Option<&str>, tags: &[&str]) -> HookConfig {
        let mut hook = HookConfig::alertmanager("http://127.0.0.1:9/hook").unwrap();
        hook.min_level = min_level.map(str::to_string);
        hook.tags = tags.iter().map(|t| t.to_string()).collect();
        hook
    }

    #[test]
    fn level_and_tags_filter() {
        assert!(wanted(&hook(None, &[]), &alert("low", &[])));
        assert!(wanted(&hook(Some("high"), &[]), &alert("critical", &[])));
        assert!(wanted(&hook(Some("high"), &[]), &alert("High", &[])));
        assert!(!wanted(&hook(Some("high"), &[]), &alert("medium", &[])));
        assert!(!wanted(&hook(Some("low"), &[]), &alert("whatever", &[])));
        assert!(wanted(&hook(None, &["attack.t1110", "x"]), &alert("low", &["attack.T1110"])));
        assert!(!wanted(&hook(None, &["attack.t1110"]), &alert("low", &["attack.t1078"])));
        assert!(!wanted(&hook(Some("high"), &["a"]), &alert("low", &["a"])));
    }

    #[test]
    fn suppression_compares_event_times_within_the_rule_window() {
        let mut detect = logwarden_config::RawConfig::default().validate_with_env(&|_| None).unwrap().detect;
        detect.suppress = Some(Duration::from_secs(600));
        detect.suppress_rules.insert("quiet".into(), Duration::from_secs(3600));
        detect.suppress_rules.insert("loud".into(), Duration::ZERO);
        let suppression = Suppression::new(&detect);
        assert_eq!(suppression.longest(), Duration::from_secs(3600));
        let a = alert("high", &[]);
        let minutes = |m: i64| Some(a.first_seen - chrono::Duration::minutes(m));
        assert!(!suppression.suppresses(&a, None));
        assert!(suppression.suppresses(&a, minutes(9)));
        assert!(suppression.suppresses(&a, minutes(-9)), "an older alert read after a newer one");
        assert!(!suppression.suppresses(&a, minutes(10)));
        let mut quiet = a.clone();
        quiet.rule.id = "quiet".into();
        assert!(suppression.suppresses(&quiet, minutes(59)));
        let mut loud = a.clone();
        loud.rule.id = "loud".into();
        assert!(!suppression.suppresses(&loud, minutes(0)));
        assert!(!Suppression::default().suppresses(&a, minutes(0)));
    }

    #[test]
    fn suppression_keys_tell_rule_and_group_apart() {
        let a = alert("high", &[]);
        let mut b = a.clone();
        b.group.key = "source.ip=10.0.0.6".into();
        let mut c = a.clone();
        c.id = "other".into();
        assert_ne!(suppression_key(&a), suppression_key(&b));
        assert_eq!(suppression_key(&a), suppression_key(&c));
    }
}
