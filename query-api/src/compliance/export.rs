use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use logwarden_compliance::ComplianceError;
use logwarden_compliance::export::{ExportQuery, ExportRequest, export as write_bundle};
use serde::Deserialize;

use crate::audit::AuditChange;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;
use crate::tls::ClientAddr;

/// The body of `POST /api/v1/exports`. No path: the bundle is built in a
/// directory the server names and answered as a tar.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    pub stream: String,
    /// RFC 3339, inclusive.
    pub from: String,
    /// RFC 3339, exclusive.
    pub to: String,
    /// Only the records matching this query (the search syntax), each
    /// with a Merkle inclusion proof against its split's manifest.
    pub query: Option<String>,
    /// Why the data is exported (사유): reviewed monthly (제8조②); the
    /// `X-Logwarden-Reason` header counts too.
    pub reason: Option<String>,
}

fn time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| ApiError::bad_request("invalid_parameter", format!("`{name}` is not an RFC 3339 time: {e}")))
}

/// Builds the bundle off the executor, records the export in the `audit`
/// stream (who, stream, range, records, the statement's SHA-256), then
/// answers the bundle as `application/x-tar`; the server copy is removed.
pub async fn export(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<ExportBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let reason = body.reason.clone().filter(|r| !r.trim().is_empty()).or_else(|| crate::audit::reason(&headers));
    let query = match body.query.as_deref() {
        Some(text) => {
            let query = state.queries.compile(text).map_err(|e| ApiError::bad_request("invalid_query", e))?;
            Some(ExportQuery { text: text.to_string(), query })
        }
        None => None,
    };
    let (from, to) = (time("from", &body.from)?, time("to", &body.to)?);
    if from >= to {
        return Err(ApiError::bad_request("invalid_parameter", "`from` must be before `to`"));
    }
    if !logwarden_event::is_valid_stream_name(&body.stream) {
        return Err(ApiError::bad_request("invalid_parameter", format!("`{}` is not a stream name", body.stream)));
    }
    identity.may_search_stream(&body.stream)?;
    let id = format!("export-{}-{:08x}", Utc::now().format("%Y%m%dT%H%M%SZ"), rand::random::<u32>());
    let exports = state.data_dir.join("exports");
    let request = ExportRequest {
        data_dir: state.data_dir.clone(),
        stream: body.stream.clone(),
        from,
        to,
        max_bytes: state.max_export_bytes,
        signing_key: state.signing_key.clone(),
        policies: Some(state.compliance.clone()),
        requested_by: identity.name.clone(),
        query,
        out: exports.join(&id),
    };
    let name = id.clone();
    let (summary, tar) = tokio::task::spawn_blocking(move || -> Result<_, ComplianceError> {
        std::fs::create_dir_all(&exports).map_err(|e| ComplianceError::io(&exports, e))?;
        let summary = write_bundle(&request)?;
        let tar = tar_dir(&summary.out, &name);
        let _ = std::fs::remove_dir_all(&summary.out);
        Ok((summary, tar.map_err(|e| ComplianceError::io(&request.out, e))?))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| match e {
        ComplianceError::ExportTooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
        ComplianceError::InvalidExport(message) => ApiError::bad_request("invalid_parameter", message),
        other => ApiError::Internal(anyhow::Error::new(other).context("writing the audit export")),
    })?;
    let filter = body.query.as_deref().map(|q| format!(" matching `{q}`")).unwrap_or_default();
    let mut fields = vec![("export.query", body.query.clone().unwrap_or_default()), ("export.reason", reason.unwrap_or_default())];
    fields.retain(|(_, v)| !v.is_empty());
    let change = AuditChange {
        identity: identity.clone(),
        client,
        action: "audit-export",
        message: format!(
            "{} exported stream {} from {} to {}{filter}: {} records, bundle {}",
            identity.name, body.stream, body.from, body.to, summary.records, summary.bundle_sha256
        ),
        fields: fields.into_iter().chain([
            ("export.id", id.clone()),
            ("export.stream", body.stream.clone()),
            ("export.from", body.from.clone()),
            ("export.to", body.to.clone()),
            ("export.records", summary.records.to_string()),
            ("export.bytes", summary.bytes.to_string()),
            ("export.bundle.sha256", summary.bundle_sha256.clone()),
            ("export.key.id", summary.key_id.clone()),
        ]).collect(),
    };
    state.audit.record_change(change).await.map_err(ApiError::AuditUnavailable)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.tar\"")),
            (header::HeaderName::from_static("x-logwarden-bundle-sha256"), summary.bundle_sha256),
        ],
        tar,
    )
        .into_response())
}

/// The bundle directory as a tar whose top folder is `name`.
fn tar_dir(dir: &std::path::Path, name: &str) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(name, dir)?;
    builder.into_inner()
}
