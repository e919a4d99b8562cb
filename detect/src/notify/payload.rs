//! The request bodies of each hook kind: pure functions of the alert and
//! the hook.
//!
//! - Alertmanager: the webhook payload Alertmanager itself sends to its
//!   receivers (version 4), one alert per request, so every tool that takes
//!   Alertmanager notifications takes logwarden's.
//! - Slack: an incoming-webhook message, every section under Slack's
//!   3,000-character limit.
//! - Webhook: the alert JSON as it is on the alerts topic.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use logwarden_config::detect::{HookConfig, HookKind};
use serde_json::{Value, json};

use crate::{Alert, AlertKind};

/// Slack refuses a section whose text has 3,000 characters or more.
pub const SLACK_SECTION_LIMIT: usize = 3000;

/// What an Alertmanager alert without an end time carries in `endsAt`.
const NO_END: &str = "0001-01-01T00:00:00Z";

/// The body `hook` receives for `alert`.
pub fn body(hook: &HookConfig, alert: &Alert) -> Value {
    match hook.kind {
        HookKind::Alertmanager => alertmanager(hook, alert),
        HookKind::Slack => slack(hook, alert),
        HookKind::Webhook => webhook(alert),
    }
}

/// The alert as it is on the alerts topic.
pub fn webhook(alert: &Alert) -> Value {
    serde_json::to_value(alert).expect("an alert serializes")
}

/// The Alertmanager webhook payload (version 4) for one alert.
pub fn alertmanager(hook: &HookConfig, alert: &Alert) -> Value {
    let labels = alertmanager_labels(alert);
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), alert.summary());
    if let Some(description) = &alert.rule.description {
        annotations.insert("description".to_string(), description.clone());
    }
    annotations.insert("alert_id".to_string(), alert.id.clone());
    if !alert.rule.tags.is_empty() {
        annotations.insert("tags".to_string(), alert.rule.tags.join(", "));
    }
    // Grouped by rule and group: one notification is one (rule, group).
    let mut group_labels = BTreeMap::new();
    for name in ["alertname", "rule_id"] {
        group_labels.insert(name.to_string(), labels[name].clone());
    }
    for field in alert.group.values.keys() {
        let name = label_name(field);
        if let Some(value) = labels.get(&name) {
            group_labels.insert(name, value.clone());
        }
    }
    let group_key = format!(
        "{{}}:{{{}}}",
        group_labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ")
    );
    let external_url = hook.external_url.clone().unwrap_or_default();
    json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": hook.name,
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": external_url,
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(alert.first_seen),
            "endsAt": NO_END,
            "generatorURL": alert_link(hook, alert).unwrap_or_default(),
            "fingerprint": alert.id.chars().take(16).collect::<String>(),
        }],
    })
}

/// Labels of the alert: name, rule, severity, kind and the group's values
/// (`source.ip` becomes `source_ip`). A group field never replaces one of
/// the fixed labels.
fn alertmanager_labels(alert: &Alert) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), alert.rule.title.clone());
    labels.insert("rule_id".to_string(), alert.rule.id.clone());
    labels.insert("severity".to_string(), alert.rule.level.clone());
    labels.insert("kind".to_string(), kind_name(alert.kind).to_string());
    for (field, value) in &alert.group.values {
        labels.entry(label_name(field)).or_insert_with(|| value.clone());
    }
    labels
}

/// A Prometheus label name for a field: `[a-zA-Z_][a-zA-Z0-9_]*`, dots and
/// anything else outside that set replaced by `_`.
pub fn label_name(field: &str) -> String {
    let mut name: String = field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// An incoming-webhook message for Slack: a fallback `text` and sections
/// in mrkdwn, each under [`SLACK_SECTION_LIMIT`] characters.
pub fn slack(hook: &HookConfig, alert: &Alert) -> Value {
    let mut headline = format!("*{}*", escape(&alert.summary()));
    if let Some(link) = alert_link(hook, alert) {
        headline.push_str(&format!("\n<{link}|View alert>"));
    }
    let group = if alert.group.key.is_empty() { "—".to_string() } else { escape(&alert.group.key) };
    let tags = if alert.rule.tags.is_empty() {
        "—".to_string()
    } else {
        escape(&alert.rule.tags.join(", "))
    };
    let details = [
        format!("*Rule:* {} (`{}`)", escape(&alert.rule.title), escape(&alert.rule.id)),
        format!("*Level:* {}", escape(&alert.rule.level)),
        format!("*Kind:* {}", kind_name(alert.kind)),
        format!("*Group:* {group}"),
        format!("*Count:* {}", alert.count),
        format!("*First seen:* {}", rfc3339(alert.first_seen)),
        format!("*Last seen:* {}", rfc3339(alert.last_seen)),
        format!("*Tags (ATT&amp;CK):* {tags}"),
        format!("*Alert id:* `{}`", escape(&alert.id)),
    ]
    .join("\n");
    let mut sections = vec![headline, details];
    if let Some(description) = alert.rule.description.as_deref().filter(|d| !d.trim().is_empty()) {
        sections.push(format!("*Description:*\n{}", escape(description)));
    }
    let blocks: Vec<Value> = sections
        .iter()
        .map(|text| json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_LIMIT - 1)}}))
        .collect();
    json!({"text": cut(&alert.summary(), SLACK_SECTION_LIMIT - 1), "blocks": blocks})
}

/// `text` cut to at most `max` characters, ending with `…` when cut; never
/// inside a character, nor inside an `&amp;`-style escape.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let end = text.char_indices().nth(max.saturating_sub(1)).map_or(text.len(), |(i, _)| i);
    let mut kept = &text[..end];
    if let Some(amp) = kept.rfind('&')
        && !kept[amp..].contains(';')
    {
        kept = &kept[..amp];
    }
    format!("{kept}…")
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` are control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A link to the alert in the UI, when the hook names the external URL.
fn alert_link(hook: &HookConfig, alert: &Alert) -> Option<String> {
    let base = hook.external_url.as_deref()?.trim_end_matches('/');
    Some(format!("{base}/alerts/{}", alert.id))
}

fn kind_name(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Detection => "detection",
        AlertKind::Correlation => "correlation",
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
pub(crate) mod tests {
    use logwarden_config::detect::HookConfig;

    use super::*;
    use crate::alert::{AlertGroup, EventRef, RuleRef};

    pub(crate) fn sample() -> Alert {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Alert {
            id: "0123456789abcdef0123456789abcdef".into(),
            kind: AlertKind::Correlation,
            rule: RuleRef {
                id: "c-1".into(),
                title: "SSH brute force".into(),
                level: "high".into(),
                tags: vec!["attack.t1110".into(), "attack.credential-access".into()],
                author: None,
                description: Some("many failed logins <from> one source & more".into()),
            },
            group: AlertGroup {
                key: "source.ip=10.0.0.5".into(),
                values: [("source.ip".to_string(), "10.0.0.5".to_string())].into(),
            },
            first_seen: at,
            last_seen: at + chrono::Duration::seconds(90),
            count: 12,
            events: vec![EventRef {
                event_id: None,
                stream: "auth".into(),
                partition: 0,
                offset: 7,
                timestamp: at,
            }],
            fields: BTreeMap::new(),
            created: at,
        }
    }

    fn hook(kind: &str) -> HookConfig {
        let mut hook = HookConfig::alertmanager("http://127.0.0.1:9/hook").unwrap();
        hook.name = "oncall".into();
        hook.kind = match kind {
            "slack" => HookKind::Slack,
            "webhook" => HookKind::Webhook,
            _ => HookKind::Alertmanager,
        };
        hook.external_url = Some("https://siem.example/".into());
        hook
    }

    #[test]
    fn alertmanager_payload_has_the_version_4_shape() {
        let body = alertmanager(&hook("alertmanager"), &sample());
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], "firing");
        assert_eq!(body["receiver"], "oncall");
        assert_eq!(body["truncatedAlerts"], 0);
        assert_eq!(body["externalURL"], "https://siem.example/");
        assert_eq!(body["groupKey"], r#"{}:{alertname="SSH brute force", rule_id="c-1", source_ip="10.0.0.5"}"#);
        let alert = &body["alerts"][0];
        assert_eq!(
            alert["labels"],
            json!({"alertname": "SSH brute force", "rule_id": "c-1", "severity": "high",
                   "kind": "correlation", "source_ip": "10.0.0.5"})
        );
        assert_eq!(alert["annotations"]["summary"], "[high] SSH brute force (source.ip=10.0.0.5): 12 events");
        assert_eq!(alert["annotations"]["description"], "many failed logins <from> one source & more");
        assert_eq!(alert["annotations"]["alert_id"], "0123456789abcdef0123456789abcdef");
        assert_eq!(alert["annotations"]["tags"], "attack.t1110, attack.credential-access");
        assert_eq!(alert["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(alert["fingerprint"], "0123456789abcdef");
        assert_eq!(alert["generatorURL"], "https://siem.example/alerts/0123456789abcdef0123456789abcdef");
        assert_eq!(body["commonLabels"], alert["labels"]);
        assert_eq!(body["commonAnnotations"], alert["annotations"]);
    }

    #[test]
    fn label_names_are_prometheus_names() {
        assert_eq!(label_name("source.ip"), "source_ip");
        assert_eq!(label_name("user-name"), "user_name");
        assert_eq!(label_name("1x"), "_1x");
        assert_eq!(label_name(""), "_");
    }

    #[test]
    fn a_group_field_never_replaces_a_fixed_label() {
        let mut alert = sample();
        alert.group.values.insert("severity".into(), "low".into());
        let body = alertmanager(&hook("alertmanager"), &alert);
        assert_eq!(body["alerts"][0]["labels"]["severity"], "high");
    }

    #[test]
    fn slack_sections_stay_under_the_limit() {
        let mut alert = sample();
        alert.rule.description = Some("é&<".repeat(5000));
        let body = slack(&hook("slack"), &alert);
        assert_eq!(body["text"], "[high] SSH brute force (source.ip=10.0.0.5): 12 events");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        for block in blocks {
            assert_eq!(block["type"], "section");
            assert_eq!(block["text"]["type"], "mrkdwn");
            assert!(block["text"]["text"].as_str().unwrap().chars().count() < SLACK_SECTION_LIMIT);
        }
        let description = blocks[2]["text"]["text"].as_str().unwrap();
        assert!(description.ends_with('…'), "{}", &description[description.len() - 20..]);
        assert!(!description.trim_end_matches('…').ends_with("&amp") && !description.contains("&<"));
        let details = blocks[1]["text"]["text"].as_str().unwrap();
        for want in ["SSH brute force", "`c-1`", "high", "source.ip=10.0.0.5", "*Count:* 12", "2023-11-14T22:13:20Z",
            "2023-11-14T22:14:50Z", "attack.t1110", "0123456789abcdef0123456789abcdef"]
        {
            assert!(details.contains(want), "{want} missing from {details}");
        }
        assert!(blocks[0]["text"]["text"].as_str().unwrap().contains("<https://siem.example/alerts/0123"));
    }

    #[test]
    fn cut_keeps_characters_and_escapes_whole() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(cut("ab&amp;cd", 6), "ab…");
        assert_eq!(cut("ab&amp;cd", 8), "ab&amp;…");
    }

    #[test]
    fn webhook_is_the_alert_itself() {
        let alert = sample();
        let body = body(&hook("webhook"), &alert);
        assert_eq!(serde_json::from_value::<Alert>(body).unwrap(), alert);
    }
}
