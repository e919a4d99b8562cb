//! The Elasticsearch `_bulk` subset shippers use (Filebeat, Fluent Bit,
//! Vector, Logstash): `index` and `create` actions, the index name picks the
//! stream, per-item results in the Elasticsearch response shape.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{IngestState, body_text, peer_addresses};
use super::auth::authorize_ingest;
use super::document::document_event;
use super::error::ApiError;
use crate::encode::encode_record;
use crate::parse::LineContext;

pub async fn bulk(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    handle(state, peer, None, headers, body).await
}

pub async fn bulk_index(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    handle(state, peer, Some(index), headers, body).await
}

async fn handle(
    state: IngestState,
    peer: SocketAddr,
    default_index: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let key = authorize_ingest(&headers, &state.keys)?;
    let body = body.map_err(ApiError::from_body)?;
    let text = body_text(&body)?;
    let (ip, source) = peer_addresses(peer);
    let ingested = Utc::now();
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let mut items = Vec::new();
    let mut records = Vec::new();
    while let Some((number, line)) = lines.next() {
        let (op, meta) = action(number, line)?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| default_index.clone());
        match op.as_str() {
            "index" | "create" => {
                let Some((_, doc_line)) = lines.next() else {
                    return Err(ApiError::bad_request(
                        "invalid_bulk",
                        format!("line {number}: `{op}` action without a document line"),
                    ));
                };
                let Some(index) = index else {
                    items.push(item_error(
                        &op,
                        "",
                        400,
                        "action_request_validation_exception",
                        "index is missing",
                    ));
                    continue;
                };
                let doc = match serde_json::from_str::<Value>(doc_line) {
                    Ok(Value::Object(doc)) => doc,
                    Ok(_) => {
                        items.push(item_error(
                            &op,
                            &index,
                            400,
                            "document_parsing_exception",
                            "the document is not a JSON object",
                        ));
                        continue;
                    }
                    Err(e) => {
                        items.push(item_error(
                            &op,
                            &index,
                            400,
                            "document_parsing_exception",
                            &format!("invalid JSON: {e}"),
                        ));
                        continue;
                    }
                };
                let stream =
                    logwarden_event::is_valid_stream_name(&index).then_some(index.as_str());
                let ctx = LineContext {
                    ingested,
                    host_name: &ip,
                    file_path: None,
                    stream,
                };
                let mut event = document_event(doc_line, doc, &ctx);
                if !key.allows_stream(&event.stream) {
                    let reason = format!(
                        "key `{}` may not write to stream `{}`",
                        key.name, event.stream
                    );
                    items.push(item_error(&op, &index, 403, "security_exception", &reason));
                    continue;
                }
                let id = meta
                    .get("_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(new_id);
                event.id = Some(id.clone());
                event.log_source_address = Some(source.clone());
                records.push(encode_record(&mut event));
                items.push(item_created(&op, &index, &id));
            }
            "update" => {
                lines.next();
                items.push(item_error(
                    &op,
                    index.as_deref().unwrap_or(""),
                    400,
                    "illegal_argument_exception",
                    "update is not supported; use index or create",
                ));
            }
            _ => {
                items.push(item_error(
                    &op,
                    index.as_deref().unwrap_or(""),
                    400,
                    "illegal_argument_exception",
                    "delete is not supported; events are append-only",
                ));
            }
        }
    }
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "the bulk body holds no actions",
        ));
    }
    let errors = records.len() < items.len();
    crate::metrics::received("http", records.len() as u64);
    state
        .delivery
        .deliver(records)
        .await
        .map_err(ApiError::from_delivery)?;
    Ok(Json(
        json!({"took": started.elapsed().as_millis() as u64, "errors": errors, "items": items}),
    ))
}

/// Parses an action line: exactly one of index, create, update, delete.
fn action(number: usize, line: &str) -> Result<(String, Map<String, Value>), ApiError> {
    let invalid = |message: String| {
        ApiError::bad_request("invalid_bulk", format!("line {number}: {message}"))
    };
    let object = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(invalid("an action line must be a JSON object".into())),
        Err(e) => return Err(invalid(format!("invalid JSON action: {e}"))),
    };
    let mut entries = object.into_iter();
    match (entries.next(), entries.next()) {
        (Some((op, meta)), None)
            if matches!(op.as_str(), "index" | "create" | "update" | "delete") =>
        {
            Ok((op, meta.as_object().cloned().unwrap_or_default()))
        }
        _ => Err(invalid(
            "an action line holds exactly one of index, create, update or delete".into(),
        )),
    }
}

fn item_created(op: &str, index: &str, id: &str) -> Value {
    json!({op: {
        "_index": index, "_id": id, "_version": 1, "result": "created",
        "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1, "status": 201
    }})
}

fn item_error(op: &str, index: &str, status: u16, kind: &str, reason: &str) -> Value {
    json!({op: {"_index": index, "status": status, "error": {"type": kind, "reason": reason}}})
}

/// A unique id for documents sent without `_id`.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}
