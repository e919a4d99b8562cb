#![no_main]
use libfuzzer_sys::fuzz_target;
use logwarden_parse::syslog::{SyslogOptions, rfc3164};

fuzz_target!(|line: &str| {
    for timezone in [logwarden_parse::Tz::UTC, logwarden_parse::Tz::America__New_York] {
        let options = SyslogOptions { timezone };
        logwarden_parse_fuzz::check_parser(line, |l, e| {
            rfc3164::parse_rfc3164(l, logwarden_parse_fuzz::received(), &options, e)
        });
    }
});
