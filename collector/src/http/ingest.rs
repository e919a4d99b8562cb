//! `POST /api/v1/ingest/{stream}`: NDJSON, one event per line (a JSON
//! object or a plain text line). A line that cannot be taken (not UTF-8,
//! broken JSON) is answered in `errors` with its number; the others are
//! stored.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use logwarden_event::Event;
use serde_json::{Value, json};

use super::auth::{authorize_ingest, may_write};
use super::document::document_event;
use super::error::ApiError;
use super::{IngestState, lines, peer_addresses, read_body};
use crate::encode::encode_record;
use crate::parse::{LineContext, Parsers};

/// At most this many line errors are listed in the answer (the count is
/// always exact).
const MAX_LISTED_ERRORS: usize = 100;

pub async fn ndjson(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(stream): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = authorize_ingest(&headers, &state.keys)?;
    if !logwarden_event::is_valid_stream_name(&stream) {
        return Err(ApiError::bad_request(
            "invalid_stream",
            format!("stream `{stream}` must be lowercase letters, digits, '_' or '-'"),
        ));
    }
    may_write(key, &stream).map_err(ApiError::Forbidden)?;
    let _reservation = state.budget.reserve(&headers)?;
    let body = read_body(body, &state).await?;
    let (ip, source) = peer_addresses(peer);
    let ctx = LineContext {
        ingested: Utc::now(),
        host_name: &ip,
        file_path: None,
        stream: Some(&stream),
    };
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut rejected = 0usize;
    for (number, line) in lines(&body) {
        let event = match std::str::from_utf8(line) {
            Ok(text) => line_event(&state.parsers, text, &ctx),
            Err(e) => Err(format!("not UTF-8 (at byte {})", e.valid_up_to())),
        };
        match event {
            Ok(mut event) => {
                event.log_source_address = Some(source.clone());
                records.push(encode_record(&mut event));
            }
            Err(message) => {
                rejected += 1;
                if errors.len() < MAX_LISTED_ERRORS {
                    errors.push(json!({"line": number, "error": message}));
                }
            }
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
    drop(body);
    let accepted = records.len();
    crate::metrics::received("http", records.len() as u64);
    state
        .delivery
        .deliver(records)
        .await
        .map_err(ApiError::from_delivery)?;
    tracing::debug!(key = %key.name, stream, accepted, rejected, "http ingest");
    Ok(Json(json!({"accepted": accepted, "rejected": rejected, "errors": errors})))
}

/// One line of an ingest body as an event: a JSON document (flattened, its
/// text fields parsed), else a log line through the parser chain.
pub fn line_event(parsers: &Parsers, line: &str, ctx: &LineContext<'_>) -> Result<Event, String> {
    if line.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(doc)) => Ok(document_event(parsers, line, doc, ctx)),
            Ok(_) => Err("not a JSON object".into()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        }
    } else {
        Ok(parsers.parse(line, ctx))
    }
}
