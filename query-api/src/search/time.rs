//! Time expressions in requests: RFC 3339 (`2026-11-24T10:00:00Z`), epoch
//! milliseconds, or relative to now (`now`, `now-15m`, `now+1h`,
//! `now-7d`), as Kibana and Grafana send them.

use chrono::{DateTime, Utc};

/// Parses `text` at `now`; the error says what is accepted.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now);
        }
        let (sign, amount) = match rest.as_bytes()[0] {
            b'-' => (-1, &rest[1..]),
            b'+' => (1, &rest[1..]),
            _ => {
                return Err(format!(
                    "`{text}`: expected now, now-DURATION or now+DURATION"
                ));
            }
        };
        let duration = humantime::parse_duration(amount).map_err(|e| format!("`{text}`: {e}"))?;
        let duration = chrono::Duration::from_std(duration)
            .map_err(|_| format!("`{text}`: duration too large"))?;
        return now
            .checked_add_signed(duration * sign)
            .ok_or_else(|| format!("`{text}`: out of range"));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = text
            .parse()
            .map_err(|_| format!("`{text}`: epoch milliseconds out of range"))?;
        return DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| format!("`{text}`: epoch milliseconds out of range"));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|_| format!("`{text}` is not a time: use RFC 3339 (2026-11-24T10:00:00Z), epoch milliseconds, or now-15m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_relative_and_epoch_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .to_utc();
        let at = |t: &str| parse_time(t, now).unwrap().to_rfc3339();
        assert_eq!(at("now"), "2026-11-24T10:00:00+00:00");
        assert_eq!(at("now-15m"), "2026-11-24T09:45:00+00:00");
        assert_eq!(at("now+1h"), "2026-11-24T11:00:00+00:00");
        assert_eq!(at("now-7d"), "2026-11-17T10:00:00+00:00");
        assert_eq!(at("2026-11-24T19:00:00+09:00"), "2026-11-24T10:00:00+00:00");
        assert_eq!(at("1764000000000"), "2025-11-24T16:00:00+00:00");
        for bad in [
            "yesterday",
            "now-",
            "now-5x",
            "now*2",
            "2026-13-01T00:00:00Z",
            "",
        ] {
            let err = parse_time(bad, now).unwrap_err();
            assert!(err.contains(bad) || bad.is_empty(), "{bad}: {err}");
        }
    }
}
