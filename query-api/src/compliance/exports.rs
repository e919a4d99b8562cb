//! `GET /api/v1/exports`: the exports recorded in the `audit` stream (by
//! the API and by `logwarden export`), newest first, read through the
//! search engine; and `POST /api/v1/exports/verify`: a bundle as the API
//! or the command line produce it (a tar), checked by the same offline
//! verifier as `logwarden verify BUNDLE --json`, with whether its key is
//! the pinned one.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use logwarden_compliance::export::{BundleProblem, BundleReport, check};
use logwarden_compliance::records::pinned_key_path;
use logwarden_store::keys::{ManifestVerifier, public_key_path};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::AuditResults;
use crate::error::ApiError;
use crate::identity::{AUDIT_STREAM, Identity};
use crate::search::{Audited, SearchParams, run};
use crate::state::AppState;

/// The audit action both the API and the command line record an export as.
pub const EXPORT_ACTION: &str = "audit-export";

/// The exports listed by default.
const DEFAULT_LIMIT: usize = 50;

/// What a tar adds to the bundle's own bytes (headers, padding).
const TAR_ALLOWANCE: u64 = 1 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Exports recorded at or after (RFC 3339, epoch ms or `now-30d`).
    pub from: Option<String>,
    /// Exports recorded before.
    pub to: Option<String>,
    pub limit: Option<usize>,
}

/// One export, from its audit record.
#[derive(Debug, Serialize)]
pub struct ExportEntry {
    /// The key's name, or `cli:USER` for `logwarden export`.
    pub who: Option<String>,
    /// When the export was recorded.
    pub when: Option<String>,
    /// `api` or `cli`.
    pub via: &'static str,
    pub id: Option<String>,
    pub stream: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub query: Option<String>,
    pub records: Option<u64>,
    pub bytes: Option<u64>,
    /// SHA-256 of the bundle's signed statement.
    pub bundle_sha256: Option<String>,
    pub key_id: Option<String>,
    pub reason: Option<String>,
    /// Where the command line wrote the bundle.
    pub out: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportList {
    /// Exports recorded in the range (all of them, not only this page).
    pub total: u64,
    pub exports: Vec<ExportEntry>,
}

fn text(fields: &Value, key: &str) -> Option<String> {
    fields.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn number(fields: &Value, key: &str) -> Option<u64> {
    let value = fields.get(key)?;
    value.as_u64().or_else(|| value.as_str()?.parse().ok())
}

impl ExportEntry {
    fn of(event: &Value) -> ExportEntry {
        let fields = event.get("fields").cloned().unwrap_or(Value::Null);
        let cli = event.get("observer.product").and_then(Value::as_str) == Some("logwarden cli");
        ExportEntry {
            who: text(event, "user.name"),
            when: text(event, "@timestamp"),
            via: if cli { "cli" } else { "api" },
            id: text(&fields, "export.id"),
            stream: text(&fields, "export.stream"),
            from: text(&fields, "export.from"),
            to: text(&fields, "export.to"),
            query: text(&fields, "export.query"),
            records: number(&fields, "export.records"),
            bytes: number(&fields, "export.bytes"),
            bundle_sha256: text(&fields, "export.bundle.sha256"),
            key_id: text(&fields, "export.key.id"),
            reason: text(&fields, "export.reason"),
            out: text(&fields, "export.out"),
        }
    }
}

/// `GET /api/v1/exports?from=&to=&limit=`: the `audit` stream's export
/// records, newest first, through the same engine as `/api/v1/search`;
/// the access record states the search like a search's.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Audited<ExportList>, ApiError> {
    let Query(params) = params?;
    let query = format!("event.action:\"{EXPORT_ACTION}\"");
    let search = SearchParams {
        q: query.clone(),
        from: params.from,
        to: params.to,
        stream: Some(AUDIT_STREAM.to_string()),
        limit: Some(params.limit.unwrap_or(DEFAULT_LIMIT)),
        sort: Some("@timestamp:desc".into()),
        ..SearchParams::default()
    };
    let found = run(state, identity, search).await?;
    let exports: Vec<ExportEntry> = found.hits.iter().map(ExportEntry::of).collect();
    let results = AuditResults { total: found.total, returned: exports.len() as u64, query: Some(query), stream: Some(AUDIT_STREAM.to_string()) };
    Ok((Extension(results), Json(ExportList { total: found.total, exports })))
}

/// The signing key compared with the key the server trusts.
#[derive(Debug, Serialize)]
pub struct KeyCheck {
    /// The bundle's key id.
    pub key_id: Option<String>,
    /// The trusted key's id: the pinned key (`logwarden compliance pin-key`),
    /// else the store's own public key.
    pub trusted_key_id: Option<String>,
    /// `pinned` or `store`; absent when neither can be read.
    pub trusted: Option<&'static str>,
    /// Whether the bundle was signed by the trusted key.
    pub matches: bool,
}

#[derive(Debug, Serialize)]
pub struct VerifyAnswer {
    /// Every check passed (the signing key is reported apart, in `key`).
    pub intact: bool,
    /// The first broken item, in checking order.
    pub first_broken: Option<BundleProblem>,
    pub key: KeyCheck,
    /// What `logwarden verify BUNDLE --json` prints.
    pub report: BundleReport,
}

fn not_a_bundle(what: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_bundle", format!("the body is not an export bundle (a tar from POST /api/v1/exports or of a `logwarden export` directory): {what}"))
}

/// `POST /api/v1/exports/verify`: the body is the bundle's tar; it is
/// written to a directory the server names (never a path from the
/// request), unpacked there, checked offline, and removed.
pub async fn verify(State(state): State<Arc<AppState>>, body: Body) -> Result<Json<VerifyAnswer>, ApiError> {
    let scratch = state.data_dir.join("exports").join(format!("verify-{:016x}", rand::random::<u64>()));
    let cleanup = RemoveOnDrop(scratch.clone());
    let tar = receive(body, &scratch, state.max_export_bytes).await?;
    let (data_dir, signing_key) = (state.data_dir.clone(), state.signing_key.clone());
    let answer = tokio::task::spawn_blocking(move || {
        let _cleanup = cleanup;
        let file = std::fs::File::open(&tar).map_err(|e| internal(e, "reading the bundle to verify"))?;
        let root = unpack(std::io::BufReader::new(file), &scratch.join("bundle"))?;
        let report = check(&root, None);
        Ok::<_, ApiError>(answer(report, &data_dir, &signing_key))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(Json(answer))
}

fn internal(e: std::io::Error, what: &'static str) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context(what))
}

/// Streams the body to `SCRATCH/body.tar` (written off the executor),
/// refusing it past `compliance.max_export_bytes` plus the tar's headers;
/// returns the file's path.
async fn receive(mut body: Body, scratch: &Path, max_export_bytes: u64) -> Result<PathBuf, ApiError> {
    use axum::body::HttpBody;
    let limit = max_export_bytes.saturating_add(TAR_ALLOWANCE);
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the bundle is over compliance.max_export_bytes ({max_export_bytes} bytes, plus {TAR_ALLOWANCE} for the tar's headers)"
        ))
    };
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    let path = scratch.join("body.tar");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(16);
    let (dir, file) = (scratch.to_path_buf(), path.clone());
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        while let Some(chunk) = rx.blocking_recv() {
            out.write_all(&chunk)?;
        }
        out.flush()
    });
    let mut size = 0u64;
    let received = loop {
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            None => break Ok(size),
            Some(Err(e)) => break Err(ApiError::bad_request("invalid_body", format!("the body could not be read: {e}"))),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                size += data.len() as u64;
                if size > limit {
                    break Err(too_large());
                }
                if tx.send(data).await.is_err() {
                    break Ok(size); // the writer failed: its error is answered below
                }
            }
        }
    };
    drop(tx);
    let written = writer.await.map_err(|e| ApiError::Internal(e.into()))?;
    let size = received?;
    written.map_err(|e| internal(e, "writing the bundle to verify"))?;
    if size == 0 {
        return Err(not_a_bundle("the body is empty"));
    }
    Ok(path)
}

fn answer(report: BundleReport, data_dir: &Path, signing_key: &Path) -> VerifyAnswer {
    let pinned = pinned_key_path(data_dir);
    let trusted = if pinned.exists() { Some((pinned, "pinned")) } else { Some((public_key_path(signing_key), "store")) };
    let trusted = trusted.and_then(|(path, kind)| ManifestVerifier::load(&path).ok().map(|v| (v.key_id().to_string(), kind)));
    let key = KeyCheck {
        key_id: report.key_id.clone(),
        matches: matches!((&trusted, &report.key_id), (Some((t, _)), Some(k)) if t == k),
        trusted_key_id: trusted.as_ref().map(|(id, _)| id.clone()),
        trusted: trusted.map(|(_, kind)| kind),
    };
    VerifyAnswer { intact: report.is_intact(), first_broken: report.problems.first().cloned(), key, report }
}

/// Removes the scratch directory however the check ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unpacks the tar read from `reader` into `dir`: regular files and
/// directories only, relative paths without `..`; returns the bundle's root
/// (the tar's one top folder, or `dir` when the files sit at the top).
fn unpack(reader: impl Read, dir: &Path) -> Result<PathBuf, ApiError> {
    let io = |e: std::io::Error| internal(e, "unpacking the bundle to verify");
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| not_a_bundle(format!("not a tar: {e}")))?;
    let mut files = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| not_a_bundle(format!("not a tar: {e}")))?;
        let path = entry.path().map_err(|e| not_a_bundle(format!("a name in the tar is not a path: {e}")))?.into_owned();
        if path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(not_a_bundle(format!("`{}` is not a path inside the bundle", path.display())));
        }
        let target = dir.join(&path);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(io)?;
        } else if kind.is_file() {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut out = std::fs::File::create(&target).map_err(io)?;
            std::io::copy(&mut entry, &mut out).map_err(|e| not_a_bundle(format!("`{}` cannot be read: {e}", path.display())))?;
            files += 1;
        } else {
            return Err(not_a_bundle(format!("`{}` is not a regular file or a directory", path.display())));
        }
    }
    if files == 0 {
        return Err(not_a_bundle("the tar holds no file"));
    }
    let statement = "statement.json";
    if dir.join(statement).is_file() {
        return Ok(dir.to_path_buf());
    }
    let tops: Vec<PathBuf> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    match tops.as_slice() {
        [top] if top.join(statement).is_file() => Ok(top.clone()),
        _ => Err(not_a_bundle(format!("no {statement} at its top or in its one top folder"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn refused(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        match unpack(bytes, &dir.path().join("x")) {
            Err(ApiError::BadRequest { message, .. }) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn what_is_not_a_bundle_is_refused_by_name() {
        assert!(refused(b"").contains("holds no file"));
        assert!(refused(&[0x41; 2048]).contains("not an export bundle"));
        assert!(refused(&tar_of(&[("b/notes.txt", b"hi")])).contains("no statement.json"));
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_cksum();
        let mut evil = tar::Builder::new(Vec::new());
        // `append_data` refuses `..`: write the name into the header directly.
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../x.json");
        header.set_cksum();
        evil.append(&header, &b"x"[..]).unwrap();
        assert!(refused(&evil.into_inner().unwrap()).contains("not a path inside the bundle"));
    }

    #[test]
    fn the_bundle_root_is_the_top_folder_or_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let root = unpack(&tar_of(&[("export-1/statement.json", b"{}"), ("export-1/records/a.jsonl", b"")])[..], &dir.path().join("a")).unwrap();
        assert_eq!(root, dir.path().join("a").join("export-1"));
        let root = unpack(&tar_of(&[("statement.json", b"{}")])[..], &dir.path().join("b")).unwrap();
        assert_eq!(root, dir.path().join("b"));
    }
}
