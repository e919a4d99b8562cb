//! `POST /api/v1/ingest/{stream}`: NDJSON, one event per line (a JSON
//! object or a plain text line).

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use logwarden_event::Event;
use serde_json::{Value, json};

use super::{IngestState, body_text, peer_addresses};
use super::auth::authorize_ingest;
use super::document::document_event;
use super::error::ApiError;
use crate::encode::encode_record;
use crate::parse::{LineContext, parse_line};

pub async fn ndjson(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(stream): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let key = authorize_ingest(&headers, &state.keys)?;
    if !logwarden_event::is_valid_stream_name(&stream) {
        return Err(ApiError::bad_request(
            "invalid_stream",
            format!("stream `{stream}` must be lowercase letters, digits, '_' or '-'"),
        ));
    }
    if !key.allows_stream(&stream) {
        return Err(ApiError::Forbidden(format!(
            "key `{}` may not write to stream `{stream}`",
            key.name
        )));
    }
    let body = body.map_err(ApiError::from_body)?;
    let text = body_text(&body)?;
    let (ip, source) = peer_addresses(peer);
    let ctx = LineContext {
        ingested: Utc::now(),
        host_name: &ip,
        file_path: None,
        stream: Some(&stream),
    };
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match line_event(line, &ctx) {
            Ok(mut event) => {
                event.log_source_address = Some(source.clone());
                records.push(encode_record(&mut event));
            }
            Err(message) => errors.push(json!({"line": index + 1, "error": message})),
        }
    }
    if records.is_empty() {
        return Err(match errors.first() {
            Some(first) => ApiError::bad_request(
                "invalid_body",
                format!(
                    "no line could be ingested; line {}: {}",
                    first["line"],
                    first["error"].as_str().unwrap_or("")
                ),
            ),
            None => ApiError::bad_request("empty_body", "the body holds no lines"),
        });
    }
    let accepted = records.len();
    crate::metrics::received("http", records.len() as u64);
    state
        .delivery
        .deliver(records)
        .await
        .map_err(ApiError::from_delivery)?;
    tracing::debug!(key = %key.name, stream, accepted, rejected = errors.len(), "http ingest");
    Ok(Json(json!({"accepted": accepted, "errors": errors})))
}

fn line_event(line: &str, ctx: &LineContext<'_>) -> Result<Event, String> {
    if line.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(doc)) => Ok(document_event(line, doc, ctx)),
            Ok(_) => Err("not a JSON object".into()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        }
    } else {
        Ok(parse_line(line, ctx))
    }
}
