//! `[detect]`: Sigma rules, the detection and correlation stages, and the
//! hooks alerts are delivered to.
//!
//! ```toml
//! [detect]
//! rules = ["rules/**/*.yml"]          # files, directories or globs
//! pipelines = ["rules/site-mapping.yml"]   # added after the built-in field mappings
//! suppress = "10m"                    # one notification per rule and group per 10 minutes
//! allowed_lateness = "1m"             # how late an event may be for a correlation window
//!
//! [[detect.hooks]]
//! name = "oncall"
//! type = "alertmanager"               # Alertmanager webhook payload (v4); or "slack", "webhook"
//! url = "http://oncall-bridge:9095/alertmanager"   # any receiver of Alertmanager webhooks
//! min_level = "high"
//! tags = ["attack.credential-access"] # any of them; absent: every alert
//! headers_env = { Authorization = "ONCALL_AUTH" }   # header values from the environment
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;
use crate::kafka::{Secret, is_valid_topic};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetect {
    /// Rule files, directories or globs.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Extra processing pipelines (pySigma YAML), applied after the built-in ones.
    #[serde(default)]
    pub pipelines: Vec<PathBuf>,
    pub group: Option<String>,
    pub correlate_group: Option<String>,
    pub notify_group: Option<String>,
    pub hits_topic: Option<String>,
    pub alerts_topic: Option<String>,
    pub alerts_dlq_topic: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub suppress: Option<Duration>,
    /// Per rule id: a suppression window other than `suppress`.
    #[serde(default)]
    pub suppress_rules: BTreeMap<String, String>,
    #[serde(default, with = "humantime_serde")]
    pub allowed_lateness: Option<Duration>,
    /// Hits held in the reorder buffer of one partition before the oldest
    /// are released early.
    pub reorder_capacity: Option<usize>,
    #[serde(default)]
    pub hooks: Vec<RawHook>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub min_level: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Header values given in the config (not for secrets).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header name → environment variable holding its value.
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    /// Header name → file holding its value.
    #[serde(default)]
    pub headers_file: BTreeMap<String, PathBuf>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// How long a failing alert is retried before it goes to the dead-letter topic.
    #[serde(default, with = "humantime_serde")]
    pub retry_for: Option<Duration>,
    /// Slack: the link to the alert shown in messages; Alertmanager: `externalURL`.
    pub external_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DetectConfig {
    pub rules: Vec<String>,
    pub pipelines: Vec<PathBuf>,
    /// Consumer group of the detection stage on the events topic.
    pub group: String,
    /// Consumer group of the correlation stage on the hits topic.
    pub correlate_group: String,
    /// Consumer group of the hook deliverer on the alerts topic.
    pub notify_group: String,
    pub hits_topic: String,
    pub alerts_topic: String,
    pub alerts_dlq_topic: String,
    pub suppress: Option<Duration>,
    pub suppress_rules: BTreeMap<String, Duration>,
    pub allowed_lateness: Duration,
    pub reorder_capacity: usize,
    pub hooks: Vec<HookConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Alertmanager,
    Slack,
    Webhook,
}

impl HookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Alertmanager => "alertmanager",
            HookKind::Slack => "slack",
            HookKind::Webhook => "webhook",
        }
    }
}

/// Sigma levels in rising order.
pub const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// The rank of a Sigma level (`informational` = 0 … `critical` = 4).
pub fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

#[derive(Debug, Clone)]
pub struct HookConfig {
    pub name: String,
    pub kind: HookKind,
    pub url: String,
    pub min_level: Option<String>,
    pub tags: Vec<String>,
    pub headers: Vec<(String, Secret)>,
    pub timeout: Duration,
    pub retry_for: Duration,
    pub external_url: Option<String>,
}

impl HookConfig {
    /// An Alertmanager-shaped hook to `url` (the `--alert-webhook` flag).
    pub fn alertmanager(url: &str) -> Result<HookConfig, ConfigError> {
        let raw = RawHook { kind: "alertmanager".into(), url: url.into(), ..RawHook::default() };
        validate_hook(raw, 0, &|_| None)
    }
}

pub(crate) fn validate(
    raw: RawDetect,
    events_topic: &str,
    read_env: &dyn Fn(&str) -> Option<String>,
) -> Result<DetectConfig, ConfigError> {
    let topic = |key: &str, value: Option<String>, default: &str| -> Result<String, ConfigError> {
        let value = value.unwrap_or_else(|| default.to_string());
        if !is_valid_topic(&value) || value == events_topic {
            return Err(ConfigError::invalid(
                format!("detect.{key}"),
                format!("`{value}` must be a valid Kafka topic name other than kafka.topic"),
            ));
        }
        Ok(value)
    };
    let hits_topic = topic("hits_topic", raw.hits_topic, "logwarden.detect.hits")?;
    let alerts_topic = topic("alerts_topic", raw.alerts_topic, "logwarden.alerts")?;
    let alerts_dlq_topic = topic("alerts_dlq_topic", raw.alerts_dlq_topic, "logwarden.alerts.dlq")?;
    if hits_topic == alerts_topic || alerts_topic == alerts_dlq_topic || hits_topic == alerts_dlq_topic {
        return Err(ConfigError::invalid(
            "detect.alerts_topic",
            "detect.hits_topic, detect.alerts_topic and detect.alerts_dlq_topic must differ",
        ));
    }
    let mut suppress_rules = BTreeMap::new();
    for (rule, text) in raw.suppress_rules {
        let window = humantime::parse_duration(&text).map_err(|e| {
            ConfigError::invalid(format!("detect.suppress_rules.{rule}"), format!("`{text}` is not a duration: {e}"))
        })?;
        suppress_rules.insert(rule, window);
    }
    let allowed_lateness = raw.allowed_lateness.unwrap_or(Duration::from_secs(60));
    if allowed_lateness > Duration::from_secs(24 * 3600) {
        return Err(ConfigError::invalid("detect.allowed_lateness", "must be at most 24h"));
    }
    let reorder_capacity = raw.reorder_capacity.unwrap_or(100_000);
    if reorder_capacity == 0 {
        return Err(ConfigError::invalid("detect.reorder_capacity", "must be greater than zero"));
    }
    let hooks = raw
        .hooks
        .into_iter()
        .enumerate()
        .map(|(i, hook)| validate_hook(hook, i, read_env))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names = std::collections::BTreeSet::new();
    for (i, hook) in hooks.iter().enumerate() {
        if !names.insert(hook.name.clone()) {
            return Err(ConfigError::invalid(format!("detect.hooks[{i}].name"), format!("`{}` is used twice", hook.name)));
        }
    }
    Ok(DetectConfig {
        rules: raw.rules,
        pipelines: raw.pipelines,
        group: raw.group.unwrap_or_else(|| "logwarden-detect".into()),
        correlate_group: raw.correlate_group.unwrap_or_else(|| "logwarden-correlate".into()),
        notify_group: raw.notify_group.unwrap_or_else(|| "logwarden-notify".into()),
        hits_topic,
        alerts_topic,
        alerts_dlq_topic,
        suppress: raw.suppress,
        suppress_rules,
        allowed_lateness,
        reorder_capacity,
        hooks,
    })
}

fn validate_hook(
    raw: RawHook,
    index: usize,
    read_env: &dyn Fn(&str) -> Option<String>,
) -> Result<HookConfig, ConfigError> {
    let key = |field: &str| format!("detect.hooks[{index}].{field}");
    let kind = match raw.kind.as_str() {
        "alertmanager" => HookKind::Alertmanager,
        "slack" => HookKind::Slack,
        "webhook" => HookKind::Webhook,
        other => {
            return Err(ConfigError::invalid(
                key("type"),
                format!("`{other}` is not one of alertmanager, slack, webhook"),
            ));
        }
    };
    if !(raw.url.starts_with("http://") || raw.url.starts_with("https://")) || raw.url.len() < 10 {
        return Err(ConfigError::invalid(key("url"), format!("`{}` is not an http:// or https:// URL", raw.url)));
    }
    if let Some(level) = &raw.min_level
        && level_rank(level).is_none()
    {
        return Err(ConfigError::invalid(
            key("min_level"),
            format!("`{level}` is not one of {}", LEVELS.join(", ")),
        ));
    }
    let mut headers: Vec<(String, Secret)> = raw
        .headers
        .into_iter()
        .map(|(name, value)| (name, Secret::new(value)))
        .collect();
    for (name, var) in raw.headers_env {
        let value = read_env(&var).ok_or_else(|| {
            ConfigError::invalid(format!("{}.{name}", key("headers_env")), format!("the environment variable {var} is not set"))
        })?;
        headers.push((name, Secret::new(value)));
    }
    for (name, path) in raw.headers_file {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::invalid(format!("{}.{name}", key("headers_file")), format!("cannot read {}: {e}", path.display()))
        })?;
        headers.push((name, Secret::new(text.trim_end_matches(['\n', '\r']).to_string())));
    }
    for (name, _) in &headers {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ConfigError::invalid(key("headers"), format!("`{name}` is not a valid header name")));
        }
    }
    let timeout = raw.timeout.unwrap_or(Duration::from_secs(10));
    if timeout.is_zero() {
        return Err(ConfigError::invalid(key("timeout"), "must be greater than zero"));
    }
    Ok(HookConfig {
        name: raw.name.unwrap_or_else(|| format!("{}-{index}", kind.as_str())),
        kind,
        url: raw.url,
        min_level: raw.min_level.map(|l| l.to_ascii_lowercase()),
        tags: raw.tags,
        headers,
        timeout,
        retry_for: raw.retry_for.unwrap_or(Duration::from_secs(24 * 3600)),
        external_url: raw.external_url,
    })
}

#[cfg(test)]
mod tests {
    use crate::RawConfig;

    fn load(text: &str) -> Result<crate::Config, crate::ConfigError> {
        RawConfig::from_toml(text)?.validate_with_env(&|name| (name == "HOOK_TOKEN").then(|| "Bearer t0k".to_string()))
    }

    #[test]
    fn defaults_and_a_full_hook() {
        let config = load(
            "[detect]\nrules = [\"rules/*.yml\"]\nsuppress = \"10m\"\n[detect.suppress_rules]\nabc = \"1h\"\n\
             [[detect.hooks]]\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:9093/hook\"\nmin_level = \"High\"\n\
             headers_env = { Authorization = \"HOOK_TOKEN\" }\n",
        )
        .unwrap();
        let detect = config.detect;
        assert_eq!(detect.group, "logwarden-detect");
        assert_eq!(detect.alerts_topic, "logwarden.alerts");
        assert_eq!(detect.suppress, Some(std::time::Duration::from_secs(600)));
        assert_eq!(detect.suppress_rules["abc"], std::time::Duration::from_secs(3600));
        let hook = &detect.hooks[0];
        assert_eq!((hook.name.as_str(), hook.min_level.as_deref()), ("alertmanager-0", Some("high")));
        assert_eq!(hook.headers[0].1.expose(), "Bearer t0k");
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("[[detect.hooks]]\ntype = \"pager\"\nurl = \"http://x:1/\"\n", "detect.hooks[0].type"),
            ("[[detect.hooks]]\ntype = \"slack\"\nurl = \"ftp://x/\"\n", "detect.hooks[0].url"),
            ("[[detect.hooks]]\ntype = \"slack\"\nurl = \"http://x:1/\"\nmin_level = \"urgent\"\n", "detect.hooks[0].min_level"),
            ("[[detect.hooks]]\ntype = \"slack\"\nurl = \"http://x:1/\"\nheaders_env = { X-Token = \"NOPE\" }\n", "detect.hooks[0].headers_env.X-Token"),
            ("[detect]\nalerts_topic = \"logwarden.events\"\n", "detect.alerts_topic"),
            ("[detect.suppress_rules]\nabc = \"soon\"\n", "detect.suppress_rules.abc"),
            ("[detect]\nallowed_lateness = \"2d\"\n", "detect.allowed_lateness"),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
