//! What a Sigma rule sees of a logwarden event, and which logsource the
//! event belongs to.
//!
//! The view is the event's wire JSON (dotted ECS keys, so `source.ip`
//! resolves directly) with the parser's free fields lifted to the top
//! (`Event.EventData.Image` of an EVTX-rendered Windows event), without
//! `event.original` and `event.ingested`: a Sigma keyword searches what
//! the event says, not the syslog header or the JSON text around it.
//! Winlogbeat-shaped Windows events (`winlog.event_data.*`) are given the
//! EVTX shape, so one field mapping serves both.

use logwarden_event::Event;
use serde_json::{Map, Value};

/// The Sigma view of `event`.
///
/// Parsers flatten nested JSON (`{"Event":{"System":{"EventID":1}}}` is
/// stored as `Event.System.EventID`), so Windows fields arrive as dotted
/// keys; rules resolve them as such (a flat key is looked up before a
/// nested path). Events built in code with nested objects keep them.
pub fn sigma_view(event: &Event) -> Value {
    let mut view = match serde_json::to_value(event) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    view.remove("event.original");
    view.remove("event.ingested");
    // A JSON document without a message key keeps its own text as the
    // message: that is the JSON around the event, not what it says.
    if event.parse_error.is_none() && event.message == event.original && event.original.trim_start().starts_with('{') {
        view.remove("message");
    }
    if let Some(Value::Object(fields)) = view.remove("fields") {
        for (key, value) in fields {
            // An ECS field the event already has wins over a free field.
            view.entry(key).or_insert(value);
        }
    }
    if !is_evtx(&view) {
        winlog_to_evtx(&mut view);
    }
    event_id_as_number(&mut view);
    Value::Object(view)
}

/// Whether the view holds an EVTX-rendered event, nested or flattened.
fn is_evtx(view: &Map<String, Value>) -> bool {
    matches!(view.get("Event"), Some(Value::Object(_))) || view.keys().any(|k| k.starts_with("Event.System."))
}

/// Where winlogbeat's `winlog.*` keys go in the EVTX shape `evtx_dump`
/// writes (`event_data.*` and `user_data.*` keep their names below).
const WINLOG_TO_EVTX: &[(&str, &str)] = &[
    ("event_id", "System.EventID"),
    ("channel", "System.Channel"),
    ("computer_name", "System.Computer"),
    ("record_id", "System.EventRecordID"),
    ("provider_name", "System.Provider.#attributes.Name"),
    ("provider_guid", "System.Provider.#attributes.Guid"),
    ("user.identifier", "System.Security.#attributes.UserID"),
    ("process.pid", "System.Execution.#attributes.ProcessID"),
    ("process.thread.id", "System.Execution.#attributes.ThreadID"),
];

/// Gives a winlogbeat-shaped event (`winlog.event_data.*`) the EVTX
/// shape, so one field mapping serves both: flattened `winlog.*` keys
/// become flattened `Event.*` keys, a nested `winlog` object a nested
/// `Event` object.
fn winlog_to_evtx(view: &mut Map<String, Value>) {
    let (nested, mut entries) = match view.get("winlog") {
        Some(Value::Object(winlog)) => {
            let mut entries = Vec::new();
            flatten("", winlog, &mut entries);
            (true, entries)
        }
        _ => {
            let entries: Vec<(String, Value)> = view
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("winlog.")?.to_string(), v.clone())))
                .collect();
            (false, entries)
        }
    };
    if entries.is_empty() {
        return;
    }
    // The JSON parser files `winlog.event_id` as `event.code`.
    if !entries.iter().any(|(k, _)| k == "event_id")
        && let Some(code) = view.get("event.code")
    {
        entries.push(("event_id".into(), code.clone()));
    }
    let mut evtx = Vec::new();
    for (key, value) in entries {
        let path = if let Some((_, to)) = WINLOG_TO_EVTX.iter().find(|(from, _)| *from == key) {
            (*to).to_string()
        } else if let Some(name) = key.strip_prefix("event_data.") {
            format!("EventData.{name}")
        } else if let Some(name) = key.strip_prefix("user_data.") {
            format!("UserData.{name}")
        } else {
            continue;
        };
        evtx.push((path, value));
    }
    if nested {
        let mut event = Map::new();
        for (path, value) in evtx {
            insert_path(&mut event, &path, value);
        }
        view.insert("Event".into(), Value::Object(event));
    } else {
        for (path, value) in evtx {
            view.entry(format!("Event.{path}")).or_insert(value);
        }
    }
}

/// `EventID` as the number rules compare it with: winlogbeat sends it as
/// text, and `evtx_dump` writes `{"#text": 4625, "#attributes":
/// {"Qualifiers": …}}` for events that carry qualifiers.
fn event_id_as_number(view: &mut Map<String, Value>) {
    let number = |value: &Value| match value {
        Value::String(text) => text.trim().parse::<u64>().ok().map(Value::from),
        Value::Object(object) => object.get("#text").and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())).map(Value::from),
        _ => None,
    };
    if let Some(id) = view.get("Event.System.EventID.#text").and_then(number_from_text) {
        view.entry("Event.System.EventID").or_insert(id);
    }
    if let Some(value) = view.get_mut("Event.System.EventID")
        && let Some(id) = number(value)
    {
        *value = id;
    }
    if let Some(value) = view.get_mut("Event").and_then(|e| e.get_mut("System")).and_then(|s| s.get_mut("EventID"))
        && let Some(id) = number(value)
    {
        *value = id;
    }
}

fn number_from_text(value: &Value) -> Option<Value> {
    value.as_u64().or_else(|| value.as_str()?.trim().parse().ok()).map(Value::from)
}

/// `{"a":{"b":1}}` → `("a.b", 1)`, as the parsers flatten JSON.
fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in object {
        let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&key, inner, out),
            value => out.push((key, value.clone())),
        }
    }
}

/// Sets `a.b.c` in nested objects.
fn insert_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = map.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}

/// The logsource an event belongs to, in Sigma's terms. An event has one
/// product at most and may be several services at once (an sshd line is
/// `service: sshd` and `service: auth`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSource {
    pub product: Option<String>,
    pub services: Vec<String>,
    pub categories: Vec<String>,
}

impl EventSource {
    /// Whether a rule with this logsource applies. Fails closed: a rule
    /// naming a product, service or category the event is not of does
    /// not apply (a `product: windows` rule never sees an sshd line).
    pub fn admits(&self, rule: &rsigma_parser::LogSource) -> bool {
        let named = |wanted: &Option<String>, have: &[String]| match wanted {
            None => true,
            Some(wanted) => have.iter().any(|h| h.eq_ignore_ascii_case(wanted)),
        };
        named(&rule.product, self.product.as_slice())
            && named(&rule.service, &self.services)
            && named(&rule.category, &self.categories)
    }
}

/// Sysmon event ids and the Sigma categories they carry.
const SYSMON_CATEGORIES: &[(u64, &[&str])] = &[
    (1, &["process_creation"]),
    (2, &["file_change"]),
    (3, &["network_connection"]),
    (5, &["process_termination"]),
    (6, &["driver_load"]),
    (7, &["image_load"]),
    (8, &["create_remote_thread"]),
    (9, &["raw_access_thread"]),
    (10, &["process_access"]),
    (11, &["file_event"]),
    (12, &["registry_add", "registry_delete", "registry_event"]),
    (13, &["registry_set", "registry_event"]),
    (14, &["registry_rename", "registry_event"]),
    (15, &["create_stream_hash"]),
    (17, &["pipe_created"]),
    (18, &["pipe_created"]),
    (19, &["wmi_event"]),
    (20, &["wmi_event"]),
    (21, &["wmi_event"]),
    (22, &["dns_query"]),
    (23, &["file_delete"]),
    (24, &["clipboard_capture"]),
    (25, &["process_tampering"]),
    (26, &["file_delete"]),
    (29, &["file_executable_detected"]),
];

/// Windows channels and the Sigma services they are.
const WINDOWS_SERVICES: &[(&str, &str)] = &[
    ("security", "security"),
    ("system", "system"),
    ("application", "application"),
    ("microsoft-windows-sysmon/operational", "sysmon"),
    ("microsoft-windows-powershell/operational", "powershell"),
    ("windows powershell", "powershell-classic"),
    ("microsoft-windows-windows defender/operational", "windefend"),
    ("microsoft-windows-taskscheduler/operational", "taskscheduler"),
    ("microsoft-windows-wmi-activity/operational", "wmi"),
    ("microsoft-windows-bits-client/operational", "bits-client"),
    ("microsoft-windows-dns-client/operational", "dns-client"),
    ("microsoft-windows-codeintegrity/operational", "codeintegrity-operational"),
    ("microsoft-windows-applocker/exe and dll", "applocker"),
    ("microsoft-windows-applocker/msi and script", "applocker"),
    ("microsoft-windows-ntlm/operational", "ntlm"),
    ("microsoft-windows-smbclient/security", "smbclient-security"),
    ("microsoft-windows-terminalservices-localsessionmanager/operational", "terminalservices-localsessionmanager"),
    ("microsoft-windows-windowsfirewall with advanced security/firewall", "firewall-as"),
    ("microsoft-windows-printservice/operational", "printservice-operational"),
    ("directory service", "directory-service"),
    ("microsoft-windows-security-mitigations/kernel mode", "security-mitigations"),
    ("microsoft-windows-security-mitigations/user mode", "security-mitigations"),
];

/// The Sigma logsource of an event, from its view.
pub fn event_source(view: &Value) -> EventSource {
    if let Some(system) = view.pointer("/Event/System") {
        return windows_source(system);
    }
    // Flattened by the parser: `Event.System.Channel`, `Event.System.EventID`.
    if let Some(object) = view.as_object() {
        let mut system = Map::new();
        for (key, value) in object {
            if let Some(name) = key.strip_prefix("Event.System.") {
                insert_path(&mut system, name, value.clone());
            }
        }
        if !system.is_empty() {
            return windows_source(&Value::Object(system));
        }
    }
    linux_source(view)
}

fn windows_source(system: &Value) -> EventSource {
    let channel = system.get("Channel").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let event_id = match system.get("EventID") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Object(o)) => o.get("#text").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())),
        _ => None,
    };
    let mut source = EventSource { product: Some("windows".into()), ..EventSource::default() };
    if let Some((_, service)) = WINDOWS_SERVICES.iter().find(|(name, _)| *name == channel) {
        source.services.push((*service).to_string());
    }
    let categories: &[&str] = match (channel.as_str(), event_id) {
        ("microsoft-windows-sysmon/operational", Some(id)) => SYSMON_CATEGORIES
            .iter()
            .find(|(sysmon, _)| *sysmon == id)
            .map(|(_, categories)| *categories)
            .unwrap_or(&[]),
        ("security", Some(4688)) => &["process_creation"],
        ("security", Some(5156)) => &["network_connection"],
        ("security", Some(4657)) => &["registry_set", "registry_event"],
        ("microsoft-windows-powershell/operational", Some(4104)) => &["ps_script"],
        ("microsoft-windows-powershell/operational", Some(4103)) => &["ps_module"],
        ("windows powershell", Some(400 | 600 | 800)) => &["ps_classic_start", "ps_classic_provider_start", "ps_classic_script"],
        _ => &[],
    };
    source.categories = categories.iter().map(|c| c.to_string()).collect();
    source
}

/// Syslog-shaped events (a program name from the header) are `product:
/// linux`; the program is the service, and so are `auth` (the auth
/// stream) and `syslog`.
fn linux_source(view: &Value) -> EventSource {
    let process = view.get("process.name").and_then(Value::as_str);
    let is_cef = view.get("observer.product").is_some();
    let Some(process) = process.filter(|_| !is_cef) else {
        return EventSource::default();
    };
    // `sshd(pam_unix)` is sshd through PAM; `CRON` is cron.
    let program = process.split('(').next().unwrap_or(process).to_ascii_lowercase();
    let mut services = vec!["syslog".to_string()];
    let alias = match program.as_str() {
        "crond" | "anacron" => Some("cron"),
        "guacd" => Some("guacamole"),
        "clamd" | "freshclam" | "clamav-milter" => Some("clamav"),
        "named" => Some("named"),
        _ => None,
    };
    services.push(program.clone());
    if let Some(alias) = alias {
        services.push(alias.to_string());
    }
    if view.get("stream").and_then(Value::as_str) == Some("auth") || matches!(program.as_str(), "sshd" | "sudo" | "su" | "login" | "passwd" | "useradd" | "usermod" | "groupadd") {
        services.push("auth".to_string());
    }
    let mut categories = Vec::new();
    if view.get("event.category").and_then(Value::as_str) == Some("process") {
        categories.push("process_creation".to_string());
    }
    services.dedup();
    EventSource { product: Some("linux".into()), services, categories }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn logsource(product: Option<&str>, service: Option<&str>, category: Option<&str>) -> rsigma_parser::LogSource {
        rsigma_parser::LogSource {
            product: product.map(str::to_string),
            service: service.map(str::to_string),
            category: category.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn an_sshd_line_is_linux_sshd_and_auth_never_windows() {
        let mut event = Event::new("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster", Utc::now());
        event.process_name = Some("sshd".into());
        event.stream = "auth".into();
        event.fields.insert("user.invalid".into(), Value::Bool(true));
        let view = sigma_view(&event);
        assert!(view.get("event.original").is_none());
        assert_eq!(view["user.invalid"], Value::Bool(true));
        let source = event_source(&view);
        assert!(source.admits(&logsource(Some("linux"), Some("sshd"), None)));
        assert!(source.admits(&logsource(Some("linux"), Some("auth"), None)));
        assert!(source.admits(&logsource(Some("linux"), None, None)));
        assert!(!source.admits(&logsource(Some("windows"), None, None)));
        assert!(!source.admits(&logsource(Some("linux"), Some("cron"), None)));
        assert!(!source.admits(&logsource(None, None, Some("process_creation"))));
    }

    #[test]
    fn sysmon_and_winlogbeat_events_get_their_category() {
        let mut event = Event::new("{}", Utc::now());
        event.fields.insert(
            "winlog".into(),
            serde_json::json!({"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                               "event_data": {"Image": "C:\\Windows\\System32\\cmd.exe"}}),
        );
        let view = sigma_view(&event);
        assert_eq!(view.pointer("/Event/EventData/Image").and_then(Value::as_str), Some("C:\\Windows\\System32\\cmd.exe"));
        assert_eq!(view.pointer("/Event/System/EventID"), Some(&Value::from(1u64)));
        let source = event_source(&view);
        assert!(source.admits(&logsource(Some("windows"), None, Some("process_creation"))));
        assert!(source.admits(&logsource(Some("windows"), Some("sysmon"), None)));
        assert!(!source.admits(&logsource(Some("windows"), Some("security"), None)));
        assert!(!source.admits(&logsource(Some("linux"), None, None)));
    }

    #[test]
    fn an_event_without_a_program_is_no_known_product() {
        let event = Event::new("GET / HTTP/1.1", Utc::now());
        let source = event_source(&sigma_view(&event));
        assert!(source.admits(&logsource(None, None, None)));
        assert!(!source.admits(&logsource(Some("linux"), None, None)));
    }
}
