use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use logwarden_event::fields;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Order, TantivyDocument};

use crate::error::ApiError;
use crate::state::AppState;

pub const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Lucene-style query; absent or `*` matches everything.
    #[serde(default)]
    pub q: String,
    pub limit: Option<usize>,
    /// Only this stream's splits.
    pub stream: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SearchResponse {
    /// Exact number of matching events.
    pub total: u64,
    /// Matching events, newest first, as they were stored.
    pub hits: Vec<Value>,
    pub took_ms: u64,
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResponse>, ApiError> {
    let Query(params) = params?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > state.max_hits {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("limit {limit} is above the maximum of {}", state.max_hits),
        ));
    }
    if let Some(stream) = &params.stream {
        if !logwarden_event::is_valid_stream_name(stream) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("stream `{stream}` is not a valid stream name"),
            ));
        }
    }
    let query = state
        .queries
        .compile(&params.q)
        .map_err(|m| ApiError::bad_request("invalid_query", m))?;
    let started = Instant::now();
    let response = tokio::task::spawn_blocking(move || -> anyhow::Result<SearchResponse> {
        let splits = state.catalog.searchers(params.stream.as_deref())?;
        let mut total = 0;
        let mut candidates: Vec<(i64, usize, DocAddress)> = Vec::new();
        let collector = (
            Count,
            TopDocs::with_limit(limit.max(1))
                .order_by_fast_field::<tantivy::DateTime>(fields::TIMESTAMP, Order::Desc),
        );
        for (split_index, split) in splits.iter().enumerate() {
            let (count, top) = split.searcher.search(&query, &collector)?;
            total += count as u64;
            candidates.extend(top.into_iter().map(|(ts, addr)| {
                (
                    ts.map_or(i64::MIN, |t| t.into_timestamp_micros()),
                    split_index,
                    addr,
                )
            }));
        }
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        candidates.truncate(limit);
        let source = state.schema.source;
        let mut hits = Vec::with_capacity(candidates.len());
        for (_, split_index, addr) in candidates {
            let doc: TantivyDocument = splits[split_index].searcher.doc(addr)?;
            let text = doc
                .get_first(source)
                .and_then(|v| v.as_str())
                .unwrap_or("{}");
            hits.push(
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())),
            );
        }
        Ok(SearchResponse {
            total,
            hits,
            took_ms: started.elapsed().as_millis() as u64,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    crate::metrics::search(started.elapsed());
    Ok(Json(response))
}
