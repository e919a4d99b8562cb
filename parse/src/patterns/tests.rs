use super::*;

fn apply(program: Option<&str>, text: &str) -> (Option<String>, Event) {
    let mut event = Event::new(text, DateTime::UNIX_EPOCH);
    let name = PatternLibrary::builtin().apply(text, program, Tz::UTC, &mut event).map(str::to_string);
    (name, event)
}

fn matched(program: &str, text: &str, pattern: &str) -> Event {
    let (name, event) = apply(Some(program), text);
    assert_eq!(name.as_deref(), Some(pattern), "{text}");
    assert_eq!(event.fields["parse.pattern"], pattern);
    event
}

#[test]
fn sshd_accepted_publickey() {
    let e = matched(
        "sshd",
        "Accepted publickey for deploy from 2001:db8::7 port 40022 ssh2: RSA SHA256:abc",
        "sshd.accepted",
    );
    assert_eq!(e.user_name.as_deref(), Some("deploy"));
    assert_eq!(e.source_ip.as_deref(), Some("2001:db8::7"));
    assert_eq!(e.source_port, Some(40022));
    assert_eq!(e.fields["ssh.method"], "publickey");
    assert_eq!(
        (e.event_category.as_deref(), e.event_action.as_deref(), e.event_outcome.as_deref()),
        (Some("authentication"), Some("ssh_login"), Some("success"))
    );
}

#[test]
fn sshd_failed_password_and_invalid_users() {
    let e = matched("sshd", "Failed password for root from 183.62.140.253 port 38906 ssh2", "sshd.failed");
    assert_eq!((e.user_name.as_deref(), e.source_port), (Some("root"), Some(38906)));
    assert_eq!(e.event_outcome.as_deref(), Some("failure"));
    let e = matched(
        "sshd",
        "Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2",
        "sshd.failed_invalid_user",
    );
    assert_eq!(e.user_name.as_deref(), Some("test9"));
    assert_eq!(e.fields["user.invalid"], true);
    let e = matched("sshd", "Invalid user admin from 103.99.0.122 port 50810", "sshd.invalid_user");
    assert_eq!((e.user_name.as_deref(), e.source_ip.as_deref()), (Some("admin"), Some("103.99.0.122")));
}

#[test]
fn sshd_break_in_attempt_keeps_name_and_address() {
    let e = matched(
        "sshd",
        "reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
        "sshd.break_in_attempt",
    );
    assert_eq!(e.source_ip.as_deref(), Some("173.234.31.186"));
    assert_eq!(e.fields["source.domain"], "ns.example.com");
    assert_eq!(e.event_category.as_deref(), Some("intrusion_detection"));
}

#[test]
fn sshd_disconnect() {
    let e =
        matched("sshd", "Received disconnect from 139.59.209.18 port 53386:11: Bye Bye [preauth]", "sshd.disconnect");
    assert_eq!((e.source_ip.as_deref(), e.source_port), (Some("139.59.209.18"), Some(53386)));
    assert_eq!(e.fields["ssh.disconnect.code"], "11");
    assert_eq!(e.fields["ssh.disconnect.reason"], "Bye Bye");
}

#[test]
fn pam_lines_old_and_new_shapes() {
    let e = matched(
        "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root",
        "pam.authentication_failure",
    );
    assert_eq!((e.user_name.as_deref(), e.source_ip.as_deref()), (Some("root"), Some("112.95.230.3")));
    assert_eq!(e.fields["pam.service"], "sshd");
    let e = matched(
        "sshd(pam_unix)",
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root",
        "pam.authentication_failure",
    );
    assert_eq!(e.source_ip, None);
    assert_eq!(e.fields["source.domain"], "220-135-151-1.hinet-ip.hinet.net");
    let e =
        matched("CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", "pam.session_opened");
    assert_eq!((e.user_name.as_deref(), e.event_category.as_deref()), (Some("root"), Some("session")));
    let e = matched("su(pam_unix)", "session closed for user news", "pam.session_closed");
    assert_eq!(e.user_name.as_deref(), Some("news"));
}

#[test]
fn sudo_command_and_denial() {
    let e = matched(
        "sudo",
        "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
        "sudo.command",
    );
    assert_eq!(e.user_name.as_deref(), Some("alice"));
    assert_eq!(e.fields["sudo.target_user"], "root");
    assert_eq!(e.fields["process.command_line"], "/usr/bin/systemctl restart nginx");
    assert_eq!(e.event_outcome.as_deref(), Some("success"));
    let e = matched(
        "sudo",
        "mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash",
        "sudo.denied",
    );
    assert_eq!(e.fields["error.message"], "user NOT in sudoers");
    assert_eq!(e.event_outcome.as_deref(), Some("failure"));
}

#[test]
fn su_cron_and_iptables() {
    let e = matched("su", "FAILED su for root by bob", "su.failure");
    assert_eq!((e.user_name.as_deref(), e.event_outcome.as_deref()), (Some("bob"), Some("failure")));
    let e = matched("su", "(to root) alice on pts/3", "su.session");
    assert_eq!(e.fields["su.target_user"], "root");
    let e = matched("CRON", "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)", "cron.command");
    assert_eq!(e.user_name.as_deref(), Some("root"));
    let e = matched(
        "kernel",
        "[12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.9 DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=0 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=29200 RES=0x00 SYN URGP=0",
        "kernel.iptables",
    );
    assert_eq!((e.source_ip.as_deref(), e.destination_ip.as_deref()), (Some("203.0.113.9"), Some("10.0.0.5")));
    assert_eq!((e.source_port, e.destination_port), (Some(51234), Some(22)));
    assert_eq!(e.fields["iptables.prefix"], "[UFW BLOCK]");
    assert_eq!(e.fields["network.transport"], "TCP");
    let e = matched(
        "kernel",
        "IPTABLES-DROP: IN=eth0 OUT= SRC=198.51.100.1 DST=10.0.0.5 LEN=84 PROTO=ICMP TYPE=8",
        "kernel.iptables",
    );
    assert_eq!((e.source_port, e.fields["network.transport"].as_str()), (None, Some("ICMP")));
}

#[test]
fn web_access_and_error_lines_as_whole_lines() {
    let (name, e) = apply(
        None,
        r#"203.0.113.4 - - [10/Oct/2026:13:55:36 -0700] "GET /index.html HTTP/1.1" 404 153 "-" "Mozilla/5.0""#,
    );
    assert_eq!(name.as_deref(), Some("http.access_combined"));
    assert_eq!(e.timestamp.to_rfc3339(), "2026-10-10T20:55:36+00:00");
    assert_eq!(e.user_name, None, "a dash is no user");
    assert_eq!(e.fields["http.response.status_code"], "404");
    let (name, e) = apply(
        None,
        r#"2026/01/05 10:00:00 [error] 1234#5678: *9 open() "/srv/x" failed (2: No such file or directory), client: 198.51.100.7, server: example.com, request: "GET /x HTTP/1.1", host: "example.com""#,
    );
    assert_eq!(name.as_deref(), Some("nginx.error"));
    assert_eq!(e.message, r#"open() "/srv/x" failed (2: No such file or directory)"#);
    assert_eq!(e.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!((e.process_pid, e.log_level.as_deref()), (Some(1234), Some("error")));
    let (name, e) = apply(None, "[Sun Dec 04 04:47:44 2005] [error] [client 10.0.0.1] File does not exist: /x");
    assert_eq!(name.as_deref(), Some("apache.error"));
    assert_eq!(e.timestamp.to_rfc3339(), "2005-12-04T04:47:44+00:00");
}

#[test]
fn program_filters_and_non_matches() {
    // sshd patterns do not run for other programs, nor on whole lines.
    assert_eq!(apply(Some("vsftpd"), "Failed password for root from 1.2.3.4 port 1 ssh2").0, None);
    assert_eq!(apply(None, "Failed password for root from 1.2.3.4 port 1 ssh2").0, None);
    // A timestamp that does not parse rejects the pattern.
    assert_eq!(apply(None, r#"1.2.3.4 - - [99/Foo/2026:99:00:00 +0000] "GET / HTTP/1.1" 200 1"#).0, None);
}

#[test]
fn user_files_are_validated_with_the_entry_named() {
    let bad_regex = "[[pattern]]\nname = \"a\"\nregex = \"ok\"\n[[pattern]]\nname = \"b\"\nregex = \"(unclosed\"\n";
    let err = PatternLibrary::from_toml(bad_regex, "site.toml").unwrap_err().to_string();
    assert!(err.starts_with("site.toml: pattern[1].regex:"), "{err}");
    let no_format = "[[pattern]]\nname = \"a\"\nregex = '(?P<timestamp>\\d+)'\n";
    let err = PatternLibrary::from_toml(no_format, "x").unwrap_err().to_string();
    assert!(err.contains("pattern[0].timestamp_format"), "{err}");
    let unknown = "[[pattern]]\nname = \"a\"\nregex = 'x'\nprogramm = [\"a\"]\n";
    assert!(PatternLibrary::from_toml(unknown, "x").unwrap_err().to_string().contains("programm"));
}

#[test]
fn user_patterns_extend_the_library() {
    let site = r#"
[[pattern]]
name = "vpn.login"
program = ["openvpn"]
regex = '^(?P<source.address>[\d.]+):(?P<source.port>\d+) \[(?P<user.name>[^\]]+)\] Peer Connection Initiated'
[pattern.fields]
"event.category" = "authentication"
"event.outcome" = "success"
"#;
    let mut library = PatternLibrary::builtin();
    let builtin = library.len();
    library.extend(PatternLibrary::from_toml(site, "site.toml").unwrap());
    assert_eq!(library.len(), builtin + 1);
    let mut e = Event::new("x", DateTime::UNIX_EPOCH);
    let text = "198.51.100.20:51034 [carol] Peer Connection Initiated with [AF_INET]198.51.100.20:51034";
    assert_eq!(library.apply(text, Some("openvpn"), Tz::UTC, &mut e), Some("vpn.login"));
    assert_eq!((e.user_name.as_deref(), e.source_port), (Some("carol"), Some(51034)));
}

#[test]
fn dispatch_by_program_tries_what_the_program_filter_allows_in_order() {
    let mut library = PatternLibrary::builtin();
    let site = r#"
[[pattern]]
name = "site.pam"
program = ["pam_unix", "sshd"]
regex = '^x'
[[pattern]]
name = "site.any"
regex = '^y'
"#;
    library.extend(PatternLibrary::from_toml(site, "site.toml").unwrap());
    let programs = [
        None,
        Some(""),
        Some("sshd"),
        Some("sshd(pam_unix)"),
        Some("su(pam_unix)"),
        Some("pam_unix"),
        Some("x(sshd)"),
        Some("sshd[1"),
        Some("CRON"),
        Some("cron"),
        Some("kernel"),
        Some("sudo"),
        Some("unknown"),
        Some("(sshd)"),
    ];
    for program in programs {
        let expected: Vec<usize> = (0..library.len())
            .filter(|&i| {
                let p = &library.patterns[i];
                p.programs.is_empty() || program.is_some_and(|name| program_matches(&p.programs, name))
            })
            .collect();
        assert_eq!(library.candidates(program).as_ref(), expected.as_slice(), "{program:?}");
    }
}
