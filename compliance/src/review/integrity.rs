//! The 제8조③ result for the month: the access-record streams' chains
//! verified (signatures, hashes, continuity) and no window missing in the
//! month, with the retention report's verify and gap logic.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use logwarden_store::keys::ManifestVerifier;
use logwarden_store::verify::{self, Problem};
use serde::Serialize;

use super::month::Month;
use crate::records::pinned_key_path;
use crate::scan::{self, MissingRange, Period, Windowing};
use crate::{ComplianceError, Policies};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrityStatus {
    Verified,
    Broken,
    InsufficientData,
}

impl std::fmt::Display for IntegrityStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IntegrityStatus::Verified => "VERIFIED",
            IntegrityStatus::Broken => "BROKEN",
            IntegrityStatus::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    pub status: IntegrityStatus,
    /// Chains intact (every signature, hash and link).
    pub chain_verified: bool,
    /// No window missing within the month.
    pub no_gap: bool,
    pub key_id: String,
    pub key_pinned: bool,
    pub streams: Vec<StreamIntegrity>,
    pub en: String,
    pub ko: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamIntegrity {
    pub stream: String,
    pub manifests: u64,
    pub sealed_splits: u64,
    pub verified_splits: u64,
    pub deleted_splits: u64,
    pub empty_windows: u64,
    pub problems: Vec<Problem>,
    /// Missing windows overlapping the month.
    pub missing: Vec<MissingRange>,
    pub intact: bool,
}

fn choose_key(data_dir: &Path, policies: Option<&Policies>, given: Option<&Path>) -> (PathBuf, bool) {
    if let Some(path) = given {
        return (path.to_path_buf(), true);
    }
    let pinned = pinned_key_path(data_dir);
    if pinned.exists() {
        return (pinned, true);
    }
    match policies {
        Some(p) => (p.public_key.clone(), false),
        None => (crate::report::default_public_key(data_dir), false),
    }
}

/// Verifies the store and judges `streams` for `month` as of `now`.
pub fn check(
    data_dir: &Path,
    streams: &[String],
    month: &Month,
    policies: Option<&Policies>,
    public_key: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<Integrity, ComplianceError> {
    let (key, key_pinned) = choose_key(data_dir, policies, public_key);
    let verifier = ManifestVerifier::load(&key)?;
    let verified = verify::verify(data_dir, &verifier, |_, _| {})?;
    let period = Period { from: Some(month.start()), at: now };
    let windowing = Windowing {
        window_secs: policies.map(|p| p.split_window.as_secs() as i64),
        grace_secs: policies.map(|p| p.seal_grace.as_secs() as i64),
    };
    let mut scans = scan::scan(data_dir, period, windowing, &verifier)?;
    let (start, end) = (month.start(), month.end());
    let mut out = Vec::new();
    for stream in streams {
        let scan = scans.remove(stream).unwrap_or_default();
        let problems: Vec<Problem> = verified.problems.iter().filter(|p| &p.stream == stream).cloned().collect();
        let missing: Vec<MissingRange> = scan
            .windows
            .missing
            .into_iter()
            .filter(|m| {
                let from = logwarden_store::schema::parse_time(&m.from);
                let to = logwarden_store::schema::parse_time(&m.to);
                from.is_some_and(|f| f < end) && to.is_some_and(|t| t > start)
            })
            .collect();
        let verified_splits = verified.chains.iter().filter(|c| &c.stream == stream).map(|c| c.verified_splits).sum();
        out.push(StreamIntegrity {
            stream: stream.clone(),
            manifests: scan.manifests,
            sealed_splits: scan.sealed_splits,
            verified_splits,
            deleted_splits: scan.deleted_splits,
            empty_windows: scan.empty_windows,
            intact: problems.is_empty() && missing.is_empty(),
            problems,
            missing,
        });
    }
    let chain_verified = out.iter().all(|s| s.problems.is_empty());
    let no_gap = out.iter().all(|s| s.missing.is_empty());
    let manifests: u64 = out.iter().map(|s| s.manifests).sum();
    let (status, en, ko) = if !chain_verified || !no_gap {
        let problems: usize = out.iter().map(|s| s.problems.len()).sum();
        let gaps: usize = out.iter().map(|s| s.missing.len()).sum();
        (
            IntegrityStatus::Broken,
            format!("access records NOT intact: {problems} chain problem(s), {gaps} missing range(s) in the month"),
            format!("접속기록 무결성 훼손: 체인 문제 {problems}건, 기간 내 누락 구간 {gaps}건"),
        )
    } else if manifests == 0 {
        (
            IntegrityStatus::InsufficientData,
            "no sealed access records for the month: nothing to verify".into(),
            "해당 월의 봉인된 접속기록이 없어 검증할 수 없음".into(),
        )
    } else {
        (
            IntegrityStatus::Verified,
            format!("access records intact: {manifests} manifests, every chain verified, no gap in the month"),
            format!("접속기록 무결성 확인: 매니페스트 {manifests}개, 체인 검증 완료, 기간 내 누락 없음"),
        )
    };
    Ok(Integrity { status, chain_verified, no_gap, key_id: verifier.key_id().to_string(), key_pinned, streams: out, en, ko })
}
