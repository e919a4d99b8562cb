//! The checks of the monthly review over the access records, each giving
//! [`Finding`]s with a stable id (the same data gives the same ids, so a
//! reviewer's 소명 stays attached to its finding).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Weekday};
use logwarden_config::review::{ReviewConfig, Task};
use logwarden_store::facts::rfc3339;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::month::Month;
use super::records::AccessRecord;
use super::store::{FindingState, State};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Download,
    BulkCall,
    BulkDay,
    OffHours,
    NewOrigin,
    Dormant,
    RepeatedSubject,
    FailedLogins,
}

impl CheckKind {
    pub const ALL: [CheckKind; 8] = [
        CheckKind::Download,
        CheckKind::BulkCall,
        CheckKind::BulkDay,
        CheckKind::OffHours,
        CheckKind::NewOrigin,
        CheckKind::Dormant,
        CheckKind::RepeatedSubject,
        CheckKind::FailedLogins,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Download => "download",
            CheckKind::BulkCall => "bulk_call",
            CheckKind::BulkDay => "bulk_day",
            CheckKind::OffHours => "off_hours",
            CheckKind::NewOrigin => "new_origin",
            CheckKind::Dormant => "dormant",
            CheckKind::RepeatedSubject => "repeated_subject",
            CheckKind::FailedLogins => "failed_logins",
        }
    }

    /// (English, Korean) names.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            CheckKind::Download => ("Downloads of personal data", "개인정보 다운로드"),
            CheckKind::BulkCall => ("Bulk query (one call)", "대량 조회 (1회)"),
            CheckKind::BulkDay => ("Bulk query (one day)", "대량 조회 (1일)"),
            CheckKind::OffHours => ("Access outside business hours", "업무시간 외 접속"),
            CheckKind::NewOrigin => ("New source address", "새 접속지"),
            CheckKind::Dormant => ("Dormant account active again", "장기 미사용 계정 재사용"),
            CheckKind::RepeatedSubject => ("Repeated lookups of one data subject", "동일 정보주체 반복 조회"),
            CheckKind::FailedLogins => ("Burst of failed sign-ins", "로그인 실패 반복"),
        }
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the reviewer must look at.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `YYYY-MM-` and 16 hex digits: stable for the same records.
    pub id: String,
    pub check: CheckKind,
    pub account: Option<String>,
    pub origin: Option<String>,
    /// Streams of the records involved.
    pub streams: Vec<String>,
    /// The first record's time (UTC) and local time.
    pub time: String,
    pub local_time: String,
    /// The local day (`YYYY-MM-DD`).
    pub day: String,
    /// Records (actions) involved.
    pub actions: u64,
    /// Records returned, when known.
    pub records: Option<u64>,
    pub subject: Option<String>,
    /// The 사유 given (downloads).
    pub reason: Option<String>,
    /// A download without a 사유.
    pub reason_missing: bool,
    pub en: String,
    pub ko: String,
    /// Ids of the records (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<String>,
    pub state: State,
    pub history: Vec<super::store::StateChange>,
}

pub const MAX_EVIDENCE: usize = 20;

/// Whether `id` has the shape of a finding id.
pub fn is_finding_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 24
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..].iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn finding_id(month: &Month, check: CheckKind, key: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(check.as_str().as_bytes());
    for part in key {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", month.name())
}

struct Draft<'a> {
    check: CheckKind,
    key: Vec<String>,
    records: Vec<&'a AccessRecord>,
    returned: Option<u64>,
    subject: Option<String>,
    en: String,
    ko: String,
}

impl Draft<'_> {
    fn finish(self, month: &Month) -> Finding {
        let key: Vec<&str> = self.key.iter().map(String::as_str).collect();
        let first = self.records[0];
        let streams: BTreeSet<String> = self.records.iter().map(|r| r.stream.clone()).collect();
        let reason = if self.check == CheckKind::Download { first.reason.clone() } else { None };
        Finding {
            id: finding_id(month, self.check, &key),
            check: self.check,
            account: first.account.clone(),
            origin: first.origin.clone(),
            streams: streams.into_iter().collect(),
            time: rfc3339(first.time),
            local_time: month.local_text(first.time),
            day: month.local_day(first.time).to_string(),
            actions: self.records.len() as u64,
            records: self.returned,
            subject: self.subject,
            reason_missing: self.check == CheckKind::Download && reason.is_none(),
            reason,
            en: self.en,
            ko: self.ko,
            evidence: self.records.iter().take(MAX_EVIDENCE).map(|r| r.id.clone()).collect(),
            state: State::Pending,
            history: Vec::new(),
        }
    }
}

fn who(r: &AccessRecord) -> String {
    r.account.clone().unwrap_or_else(|| "-".into())
}

fn days_text(d: std::time::Duration) -> u64 {
    d.as_secs() / 86_400
}

/// Runs every enabled check over `records` (all history before the month's
/// end, sorted by time); findings are about records inside the month.
pub fn run(config: &ReviewConfig, month: &Month, records: &[AccessRecord]) -> Vec<Finding> {
    let in_month: Vec<&AccessRecord> = records.iter().filter(|r| month.contains(r.time)).collect();
    let mut drafts: Vec<Draft> = Vec::new();

    if config.downloads.enabled {
        for r in in_month.iter().filter(|r| r.task == Some(Task::Download)) {
            let n = r.records.map_or("?".into(), |n| n.to_string());
            let (en_reason, ko_reason) = match &r.reason {
                Some(reason) => (format!("reason: {reason}"), format!("사유: {reason}")),
                None => ("NO reason given".into(), "사유 없음".into()),
            };
            drafts.push(Draft {
                check: CheckKind::Download,
                key: vec![r.stream.clone(), r.id.clone()],
                records: vec![r],
                returned: r.records,
                subject: None,
                en: format!("{} downloaded {n} records ({}); {en_reason}", who(r), r.what),
                ko: format!("{}: {n}건 다운로드 ({}); {ko_reason}", who(r), r.what),
            });
        }
    }

    if config.bulk.enabled {
        let limits = config.bulk.limit;
        let mut per_day: BTreeMap<(String, String), Vec<&AccessRecord>> = BTreeMap::new();
        for r in in_month.iter().filter(|r| r.records.is_some() && r.account.is_some()) {
            let n = r.records.unwrap_or(0);
            if n >= limits.per_call {
                drafts.push(Draft {
                    check: CheckKind::BulkCall,
                    key: vec![r.stream.clone(), r.id.clone()],
                    records: vec![r],
                    returned: Some(n),
                    subject: None,
                    en: format!("{} received {n} records in one call (limit {}): {}", who(r), limits.per_call, r.what),
                    ko: format!("{}: 1회 {n}건 조회 (기준 {}건): {}", who(r), limits.per_call, r.what),
                });
            }
            per_day.entry((who(r), month.local_day(r.time).to_string())).or_default().push(r);
        }
        for ((account, day), rs) in per_day {
            let total: u64 = rs.iter().filter_map(|r| r.records).sum();
            if total >= limits.per_day {
                drafts.push(Draft {
                    check: CheckKind::BulkDay,
                    key: vec![account.clone(), day.clone()],
                    records: rs.clone(),
                    returned: Some(total),
                    subject: None,
                    en: format!("{account} received {total} records on {day} in {} calls (limit {} a day)", rs.len(), limits.per_day),
                    ko: format!("{account}: {day} 하루 {total}건 조회, {}회 (기준 1일 {}건)", rs.len(), limits.per_day),
                });
            }
        }
    }

    if config.hours.enabled {
        let hours = &config.hours.limit;
        let mut outside: BTreeMap<(String, String), Vec<&AccessRecord>> = BTreeMap::new();
        for r in in_month.iter().filter(|r| r.account.is_some()) {
            let local = r.time.with_timezone(&month.tz);
            if !hours.contains(local.date_naive(), local.time()) {
                outside.entry((who(r), local.date_naive().to_string())).or_default().push(r);
            }
        }
        for ((account, day), rs) in outside {
            let date = month.local_day(rs[0].time);
            let (en_kind, ko_kind) = if hours.holidays.contains(&date) {
                ("a holiday", "공휴일")
            } else if !hours.weekdays.contains(&date.weekday()) {
                (if date.weekday() == Weekday::Sat || date.weekday() == Weekday::Sun { "a weekend" } else { "a non-working day" }, "휴무일")
            } else {
                ("outside business hours", "업무시간 외")
            };
            let first = month.local_text(rs[0].time);
            let last = month.local_text(rs[rs.len() - 1].time);
            drafts.push(Draft {
                check: CheckKind::OffHours,
                key: vec![account.clone(), day.clone()],
                returned: sum_known(&rs),
                records: rs.clone(),
                subject: None,
                en: format!(
                    "{account}: {} actions on {day}, {en_kind} (business hours {}–{}), {first} to {last}",
                    rs.len(),
                    hours.start.format("%H:%M"),
                    hours.end.format("%H:%M")
                ),
                ko: format!(
                    "{account}: {day} {ko_kind} {}회 접속 (업무시간 {}–{}), {first} ~ {last}",
                    rs.len(),
                    hours.start.format("%H:%M"),
                    hours.end.format("%H:%M")
                ),
            });
        }
    }

    // Per account: its records in time order (all history), for the
    // new-origin and dormant checks.
    let mut by_account: HashMap<&str, Vec<&AccessRecord>> = HashMap::new();
    for r in records {
        if let Some(account) = &r.account {
            by_account.entry(account.as_str()).or_default().push(r);
        }
    }
    let mut accounts: Vec<&str> = by_account.keys().copied().collect();
    accounts.sort_unstable();

    if config.new_origin.enabled {
        let window = chrono::Duration::from_std(config.new_origin.limit).unwrap_or(chrono::Duration::MAX);
        let days = days_text(config.new_origin.limit);
        for account in &accounts {
            // One pass in time order: when each origin was last used, and
            // when the account last acted at all.
            let mut last_seen: BTreeMap<&str, chrono::DateTime<chrono::Utc>> = BTreeMap::new();
            let mut last_any: Option<chrono::DateTime<chrono::Utc>> = None;
            let mut flagged: BTreeSet<&str> = BTreeSet::new();
            for r in &by_account[account] {
                let Some(origin) = r.origin.as_deref() else {
                    last_any = Some(r.time);
                    continue;
                };
                let since = r.time - window;
                // No activity in the window: no baseline to compare with.
                let baseline = last_any.is_some_and(|t| t >= since);
                let known = last_seen.get(origin).is_some_and(|t| *t >= since);
                if month.contains(r.time) && baseline && !known && !flagged.contains(origin) {
                    let seen: Vec<&str> = last_seen.iter().filter(|(_, t)| **t >= since).map(|(o, _)| *o).collect();
                    flagged.insert(origin);
                    drafts.push(Draft {
                        check: CheckKind::NewOrigin,
                        key: vec![account.to_string(), origin.to_string()],
                        records: vec![r],
                        returned: r.records,
                        subject: None,
                        en: format!("{account} acted from {origin}, not seen for this account in the previous {days} days (seen: {})", seen.join(", ")),
                        ko: format!("{account}: 최근 {days}일간 사용하지 않은 접속지 {origin}에서 접속 (기존: {})", seen.join(", ")),
                    });
                }
                last_seen.insert(origin, r.time);
                last_any = Some(r.time);
            }
        }
    }

    if config.dormant.enabled {
        let idle = chrono::Duration::from_std(config.dormant.limit).unwrap_or(chrono::Duration::MAX);
        for account in &accounts {
            let rs = &by_account[account];
            for pair in rs.windows(2) {
                let (previous, r) = (pair[0], pair[1]);
                if !month.contains(r.time) || r.time - previous.time < idle {
                    continue;
                }
                let gap = (r.time - previous.time).num_days();
                let days = days_text(config.dormant.limit);
                drafts.push(Draft {
                    check: CheckKind::Dormant,
                    key: vec![account.to_string(), rfc3339(r.time), r.id.clone()],
                    records: vec![r],
                    returned: r.records,
                    subject: None,
                    en: format!(
                        "{account} acted again after {gap} days without activity (limit {days} days); last before: {}",
                        month.local_text(previous.time)
                    ),
                    ko: format!("{account}: {gap}일 미사용 후 재사용 (기준 {days}일), 직전 사용 {}", month.local_text(previous.time)),
                });
            }
        }
    }

    if config.repeated_subject.enabled {
        let limit = config.repeated_subject.limit;
        let mut lookups: BTreeMap<(String, String, String), Vec<&AccessRecord>> = BTreeMap::new();
        for r in in_month.iter().filter(|r| r.account.is_some() && matches!(r.task, Some(Task::Read) | Some(Task::Print) | Some(Task::Download))) {
            for subject in &r.subjects {
                lookups.entry((who(r), month.local_day(r.time).to_string(), subject.clone())).or_default().push(r);
            }
        }
        for ((account, day, subject), rs) in lookups {
            if (rs.len() as u64) < limit {
                continue;
            }
            drafts.push(Draft {
                check: CheckKind::RepeatedSubject,
                key: vec![account.clone(), day.clone(), subject.clone()],
                returned: sum_known(&rs),
                records: rs.clone(),
                subject: Some(subject.clone()),
                en: format!("{account} looked up {subject} {} times on {day} (limit {limit} a day)", rs.len()),
                ko: format!("{account}: {day} 정보주체 {subject} {}회 조회 (기준 1일 {limit}회)", rs.len()),
            });
        }
    }

    if config.failed_logins.enabled {
        let burst = config.failed_logins.limit;
        let within = chrono::Duration::from_std(burst.within).unwrap_or(chrono::Duration::MAX);
        let mut failures: BTreeMap<String, Vec<&AccessRecord>> = BTreeMap::new();
        for r in in_month.iter().filter(|r| r.failed && r.task == Some(Task::Login)) {
            let key = match (&r.account, &r.origin) {
                (Some(a), _) => a.clone(),
                (None, Some(o)) => format!("origin {o}"),
                (None, None) => "-".into(),
            };
            failures.entry(key).or_default().push(r);
        }
        let need = burst.count as usize;
        let minutes = burst.within.as_secs_f64() / 60.0;
        for (key, rs) in failures {
            let mut i = 0;
            while i + need <= rs.len() {
                if rs[i + need - 1].time - rs[i].time > within {
                    i += 1;
                    continue;
                }
                // Extend while the last `need` failures still fit the window.
                let mut end = i + need - 1;
                while end + 1 < rs.len() && rs[end + 1].time - rs[end + 2 - need].time <= within {
                    end += 1;
                }
                let group: Vec<&AccessRecord> = rs[i..=end].to_vec();
                let span = (group[group.len() - 1].time - group[0].time).num_seconds();
                drafts.push(Draft {
                    check: CheckKind::FailedLogins,
                    key: vec![key.clone(), rfc3339(group[0].time)],
                    en: format!(
                        "{key}: {} failed sign-ins within {span} s from {} (limit {} in {minutes} min)",
                        group.len(),
                        month.local_text(group[0].time),
                        burst.count
                    ),
                    ko: format!(
                        "{key}: {}부터 {span}초 동안 로그인 {}회 실패 (기준 {minutes}분 내 {}회)",
                        month.local_text(group[0].time),
                        group.len(),
                        burst.count
                    ),
                    records: group,
                    returned: None,
                    subject: None,
                });
                i = end + 1;
            }
        }
    }

    let mut findings: Vec<Finding> = drafts.into_iter().map(|d| d.finish(month)).collect();
    findings.sort_by(|a, b| a.check.cmp(&b.check).then_with(|| a.time.cmp(&b.time)).then_with(|| a.id.cmp(&b.id)));
    findings
}

fn sum_known(rs: &[&AccessRecord]) -> Option<u64> {
    let known: Vec<u64> = rs.iter().filter_map(|r| r.records).collect();
    (!known.is_empty()).then(|| known.iter().sum())
}

/// Attaches each finding's 소명 state and history.
pub fn attach_states(findings: &mut [Finding], states: &BTreeMap<String, FindingState>) {
    for f in findings {
        if let Some(s) = states.get(&f.id) {
            f.state = s.state;
            f.history = s.history.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use logwarden_config::review::validate;

    fn at(text: &str) -> DateTime<Utc> {
        logwarden_store::schema::parse_time(text).unwrap()
    }

    fn rec(id: &str, time: &str, account: &str, origin: &str) -> AccessRecord {
        AccessRecord {
            stream: "audit".into(),
            id: id.into(),
            time: at(time),
            account: Some(account.into()),
            origin: Some(origin.into()),
            subjects: Vec::new(),
            task: Some(Task::Read),
            records: None,
            reason: None,
            failed: false,
            what: "GET /api/v1/search".into(),
        }
    }

    fn month() -> Month {
        Month::parse("2026-11", "Asia/Seoul".parse().unwrap()).unwrap()
    }

    fn config() -> ReviewConfig {
        let raw = toml::from_str(
            "[bulk]\nper_call = 100\nper_day = 250\n[failed_logins]\ncount = 3\nwithin = \"5m\"\n[repeated_subject]\nper_day = 3\n[dormant]\ndays = \"30d\"\n[new_origin]\ndays = \"10d\"\n[hours]\nholidays = [\"2026-11-11\"]\n",
        )
        .unwrap();
        validate(raw).unwrap()
    }

    fn checks_of(findings: &[Finding]) -> Vec<(CheckKind, String)> {
        findings.iter().map(|f| (f.check, f.account.clone().unwrap_or_default())).collect()
    }

    #[test]
    fn each_check_fires_at_its_threshold_and_not_below() {
        // Tuesday 2026-11-03, 10:00 KST = 01:00Z: business hours.
        let mut records = vec![rec("base", "2026-10-30T01:00:00Z", "ann", "10.0.0.1")];
        let mut bulk = rec("b1", "2026-11-03T01:00:00Z", "ann", "10.0.0.1");
        bulk.records = Some(100);
        let mut under = rec("b2", "2026-11-03T01:01:00Z", "ann", "10.0.0.1");
        under.records = Some(99);
        let mut day = rec("b3", "2026-11-03T01:02:00Z", "ann", "10.0.0.1");
        day.records = Some(51); // 100 + 99 + 51 = 250 a day
        records.extend([bulk, under, day]);
        // Off hours: 18:00 KST on a Tuesday fires, 17:59 does not.
        records.push(rec("o1", "2026-11-03T08:59:00Z", "bob", "10.0.0.2"));
        records.push(rec("o2", "2026-11-03T09:00:00Z", "carl", "10.0.0.3"));
        let findings = run(&config(), &month(), &records);
        let got = checks_of(&findings);
        assert_eq!(
            got,
            vec![
                (CheckKind::BulkCall, "ann".into()),
                (CheckKind::BulkDay, "ann".into()),
                (CheckKind::OffHours, "carl".into())
            ],
            "{findings:#?}"
        );
        // Stable ids.
        assert_eq!(findings[0].id, run(&config(), &month(), &records)[0].id);
        assert!(is_finding_id(&findings[0].id), "{}", findings[0].id);
    }

    #[test]
    fn dormant_new_origin_repeated_failed_and_downloads() {
        let mut records = vec![
            rec("d0", "2026-09-01T01:00:00Z", "dora", "10.0.0.9"),
            rec("d1", "2026-11-04T01:00:00Z", "dora", "10.0.0.9"), // 64 days idle: dormant
            rec("e0", "2026-10-06T01:00:00Z", "eve", "10.0.0.5"),
            rec("e1", "2026-11-04T01:00:00Z", "eve", "10.0.0.5"), // 29 days: not dormant
            rec("n0", "2026-11-02T01:00:00Z", "nick", "10.0.0.7"),
            rec("n1", "2026-11-04T01:00:00Z", "nick", "10.9.9.9"), // new origin
            rec("n2", "2026-11-04T02:00:00Z", "nick", "10.9.9.9"), // not again
        ];
        for (i, minute) in [0, 1, 5].iter().enumerate() {
            let mut r = rec(&format!("f{i}"), &format!("2026-11-05T01:0{minute}:00Z"), "mal", "10.6.6.6");
            r.failed = true;
            r.task = Some(Task::Login);
            records.push(r);
        }
        for i in 0..3 {
            // Three failures, but the third is 5 min 1 s after the first.
            let mut r = rec(&format!("g{i}"), "2026-11-06T01:00:00Z", "gus", "10.6.6.7");
            r.time = at("2026-11-06T01:00:00Z") + chrono::Duration::seconds([0, 60, 301][i]);
            r.failed = true;
            r.task = Some(Task::Login);
            records.push(r);
        }
        for i in 0..3 {
            let mut r = rec(&format!("s{i}"), &format!("2026-11-09T0{i}:00:00Z"), "sam", "10.0.0.8");
            r.subjects = vec!["user.name:kim".into()];
            records.push(r);
        }
        let mut dl = rec("x1", "2026-11-10T01:00:00Z", "xena", "10.0.0.4");
        dl.task = Some(Task::Download);
        dl.records = Some(12);
        records.push(dl);
        records.sort_by_key(|r| r.time);
        let findings = run(&config(), &month(), &records);
        let got = checks_of(&findings);
        assert_eq!(
            got,
            vec![
                (CheckKind::Download, "xena".into()),
                (CheckKind::NewOrigin, "nick".into()),
                (CheckKind::Dormant, "dora".into()),
                (CheckKind::RepeatedSubject, "sam".into()),
                (CheckKind::FailedLogins, "mal".into()),
            ],
            "{findings:#?}"
        );
        assert!(findings[0].reason_missing);
        assert_eq!(findings.last().unwrap().actions, 3);
    }
}
