//! SigmaHQ's Linux rules (`shared/data/sigma/linux/`) over real syslog
//! files from loghub (`Linux_2k.log`, `OpenSSH_2k.log`), every line as the
//! collector reads it: the `[collector.parse]` default chain (syslog header,
//! then the pattern library), the built-in stream routing, Kafka's wire
//! format. The data is read in place from the shared folder.
//!
//! The expected counts were established by hand with grep over the log
//! files; the command is beside each number.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use logwarden_detect::rules::RuleSet;
use logwarden_detect::view::{event_source, sigma_view};
use logwarden_parse::Parsers;

use common::{DATA, collector_parsers, ingest};

fn linux_rules() -> RuleSet {
    let rules = RuleSet::load(&[format!("{DATA}/sigma/linux")], &[]).expect("the linux rules load");
    assert!(rules.report.errors.is_empty(), "{:#?}", rules.report.errors);
    assert!(rules.report.unsupported.is_empty(), "{:#?}", rules.report.unsupported);
    assert_eq!(rules.report.loaded.len(), 22, "every rule of the folder is loaded");
    rules
}

/// Matches per rule file name (`lnx_sshd_susp_ssh`) over every line of `log`.
fn count_matches(rules: &RuleSet, parsers: &Parsers, log: &str) -> BTreeMap<String, usize> {
    let path = format!("{DATA}/loghub/{log}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut counts: BTreeMap<String, usize> = rules
        .report
        .loaded
        .iter()
        .map(|info| (rule_name(&info.file), 0))
        .collect();
    let mut lines = 0;
    for line in text.lines() {
        let event = ingest(parsers, line, &path);
        assert_eq!(event.parse_error, None, "{line}");
        let view = sigma_view(&event);
        let source = event_source(&view);
        assert_eq!(source.product.as_deref(), Some("linux"), "{line}");
        for m in rules.evaluate(&view, &source) {
            let info = rules.rule(&m.rule_id).expect("a match names a loaded rule");
            *counts.get_mut(&rule_name(&info.file)).unwrap() += 1;
        }
        lines += 1;
    }
    assert_eq!(lines, 2000, "{log}");
    counts
}

fn rule_name(file: &str) -> String {
    Path::new(file).file_stem().unwrap().to_string_lossy().to_string()
}

#[test]
fn linux_rules_over_loghub_match_what_grep_finds() {
    let rules = linux_rules();
    let parsers = collector_parsers();
    let linux = count_matches(&rules, &parsers, "Linux_2k.log");
    let openssh = count_matches(&rules, &parsers, "OpenSSH_2k.log");
    let mut table = format!("\n{:<44} {:>12} {:>14}\n", "rule", "Linux_2k.log", "OpenSSH_2k.log");
    for (rule, n) in &linux {
        table.push_str(&format!("{rule:<44} {n:>12} {:>14}\n", openssh[rule]));
    }
    println!("{table}");

    // (rule, matches in Linux_2k.log, matches in OpenSSH_2k.log), each from
    // the command above it, run in shared/data/loghub with LOG set to the
    // file. The keywords are fixed strings (`-F`), case-insensitive (`-i`)
    // as Sigma keywords are; a keyword with wildcards is given by its
    // longest fixed part, which every matching line contains, so a count
    // of 0 is exact. Keywords of a `filter`/`falsepositives` selection are
    // left out: they only remove matches. `lnx_file_copy`'s filter (`@` or
    // `:`) holds for any event (its `@timestamp` has colons), so its count
    // is that of its tools. No line of either file has any of these
    // strings: none of the 22 rules fires on this data.
    let expected: &[(&str, usize, usize)] = &[
        // grep -ciF -e 'chmod 4777 ' -e 'cp /bin/sh .;chown' \
        //     -e 'chmod 4777 /tmp/.scsi/dev/bin/gsh' -e 'chown root:root /tmp/.scsi/dev/bin/' \
        //     -e 'chown root:root x;' -e '/bin/telnet locip locport < /dev/console | /bin/sh' \
        //     -e /tmp/ratload -e 'ewok -t ' -e 'xspy -display ' \
        //     -e 'cat > /dev/tcp/127.0.0.1/80 <<END' -e 'rm -f /current/tmp/ftshell.latest' \
        //     -e ghost_ -e ' --wipe > /dev/null' -e ' /proc/net/arp >/tmp/gx' \
        //     -e ' OUTPUT -p tcp -d 127.0.0.1 --tcp-flags RST RST -j DROP;' \
        //     -e '> /var/log/audit/audit.log; rm -f .' -e 'cp /var/log/audit/audit.log .tmp' \
        //     -e 'sh >/dev/tcp/' -e 'ncat -vv -l -p ' -e 'nc -vv -l -p ' \
        //     -e '< /dev/console | uudecode && uncompress' \
        //     -e 'sendmail -osendmail;chmod +x sendmail' -e '/usr/bin/wget -O /tmp/a http' \
        //     -e 'chmod 666 /var/run/utmp~' -e 'chmod 700 nscd crond' \
        //     -e 'cp /etc/shadow /tmp/.' \
        //     -e '</dev/console |uudecode > /dev/null 2>&1 && uncompress' \
        //     -e 'chmod 700 jp&&netstat -an|grep' \
        //     -e 'uudecode > /dev/null 2>&1 && uncompress -f ' -e 'chmod 700 crond' \
        //     -e '; chmod +x /tmp/sendmail' -e 'chmod 700 fp sendmail pt' \
        //     -e 'chmod 755 /usr/vmsys/bin/pipe' -e 'chmod -R 755 /usr/vmsys' \
        //     -e 'chmod 755 $opbin/' -e 'chmod 700 sendmail' -e 'chmod 0700 sendmail' \
        //     -e 'sendmail;chmod +x sendmail;' -e ' 2>&1 </dev/console' $LOG
        ("lnx_apt_equationgroup_lnx", 0, 0),
        // grep -ciF -e 'attempt to execute code on stack by' -e 0bin0sh1 \
        //     -e AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
        //     -e 'stack smashing detected' $LOG
        ("lnx_buffer_overflows", 0, 0),
        // grep -ciF -e Trojan -e VirTool -e Webshell -e Rootkit -e Htran $LOG
        ("lnx_clamav_relevant_message", 0, 0),
        // grep -ciF -e 'rm /var/log/syslog' -e 'rm -r /var/log/syslog' \
        //     -e 'rm -f /var/log/syslog' -e 'rm -rf /var/log/syslog' -e 'mv /var/log/syslog' \
        //     -e ' >/var/log/syslog' -e ' > /var/log/syslog' $LOG
        ("lnx_clear_syslog", 0, 0),
        // grep -ciF -e REPLACE $LOG
        ("lnx_cron_crontab_file_modification", 0, 0),
        // grep -ciF -e 'scp ' -e 'rsync ' -e 'sftp ' $LOG
        ("lnx_file_copy", 0, 0),
        // grep -ciF -e '(2 users now present)' $LOG
        ("lnx_guacamole_susp_guacamole", 0, 0),
        // grep -ciF -e /etc/ld.so.preload $LOG
        ("lnx_ldso_preload_injection", 0, 0),
        // grep -ciF -e bpf_probe_write_user $LOG
        ("lnx_potential_susp_ebpf_activity", 0, 0),
        // grep -ciF -e 'new user' $LOG
        ("lnx_privileged_user_creation", 0, 0),
        // grep -ciF -e 'cat /dev/null >' -e 'cat /dev/zero >' -e sh_history \
        //     -e empty_bash_history -e 'export HISTFILESIZE=0' -e 'history -c' -e 'history -w' \
        //     -e 'ln -sf /dev/null ' -e 'ln -sf /dev/zero ' -e 'shopt -ou history' \
        //     -e 'shopt -uo history' -e 'truncate -s0 ' $LOG
        ("lnx_shell_clear_cmd_history", 0, 0),
        // grep -ciF -e ' - http' -e 'python -m SimpleHTTPServer' -e '-m http.server' \
        //     -e 'import pty; pty.spawn' -e 'socat exec:' -e 'socat -O /tmp/' \
        //     -e 'socat tcp-connect' -e 'echo binary >>' -e '; chmod +x' -e '; chmod 777 ' \
        //     -e 'cd /tmp || cd /var/run || cd /mnt' -e 'stop;service iptables stop;' \
        //     -e 'stop;SuSEfirewall2 stop;' -e 'chmod 777 2020' -e '>>/etc/rc.local' \
        //     -e 'base64 -d /tmp/' -e ' | base64 -d ' -e '/chmod u+s ' -e 'chmod +s /tmp/' \
        //     -e 'chmod u+s /tmp/' -e ' /tmp/haxhax' -e ' /tmp/ns_sploit' -e 'nc -l -p ' \
        //     -e 'cp /bin/ksh ' -e 'cp /bin/sh ' -e ' /tmp/' -e /tmp/ysocereal.jar \
        //     -e '/tmp/x ' -e '; chmod +x /tmp/' -e ';chmod +x /tmp/' $LOG
        ("lnx_shell_susp_commands", 0, 0),
        // grep -ciF -e 'entered promiscuous mode' -e 'Deactivating service' \
        //     -e 'Oversized packet received from' -e 'imuxsock begins to drop messages' $LOG
        ("lnx_shell_susp_log_entries", 0, 0),
        // grep -ciF -e 'BEGIN {s = "/inet/tcp/0/' -e 'bash -i >& /dev/tcp/' \
        //     -e 'bash -i >& /dev/udp/' -e 'sh -i >$ /dev/udp/' -e 'sh -i >$ /dev/tcp/' \
        //     -e '&& while read line 0<&5; do' -e '/bin/bash -c exec 5<>/dev/tcp/' \
        //     -e '/bin/bash -c exec 5<>/dev/udp/' -e 'nc -e /bin/sh ' -e '/bin/sh | nc' \
        //     -e 'rm -f backpipe; mknod /tmp/backpipe p && nc ' \
        //     -e ';socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in($p,inet_aton($i))))' \
        //     -e ';STDIN->fdopen($c,r);$~->fdopen($c,w);system$_ while<>;' \
        //     -e '/bin/sh -i <&3 >&3 2>&3' -e 'uname -a; w; id; /bin/bash -i' \
        //     -e '$sendbyte = ([text.encoding]::ASCII).GetBytes($sendback2); $stream.Write($sendbyte,0,$sendbyte.Length); $stream.Flush()};' \
        //     -e ';os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);os.dup2(s.fileno(),2);os.putenv('"'"'HISTFILE'"'"','"'"'/dev/null'"'"');' \
        //     -e '.to_i;exec sprintf("/bin/sh -i <&%d >&%d 2>&%d",f,f,f)' \
        //     -e ';while(cmd=c.gets);IO.popen(cmd,"r"){|io|c.print' \
        //     -e 'socat exec:'"'"'bash -li'"'"',pty,stderr,setsid,sigint,sane tcp:' \
        //     -e 'rm -f /tmp/p; mknod /tmp/p p &&' -e ' | /bin/bash | telnet ' \
        //     -e ',echo=0,raw tcp-listen:' -e 'nc -lvvp ' -e 'xterm -display 1' $LOG
        ("lnx_shell_susp_rev_shells", 0, 0),
        // grep -ciF -e '(){:;};' -e '() {:;};' -e '() { :;};' -e '() { :; };' $LOG
        ("lnx_shellshock", 0, 0),
        // grep -ciF -e 'unexpected internal error' -e 'unknown or unsupported key type' \
        //     -e 'invalid certificate signing key' -e 'invalid elliptic curve value' \
        //     -e 'incorrect signature' -e 'error in libcrypto' \
        //     -e 'unexpected bytes remain after decoding' \
        //     -e 'fatal: buffer_get_string: bad string' -e 'Local: crc32 compensation attack' \
        //     -e 'bad client public DH value' -e 'Corrupted MAC on input' $LOG
        ("lnx_sshd_susp_ssh", 0, 0),
        // grep -ciF -e 'cat </dev/tcp/' -e 'exec 3<>/dev/tcp/' -e 'echo >/dev/tcp/' \
        //     -e 'bash -i >& /dev/tcp/' -e 'sh -i >& /dev/udp/' \
        //     -e '0<&196;exec 196<>/dev/tcp/' -e 'exec 5<>/dev/tcp/' -e '(sh)0>/dev/tcp/' \
        //     -e 'bash -c '"'"'bash -i >& /dev/tcp/' \
        //     -e 'echo -e '"'"'#!/bin/bash\nbash -i >& /dev/tcp/' $LOG
        ("lnx_susp_dev_tcp", 0, 0),
        // grep -ciF -e 'bash -c /bin/bash' -e '&/dev/tcp/' $LOG
        ("lnx_susp_jexboss", 0, 0),
        // grep -ciF -e 'ln -s -f /etc/passwd' -e 'ln -s /etc/passwd' $LOG
        ("lnx_symlink_etc_passwd", 0, 0),
        // grep -ciF -e 'stopping iptables' -e 'stopping ip6tables' -e 'stopping firewalld' \
        //     -e 'stopping cbdaemon' -e 'stopping falcon-sensor' $LOG
        ("lnx_syslog_security_tools_disabling_syslog", 0, 0),
        // grep -ciF -e ' dropping source port zero packet from ' -e ' denied AXFR from ' \
        //     -e ' exiting (due to fatal error)' $LOG
        ("lnx_syslog_susp_named", 0, 0),
        // grep -ciF -e 'Connection refused: too many sessions for this address.' \
        //     -e 'Connection refused: tcp_wrappers denial.' -e 'Bad HTTP verb.' \
        //     -e 'port and pasv both active' -e 'pasv and port both active' \
        //     -e 'Transfer done (but failed to open directory).' \
        //     -e 'Could not set file modification time.' \
        //     -e 'bug: pid active in ptrace_sandbox_free' -e 'PTRACE_SETOPTIONS failure' \
        //     -e 'weird status:' -e 'couldn'"'"'t handle sandbox event' -e ' out of bounds' \
        //     -e 'syscall not permitted:' -e 'syscall validate failed:' \
        //     -e 'Input line too long.' -e 'poor buffer accounting in str_netfd_alloc' \
        //     -e vsf_sysutil_read_loop $LOG
        ("lnx_vsftpd_susp_error_messages", 0, 0),
    ];
    for (rule, in_linux, in_openssh) in expected {
        assert_eq!((linux[*rule], openssh[*rule]), (*in_linux, *in_openssh), "{rule}:{table}");
    }
    assert_eq!(expected.len(), linux.len(), "every rule has its expected count");
}

/// The rules do fire on the lines they describe, each only through its
/// logsource: a control that the zero counts above are not the rules
/// failing to load, the service routing missing, or the keywords never
/// reaching the message. The lines are written after the rules' own
/// examples and the programs' documented messages.
#[test]
fn each_rule_fires_on_the_line_it_describes() {
    let rules = linux_rules();
    let parsers = collector_parsers();
    let cases: &[(&str, &[&str])] = &[
        // The rule's own example: a new user in the root group.
        (
            "Dec 21 17:13:54 testserver useradd[1337]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash",
            &["lnx_privileged_user_creation"],
        ),
        ("Dec 21 17:30:22 testserver useradd[1337]: new user: name=ann, UID=1001, GID=1001, home=/home/ann, shell=/bin/bash", &[]),
        ("Dec 10 07:07:38 LabSZ sshd[24206]: Corrupted MAC on input.", &["lnx_sshd_susp_ssh"]),
        // The same text from another program is no sshd event.
        ("Dec 10 07:07:38 LabSZ dropbear[411]: Corrupted MAC on input.", &[]),
        // `crontab` logs the edit, as service `cron`.
        ("Mar  1 10:00:00 web01 crontab[4242]: (root) REPLACE (root)", &["lnx_cron_crontab_file_modification"]),
        // A wildcard keyword (`Webshell*FOUND`) inside the message.
        ("Mar  1 10:00:00 web01 clamd[812]: /var/www/html/up.php: Php.Webshell.Generic-1 FOUND", &["lnx_clamav_relevant_message"]),
        // A keyword written with a leading blank (` denied AXFR from `) at
        // the start of the message.
        ("Mar  1 10:00:00 ns1 named[2306]: denied AXFR from [198.51.100.7].53 for \"corp.example\"", &["lnx_syslog_susp_named"]),
        ("Mar  1 10:00:00 bastion guacd[1201]: User \"alice\" joined connection \"$4b2f\" (2 users now present)", &["lnx_guacamole_susp_guacamole"]),
        ("Mar  1 10:00:00 ftp1 vsftpd[77]: Connection refused: too many sessions for this address.", &["lnx_vsftpd_susp_error_messages"]),
        ("Mar  1 10:00:00 fw1 kernel: device eth0 entered promiscuous mode", &["lnx_shell_susp_log_entries"]),
        ("Mar  1 10:00:00 web01 sudo[901]:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ln -s /etc/passwd /tmp/p", &["lnx_symlink_etc_passwd"]),
    ];
    let mut wrong = Vec::new();
    for (line, expected) in cases {
        let event = ingest(&parsers, line, "/var/log/syslog");
        let view = sigma_view(&event);
        let mut fired: Vec<String> = rules
            .evaluate(&view, &event_source(&view))
            .iter()
            .map(|m| rule_name(&rules.rule(&m.rule_id).unwrap().file))
            .collect();
        fired.sort();
        if fired != *expected {
            wrong.push(format!("{line}\n  fired {fired:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn loghub_lines_are_routed_as_the_collector_routes_them() {
    let parsers = collector_parsers();
    let path = format!("{DATA}/loghub/OpenSSH_2k.log");
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        let event = ingest(&parsers, line, &path);
        assert_eq!(event.stream, "auth", "{line}");
        let source = event_source(&sigma_view(&event));
        assert!(source.services.iter().any(|s| s == "sshd") && source.services.iter().any(|s| s == "auth"), "{line}: {source:?}");
    }
}


