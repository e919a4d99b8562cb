//! The filters of `GET /api/v1/alerts`, as clients send them, checked into
//! a [`ListRequest`]. Every error names the parameter at fault; an empty
//! value is the same as none (what a form sends for a blank field).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::status::Status;
use crate::search::time::parse_time;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;

/// Sigma levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// This level and every more severe one.
    pub fn and_above(self) -> impl Iterator<Item = Level> {
        Level::ALL.into_iter().filter(move |l| *l >= self)
    }
}

/// The parameters as clients send them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `open`, `acknowledged`, `closed`, or several joined by commas.
    pub status: Option<String>,
    /// A rule id.
    pub rule: Option<String>,
    /// The least severe level shown.
    pub level: Option<String>,
    /// On `last_seen`: from (inclusive) and to (exclusive).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Part of the group key (`source.ip=10.0.0.5`).
    pub group: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A checked list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// The statuses shown; `None`: all.
    pub statuses: Option<Vec<Status>>,
    pub rule: Option<String>,
    pub min_level: Option<Level>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub group: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl ListRequest {
    /// Whether an alert last seen at `last_seen` is in the time range.
    pub fn covers(&self, last_seen: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| last_seen >= from) && self.to.is_none_or(|to| last_seen < to)
    }
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl ListParams {
    /// Checks every parameter; the message names the one at fault.
    pub fn check(self, now: DateTime<Utc>) -> Result<ListRequest, String> {
        let statuses = given(self.status)
            .map(|text| {
                text.split(',')
                    .map(|part| {
                        Status::parse(part.trim()).ok_or_else(|| {
                            format!("status `{}` is not one of open, acknowledged, closed", part.trim())
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let min_level = given(self.level)
            .map(|text| {
                Level::parse(text.trim()).ok_or_else(|| {
                    format!("level `{text}` is not one of informational, low, medium, high, critical")
                })
            })
            .transpose()?;
        let time = |name: &str, text: Option<String>| {
            given(text).map(|t| parse_time(&t, now).map_err(|e| format!("{name}: {e}"))).transpose()
        };
        let (from, to) = (time("from", self.from)?, time("to", self.to)?);
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(format!("from ({from}) must be before to ({to})"));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit > MAX_LIMIT {
            return Err(format!("limit {limit} is above the maximum of {MAX_LIMIT}"));
        }
        Ok(ListRequest {
            statuses,
            rule: given(self.rule),
            min_level,
            from,
            to,
            group: given(self.group),
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(params: ListParams) -> Result<ListRequest, String> {
        params.check(DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().to_utc())
    }

    #[test]
    fn defaults_and_every_filter() {
        let plain = check(ListParams::default()).unwrap();
        assert_eq!((plain.limit, plain.offset, plain.statuses, plain.min_level), (50, 0, None, None));
        let blank = ListParams { status: Some("".into()), rule: Some(" ".into()), from: Some("".into()), ..Default::default() };
        assert_eq!(check(blank).unwrap(), check(ListParams::default()).unwrap());
        let full = check(ListParams {
            status: Some("open, acknowledged".into()),
            rule: Some("r-1".into()),
            level: Some("high".into()),
            from: Some("2026-11-24T08:00:00Z".into()),
            to: Some("now".into()),
            group: Some("10.0.0.5".into()),
            limit: Some(1000),
            offset: Some(7),
        })
        .unwrap();
        assert_eq!(full.statuses, Some(vec![Status::Open, Status::Acknowledged]));
        assert_eq!(full.min_level.unwrap().and_above().collect::<Vec<_>>(), [Level::High, Level::Critical]);
        assert!(full.covers("2026-11-24T08:00:00Z".parse().unwrap()));
        assert!(!full.covers("2026-11-24T10:00:00Z".parse().unwrap()), "to is exclusive");
        assert_eq!((full.limit, full.offset, full.rule.as_deref()), (1000, 7, Some("r-1")));
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let cases = [
            (ListParams { status: Some("open,snoozed".into()), ..Default::default() }, "status `snoozed`"),
            (ListParams { level: Some("severe".into()), ..Default::default() }, "level `severe`"),
            (ListParams { from: Some("yesterday".into()), ..Default::default() }, "from:"),
            (ListParams { to: Some("2026-13-01T00:00:00Z".into()), ..Default::default() }, "to:"),
            (ListParams { from: Some("now".into()), to: Some("now-1h".into()), ..Default::default() }, "must be before"),
            (ListParams { limit: Some(1001), ..Default::default() }, "limit 1001"),
        ];
        for (params, fragment) in cases {
            let message = check(params.clone()).unwrap_err();
            assert!(message.contains(fragment), "{params:?}: {message}");
        }
    }
}
