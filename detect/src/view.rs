//! What a Sigma rule sees of a logwarden event, and which logsource the
//! event belongs to.
//!
//! The view is the event's wire JSON (dotted ECS keys, so `source.ip`
//! resolves directly) with the parser's free fields lifted to the top,
//! flattened as the parsers store them (`Event.EventData.Image` of an
//! EVTX-rendered Windows event), without `event.original` and
//! `event.ingested`: a Sigma keyword searches what the event says, not the
//! syslog header or the JSON text around it. Winlogbeat-shaped Windows
//! events (`winlog.event_data.*`) are given the EVTX shape, so one field
//! mapping serves both, and EVTX fields also get the names Sigma rules use
//! where the rendering differs (see `sigma_names`).

use logwarden_event::Event;
use serde_json::{Map, Value};

/// The Sigma view of `event`: one flat object of dotted keys. Parsers
/// flatten nested JSON (`{"Event":{"System":{"EventID":1}}}` arrives as
/// `Event.System.EventID`); nested objects an event was given in code are
/// flattened the same way, so rules see one shape (a flat key is looked
/// up before a nested path).
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
        let mut flat = Vec::with_capacity(fields.len());
        flatten("", fields, &mut flat);
        for (key, value) in flat {
            // An ECS field the event already has wins over a free field.
            view.entry(key).or_insert(value);
        }
    }
    if !view.keys().any(|k| k.starts_with("Event.System.")) {
        winlog_to_evtx(&mut view);
    }
    sigma_names(&mut view);
    Value::Object(view)
}

/// `{"a":{"b":1}}` → `("a.b", 1)`, as the parsers flatten JSON.
fn flatten(prefix: &str, object: Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in object {
        let key = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(&key, inner, out),
            value => out.push((key, value)),
        }
    }
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

/// Gives a winlogbeat-shaped event (`winlog.event_data.*`) the EVTX shape
/// (`Event.EventData.*`), so one field mapping serves both.
fn winlog_to_evtx(view: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> =
        view.iter().filter_map(|(k, v)| Some((k.strip_prefix("winlog.")?.to_string(), v.clone()))).collect();
    if entries.is_empty() {
        return;
    }
    // The JSON parser files `winlog.event_id` as `event.code`.
    if !entries.iter().any(|(k, _)| k == "event_id")
        && let Some(code) = view.get("event.code")
    {
        entries.push(("event_id".into(), code.clone()));
    }
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
        view.entry(format!("Event.{path}")).or_insert(value);
    }
}

/// Adds the names Sigma gives EVTX fields beside the rendered ones:
/// - `UserData` holds one element whose children are the event's data
///   (`UserData.LogFileCleared.SubjectUserName`): they are data fields
///   like those of `EventData`;
/// - an element with attributes is rendered `{"#text": …, "#attributes":
///   …}` (`EventID` with its `Qualifiers`): its name stands for its text;
/// - data names are written without their spaces (Defender's `Threat
///   Name` is `ThreatName`; Sigma rules specification, "Field Usage");
/// - `EventID` is a number, as rules compare it.
fn sigma_names(view: &mut Map<String, Value>) {
    let mut aliases = Vec::new();
    for (key, value) in view.iter().filter(|(k, _)| k.starts_with("Event.")) {
        let mut name = key.clone();
        if let Some((_, data)) = name.strip_prefix("Event.UserData.").and_then(|rest| rest.split_once('.')) {
            name = format!("Event.EventData.{data}");
        }
        if let Some(element) = name.strip_suffix(".#text") {
            name = element.to_string();
        }
        if let Some(data) = name.strip_prefix("Event.EventData.")
            && data.contains(' ')
        {
            name = format!("Event.EventData.{}", data.replace(' ', ""));
        }
        if name != *key {
            aliases.push((name, value.clone()));
        }
    }
    for (name, value) in aliases {
        view.entry(name).or_insert(value);
    }
    hash_fields(view);
    if let Some(id) = view.get_mut("Event.System.EventID")
        && let Some(number) = id.as_str().and_then(|text| text.trim().parse::<u64>().ok())
    {
        *id = Value::from(number);
    }
    security_sigma_names(view);
}

/// Sysmon's hash algorithms and the fields Sigma rules name them by.
const HASH_FIELDS: &[(&str, &str)] = &[("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256"), ("IMPHASH", "Imphash")];

/// Sysmon writes every hash in one field (`Hashes:
/// SHA1=…,MD5=…,IMPHASH=…`); rules also name them one by one (`Imphash`,
/// `md5`, `sha1`, `sha256`).
fn hash_fields(view: &mut Map<String, Value>) {
    let hashes = ["Event.EventData.Hashes", "Event.EventData.Hash"].iter().find_map(|k| view.get(*k)?.as_str().map(str::to_string));
    let Some(hashes) = hashes else { return };
    for (algorithm, value) in hashes.split(',').filter_map(|pair| pair.split_once('=')) {
        if let Some((_, field)) = HASH_FIELDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(algorithm.trim())) {
            view.entry(format!("Event.EventData.{field}")).or_insert_with(|| Value::String(value.trim().to_string()));
        }
    }
}

/// Security events that stand for a Sysmon category, and the Sysmon names
/// of their data fields (`NewProcessName` is `Image` to a
/// `process_creation` rule).
const SECURITY_SIGMA_NAMES: &[(u64, &[(&str, &str)])] = &[
    (4688, &[("NewProcessName", "Image"), ("ParentProcessName", "ParentImage")]),
    (4657, &[("ObjectName", "TargetObject"), ("NewValue", "Details"), ("ProcessName", "Image")]),
    (
        5156,
        &[("Application", "Image"), ("DestAddress", "DestinationIp"), ("DestPort", "DestinationPort"), ("SourceAddress", "SourceIp")],
    ),
];

/// Registry roots as the kernel names them and as Sysmon writes them.
const REGISTRY_ROOTS: &[(&str, &str)] = &[("\\REGISTRY\\MACHINE\\", "HKLM\\"), ("\\REGISTRY\\USER\\", "HKU\\")];

fn security_sigma_names(view: &mut Map<String, Value>) {
    let channel = view.get("Event.System.Channel").and_then(Value::as_str);
    if !channel.is_some_and(|c| c.eq_ignore_ascii_case("security")) {
        return;
    }
    let id = view.get("Event.System.EventID").and_then(Value::as_u64);
    let Some((_, names)) = SECURITY_SIGMA_NAMES.iter().find(|(event, _)| Some(*event) == id) else { return };
    for (from, to) in *names {
        let Some(mut value) = view.get(&format!("Event.EventData.{from}")).cloned() else { continue };
        if *to == "TargetObject"
            && let Some(path) = value.as_str()
            && let Some((rest, sysmon)) = REGISTRY_ROOTS.iter().find_map(|(root, sysmon)| {
                let head = path.get(..root.len())?;
                head.eq_ignore_ascii_case(root).then(|| (&path[root.len()..], sysmon))
            })
        {
            value = Value::String(format!("{sysmon}{rest}"));
        }
        view.entry(format!("Event.EventData.{to}")).or_insert(value);
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

/// Sysmon event ids and the Sigma categories they carry (Sigma taxonomy
/// appendix; 26 is also `file_delete`, as pySigma's Sysmon pipeline has it).
/// Event 12 is narrowed by its `EventType` in [`event_source`].
const SYSMON_CATEGORIES: &[(u64, &[&str])] = &[
    (1, &["process_creation"]),
    (2, &["file_change"]),
    (3, &["network_connection"]),
    (4, &["sysmon_status"]),
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
    (16, &["sysmon_status"]),
    (17, &["pipe_created"]),
    (18, &["pipe_created"]),
    (19, &["wmi_event"]),
    (20, &["wmi_event"]),
    (21, &["wmi_event"]),
    (22, &["dns_query"]),
    (23, &["file_delete"]),
    (24, &["clipboard_capture"]),
    (25, &["process_tampering"]),
    (26, &["file_delete", "file_delete_detected"]),
    (27, &["file_block_executable"]),
    (28, &["file_block_shredding"]),
    (29, &["file_executable_detected"]),
    (255, &["sysmon_error"]),
];

/// Sysmon 12 `EventType`s and the one registry category each is (an
/// event 12 without a known type keeps both).
const SYSMON_REGISTRY_TYPES: &[(&str, &str)] =
    &[("CreateKey", "registry_add"), ("DeleteKey", "registry_delete"), ("DeleteValue", "registry_delete")];

/// Windows channels (lowercase) and the Sigma services they are (Sigma
/// taxonomy appendix, plus the channel names Windows writes where the
/// taxonomy gives the display name).
const WINDOWS_SERVICES: &[(&str, &str)] = &[
    ("application", "application"),
    ("microsoft-windows-application-experience/program-telemetry", "application-experience"),
    ("microsoft-windows-application-experience/program-compatibility-assistant", "application-experience"),
    ("microsoft-windows-applocker/exe and dll", "applocker"),
    ("microsoft-windows-applocker/msi and script", "applocker"),
    ("microsoft-windows-applocker/packaged app-deployment", "applocker"),
    ("microsoft-windows-applocker/packaged app-execution", "applocker"),
    ("microsoft-windows-appmodel-runtime/admin", "appmodel-runtime"),
    ("microsoft-windows-appxdeploymentserver/operational", "appxdeployment-server"),
    ("microsoft-windows-appxpackaging/operational", "appxpackaging-om"),
    ("microsoft-windows-bitlocker/bitlocker management", "bitlocker"),
    ("microsoft-windows-bits-client/operational", "bits-client"),
    ("microsoft-windows-capi2/operational", "capi2"),
    ("microsoft-windows-certificateservicesclient-lifecycle-system/operational", "certificateservicesclient-lifecycle-system"),
    ("microsoft-windows-codeintegrity/operational", "codeintegrity-operational"),
    ("microsoft-windows-dhcp-server/operational", "dhcp"),
    ("microsoft-windows-diagnosis-scripted/operational", "diagnosis-scripted"),
    ("microsoft-windows-dns client events/operational", "dns-client"),
    ("microsoft-windows-dns-client/operational", "dns-client"),
    ("dns server", "dns-server"),
    ("microsoft-windows-dns-server/analytical", "dns-server-analytic"),
    ("microsoft-windows-dns-server/audit", "dns-server-audit"),
    ("microsoft-windows-driverframeworks-usermode/operational", "driver-framework"),
    ("microsoft-windows-windows firewall with advanced security/firewall", "firewall-as"),
    ("microsoft-windows-hyper-v-worker", "hyper-v-worker"),
    ("microsoft-windows-hyper-v-worker-admin", "hyper-v-worker"),
    ("microsoft-iis-configuration/operational", "iis-configuration"),
    ("microsoft-windows-kernel-eventtracing", "kernel-event-tracing"),
    ("microsoft-windows-kernel-eventtracing/admin", "kernel-event-tracing"),
    ("microsoft-windows-kernel-shimengine/operational", "kernel-shimengine"),
    ("microsoft-windows-kernel-shimengine/diagnostic", "kernel-shimengine"),
    ("microsoft-windows-ldap-client/debug", "ldap"),
    ("microsoft-windows-lsa/operational", "lsa-server"),
    ("msexchange management", "msexchange-management"),
    ("microsoft-windows-ntfs/operational", "ntfs"),
    ("microsoft-windows-ntlm/operational", "ntlm"),
    ("openssh/operational", "openssh"),
    ("microsoft-windows-powershell/operational", "powershell"),
    ("windows powershell", "powershell-classic"),
    ("microsoft-windows-printservice/admin", "printservice-admin"),
    ("microsoft-windows-printservice/operational", "printservice-operational"),
    ("security", "security"),
    ("microsoft-windows-security-mitigations/kernel mode", "security-mitigations"),
    ("microsoft-windows-security-mitigations/user mode", "security-mitigations"),
    ("microsoft-windows-sense/operational", "sense"),
    ("microsoft-servicebus-client/operational", "servicebus-client"),
    ("microsoft-servicebus-client/admin", "servicebus-client"),
    ("microsoft-windows-shell-core/operational", "shell-core"),
    ("microsoft-windows-smbclient/security", "smbclient-security"),
    ("microsoft-windows-sysmon/operational", "sysmon"),
    ("system", "system"),
    ("microsoft-windows-taskscheduler/operational", "taskscheduler"),
    ("microsoft-windows-terminalservices-localsessionmanager/operational", "terminalservices-localsessionmanager"),
    ("microsoft-windows-vhdmp/operational", "vhdmp"),
    ("microsoft-windows-windows defender/operational", "windefend"),
    ("microsoft-windows-wmi-activity/operational", "wmi"),
    ("directory service", "directory-service"),
];

/// Categories of events other than Sysmon's: (channel, event id, categories).
const CHANNEL_CATEGORIES: &[(&str, u64, &[&str])] = &[
    ("security", 4688, &["process_creation"]),
    ("security", 5156, &["network_connection"]),
    ("security", 4657, &["registry_set", "registry_event"]),
    ("microsoft-windows-powershell/operational", 4103, &["ps_module"]),
    ("microsoft-windows-powershell/operational", 4104, &["ps_script"]),
    ("powershellcore/operational", 4103, &["ps_module"]),
    ("powershellcore/operational", 4104, &["ps_script"]),
    ("windows powershell", 400, &["ps_classic_start"]),
    ("windows powershell", 600, &["ps_classic_provider_start"]),
    ("windows powershell", 800, &["ps_classic_script"]),
];

/// The Sigma logsource of an event, from its view.
pub fn event_source(view: &Value) -> EventSource {
    if let Some(system) = view.pointer("/Event/System") {
        let mut source = windows_source(system);
        narrow_registry_category(view.pointer("/Event/EventData/EventType"), &mut source);
        return source;
    }
    // Flattened, as the parsers store it: `Event.System.Channel`, …
    if let Some(object) = view.as_object() {
        let system: Map<String, Value> = object
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("Event.System.")?.to_string(), value.clone())))
            .filter(|(name, _)| !name.contains('.'))
            .collect();
        if !system.is_empty() {
            let mut source = windows_source(&Value::Object(system));
            narrow_registry_category(view.get("Event.EventData.EventType"), &mut source);
            return source;
        }
    }
    linux_source(view)
}

/// A Sysmon event 12 is `registry_add` or `registry_delete` by its
/// `EventType`, not both.
fn narrow_registry_category(event_type: Option<&Value>, source: &mut EventSource) {
    let Some(kind) = event_type.and_then(Value::as_str) else { return };
    let Some((_, category)) = SYSMON_REGISTRY_TYPES.iter().find(|(name, _)| *name == kind) else { return };
    if source.categories.iter().any(|c| c == "registry_add") && source.categories.iter().any(|c| c == "registry_delete") {
        source.categories.retain(|c| !c.starts_with("registry_") || c == category || c == "registry_event");
    }
}

fn windows_source(system: &Value) -> EventSource {
    let channel = system.get("Channel").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let event_id = match system.get("EventID") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(Value::Object(o)) => o.get("#text").and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())),
        _ => None,
    };
    let mut source = EventSource { product: Some("windows".into()), ..EventSource::default() };
    if let Some((_, service)) = WINDOWS_SERVICES.iter().find(|(name, _)| *name == channel) {
        source.services.push((*service).to_string());
    }
    let categories: &[&str] = match (channel.as_str(), event_id) {
        ("microsoft-windows-sysmon/operational", Some(id)) => {
            SYSMON_CATEGORIES.iter().find(|(sysmon, _)| *sysmon == id).map_or(&[], |(_, categories)| *categories)
        }
        (channel, Some(id)) => CHANNEL_CATEGORIES
            .iter()
            .find(|(name, event, _)| *name == channel && *event == id)
            .map_or(&[], |(_, _, categories)| *categories),
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
        // `crontab` logs the edits (`(root) REPLACE (root)`), `crond` the runs.
        "crond" | "anacron" | "crontab" => Some("cron"),
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
        // Flattened as the parsers store it.
        assert_eq!(view["Event.EventData.Image"].as_str(), Some("C:\\Windows\\System32\\cmd.exe"));
        assert_eq!(view["Event.System.EventID"], Value::from(1u64));
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
