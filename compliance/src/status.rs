//! Status words, reason codes and the rules that give a stream its status.
//!
//! - NON_COMPLIANT: retention or hot period under the legal floor (or a
//!   retention that never expires where the law bounds it), a broken chain,
//!   an unexplained gap in the windows, a deletion before the floor or
//!   under legal hold.
//! - INSUFFICIENT_DATA: no manifests in the period (nothing to judge).
//! - AT_RISK: the last full verify older than allowed (or never run), the
//!   signing key not pinned, splits unsealed past their grace, a retention
//!   less than a day over its floor, a day whose volume fell far under the
//!   usual.
//! - COMPLIANT: none of these.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Compliant,
    AtRisk,
    InsufficientData,
    NonCompliant,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "COMPLIANT",
            Status::AtRisk => "AT_RISK",
            Status::InsufficientData => "INSUFFICIENT_DATA",
            Status::NonCompliant => "NON_COMPLIANT",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stream is not COMPLIANT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    RetentionBelowFloor,
    HotBelowFloor,
    RetentionUnbounded,
    ChainBroken,
    Gap,
    DeletedBeforeFloor,
    DeletedUnderHold,
    NoManifests,
    VerifyStale,
    KeyNotPinned,
    UnsealedPastGrace,
    RetentionMarginLow,
    VolumeDrop,
}

impl ReasonCode {
    pub fn status(self) -> Status {
        use ReasonCode::*;
        match self {
            RetentionBelowFloor | HotBelowFloor | RetentionUnbounded | ChainBroken | Gap
            | DeletedBeforeFloor | DeletedUnderHold => Status::NonCompliant,
            NoManifests => Status::InsufficientData,
            VerifyStale | KeyNotPinned | UnsealedPastGrace | RetentionMarginLow | VolumeDrop => {
                Status::AtRisk
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        use ReasonCode::*;
        match self {
            RetentionBelowFloor => "retention_below_floor",
            HotBelowFloor => "hot_below_floor",
            RetentionUnbounded => "retention_unbounded",
            ChainBroken => "chain_broken",
            Gap => "gap",
            DeletedBeforeFloor => "deleted_before_floor",
            DeletedUnderHold => "deleted_under_hold",
            NoManifests => "no_manifests",
            VerifyStale => "verify_stale",
            KeyNotPinned => "key_not_pinned",
            UnsealedPastGrace => "unsealed_past_grace",
            RetentionMarginLow => "retention_margin_low",
            VolumeDrop => "volume_drop",
        }
    }

    /// One sentence in English and in Korean; `detail` is the specifics.
    fn sentences(self, detail: &str) -> (String, String) {
        use ReasonCode::*;
        match self {
            RetentionBelowFloor => (
                format!("The configured retention is shorter than the law requires ({detail})."),
                format!("설정된 보존 기간이 법정 최소 기간보다 짧습니다 ({detail})."),
            ),
            HotBelowFloor => (
                format!("The immediately searchable period is shorter than required ({detail})."),
                format!("즉시 조회 가능 기간이 요구 기간보다 짧습니다 ({detail})."),
            ),
            RetentionUnbounded => (
                format!("Logs are kept forever, but the law requires them to expire ({detail})."),
                format!("로그가 무기한 보관되지만 법은 보존 기간의 만료를 요구합니다 ({detail})."),
            ),
            ChainBroken => (
                format!(
                    "The manifest chain does not verify: logs were altered, removed or forged ({detail})."
                ),
                format!(
                    "매니페스트 체인 검증에 실패했습니다: 로그가 변경·삭제·위조되었습니다 ({detail})."
                ),
            ),
            Gap => (
                format!(
                    "Time windows are missing from the chain with no record explaining them ({detail})."
                ),
                format!("설명되지 않은 시간 구간이 체인에서 누락되었습니다 ({detail})."),
            ),
            DeletedBeforeFloor => (
                format!("Logs were deleted before the legal retention period ended ({detail})."),
                format!("법정 보존 기간이 끝나기 전에 로그가 삭제되었습니다 ({detail})."),
            ),
            DeletedUnderHold => (
                format!("Logs were deleted while the stream is under legal hold ({detail})."),
                format!(
                    "법적 보존 조치(legal hold) 중인 스트림의 로그가 삭제되었습니다 ({detail})."
                ),
            ),
            NoManifests => (
                format!(
                    "No sealed manifest exists in the period: there is nothing to prove ({detail})."
                ),
                format!(
                    "기간 내 봉인된 매니페스트가 없어 증명할 수 있는 것이 없습니다 ({detail})."
                ),
            ),
            VerifyStale => (
                format!(
                    "The last full integrity verification is too old or was never run ({detail})."
                ),
                format!(
                    "마지막 전체 무결성 검증이 너무 오래되었거나 수행된 적이 없습니다 ({detail})."
                ),
            ),
            KeyNotPinned => (
                format!(
                    "The signing key is not pinned: a replaced key would not be noticed ({detail})."
                ),
                format!("서명 키가 고정(pin)되지 않아 키가 교체되어도 알 수 없습니다 ({detail})."),
            ),
            UnsealedPastGrace => (
                format!("Splits or windows are still unsealed past their grace period ({detail})."),
                format!(
                    "유예 기간이 지났는데도 봉인되지 않은 스플릿 또는 구간이 있습니다 ({detail})."
                ),
            ),
            RetentionMarginLow => (
                format!("The retention exceeds the legal floor by less than a day ({detail})."),
                format!("보존 기간이 법정 최소 기간을 하루 미만으로 초과합니다 ({detail})."),
            ),
            VolumeDrop => (
                format!(
                    "A day's log volume fell far under its usual level: a source may have gone silent ({detail})."
                ),
                format!(
                    "일일 로그량이 평소보다 크게 줄었습니다: 로그 출처가 중단되었을 수 있습니다 ({detail})."
                ),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub status: Status,
    pub detail: String,
    pub en: String,
    pub ko: String,
}

impl Reason {
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Reason {
        let detail = detail.into();
        let (en, ko) = code.sentences(&detail);
        Reason {
            code,
            status: code.status(),
            detail,
            en,
            ko,
        }
    }
}

/// A legal floor and the preset (law) that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    pub min: Duration,
    pub preset: String,
}

/// Everything the rules look at for one stream.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub manifests: u64,
    /// `None`: kept forever.
    pub retention: Option<Duration>,
    pub retention_floor: Option<Floor>,
    pub hot: Option<Duration>,
    pub hot_floor: Option<Floor>,
    /// A cited preset that bounds retention (GDPR), when retention is unbounded.
    pub expiry_required_by: Option<String>,
    pub chain_problems: usize,
    pub missing_windows: u64,
    pub deleted_before_floor: usize,
    pub deleted_under_hold: usize,
    /// Age of the last full verify at the report time; `None`: never run.
    pub verify_age: Option<Duration>,
    pub verify_max_age: Duration,
    pub key_pinned: bool,
    pub unsealed_past_grace: usize,
    pub low_volume_days: Vec<String>,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A duration as an auditor reads a retention: whole days, then hours
/// (`400d`, `365d 6h` for a year), seconds only under a day.
pub fn duration_text(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, rest) = (secs / DAY.as_secs(), secs % DAY.as_secs());
    match (days, rest) {
        (0, _) => humantime::format_duration(Duration::from_secs(secs)).to_string(),
        (days, 0) => format!("{days}d"),
        (days, rest) if rest % 3600 == 0 => format!("{days}d {}h", rest / 3600),
        (days, rest) => format!(
            "{days}d {}",
            humantime::format_duration(Duration::from_secs(rest))
        ),
    }
}

fn text(d: Duration) -> String {
    duration_text(d)
}

/// The stream's status and every reason for it, most serious first.
pub fn judge(e: &Evidence) -> (Status, Vec<Reason>) {
    use ReasonCode::*;
    let mut reasons = Vec::new();
    if let Some(floor) = &e.retention_floor {
        match e.retention {
            Some(r) if r < floor.min => reasons.push(Reason::new(
                RetentionBelowFloor,
                format!(
                    "{} < {} required by {}",
                    text(r),
                    text(floor.min),
                    floor.preset
                ),
            )),
            Some(r) if r - floor.min < DAY => reasons.push(Reason::new(
                RetentionMarginLow,
                format!(
                    "{} vs {} required by {}",
                    text(r),
                    text(floor.min),
                    floor.preset
                ),
            )),
            _ => {}
        }
    }
    if let (Some(floor), Some(hot)) = (&e.hot_floor, e.hot)
        && hot < floor.min
    {
        reasons.push(Reason::new(
            HotBelowFloor,
            format!(
                "{} < {} required by {}",
                text(hot),
                text(floor.min),
                floor.preset
            ),
        ));
    }
    if let (Some(preset), None) = (&e.expiry_required_by, e.retention) {
        reasons.push(Reason::new(RetentionUnbounded, preset.clone()));
    }
    if e.chain_problems > 0 {
        reasons.push(Reason::new(
            ChainBroken,
            format!("{} problem(s) found by verify", e.chain_problems),
        ));
    }
    if e.missing_windows > 0 {
        reasons.push(Reason::new(
            Gap,
            format!("{} window(s) missing", e.missing_windows),
        ));
    }
    if e.deleted_before_floor > 0 {
        reasons.push(Reason::new(
            DeletedBeforeFloor,
            format!("{} split(s)", e.deleted_before_floor),
        ));
    }
    if e.deleted_under_hold > 0 {
        reasons.push(Reason::new(
            DeletedUnderHold,
            format!("{} split(s)", e.deleted_under_hold),
        ));
    }
    if e.manifests == 0 {
        reasons.push(Reason::new(NoManifests, "0 manifests"));
    }
    match e.verify_age {
        None => reasons.push(Reason::new(
            VerifyStale,
            "never run: `logwarden verify --data-dir`",
        )),
        Some(age) if age > e.verify_max_age => reasons.push(Reason::new(
            VerifyStale,
            format!(
                "last run {} ago, allowed {}",
                text(Duration::from_secs(age.as_secs())),
                text(e.verify_max_age)
            ),
        )),
        Some(_) => {}
    }
    if !e.key_pinned {
        reasons.push(Reason::new(
            KeyNotPinned,
            "`logwarden compliance pin-key` or `--public-key`",
        ));
    }
    if e.unsealed_past_grace > 0 {
        reasons.push(Reason::new(
            UnsealedPastGrace,
            format!("{} split(s) or window(s)", e.unsealed_past_grace),
        ));
    }
    if !e.low_volume_days.is_empty() {
        reasons.push(Reason::new(VolumeDrop, e.low_volume_days.join(", ")));
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    let status = reasons
        .iter()
        .map(|r| r.status)
        .max()
        .unwrap_or(Status::Compliant);
    (status, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Evidence {
        Evidence {
            manifests: 10,
            retention: Some(400 * DAY),
            retention_floor: Some(Floor {
                min: 365 * DAY,
                preset: "kr-pipa-access".into(),
            }),
            verify_age: Some(DAY),
            verify_max_age: 7 * DAY,
            key_pinned: true,
            ..Evidence::default()
        }
    }

    fn codes(e: &Evidence) -> (Status, Vec<&'static str>) {
        let (status, reasons) = judge(e);
        (status, reasons.iter().map(|r| r.code.as_str()).collect())
    }

    #[test]
    fn durations_read_in_days() {
        assert_eq!(duration_text(400 * DAY), "400d");
        assert_eq!(duration_text(Duration::from_secs(31_557_600)), "365d 6h");
        assert_eq!(duration_text(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn healthy_evidence_is_compliant() {
        assert_eq!(codes(&healthy()), (Status::Compliant, vec![]));
    }

    #[test]
    fn each_rule_gives_its_code_and_status() {
        type Change = Box<dyn Fn(&mut Evidence)>;
        let cases: Vec<(Change, Status, &str)> = vec![
            (
                Box::new(|e| e.retention = Some(300 * DAY)),
                Status::NonCompliant,
                "retention_below_floor",
            ),
            (
                Box::new(|e| e.retention = Some(365 * DAY + DAY / 2)),
                Status::AtRisk,
                "retention_margin_low",
            ),
            (
                Box::new(|e| {
                    e.hot = Some(30 * DAY);
                    e.hot_floor = Some(Floor {
                        min: 90 * DAY,
                        preset: "pci-dss-10.5.1".into(),
                    })
                }),
                Status::NonCompliant,
                "hot_below_floor",
            ),
            (
                Box::new(|e| {
                    e.retention = None;
                    e.retention_floor = None;
                    e.expiry_required_by = Some("gdpr".into())
                }),
                Status::NonCompliant,
                "retention_unbounded",
            ),
            (
                Box::new(|e| e.chain_problems = 1),
                Status::NonCompliant,
                "chain_broken",
            ),
            (
                Box::new(|e| e.missing_windows = 2),
                Status::NonCompliant,
                "gap",
            ),
            (
                Box::new(|e| e.deleted_before_floor = 1),
                Status::NonCompliant,
                "deleted_before_floor",
            ),
            (
                Box::new(|e| e.deleted_under_hold = 1),
                Status::NonCompliant,
                "deleted_under_hold",
            ),
            (
                Box::new(|e| e.manifests = 0),
                Status::InsufficientData,
                "no_manifests",
            ),
            (
                Box::new(|e| e.verify_age = None),
                Status::AtRisk,
                "verify_stale",
            ),
            (
                Box::new(|e| e.verify_age = Some(8 * DAY)),
                Status::AtRisk,
                "verify_stale",
            ),
            (
                Box::new(|e| e.key_pinned = false),
                Status::AtRisk,
                "key_not_pinned",
            ),
            (
                Box::new(|e| e.unsealed_past_grace = 3),
                Status::AtRisk,
                "unsealed_past_grace",
            ),
            (
                Box::new(|e| e.low_volume_days = vec!["2026-11-20".into()]),
                Status::AtRisk,
                "volume_drop",
            ),
        ];
        for (change, status, code) in cases {
            let mut e = healthy();
            change(&mut e);
            let (got, reasons) = judge(&e);
            assert_eq!(got, status, "{code}");
            assert_eq!(reasons.len(), 1, "{code}: {reasons:?}");
            assert_eq!(reasons[0].code.as_str(), code);
            assert!(!reasons[0].en.is_empty() && !reasons[0].ko.is_empty());
        }
    }

    #[test]
    fn the_worst_reason_wins_and_comes_first() {
        let mut e = healthy();
        e.key_pinned = false;
        e.manifests = 0;
        assert_eq!(
            codes(&e),
            (
                Status::InsufficientData,
                vec!["no_manifests", "key_not_pinned"]
            )
        );
        e.chain_problems = 2;
        assert_eq!(codes(&e).0, Status::NonCompliant);
        assert_eq!(codes(&e).1[0], "chain_broken");
        // A retention exactly at the floor is legal, but has no margin.
        let mut e = healthy();
        e.retention = Some(365 * DAY);
        assert_eq!(codes(&e), (Status::AtRisk, vec!["retention_margin_low"]));
        assert_eq!(
            serde_json::to_string(&Status::NonCompliant).unwrap(),
            "\"NON_COMPLIANT\""
        );
    }
}
