//! [`Review`]: the month's findings with their 소명 states, the checks'
//! thresholds with their citations, the 제8조③ integrity result and the
//! reviewer's sign-off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use logwarden_config::review::{Check, ReviewConfig};
use logwarden_event::AUDIT_STREAM;
use logwarden_store::facts::rfc3339;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::checks::{self, CheckKind, Finding};
use super::integrity::{self, Integrity};
use super::month::Month;
use super::records::{self, AccessRecord, Sources};
use super::store::{ReviewStore, SignOff, State};
use crate::{ComplianceError, Policies};

#[derive(Debug, Clone)]
pub struct ReviewOptions {
    pub data_dir: PathBuf,
    pub config: ReviewConfig,
    pub month: Month,
    /// Windowing and the store key, when a config was given.
    pub policies: Option<Policies>,
    /// An auditor's own copy of the public key.
    pub public_key: Option<PathBuf>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    /// Findings still pending 소명.
    Pending,
    /// Every finding explained or escalated; not signed off yet.
    ReadyForSignoff,
    SignedOff,
}

impl std::fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReviewStatus::Pending => "PENDING",
            ReviewStatus::ReadyForSignoff => "READY_FOR_SIGNOFF",
            ReviewStatus::SignedOff => "SIGNED_OFF",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub month: String,
    pub timezone: String,
    /// The month in UTC: `[from, to)`.
    pub from: String,
    pub to: String,
    /// The same in the review's time zone.
    pub from_local: String,
    pub to_local: String,
    pub generated_at: String,
    /// Whether the month was over when the review was generated.
    pub month_complete: bool,
    pub data_dir: String,
    /// The internal management plan the thresholds come from.
    pub plan: Option<String>,
    pub status: ReviewStatus,
    pub settings: Vec<Setting>,
    pub sources: Vec<SourceSummary>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// SHA-256 over the findings' ids and states (what a sign-off signs).
    pub findings_sha256: String,
    pub integrity: Integrity,
    pub signoff: Option<SignOff>,
    /// Whether the findings are still those signed off (`None`: not signed
    /// off). `false`: records or thresholds changed after the sign-off.
    pub signoff_matches: Option<bool>,
}

/// A check as configured: threshold and citation.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub check: CheckKind,
    pub name_en: &'static str,
    pub name_ko: &'static str,
    pub enabled: bool,
    pub threshold_en: String,
    pub threshold_ko: String,
    /// The operator's citation (내부 관리계획); absent: the default.
    pub citation: Option<String>,
    /// `config` or `default`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub stream: String,
    /// `audit` (logwarden's own API use) or `mapped`.
    pub kind: &'static str,
    /// Records in the month.
    pub records: u64,
    pub accounts: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub findings: u64,
    pub pending: u64,
    pub explained: u64,
    pub escalated: u64,
    pub downloads_without_reason: u64,
    pub by_check: BTreeMap<String, u64>,
}

fn hours_text(config: &ReviewConfig) -> (String, String) {
    let h = &config.hours.limit;
    let days: Vec<String> = h.weekdays.iter().map(|d| d.to_string()).collect();
    let holidays: Vec<String> = h.holidays.iter().map(|d| d.to_string()).collect();
    let holidays = if holidays.is_empty() { "-".to_string() } else { holidays.join(", ") };
    (
        format!("outside {}–{} on {} or on holidays ({holidays})", h.start.format("%H:%M"), h.end.format("%H:%M"), days.join(", ")),
        format!("{} {}–{} 외 시간 또는 공휴일 ({holidays})", days.join(", "), h.start.format("%H:%M"), h.end.format("%H:%M")),
    )
}

fn settings(config: &ReviewConfig) -> Vec<Setting> {
    let days = |d: std::time::Duration| d.as_secs() / 86_400;
    let b = config.bulk.limit;
    let f = config.failed_logins.limit;
    let minutes = f.within.as_secs_f64() / 60.0;
    let (hours_en, hours_ko) = hours_text(config);
    let downloads = Setting {
        // Downloads have no threshold to set: configured means cited.
        source: source(config.downloads.citation.text.is_some()),
        ..setting(
            CheckKind::Download,
            &config.downloads,
            "every download of personal data listed; a reason (사유) is required".into(),
            "개인정보 다운로드 전건 확인, 사유 기재 필수".into(),
        )
    };
    vec![
        downloads,
        setting(CheckKind::BulkCall, &config.bulk, format!("≥ {} records returned by one call", b.per_call), format!("1회 {}건 이상 조회", b.per_call)),
        setting(
            CheckKind::BulkDay,
            &config.bulk,
            format!("≥ {} records returned to one account in one day", b.per_day),
            format!("계정당 1일 {}건 이상 조회", b.per_day),
        ),
        setting(CheckKind::OffHours, &config.hours, hours_en, hours_ko),
        setting(
            CheckKind::NewOrigin,
            &config.new_origin,
            format!("a source address not used by the account in the previous {} days", days(config.new_origin.limit)),
            format!("최근 {}일간 사용하지 않은 접속지", days(config.new_origin.limit)),
        ),
        setting(
            CheckKind::Dormant,
            &config.dormant,
            format!("an account idle for ≥ {} days that acts again", days(config.dormant.limit)),
            format!("{}일 이상 미사용 계정의 재사용", days(config.dormant.limit)),
        ),
        setting(
            CheckKind::RepeatedSubject,
            &config.repeated_subject,
            format!("≥ {} lookups of one data subject by one account in one day", config.repeated_subject.limit),
            format!("계정당 1일 동일 정보주체 {}회 이상 조회", config.repeated_subject.limit),
        ),
        setting(
            CheckKind::FailedLogins,
            &config.failed_logins,
            format!("≥ {} failed sign-ins within {minutes} minutes", f.count),
            format!("{minutes}분 내 로그인 {}회 이상 실패", f.count),
        ),
    ]
}

/// The row of `kind`, configured as `check` says, with its threshold.
fn setting<T>(kind: CheckKind, check: &Check<T>, threshold_en: String, threshold_ko: String) -> Setting {
    let (name_en, name_ko) = kind.names();
    Setting {
        check: kind,
        name_en,
        name_ko,
        enabled: check.enabled,
        threshold_en,
        threshold_ko,
        citation: check.citation.text.clone(),
        source: source(check.configured),
    }
}

fn source(configured: bool) -> &'static str {
    if configured { "config" } else { "default" }
}

fn sources_of(config: &ReviewConfig) -> Sources<'_> {
    Sources { mapped: &config.sources, audit_subject_fields: &config.audit_subject_fields }
}

/// The month's access records (all history before its end) and findings,
/// without states: what a change of state checks its id against.
pub fn findings(options: &ReviewOptions) -> Result<(Vec<AccessRecord>, Vec<Finding>), ComplianceError> {
    let records = records::read(&options.data_dir, &sources_of(&options.config), options.month.end())?;
    let findings = checks::run(&options.config, &options.month, &records);
    Ok((records, findings))
}

/// The digest a sign-off signs: every finding's id and state, in order.
pub fn findings_digest(findings: &[Finding]) -> String {
    let mut hasher = Sha256::new();
    for f in findings {
        hasher.update(format!("{} {}\n", f.id, f.state).as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// Builds the review: records, checks, states and sign-off from the
/// store, and the integrity result (a full verify of the store).
pub fn build(options: &ReviewOptions) -> Result<Review, ComplianceError> {
    let month = &options.month;
    let (records, mut findings) = findings(options)?;
    let state = ReviewStore::new(&options.data_dir).read(&month.name())?;
    checks::attach_states(&mut findings, &state.findings);

    let mut streams: Vec<String> = vec![AUDIT_STREAM.to_string()];
    streams.extend(options.config.sources.iter().map(|s| s.stream.clone()));
    let sources = streams
        .iter()
        .map(|stream| {
            let in_month: Vec<&AccessRecord> = records.iter().filter(|r| &r.stream == stream && month.contains(r.time)).collect();
            let accounts: BTreeSet<&str> = in_month.iter().filter_map(|r| r.account.as_deref()).collect();
            SourceSummary {
                stream: stream.clone(),
                kind: if stream == AUDIT_STREAM { "audit" } else { "mapped" },
                records: in_month.len() as u64,
                accounts: accounts.len() as u64,
            }
        })
        .collect();
    let integrity = integrity::check(
        &options.data_dir,
        &streams,
        month,
        options.policies.as_ref(),
        options.public_key.as_deref(),
        options.now,
    )?;

    let mut summary = Summary { findings: findings.len() as u64, ..Summary::default() };
    for check in CheckKind::ALL {
        summary.by_check.insert(check.as_str().to_string(), 0);
    }
    for f in &findings {
        match f.state {
            State::Pending => summary.pending += 1,
            State::Explained => summary.explained += 1,
            State::Escalated => summary.escalated += 1,
        }
        *summary.by_check.entry(f.check.as_str().to_string()).or_default() += 1;
        if f.reason_missing {
            summary.downloads_without_reason += 1;
        }
    }
    let status = if state.signoff.is_some() {
        ReviewStatus::SignedOff
    } else if summary.pending > 0 {
        ReviewStatus::Pending
    } else {
        ReviewStatus::ReadyForSignoff
    };
    Ok(Review {
        month: month.name(),
        timezone: month.tz.name().to_string(),
        from: month.start().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to: month.end().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        from_local: month.local_text(month.start()),
        to_local: month.local_text(month.end()),
        generated_at: rfc3339(options.now),
        month_complete: options.now >= month.end(),
        data_dir: options.data_dir.display().to_string(),
        plan: options.config.plan.clone(),
        status,
        settings: settings(&options.config),
        sources,
        summary,
        signoff_matches: state.signoff.as_ref().map(|s| s.findings_sha256 == findings_digest(&findings)),
        findings_sha256: findings_digest(&findings),
        findings,
        integrity,
        signoff: state.signoff,
    })
}
