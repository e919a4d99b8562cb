//! Liveness, readiness and Prometheus metrics endpoints.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when the data directory can be read.
pub async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    match std::fs::read_dir(&state.data_dir) {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "not_ready", "reason": format!("data dir {}: {e}", state.data_dir.display()) }),
            ),
        ),
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], body)
}
