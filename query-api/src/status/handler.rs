//! `GET /api/v1/status` (admin, analyst and auditor keys).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::Utc;

use super::report::{PipelineStatus, gather};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn status(State(state): State<Arc<AppState>>) -> Result<Json<PipelineStatus>, ApiError> {
    let sources = state.status.clone();
    let report = tokio::task::spawn_blocking(move || gather(&sources, Utc::now()))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(report))
}
