//! The range of event times logwarden stores.
//!
//! tantivy keeps dates as signed 64-bit nanoseconds since the epoch, which
//! spans 1677-09-21 to 2262-04-11. Every component agrees on one range
//! inside that span, so a time the index cannot hold is refused where it
//! enters (the parsers treat it as no time at all, the indexer dead-letters
//! it, a search bound past it is clamped), never wrapped around.

use chrono::{DateTime, Utc};

/// The earliest event time stored: 1678-01-01T00:00:00Z.
pub const MIN_SECONDS: i64 = -9_214_560_000;
/// The latest event time stored: 2261-12-31T23:59:59.999999Z.
pub const MAX_SECONDS: i64 = 9_214_646_399;

pub fn min() -> DateTime<Utc> {
    DateTime::from_timestamp(MIN_SECONDS, 0).expect("1678-01-01 is a valid time")
}

pub fn max() -> DateTime<Utc> {
    DateTime::from_timestamp(MAX_SECONDS, MAX_SUBSEC_NANOS).expect("2261-12-31 is a valid time")
}

/// The latest event time's nanoseconds past its second.
const MAX_SUBSEC_NANOS: u32 = 999_999_000;

/// `time` when logwarden can store it, otherwise `None`. Compares seconds
/// and nanoseconds (building the bounds as times costs a calendar
/// computation each, on every event the indexer reads).
pub fn in_range(time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = (time.timestamp(), time.timestamp_subsec_nanos());
    ((MIN_SECONDS, 0)..=(MAX_SECONDS, MAX_SUBSEC_NANOS)).contains(&at).then_some(time)
}

/// The range in microseconds since the epoch, as tantivy stores times.
pub const MIN_MICROS: i64 = MIN_SECONDS * 1_000_000;
pub const MAX_MICROS: i64 = MAX_SECONDS * 1_000_000 + (MAX_SUBSEC_NANOS / 1_000) as i64;

/// What error messages say about the range.
pub const RANGE_TEXT: &str = "1678-01-01T00:00:00Z to 2261-12-31T23:59:59Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_inside_what_nanoseconds_hold() {
        assert_eq!(min().to_rfc3339(), "1678-01-01T00:00:00+00:00");
        assert_eq!(max().format("%Y-%m-%dT%H:%M:%S").to_string(), "2261-12-31T23:59:59");
        assert!(min().timestamp_nanos_opt().is_some());
        assert!(max().timestamp_nanos_opt().is_some());
        let just_after = max() + chrono::Duration::microseconds(1);
        assert_eq!(in_range(just_after), None);
        assert_eq!(in_range(min()), Some(min()));
        assert_eq!(in_range(min() - chrono::Duration::microseconds(1)), None);
        assert_eq!(in_range(max()), Some(max()));
        assert_eq!(in_range(max() + chrono::Duration::nanoseconds(1)), None);
        assert_eq!(MIN_MICROS, min().timestamp_micros());
        assert_eq!(MAX_MICROS, max().timestamp_micros());
    }
}
