//! [`Report`]: per stream, the presets cited and what they require against
//! what is configured, legal hold, retained range, windows, the chain as
//! `verify` finds it, deletions with their signed records, unsealed
//! splits, signing keys, daily volume, and the status with its reasons.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use logwarden_config::{Config, Preset, StreamPolicy};
use logwarden_store::facts::rfc3339;
use logwarden_store::keys::{ManifestVerifier, public_key_path};
use logwarden_store::verify::{self, Problem};
use serde::Serialize;

use crate::ComplianceError;
use crate::records::{LastVerify, pinned_key_path};
use crate::scan::{self, Deletion, Period, StreamScan, Windows};
use crate::status::{Evidence, Floor, Reason, Status, judge};
use crate::volume::{DayVolume, daily_volume};

/// What the configuration says: each stream's policy and the windowing.
#[derive(Debug, Clone)]
pub struct Policies {
    pub streams: BTreeMap<String, StreamPolicy>,
    pub split_window: Duration,
    pub seal_grace: Duration,
    /// The signing key's public half, beside the private key.
    pub public_key: PathBuf,
}

impl Policies {
    pub fn of(config: &Config) -> Policies {
        Policies {
            streams: config.streams.clone(),
            split_window: config.indexer.split_window,
            seal_grace: config.indexer.seal_grace,
            public_key: public_key_path(&config.indexer.signing_key),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub data_dir: PathBuf,
    /// `None`: a data-dir-only report; no law is checked.
    pub policies: Option<Policies>,
    pub at: DateTime<Utc>,
    pub from: Option<DateTime<Utc>>,
    /// The last full verify may be this old.
    pub verify_max_age: Duration,
    /// An auditor's own copy of the public key (counts as pinned).
    pub public_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub at: String,
    pub from: Option<String>,
    pub data_dir: String,
    /// `config`, or `none` for a data-dir-only report (no law checked).
    pub policy_source: &'static str,
    /// The worst status of any stream.
    pub status: Status,
    pub key: KeyInfo,
    pub last_verify: Option<LastVerify>,
    pub verify_max_age: String,
    pub streams: Vec<StreamReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub key_id: String,
    pub pinned: bool,
    /// `given` (--public-key), `pinned` (DATA_DIR/keys/pinned.pub.pem) or `store`.
    pub source: &'static str,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    pub stream: String,
    pub status: Status,
    pub reasons: Vec<Reason>,
    pub presets: Vec<PresetView>,
    pub retention: RetentionView,
    pub legal_hold: bool,
    pub legal_hold_reason: Option<String>,
    /// Since when the hold is in force (`legal_hold_since`), RFC 3339.
    pub legal_hold_since: Option<String>,
    pub oldest_event: Option<String>,
    pub newest_event: Option<String>,
    pub windows: Windows,
    pub chain: ChainView,
    pub deletions: Vec<Deletion>,
    pub unsealed_past_grace: Vec<String>,
    pub signing_keys: Vec<String>,
    pub volume: Vec<DayVolume>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PresetView {
    pub name: &'static str,
    pub citation: &'static str,
    pub min_retention: Option<String>,
    pub min_hot: Option<String>,
    pub requires_expiry: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionView {
    /// `forever` when unset; absent when no config was given.
    pub configured: Option<String>,
    pub required: Option<String>,
    /// The preset whose floor binds (the longest).
    pub binding_law: Option<String>,
    /// Configured minus required.
    pub margin: Option<String>,
    pub hot_configured: Option<String>,
    pub hot_required: Option<String>,
    pub hot_binding_law: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainView {
    pub partitions: Vec<i32>,
    pub manifests: u64,
    pub sealed_splits: u64,
    /// Sealed splits whose records and files `verify` matched to their manifest.
    pub verified_splits: u64,
    pub deleted_splits: u64,
    pub empty_windows: u64,
    pub active_splits: u64,
    pub intact: bool,
    pub problems: Vec<Problem>,
}

fn text(d: Duration) -> String {
    crate::status::duration_text(d)
}

/// Which key verifies, and whether it is pinned.
fn choose_key(options: &ReportOptions) -> (PathBuf, bool, &'static str) {
    if let Some(path) = &options.public_key {
        return (path.clone(), true, "given");
    }
    let pinned = pinned_key_path(&options.data_dir);
    if pinned.exists() {
        return (pinned, true, "pinned");
    }
    let store = match &options.policies {
        Some(p) => p.public_key.clone(),
        None => public_key_path(&options.data_dir.join("keys").join("manifest-signing.pem")),
    };
    (store, false, "store")
}

/// Builds the report: verifies the whole store (a full `verify`, not
/// recorded as the scheduled one), scans manifests and reads daily volume.
pub fn build(options: &ReportOptions) -> Result<Report, ComplianceError> {
    let data_dir = &options.data_dir;
    let (key_path, pinned, source) = choose_key(options);
    let verifier = ManifestVerifier::load(&key_path)?;
    let verified = verify::verify(data_dir, &verifier, |_, _| {})?;
    let period = Period {
        from: options.from,
        at: options.at,
    };
    let windowing = scan::Windowing {
        window_secs: options
            .policies
            .as_ref()
            .map(|p| p.split_window.as_secs() as i64),
        grace_secs: options
            .policies
            .as_ref()
            .map(|p| p.seal_grace.as_secs() as i64),
    };
    let mut scans = scan::scan(data_dir, period, windowing, &verifier)?;
    let mut volumes = daily_volume(data_dir, period)?;
    let last_verify = LastVerify::read(data_dir)?;
    let verify_age = last_verify
        .as_ref()
        .and_then(LastVerify::verified_at)
        .map(|t| (options.at - t).to_std().unwrap_or(Duration::ZERO));
    let mut names: BTreeSet<String> = scans.keys().cloned().collect();
    names.extend(volumes.keys().cloned());
    names.extend(verified.chains.iter().map(|c| c.stream.clone()));
    if let Some(p) = &options.policies {
        names.extend(p.streams.keys().cloned());
    }
    let mut streams = Vec::new();
    for name in names {
        let policy = options.policies.as_ref().map(|p| {
            p.streams
                .get(&name)
                .cloned()
                .unwrap_or_else(StreamPolicy::keep_forever)
        });
        let scan = scans.remove(&name).unwrap_or_default();
        let mut chain = ChainView {
            partitions: scan.partitions.clone(),
            manifests: scan.manifests,
            sealed_splits: scan.sealed_splits,
            deleted_splits: scan.deleted_splits,
            empty_windows: scan.empty_windows,
            ..ChainView::default()
        };
        for summary in verified.chains.iter().filter(|c| c.stream == name) {
            chain.verified_splits += summary.verified_splits;
            chain.active_splits += summary.active_splits;
        }
        chain.problems = verified
            .problems
            .iter()
            .filter(|p| p.stream == name)
            .cloned()
            .collect();
        chain.intact = chain.problems.is_empty();
        let volume = volumes.remove(&name).unwrap_or_default();
        streams.push(stream_report(
            name,
            policy.as_ref(),
            scan,
            chain,
            volume,
            pinned,
            verify_age,
            options.verify_max_age,
        ));
    }
    let status = streams
        .iter()
        .map(|s| s.status)
        .max()
        .unwrap_or(Status::InsufficientData);
    Ok(Report {
        generated_at: rfc3339(Utc::now()),
        at: rfc3339(options.at),
        from: options.from.map(rfc3339),
        data_dir: data_dir.display().to_string(),
        policy_source: if options.policies.is_some() {
            "config"
        } else {
            "none"
        },
        status,
        key: KeyInfo {
            key_id: verifier.key_id().to_string(),
            pinned,
            source,
            path: key_path.display().to_string(),
        },
        last_verify,
        verify_max_age: text(options.verify_max_age),
        streams,
    })
}

/// The longest floor among `presets`, and the preset that sets it.
fn binding(
    presets: &[&'static Preset],
    floor: impl Fn(&Preset) -> Option<Duration>,
) -> Option<Floor> {
    presets
        .iter()
        .filter_map(|p| {
            floor(p).map(|min| Floor {
                min,
                preset: format!("{} ({})", p.name, p.citation),
            })
        })
        .max_by_key(|f| f.min)
}

#[allow(clippy::too_many_arguments)]
fn stream_report(
    stream: String,
    policy: Option<&StreamPolicy>,
    scan: StreamScan,
    chain: ChainView,
    volume: Vec<DayVolume>,
    key_pinned: bool,
    verify_age: Option<Duration>,
    verify_max_age: Duration,
) -> StreamReport {
    let presets: &[&'static Preset] = policy.map_or(&[], |p| p.presets.as_slice());
    let retention_floor = binding(presets, |p| p.min_retention);
    let hot_floor = binding(presets, |p| p.min_hot);
    let mut retention = RetentionView::default();
    if let Some(policy) = policy {
        retention.configured = Some(policy.retention.map_or("forever".into(), text));
        retention.hot_configured = policy.hot.map(text);
    }
    if let Some(floor) = &retention_floor {
        retention.required = Some(text(floor.min));
        retention.binding_law = Some(floor.preset.clone());
        retention.margin = policy
            .and_then(|p| p.retention)
            .and_then(|r| r.checked_sub(floor.min))
            .map(text);
    }
    if let Some(floor) = &hot_floor {
        retention.hot_required = Some(text(floor.min));
        retention.hot_binding_law = Some(floor.preset.clone());
    }
    let legal_hold = policy.is_some_and(|p| p.legal_hold);
    let deleted_before_floor = match &retention_floor {
        Some(floor) => scan
            .deletions
            .iter()
            .filter(|d| {
                d.age_seconds
                    .is_none_or(|age| age < floor.min.as_secs() as i64)
            })
            .count(),
        None => 0,
    };
    let evidence = Evidence {
        manifests: scan.manifests,
        retention: policy.and_then(|p| p.retention),
        retention_floor,
        hot: policy.and_then(|p| p.hot),
        hot_floor,
        expiry_required_by: presets
            .iter()
            .find(|p| p.requires_expiry)
            .map(|p| format!("{} ({})", p.name, p.citation)),
        chain_problems: chain.problems.len(),
        missing_windows: scan.windows.missing.iter().map(|m| m.windows).sum(),
        deleted_before_floor,
        // With `legal_hold_since`, only deletions from that time on were under hold.
        deleted_under_hold: if legal_hold {
            let since = policy.and_then(|p| p.legal_hold_since);
            scan.deletions
                .iter()
                .filter(|d| match (since, DateTime::parse_from_rfc3339(&d.deleted_at)) {
                    (Some(since), Ok(at)) => at.to_utc() >= since,
                    _ => true,
                })
                .count()
        } else {
            0
        },
        verify_age,
        verify_max_age,
        key_pinned,
        unsealed_past_grace: scan.unsealed_past_grace.len(),
        low_volume_days: volume
            .iter()
            .filter(|d| d.low)
            .map(|d| d.day.clone())
            .collect(),
    };
    let (status, reasons) = judge(&evidence);
    StreamReport {
        stream,
        status,
        reasons,
        presets: presets
            .iter()
            .map(|p| PresetView {
                name: p.name,
                citation: p.citation,
                min_retention: p.min_retention.map(text),
                min_hot: p.min_hot.map(text),
                requires_expiry: p.requires_expiry,
            })
            .collect(),
        retention,
        legal_hold,
        legal_hold_reason: policy.and_then(|p| p.legal_hold_reason.clone()),
        legal_hold_since: policy.and_then(|p| p.legal_hold_since).map(rfc3339),
        oldest_event: scan.oldest_event,
        newest_event: scan.newest_event,
        windows: scan.windows,
        chain,
        deletions: scan.deletions,
        unsealed_past_grace: scan.unsealed_past_grace,
        signing_keys: scan.signing_keys,
        volume,
    }
}

/// Where a data directory's store key is by default.
pub fn default_public_key(data_dir: &Path) -> PathBuf {
    public_key_path(&data_dir.join("keys").join("manifest-signing.pem"))
}
