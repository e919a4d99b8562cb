//! Syslog headers: RFC 5424 and RFC 3164 (with the vendor variants seen in
//! the field). The header gives time, host, program and pid; the message
//! part is then handed to the body parsers of the chain (CEF, LEEF, JSON,
//! patterns).
//!
//! `bsd_header` matches the RFC 3164 header, tag and Cisco mnemonic by
//! hand; `rfc3164` keeps the regular expressions it stands for, asked only
//! for lines where their Unicode classes decide.

mod bsd_header;
pub mod rfc3164;
pub mod rfc5424;

use chrono_tz::Tz;
use logwarden_event::Event;

/// How zone-less syslog timestamps are read.
#[derive(Debug, Clone, Copy)]
pub struct SyslogOptions {
    /// Zone of RFC 3164 timestamps (which carry none); default UTC.
    pub timezone: Tz,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions { timezone: Tz::UTC }
    }
}

const SEVERITY_NAMES: [&str; 8] =
    ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"];

/// Reads a `<PRI>` prefix: `(pri, rest)`; PRI must be 0..=191 without
/// leading zeros (RFC 5424 section 6.2.1).
pub(crate) fn split_pri(line: &str) -> Option<(u8, &str)> {
    let rest = line.strip_prefix('<')?;
    let end = rest.find('>')?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    let pri: u8 = digits.parse().ok().filter(|&p: &u8| p <= 191)?;
    Some((pri, &rest[end + 1..]))
}

/// Sets facility, severity and (when unset) `log.level` from a PRI value.
pub(crate) fn apply_pri(pri: u8, event: &mut Event) {
    event.syslog_facility = Some(pri / 8);
    event.syslog_severity = Some(pri % 8);
    event.log_level.get_or_insert_with(|| SEVERITY_NAMES[usize::from(pri % 8)].to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pri_bounds_and_leading_zeros() {
        assert_eq!(split_pri("<34>1 x"), Some((34, "1 x")));
        assert_eq!(split_pri("<0>x"), Some((0, "x")));
        assert_eq!(split_pri("<191>x"), Some((191, "x")));
        assert_eq!(split_pri("<192>x"), None);
        assert_eq!(split_pri("<034>x"), None);
        assert_eq!(split_pri("<>x"), None);
        assert_eq!(split_pri("<3a>x"), None);
    }
}
