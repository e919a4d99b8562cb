//! The calendar month under review, in the review's time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
pub use chrono_tz::Tz;

/// An IANA time zone by name (`Asia/Seoul`).
pub fn zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// `YYYY-MM` in a time zone: `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    pub tz: Tz,
}

impl Month {
    /// `2026-11`; `None` for anything else.
    pub fn parse(text: &str, tz: Tz) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let (year, month) = (year.parse().ok()?, month.parse().ok()?);
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Month { year, month, tz })
    }

    pub fn name(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("checked when parsed")
    }

    fn next_first_day(&self) -> NaiveDate {
        let first = self.first_day();
        if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1).expect("a valid date")
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1).expect("a valid date")
        }
    }

    fn midnight(&self, day: NaiveDate) -> DateTime<Utc> {
        let local = day.and_hms_opt(0, 0, 0).expect("midnight");
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            // A zone skipping midnight: the hour after.
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.midnight(self.first_day())
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.midnight(self.next_first_day())
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.start() && t < self.end()
    }

    /// The local date of `t`.
    pub fn local_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// `t` as local time text, `2026-11-03 02:10:00 KST`.
    pub fn local_text(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kst_month_starts_at_local_midnight() {
        let seoul: Tz = "Asia/Seoul".parse().unwrap();
        let m = Month::parse("2026-11", seoul).unwrap();
        assert_eq!(m.start().to_rfc3339(), "2026-10-31T15:00:00+00:00");
        assert_eq!(m.end().to_rfc3339(), "2026-11-30T15:00:00+00:00");
        let december = Month::parse("2026-12", seoul).unwrap();
        assert_eq!(december.end().to_rfc3339(), "2026-12-31T15:00:00+00:00");
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "x"] {
            assert!(Month::parse(bad, seoul).is_none(), "{bad}");
        }
    }
}
