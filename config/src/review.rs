//! `[compliance.review]`: the monthly access review of 개인정보의 안전성
//! 확보조치 기준 제8조②. Every threshold comes from the operator's 내부
//! 관리계획 (internal management plan), so each is a setting, and each
//! check carries the citation the report prints beside its findings.
//!
//! ```toml
//! [compliance.review]
//! timezone = "Asia/Seoul"
//! plan = "개인정보 내부 관리계획 v3 (2026-01-02)"
//! audit_subject_fields = ["user.name", "customer.id"]
//! [compliance.review.bulk]
//! per_call = 1000
//! per_day = 5000
//! citation = "내부 관리계획 제12조①"
//! [compliance.review.hours]
//! start = "09:00"
//! end = "18:00"
//! weekdays = ["mon", "tue", "wed", "thu", "fri"]
//! holidays = ["2026-12-25"]
//! [[compliance.review.sources]]
//! stream = "hr-access"
//! account = "user.name"
//! time = "@timestamp"
//! origin = "source.ip"
//! subject = "employee_id"
//! task = "event.action"
//! [compliance.review.sources.tasks]
//! "read" = "조회"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Weekday};
use logwarden_parse::Tz;
use serde::Deserialize;

use crate::ConfigError;

/// The task performed, in the words of 제8조①.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Task {
    /// 조회: read or search.
    Read,
    /// 변경: update.
    Update,
    /// 입력: create.
    Create,
    /// 삭제: delete.
    Delete,
    /// 출력: print, display in bulk.
    Print,
    /// 다운로드: download or export.
    Download,
    /// 로그인: sign-in (for failed-login bursts).
    Login,
}

impl Task {
    pub const ALL: [Task; 7] = [
        Task::Read,
        Task::Update,
        Task::Create,
        Task::Delete,
        Task::Print,
        Task::Download,
        Task::Login,
    ];

    /// The Korean word of the notice.
    pub fn ko(self) -> &'static str {
        match self {
            Task::Read => "조회",
            Task::Update => "변경",
            Task::Create => "입력",
            Task::Delete => "삭제",
            Task::Print => "출력",
            Task::Download => "다운로드",
            Task::Login => "로그인",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Task::Read => "read",
            Task::Update => "update",
            Task::Create => "create",
            Task::Delete => "delete",
            Task::Print => "print",
            Task::Download => "download",
            Task::Login => "login",
        }
    }

    /// The Korean or English word (`조회`, `read`), any case.
    pub fn parse(text: &str) -> Option<Task> {
        let lower = text.trim().to_lowercase();
        Task::ALL.into_iter().find(|t| t.ko() == lower || t.en() == lower)
    }
}

/// One threshold with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// The operator's citation (`내부 관리계획 제12조①`), or the plan's
    /// name when the check gives none; `None`: the default was used.
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReviewConfig {
    /// The calendar of the review (months, days, business hours).
    pub timezone: Tz,
    /// The internal management plan the thresholds come from.
    pub plan: Option<String>,
    /// Fields whose `FIELD:VALUE` terms in an API search name the data
    /// subject looked up (the `audit` stream has no subject of its own).
    pub audit_subject_fields: Vec<String>,
    pub downloads: Check<()>,
    pub bulk: Check<BulkLimits>,
    pub hours: Check<BusinessHours>,
    pub new_origin: Check<Duration>,
    pub dormant: Check<Duration>,
    pub repeated_subject: Check<u64>,
    pub failed_logins: Check<Burst>,
    pub sources: Vec<AccessSource>,
}

/// A check: on or off, its threshold, and its citation.
#[derive(Debug, Clone)]
pub struct Check<T> {
    pub enabled: bool,
    pub limit: T,
    pub citation: Citation,
    /// Whether the operator set the threshold (not the default).
    pub configured: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// Records returned by one call.
    pub per_call: u64,
    /// Records returned to one account in one day.
    pub per_day: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub weekdays: Vec<Weekday>,
    pub holidays: Vec<NaiveDate>,
}

impl BusinessHours {
    /// Whether a local time is inside business hours (`[start, end)` on a
    /// working weekday that is not a holiday).
    pub fn contains(&self, date: NaiveDate, time: NaiveTime) -> bool {
        use chrono::Datelike;
        self.weekdays.contains(&date.weekday())
            && !self.holidays.contains(&date)
            && time >= self.start
            && time < self.end
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub count: u64,
    pub within: Duration,
}

/// A stream the operator marks as holding access records, and where each
/// part of a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSource {
    pub stream: String,
    pub account: String,
    pub time: String,
    pub origin: String,
    pub subject: Option<String>,
    pub task: String,
    /// Source values → tasks, for values that are not already a task word.
    pub tasks: BTreeMap<String, Task>,
    /// Records returned or handled by the action.
    pub records: Option<String>,
    /// The reason (사유) given for the action.
    pub reason: Option<String>,
    /// `failure` (or `fail`, `failed`, `denied`, `실패`) marks a failed action.
    pub outcome: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    pub timezone: Option<String>,
    pub plan: Option<String>,
    pub audit_subject_fields: Option<Vec<String>>,
    #[serde(default)]
    pub downloads: RawCheck,
    #[serde(default)]
    pub bulk: RawBulk,
    #[serde(default)]
    pub hours: RawHours,
    #[serde(default)]
    pub new_origin: RawDays,
    #[serde(default)]
    pub dormant: RawDays,
    #[serde(default)]
    pub repeated_subject: RawRepeated,
    #[serde(default)]
    pub failed_logins: RawFailed,
    #[serde(default)]
    pub sources: Vec<RawSource>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBulk {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
    pub per_call: Option<u64>,
    pub per_day: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub weekdays: Option<Vec<String>>,
    pub holidays: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDays {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub days: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepeated {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
    pub per_day: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailed {
    pub enabled: Option<bool>,
    pub citation: Option<String>,
    pub count: Option<u64>,
    #[serde(default, with = "humantime_serde")]
    pub within: Option<Duration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub stream: Option<String>,
    pub account: Option<String>,
    pub time: Option<String>,
    pub origin: Option<String>,
    pub subject: Option<String>,
    pub task: Option<String>,
    #[serde(default)]
    pub tasks: BTreeMap<String, String>,
    pub records: Option<String>,
    pub reason: Option<String>,
    pub outcome: Option<String>,
}

pub const DEFAULT_TIMEZONE: &str = "Asia/Seoul";
pub const DEFAULT_BULK_PER_CALL: u64 = 1000;
pub const DEFAULT_BULK_PER_DAY: u64 = 10_000;
pub const DEFAULT_NEW_ORIGIN_DAYS: u64 = 30;
pub const DEFAULT_DORMANT_DAYS: u64 = 90;
pub const DEFAULT_REPEATED_PER_DAY: u64 = 10;
pub const DEFAULT_FAILED_COUNT: u64 = 5;
pub const DEFAULT_FAILED_WITHIN: Duration = Duration::from_secs(600);

const DAY: u64 = 86_400;

impl Default for ReviewConfig {
    fn default() -> Self {
        validate(RawReview::default()).expect("the defaults are valid")
    }
}

fn check<T>(enabled: Option<bool>, citation: Option<String>, plan: &Option<String>, limit: T, configured: bool) -> Check<T> {
    Check {
        enabled: enabled.unwrap_or(true),
        limit,
        citation: Citation {
            text: citation.or_else(|| configured.then(|| plan.clone()).flatten()),
        },
        configured,
    }
}

fn positive(key: &str, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match value {
        Some(0) => Err(ConfigError::invalid(key, "must be greater than zero")),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn whole_days(key: &str, value: Option<Duration>, default_days: u64) -> Result<Duration, ConfigError> {
    match value {
        Some(d) if d.is_zero() => Err(ConfigError::invalid(key, "must be greater than zero")),
        Some(d) if d.as_secs() % DAY != 0 => Err(ConfigError::invalid(key, "must be whole days, like \"90d\"")),
        Some(d) => Ok(d),
        None => Ok(Duration::from_secs(default_days * DAY)),
    }
}

fn clock(key: &str, text: Option<&str>, default: (u32, u32)) -> Result<NaiveTime, ConfigError> {
    match text {
        None => Ok(NaiveTime::from_hms_opt(default.0, default.1, 0).expect("a valid default")),
        Some("24:00") => Ok(NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).expect("valid")),
        Some(text) => NaiveTime::parse_from_str(text, "%H:%M")
            .map_err(|_| ConfigError::invalid(key, format!("`{text}` is not a time like \"09:00\""))),
    }
}

fn weekday(key: &str, text: &str) -> Result<Weekday, ConfigError> {
    text.parse::<Weekday>()
        .map_err(|_| ConfigError::invalid(key, format!("`{text}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)")))
}

pub fn validate(raw: RawReview) -> Result<ReviewConfig, ConfigError> {
    let timezone = match raw.timezone.as_deref() {
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ConfigError::invalid("compliance.review.timezone", format!("`{name}` is not an IANA time zone like Asia/Seoul"))
        })?,
        None => DEFAULT_TIMEZONE.parse().expect("a known zone"),
    };
    let plan = raw.plan.filter(|p| !p.trim().is_empty());
    let audit_subject_fields = raw.audit_subject_fields.unwrap_or_else(|| vec!["user.name".into()]);
    if let Some(bad) = audit_subject_fields.iter().find(|f| f.trim().is_empty() || f.contains(char::is_whitespace)) {
        return Err(ConfigError::invalid("compliance.review.audit_subject_fields", format!("`{bad}` is not a field name")));
    }

    let downloads = check(raw.downloads.enabled, raw.downloads.citation, &plan, (), true);

    let b = raw.bulk;
    let configured = b.per_call.is_some() || b.per_day.is_some();
    let limits = BulkLimits {
        per_call: positive("compliance.review.bulk.per_call", b.per_call, DEFAULT_BULK_PER_CALL)?,
        per_day: positive("compliance.review.bulk.per_day", b.per_day, DEFAULT_BULK_PER_DAY)?,
    };
    let bulk = check(b.enabled, b.citation, &plan, limits, configured);

    let h = raw.hours;
    let configured = h.start.is_some() || h.end.is_some() || h.weekdays.is_some() || h.holidays.is_some();
    let start = clock("compliance.review.hours.start", h.start.as_deref(), (9, 0))?;
    let end = clock("compliance.review.hours.end", h.end.as_deref(), (18, 0))?;
    if start >= end {
        return Err(ConfigError::invalid("compliance.review.hours.end", "must be after compliance.review.hours.start"));
    }
    let weekdays = match h.weekdays {
        Some(days) => days
            .iter()
            .enumerate()
            .map(|(i, d)| weekday(&format!("compliance.review.hours.weekdays[{i}]"), d))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
    };
    let holidays = h
        .holidays
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ConfigError::invalid(format!("compliance.review.hours.holidays[{i}]"), format!("`{d}` is not a date like 2026-12-25"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let hours = check(h.enabled, h.citation, &plan, BusinessHours { start, end, weekdays, holidays }, configured);

    let n = raw.new_origin;
    let days = whole_days("compliance.review.new_origin.days", n.days, DEFAULT_NEW_ORIGIN_DAYS)?;
    let new_origin = check(n.enabled, n.citation, &plan, days, n.days.is_some());

    let d = raw.dormant;
    let days = whole_days("compliance.review.dormant.days", d.days, DEFAULT_DORMANT_DAYS)?;
    let dormant = check(d.enabled, d.citation, &plan, days, d.days.is_some());

    let r = raw.repeated_subject;
    let per_day = positive("compliance.review.repeated_subject.per_day", r.per_day, DEFAULT_REPEATED_PER_DAY)?;
    let repeated_subject = check(r.enabled, r.citation, &plan, per_day, r.per_day.is_some());

    let f = raw.failed_logins;
    let count = positive("compliance.review.failed_logins.count", f.count, DEFAULT_FAILED_COUNT)?;
    let within = match f.within {
        Some(w) if w.is_zero() => {
            return Err(ConfigError::invalid("compliance.review.failed_logins.within", "must be greater than zero"));
        }
        Some(w) => w,
        None => DEFAULT_FAILED_WITHIN,
    };
    let configured = f.count.is_some() || f.within.is_some();
    let failed_logins = check(f.enabled, f.citation, &plan, Burst { count, within }, configured);

    let mut sources = Vec::new();
    for (i, s) in raw.sources.into_iter().enumerate() {
        let key = |name: &str| format!("compliance.review.sources[{i}].{name}");
        let required = |name: &str, value: Option<String>| {
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| ConfigError::invalid(key(name), "is required"))
        };
        let stream = required("stream", s.stream)?;
        if !logwarden_event::is_valid_stream_name(&stream) {
            return Err(ConfigError::invalid(key("stream"), format!("`{stream}` is not a stream name")));
        }
        if stream == logwarden_event::AUDIT_STREAM {
            return Err(ConfigError::invalid(key("stream"), "the audit stream is always reviewed; list only other streams"));
        }
        if sources.iter().any(|other: &AccessSource| other.stream == stream) {
            return Err(ConfigError::invalid(key("stream"), format!("stream `{stream}` is listed twice")));
        }
        let mut tasks = BTreeMap::new();
        for (value, task) in s.tasks {
            let parsed = Task::parse(&task).ok_or_else(|| {
                ConfigError::invalid(
                    format!("compliance.review.sources[{i}].tasks.{value}"),
                    format!("`{task}` is not a task (조회, 변경, 입력, 삭제, 출력, 다운로드, 로그인, or read, update, create, delete, print, download, login)"),
                )
            })?;
            tasks.insert(value, parsed);
        }
        sources.push(AccessSource {
            stream,
            account: required("account", s.account)?,
            time: s.time.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "@timestamp".into()),
            origin: required("origin", s.origin)?,
            subject: s.subject,
            task: required("task", s.task)?,
            tasks,
            records: s.records,
            reason: s.reason,
            outcome: s.outcome,
        });
    }

    Ok(ReviewConfig {
        timezone,
        plan,
        audit_subject_fields,
        downloads,
        bulk,
        hours,
        new_origin,
        dormant,
        repeated_subject,
        failed_logins,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ReviewConfig, ConfigError> {
        let raw: RawReview = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        validate(raw)
    }

    #[test]
    fn defaults_are_kst_and_not_cited() {
        let config = load("").unwrap();
        assert_eq!(config.timezone.name(), "Asia/Seoul");
        assert_eq!(config.bulk.limit, BulkLimits { per_call: 1000, per_day: 10_000 });
        assert!(!config.bulk.configured && config.bulk.citation.text.is_none());
        assert_eq!(config.failed_logins.limit.within, Duration::from_secs(600));
        let hours = &config.hours.limit;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(hours.contains(monday, at(9, 0)) && !hours.contains(monday, at(18, 0)) && !hours.contains(monday, at(8, 59)));
        assert!(!hours.contains(monday.succ_opt().unwrap().succ_opt().unwrap().succ_opt().unwrap().succ_opt().unwrap().succ_opt().unwrap(), at(10, 0)));
    }

    #[test]
    fn settings_carry_the_plan_or_their_own_citation() {
        let config = load(
            "plan = \"내부 관리계획 v3\"\n[bulk]\nper_call = 500\ncitation = \"제12조①\"\n[dormant]\ndays = \"60d\"\n[hours]\nholidays = [\"2026-11-17\"]\n",
        )
        .unwrap();
        assert_eq!(config.bulk.citation.text.as_deref(), Some("제12조①"));
        assert_eq!(config.dormant.citation.text.as_deref(), Some("내부 관리계획 v3"));
        assert_eq!(config.dormant.limit, Duration::from_secs(60 * DAY));
        assert!(config.repeated_subject.citation.text.is_none());
        assert_eq!(config.hours.limit.holidays.len(), 1);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("timezone = \"Mars/Base\"", "compliance.review.timezone"),
            ("[bulk]\nper_call = 0", "compliance.review.bulk.per_call"),
            ("[hours]\nstart = \"9am\"", "compliance.review.hours.start"),
            ("[hours]\nstart = \"18:00\"\nend = \"09:00\"", "compliance.review.hours.end"),
            ("[hours]\nweekdays = [\"mon\", \"funday\"]", "compliance.review.hours.weekdays[1]"),
            ("[hours]\nholidays = [\"12/25\"]", "compliance.review.hours.holidays[0]"),
            ("[dormant]\ndays = \"36h\"", "compliance.review.dormant.days"),
            ("[failed_logins]\nwithin = \"0s\"", "compliance.review.failed_logins.within"),
            ("[[sources]]\nstream = \"hr\"\naccount = \"u\"\norigin = \"ip\"", "compliance.review.sources[0].task"),
            ("[[sources]]\nstream = \"audit\"\naccount = \"u\"\norigin = \"ip\"\ntask = \"t\"", "compliance.review.sources[0].stream"),
            (
                "[[sources]]\nstream = \"hr\"\naccount = \"u\"\norigin = \"ip\"\ntask = \"t\"\n[sources.tasks]\nview = \"peek\"",
                "compliance.review.sources[0].tasks.view",
            ),
        ];
        for (text, key) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }

    #[test]
    fn tasks_parse_in_both_languages() {
        assert_eq!(Task::parse("다운로드"), Some(Task::Download));
        assert_eq!(Task::parse("Read"), Some(Task::Read));
        assert_eq!(Task::parse("peek"), None);
    }
}
