//! Windows Security event IDs mapped to ECS categorization, for events
//! forwarded as JSON by winlogbeat or NXLog.

use logwarden_event::Event;

/// `(event ID, category, action, outcome)`; after Elastic's winlogbeat
/// security module.
const SECURITY_EVENTS: &[(&str, &str, &str, &str)] = &[
    ("4624", "authentication", "logged-in", "success"),
    ("4625", "authentication", "logon-failed", "failure"),
    ("4634", "authentication", "logged-out", "success"),
    ("4647", "authentication", "logged-out", "success"),
    ("4648", "authentication", "logged-in-explicit", "success"),
    ("4672", "iam", "logged-in-special", "success"),
    ("4720", "iam", "added-user-account", "success"),
    ("4722", "iam", "enabled-user-account", "success"),
    ("4723", "iam", "changed-password", "success"),
    ("4724", "iam", "reset-password", "success"),
    ("4725", "iam", "disabled-user-account", "success"),
    ("4726", "iam", "deleted-user-account", "success"),
    ("4728", "iam", "added-member-to-group", "success"),
    ("4732", "iam", "added-member-to-group", "success"),
    ("4740", "iam", "locked-out-user-account", "success"),
    ("4767", "iam", "unlocked-user-account", "success"),
    ("4768", "authentication", "kerberos-authentication-ticket-requested", "success"),
    ("4769", "authentication", "kerberos-service-ticket-requested", "success"),
    ("4771", "authentication", "kerberos-preauth-failed", "failure"),
    ("4776", "authentication", "credential-validated", "success"),
    ("4688", "process", "created-process", "success"),
    ("4689", "process", "exited-process", "success"),
    ("1102", "configuration", "audit-log-cleared", "success"),
];

/// The name of a Windows event-data key under the prefixes shippers use
/// (`winlog.event_data.TargetUserName`, `event_data.…`, `EventData.…`).
pub(crate) fn data_name(key: &str) -> Option<&str> {
    ["winlog.event_data.", "event_data.", "EventData."].iter().find_map(|prefix| key.strip_prefix(prefix))
}

/// Sets category/action/outcome from `event.code` where they are unset.
/// 4776 reports a failure through a non-zero `Status`.
pub(crate) fn enrich(event: &mut Event) {
    let Some(code) = event.event_code.as_deref() else { return };
    let Some(&(_, category, action, outcome)) = SECURITY_EVENTS.iter().find(|(id, ..)| *id == code) else {
        return;
    };
    let failed_status = code == "4776"
        && ["winlog.event_data.Status", "Status", "event_data.Status"]
            .iter()
            .filter_map(|k| event.fields.get(*k).and_then(|v| v.as_str()))
            .any(|s| s != "0x0");
    event.event_category.get_or_insert_with(|| category.to_string());
    event.event_action.get_or_insert_with(|| action.to_string());
    let outcome = if failed_status { "failure" } else { outcome };
    event.event_outcome.get_or_insert_with(|| outcome.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn known_ids_fill_only_what_is_unset() {
        let mut e = Event::new("x", DateTime::UNIX_EPOCH);
        e.event_code = Some("4740".into());
        e.event_action = Some("custom".into());
        enrich(&mut e);
        assert_eq!(e.event_category.as_deref(), Some("iam"));
        assert_eq!(e.event_action.as_deref(), Some("custom"));
        assert_eq!(e.event_outcome.as_deref(), Some("success"));
    }

    #[test]
    fn credential_validation_failure_by_status() {
        let mut e = Event::new("x", DateTime::UNIX_EPOCH);
        e.event_code = Some("4776".into());
        e.fields.insert("Status".into(), "0xc0000064".into());
        enrich(&mut e);
        assert_eq!(e.event_outcome.as_deref(), Some("failure"));
    }

    #[test]
    fn unknown_ids_are_left_alone() {
        let mut e = Event::new("x", DateTime::UNIX_EPOCH);
        e.event_code = Some("9999".into());
        enrich(&mut e);
        assert_eq!(e.event_category, None);
    }
}
