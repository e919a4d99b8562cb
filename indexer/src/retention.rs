//! Retention: deletes the data of sealed splits whose newest event is older
//! than their stream's retention, never a split under legal hold.
//!
//! The manifest stays, and a signed deletion record is written beside it
//! before any file goes, so the chain still verifies and the deletion is
//! evidenced. A crash part-way through is finished by the next run.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use logwarden_config::Config;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use logwarden_store::facts::rfc3339;
use logwarden_store::keys::ManifestSigner;
use logwarden_store::manifest::{DeletionBody, DeletionRecord, FORMAT, Manifest};
use crate::partition::SplitSettings;
use logwarden_store::schema::parse_time;
use crate::{IndexerError, metrics};
use logwarden_store::storage;

#[derive(Debug, Default, Serialize)]
pub struct RetentionReport {
    /// Splits whose data was deleted by this run (or would be, in a dry run).
    pub deleted: Vec<String>,
    /// Expired splits kept because their stream is under legal hold.
    pub held: Vec<String>,
    /// Sealed splits with data that are still within retention.
    pub kept: usize,
}

/// Applies every stream's retention at `now`.
pub fn apply(
    data_dir: &Path,
    config: &Config,
    signer: &ManifestSigner,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<RetentionReport, IndexerError> {
    let mut report = RetentionReport::default();
    for location in
        storage::list_split_dirs(data_dir, None).map_err(|e| IndexerError::io(data_dir, e))?
    {
        let Some(manifest) = Manifest::read(&location.path)? else {
            continue;
        };
        let deletion = DeletionRecord::read(&location.path)?;
        if deletion.is_some() {
            if !dry_run {
                // A deletion a crash interrupted.
                remove_index_files(&location.path)?;
            }
            continue;
        }
        if manifest.body.event_count == 0 || !storage::has_index(&location.path) {
            continue;
        }
        let policy = config.stream_policy(&location.stream);
        let Some(retention) = policy.retention else {
            report.kept += 1;
            continue;
        };
        let newest = manifest.body.max_timestamp.as_deref().and_then(parse_time);
        let expired = newest.is_some_and(|t| {
            now.signed_duration_since(t)
                .to_std()
                .is_ok_and(|age| age > retention)
        });
        let name = format!(
            "{}/p{}/{}",
            location.stream, location.partition, location.id
        );
        if !expired {
            report.kept += 1;
        } else if policy.legal_hold {
            report.held.push(name);
        } else {
            if !dry_run {
                let body = DeletionBody {
                    format: FORMAT,
                    stream: location.stream.clone(),
                    partition: location.partition,
                    split_id: location.id.clone(),
                    manifest_sha256: manifest.sha256(),
                    deleted_at: rfc3339(now),
                    reason: format!(
                        "retention: newest event {} is older than {}",
                        manifest.body.max_timestamp.as_deref().unwrap_or("?"),
                        humantime::format_duration(retention)
                    ),
                    key_id: signer.key_id().to_string(),
                };
                DeletionRecord::sign(body, signer).write(&location.path)?;
                remove_index_files(&location.path)?;
                metrics::retention_deleted(&location.stream);
                tracing::info!(split = %name, "retention deleted a split's data; its manifest stays");
            }
            report.deleted.push(name);
        }
    }
    Ok(report)
}

/// Removes everything but the manifest and the deletion record; `meta.json`
/// first, so searches stop listing the split.
fn remove_index_files(dir: &Path) -> Result<(), IndexerError> {
    let meta = dir.join("meta.json");
    match std::fs::remove_file(&meta) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(IndexerError::io(&meta, e)),
    }
    for entry in std::fs::read_dir(dir).map_err(|e| IndexerError::io(dir, e))? {
        let entry = entry.map_err(|e| IndexerError::io(dir, e))?;
        let name = entry.file_name();
        if name == "manifest.json" || name == "deletion.json" {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| IndexerError::io(&path, e))?;
    }
    Ok(())
}

/// Runs [`apply`] every `indexer.retention_interval` until `shutdown`.
pub(crate) fn spawn(
    config: Config,
    settings: Arc<SplitSettings>,
    shutdown: CancellationToken,
) -> std::io::Result<JoinHandle<anyhow::Result<()>>> {
    std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || {
            let interval = config.indexer.retention_interval;
            let mut last_run: Option<Instant> = None;
            while !shutdown.is_cancelled() {
                if last_run.is_none_or(|t| t.elapsed() >= interval) {
                    last_run = Some(Instant::now());
                    match apply(
                        &config.data_dir,
                        &config,
                        &settings.signer,
                        Utc::now(),
                        false,
                    ) {
                        Ok(report) if !report.deleted.is_empty() => {
                            tracing::info!(
                                deleted = report.deleted.len(),
                                held = report.held.len(),
                                "retention run"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => {
                            metrics::error("retention");
                            tracing::error!(error = %e, "retention run failed; will retry");
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        })
}
