//! Routing: which stream (retention class) an event belongs to when its
//! source does not say. Configured [`Route`]s are tried in order; the
//! built-in rules ([`route_stream`]) are the fallback.

use std::borrow::Cow;

use logwarden_event::Event;
use regex::Regex;

/// Programs whose logs are authentication and authorization records.
const AUTH_PROGRAMS: &[&str] = &[
    "sshd",
    "sudo",
    "su",
    "login",
    "passwd",
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "chage",
    "systemd-logind",
    "klogind",
    "gdm",
    "polkitd",
    "pam",
];
const ACCESS_PROGRAMS: &[&str] = &["httpd", "apache", "apache2", "nginx"];
const NETWORK_PROGRAMS: &[&str] = &["named", "dhcpd", "dhclient", "iptables", "ufw", "firewalld"];

/// A configured routing rule: when `field` equals or matches, the event
/// goes to `stream`.
#[derive(Debug, Clone)]
pub struct Route {
    /// An ECS name (`process.name`, `observer.vendor`, `fields` keys such as
    /// `sd.origin@6876.software`) or `message`/`event.original`.
    pub field: String,
    pub condition: RouteCondition,
    pub stream: String,
}

#[derive(Debug, Clone)]
pub enum RouteCondition {
    Equals(String),
    Matches(Regex),
}

impl Route {
    pub fn matches(&self, event: &Event) -> bool {
        let Some(value) = field_text(event, &self.field) else { return false };
        match &self.condition {
            RouteCondition::Equals(expected) => value == expected.as_str(),
            RouteCondition::Matches(regex) => regex.is_match(&value),
        }
    }
}

/// The stream for `event`: the first matching route, else the built-ins.
pub fn route<'a>(event: &Event, routes: &'a [Route]) -> Cow<'a, str> {
    match routes.iter().find(|r| r.matches(event)) {
        Some(route) => Cow::Borrowed(route.stream.as_str()),
        None => Cow::Borrowed(route_stream(event)),
    }
}

/// Built-in routing by program, then by ECS category.
pub fn route_stream(event: &Event) -> &'static str {
    if let Some(process) = event.process_name.as_deref() {
        // `sshd(pam_unix)` → `sshd`
        let program = process.split(['(', '/']).next().unwrap_or(process);
        if AUTH_PROGRAMS.contains(&program) || process.contains("pam_") {
            return "auth";
        } else if ACCESS_PROGRAMS.contains(&program) {
            return "access";
        } else if NETWORK_PROGRAMS.contains(&program) {
            return "network";
        }
    }
    match event.event_category.as_deref() {
        Some("authentication" | "iam" | "session") => "auth",
        Some("web") => "access",
        Some("network" | "intrusion_detection") => "network",
        _ if event.process_name.is_some() => "system",
        _ => logwarden_event::DEFAULT_STREAM,
    }
}

/// The text of an event field by its ECS name, for routing rules.
pub fn field_text<'e>(event: &'e Event, field: &str) -> Option<Cow<'e, str>> {
    let text = |v: &'e Option<String>| v.as_deref().map(Cow::Borrowed);
    let number = |v: Option<u64>| v.map(|n| Cow::Owned(n.to_string()));
    match field {
        "message" => Some(Cow::Borrowed(&event.message)),
        "event.original" => Some(Cow::Borrowed(&event.original)),
        "host.name" => text(&event.host_name),
        "host.ip" => text(&event.host_ip),
        "log.file.path" => text(&event.log_file_path),
        "log.level" => text(&event.log_level),
        "log.source.address" => text(&event.log_source_address),
        "process.name" => text(&event.process_name),
        "source.ip" => text(&event.source_ip),
        "destination.ip" => text(&event.destination_ip),
        "user.name" => text(&event.user_name),
        "event.category" => text(&event.event_category),
        "event.action" => text(&event.event_action),
        "event.outcome" => text(&event.event_outcome),
        "event.code" => text(&event.event_code),
        "observer.vendor" => text(&event.observer_vendor),
        "observer.product" => text(&event.observer_product),
        "process.pid" => number(event.process_pid.map(u64::from)),
        "source.port" => number(event.source_port.map(u64::from)),
        "destination.port" => number(event.destination_port.map(u64::from)),
        "log.syslog.facility.code" => number(event.syslog_facility.map(u64::from)),
        "log.syslog.severity.code" => number(event.syslog_severity.map(u64::from)),
        other => match event.fields.get(other.strip_prefix("fields.").unwrap_or(other))? {
            serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
            serde_json::Value::Null => None,
            v => Some(Cow::Owned(v.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn stream_of(process: Option<&str>) -> &'static str {
        let mut event = Event::new("x", Utc::now());
        event.process_name = process.map(str::to_string);
        route_stream(&event)
    }

    #[test]
    fn routes_by_program() {
        assert_eq!(stream_of(Some("sshd(pam_unix)")), "auth");
        assert_eq!(stream_of(Some("su(pam_unix)")), "auth");
        assert_eq!(stream_of(Some("httpd")), "access");
        assert_eq!(stream_of(Some("named")), "network");
        assert_eq!(stream_of(Some("kernel")), "system");
        assert_eq!(stream_of(None), "app");
    }

    #[test]
    fn category_decides_when_the_program_does_not() {
        let mut event = Event::new("x", Utc::now());
        event.process_name = Some("kernel".into());
        event.event_category = Some("network".into());
        assert_eq!(route_stream(&event), "network");
        event.process_name = None;
        event.event_category = Some("authentication".into());
        assert_eq!(route_stream(&event), "auth");
    }

    #[test]
    fn configured_routes_come_first_in_order() {
        let routes = vec![
            Route {
                field: "observer.vendor".into(),
                condition: RouteCondition::Equals("Palo Alto Networks".into()),
                stream: "network".into(),
            },
            Route {
                field: "sd.meta.tenant".into(),
                condition: RouteCondition::Matches(Regex::new("^pci-").unwrap()),
                stream: "pci".into(),
            },
            Route { field: "process.pid".into(), condition: RouteCondition::Equals("1".into()), stream: "init".into() },
        ];
        let mut event = Event::new("x", Utc::now());
        event.process_name = Some("sshd".into());
        assert_eq!(route(&event, &routes), "auth", "no rule matches: built-in");
        event.fields.insert("sd.meta.tenant".into(), "pci-eu".into());
        assert_eq!(route(&event, &routes), "pci");
        event.observer_vendor = Some("Palo Alto Networks".into());
        assert_eq!(route(&event, &routes), "network");
        let mut init = Event::new("x", Utc::now());
        init.process_pid = Some(1);
        assert_eq!(route(&init, &routes), "init");
    }
}
