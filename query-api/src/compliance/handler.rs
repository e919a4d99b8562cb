use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use logwarden_compliance::render::render;
use logwarden_compliance::{ReportOptions, build};

use super::params::ReportParams;
use crate::audit::AuditChange;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;
use crate::tls::ClientAddr;

/// Builds the report (a full verify: it runs on the blocking pool without
/// the search timeout), records it in the `audit` stream (who, status per
/// stream, SHA-256 of the JSON report), then answers.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let request = params.check(Utc::now())?;
    let options = ReportOptions {
        data_dir: state.data_dir.clone(),
        policies: Some(state.compliance.clone()),
        at: request.at,
        from: request.from,
        verify_max_age: request.verify_max_age,
        public_key: None,
    };
    let report = tokio::task::spawn_blocking(move || build(&options))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| {
            ApiError::Internal(anyhow::Error::new(e).context("building the compliance report"))
        })?;
    let json = serde_json::to_string(&report).expect("report serializes");
    let digest = {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(json.as_bytes()))
    };
    let streams: Vec<String> = report
        .streams
        .iter()
        .map(|s| format!("{}={}", s.stream, s.status))
        .collect();
    let change = AuditChange {
        identity: identity.clone(),
        client,
        action: "compliance-report",
        message: format!(
            "{} generated the compliance report as of {}: {}",
            identity.name, report.at, report.status
        ),
        fields: vec![
            ("compliance.status", report.status.to_string()),
            ("compliance.at", report.at.clone()),
            ("compliance.streams", streams.join(",")),
            ("compliance.report.sha256", digest),
            ("compliance.key.id", report.key.key_id.clone()),
        ],
    };
    state
        .audit
        .record_change(change)
        .await
        .map_err(ApiError::AuditUnavailable)?;
    let body = render(&report, request.format, request.lang);
    Ok((
        [(header::CONTENT_TYPE, request.format.content_type())],
        body,
    )
        .into_response())
}
