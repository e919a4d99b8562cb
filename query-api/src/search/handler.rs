//! `GET /api/v1/search` (query-string parameters) and `POST /api/v1/search`
//! (a JSON body, which may also carry aggregations).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Query, State};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use super::engine::{self, EngineError, SearchResult};
use super::request::{SearchParams, SearchRequest};
use crate::audit::AuditResults;
use crate::identity::Identity;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct SearchResponse {
    /// Exact number of matching events.
    pub total: u64,
    /// Always `eq`: totals are exact, never estimated.
    pub total_relation: &'static str,
    /// Matching events in sort order, as they were stored.
    pub hits: Vec<Value>,
    /// Cursor of the last hit: pass it as `search_after` for the next page.
    /// Absent when this page is the last.
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregations: Option<Value>,
    pub splits: SplitCounts,
    pub took_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct SplitCounts {
    pub total: usize,
    /// Splits whose time range overlapped the request's.
    pub searched: usize,
}

/// A search answer with what the audit record states about it.
pub type Audited<T> = (Extension<AuditResults>, Json<T>);

pub async fn search_get(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Audited<SearchResponse>, ApiError> {
    let Query(params) = params?;
    if params.aggs.is_some() {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "aggs: send aggregations with POST /api/v1/search",
        ));
    }
    audited(state, identity, params).await
}

pub async fn search_post(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    body: Result<Json<SearchParams>, JsonRejection>,
) -> Result<Audited<SearchResponse>, ApiError> {
    let Json(params) = body?;
    audited(state, identity, params).await
}

async fn audited(state: Arc<AppState>, identity: Identity, params: SearchParams) -> Result<Audited<SearchResponse>, ApiError> {
    let (query, stream) = (params.q.clone(), params.stream.clone());
    let response = run(state, identity, params).await?;
    let results = AuditResults { total: response.total, returned: response.hits.len() as u64, query: Some(query), stream };
    Ok((Extension(results), Json(response)))
}

/// Checks and runs a search within the configured timeout.
pub async fn run(state: Arc<AppState>, identity: Identity, params: SearchParams) -> Result<SearchResponse, ApiError> {
    let started = Instant::now();
    if let Some(stream) = &params.stream {
        identity.may_search_stream(stream)?;
    }
    let request = params
        .check(identity, &state.queries, &state.schema, state.max_hits, Utc::now())
        .map_err(|(code, message)| ApiError::bad_request(code, message))?;
    let (result, request) = execute(state.clone(), request).await?;
    let next = (result.hits.len() == request.limit && result.total > 0)
        .then(|| result.hits.last().map(|(_, cursor)| cursor.to_text()))
        .flatten();
    crate::metrics::search(started.elapsed());
    Ok(SearchResponse {
        total: result.total,
        total_relation: "eq",
        hits: result.hits.into_iter().map(|(event, _)| event).collect(),
        next,
        aggregations: result.aggregations,
        splits: SplitCounts {
            total: result.splits_total,
            searched: result.splits_searched,
        },
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// Runs `request` on the blocking pool; 504 past `api.query_timeout`.
pub async fn execute(
    state: Arc<AppState>,
    request: SearchRequest,
) -> Result<(SearchResult, SearchRequest), ApiError> {
    let timeout = state.query_timeout;
    let task = tokio::task::spawn_blocking(move || {
        let result = engine::execute(&state.catalog, &state.schema, &request);
        (result, request)
    });
    let (result, request) = match tokio::time::timeout(timeout, task).await {
        Ok(joined) => joined.map_err(|e| ApiError::Internal(e.into()))?,
        Err(_) => return Err(ApiError::Timeout(timeout)),
    };
    match result {
        Ok(result) => Ok((result, request)),
        Err(EngineError::Request(code, message)) => Err(ApiError::bad_request(code, message)),
        Err(EngineError::Internal(e)) => Err(ApiError::Internal(e)),
    }
}
