//! Hand-rolled reading of the two timestamp shapes on the collector's hot
//! path, where chrono's format-string parser costs more than the rest of
//! the line: syslog's `hh:mm:ss` and the NCSA access-log time
//! `dd/Mmm/yyyy:hh:mm:ss +hhmm`. Each accepts exactly what chrono's
//! `%H:%M:%S` (resp. `%d/%b/%Y:%H:%M:%S %z`) accepts for that shape and
//! gives the same value; other shapes are left to chrono by the caller.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `Jan` → 1 … `Dec` → 12 (English, as written by syslog and web servers).
pub(crate) fn month_number(mon: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == mon).map(|i| i as u32 + 1)
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

/// `hh:mm:ss` as chrono's `%H:%M:%S` reads it: hours to 23, minutes to 59,
/// second 60 a leap second.
pub(crate) fn clock_time(text: &str) -> Option<NaiveTime> {
    let &[h1, h2, b':', m1, m2, b':', s1, s2] = text.as_bytes() else { return None };
    time_of(two_digits(h1, h2)?, two_digits(m1, m2)?, two_digits(s1, s2)?)
}

fn time_of(hour: u32, minute: u32, second: u32) -> Option<NaiveTime> {
    match second {
        60 => NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000),
        _ => NaiveTime::from_hms_opt(hour, minute, second),
    }
}

/// The NCSA access-log time `10/Oct/2000:13:55:36 -0700`.
///
/// `Some(result)` when `text` has exactly that shape (two-digit day, the
/// month's English abbreviation, four-digit year, an offset below 24 h):
/// `result` is what `DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")`
/// gives, `None` for an impossible date or time. `None` for any other shape.
pub(crate) fn ncsa_time(text: &str) -> Option<Option<DateTime<FixedOffset>>> {
    let s = text.as_bytes();
    let shape = b"dd/Mmm/dddd:dd:dd:dd +dddd";
    if s.len() != shape.len()
        || shape.iter().zip(s).any(|(want, got)| matches!(want, b'/' | b':' | b' ') && want != got)
    {
        return None;
    }
    let number = |at: usize| two_digits(s[at], s[at + 1]);
    let sign = match s[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (offset_hours, offset_minutes) = (number(22)?, number(24)?);
    if offset_hours > 23 || offset_minutes > 59 {
        return None;
    }
    let month = month_number(std::str::from_utf8(&s[3..6]).ok()?)?;
    let (day, century, year) = (number(0)?, number(7)?, number(9)?);
    let (hour, minute, second) = (number(12)?, number(15)?, number(18)?);
    let offset = FixedOffset::east_opt(sign * (offset_hours * 3600 + offset_minutes * 60) as i32)?;
    let parsed = || {
        let date = NaiveDate::from_ymd_opt((century * 100 + year) as i32, month, day)?;
        let local = NaiveDateTime::new(date, time_of(hour, minute, second)?);
        offset.from_local_datetime(&local).single()
    };
    Some(parsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NCSA: &str = "%d/%b/%Y:%H:%M:%S %z";

    #[test]
    fn ncsa_time_agrees_with_chrono() {
        let mut texts = vec![
            "10/Oct/2000:13:55:36 -0700".to_string(),
            "29/Feb/2024:23:59:60 +0000".to_string(),
            "31/Dec/9999:23:59:59 -2359".to_string(),
            "01/Jan/0000:00:00:00 +2359".to_string(),
        ];
        let base = "10/Oct/2026:13:55:36 +0200";
        for at in 0..base.len() {
            for b in *b"0123456789/:+- aZO" {
                let mut bytes = base.as_bytes().to_vec();
                bytes[at] = b;
                texts.push(String::from_utf8(bytes).unwrap());
            }
        }
        for day in ["00", "28", "29", "30", "31", "32", "99"] {
            for month in ["Jan", "Feb", "Apr", "Dec", "Foo", "oct"] {
                for time in ["00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00", "12:00:61"] {
                    for offset in ["+0000", "-0530", "+2359", "+2400", "+0160", "+99:9"] {
                        texts.push(format!("{day}/{month}/2023:{time} {offset}"));
                        texts.push(format!("{day}/{month}/2024:{time} {offset}"));
                    }
                }
            }
        }
        let mut fast = 0;
        for text in &texts {
            if let Some(hand) = ncsa_time(text) {
                fast += 1;
                assert_eq!(hand, DateTime::parse_from_str(text, NCSA).ok(), "{text}");
            }
        }
        assert!(fast > texts.len() / 3, "most shapes take the fast path ({fast} of {})", texts.len());
        assert_eq!(ncsa_time("1/Oct/2000:13:55:36 -0700"), None, "other shapes are chrono's");
    }

    #[test]
    fn clock_time_agrees_with_chrono() {
        for h in 0..=25 {
            for m in [0, 30, 59, 60, 61] {
                for s in [0, 59, 60, 61, 99] {
                    let text = format!("{h:02}:{m:02}:{s:02}");
                    assert_eq!(clock_time(&text), NaiveTime::parse_from_str(&text, "%H:%M:%S").ok(), "{text}");
                }
            }
        }
    }
}
