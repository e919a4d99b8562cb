//! Built-in routing: which stream (retention class) an event belongs to when
//! its source does not say.

use logwarden_event::Event;

/// Programs whose logs are authentication and authorization records.
const AUTH_PROGRAMS: &[&str] = &[
    "sshd", "sudo", "su", "login", "passwd", "useradd", "usermod", "userdel", "groupadd", "chage",
    "systemd-logind", "klogind", "gdm", "polkitd", "pam",
];
const ACCESS_PROGRAMS: &[&str] = &["httpd", "apache", "apache2", "nginx"];
const NETWORK_PROGRAMS: &[&str] = &["named", "dhcpd", "dhclient", "iptables", "ufw", "firewalld"];

pub fn route_stream(event: &Event) -> &'static str {
    let Some(process) = event.process_name.as_deref() else { return logwarden_event::DEFAULT_STREAM };
    // `sshd(pam_unix)` → `sshd`
    let program = process.split(['(', '/']).next().unwrap_or(process);
    if AUTH_PROGRAMS.contains(&program) || process.contains("pam_") {
        "auth"
    } else if ACCESS_PROGRAMS.contains(&program) {
        "access"
    } else if NETWORK_PROGRAMS.contains(&program) {
        "network"
    } else {
        "system"
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
}
