//! The Elasticsearch `_bulk` subset shippers use (Filebeat, Fluent Bit,
//! Vector, Logstash): `index` and `create` actions, the index name picks the
//! stream (`auth` and `logwarden-auth` alike), per-item results in the
//! Elasticsearch response shape.
//!
//! Memory stays bounded by the body: every action line is checked first (a
//! malformed body is refused whole, before anything is stored), then the
//! documents are turned into events and delivered [`CHUNK`] at a time, and
//! each item's answer is written straight into the response. When Kafka and
//! the spool refuse a chunk, its items and every later one answer 429
//! (`es_rejected_execution_exception`), which shippers retry item by item.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use logwarden_config::auth::ApiKey;
use serde_json::{Map, Value, json};

use super::auth::{authorize_ingest, may_write};
use super::document::document_event;
use super::error::ApiError;
use super::{IngestState, lines, peer_addresses, read_body};
use crate::encode::encode_record;
use crate::parse::LineContext;
use crate::spool::Record;

/// Documents turned into events and delivered at a time.
pub const CHUNK: usize = 1000;

pub async fn bulk(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    handle(state, peer, None, headers, body).await
}

pub async fn bulk_index(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    handle(state, peer, Some(index), headers, body).await
}

/// One action line and, for `index` and `create`, its document line.
struct Action<'a> {
    op: &'static str,
    index: Option<String>,
    id: Option<String>,
    /// `(line number, bytes)` of the document.
    doc: Option<(usize, &'a [u8])>,
}

async fn handle(
    state: IngestState,
    peer: SocketAddr,
    default_index: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let key = authorize_ingest(&headers, &state.keys)?;
    let _reservation = state.budget.reserve(&headers)?;
    let body = read_body(body, &state).await?;
    let actions = parse_actions(&body, default_index.as_deref())?;
    if actions.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "the bulk body holds no actions",
        ));
    }
    let (ip, source) = peer_addresses(peer);
    let ctx = Context { key, parsers: &state.parsers, ip: &ip, source: &source, ingested: Utc::now() };
    let mut answer = Answer::default();
    let mut refused: Option<ApiError> = None;
    let mut stored_any = false;
    for chunk in actions.chunks(CHUNK) {
        let (records, items) = chunk_records(chunk, &ctx);
        if refused.is_none() && !records.is_empty() {
            crate::metrics::received("http", records.len() as u64);
            match state.delivery.deliver(records).await {
                Ok(_) => stored_any = true,
                Err(error) => refused = Some(ApiError::from_delivery(error)),
            }
        }
        for item in items {
            match (&refused, item) {
                (Some(_), Item::Created { op, index, .. }) => answer.push(item_error(
                    op,
                    &index,
                    429,
                    "es_rejected_execution_exception",
                    "events could not be stored (kafka unavailable and the spool full or failing); retry this item",
                )),
                (_, Item::Created { op, index, id }) => answer.push(item_created(op, &index, &id)),
                (_, Item::Refused(value)) => answer.push(value),
            }
        }
    }
    if let (Some(error), false) = (refused, stored_any) {
        // Nothing was stored: the whole request failed, as before chunking.
        return Err(error);
    }
    Ok(answer.finish(started))
}

struct Context<'a> {
    key: &'a ApiKey,
    parsers: &'a crate::parse::Parsers,
    ip: &'a str,
    source: &'a str,
    ingested: chrono::DateTime<Utc>,
}

enum Item {
    /// Encoded; stored once its chunk is delivered.
    Created { op: &'static str, index: String, id: String },
    /// Refused on its own (an error item).
    Refused(Value),
}

/// The records of a chunk and its items in order.
fn chunk_records(chunk: &[Action<'_>], ctx: &Context<'_>) -> (Vec<Record>, Vec<Item>) {
    let mut records = Vec::with_capacity(chunk.len());
    let mut items = Vec::with_capacity(chunk.len());
    for action in chunk {
        let op = action.op;
        let index = action.index.as_deref().unwrap_or("");
        let refuse = |status, kind, reason: &str| Item::Refused(item_error(op, index, status, kind, reason));
        let Some((number, doc)) = action.doc else {
            let reason = match op {
                "update" => "update is not supported; use index or create",
                _ => "delete is not supported; events are append-only",
            };
            items.push(refuse(400, "illegal_argument_exception", reason));
            continue;
        };
        if action.index.is_none() {
            items.push(refuse(400, "action_request_validation_exception", "index is missing"));
            continue;
        }
        let doc_line = match std::str::from_utf8(doc) {
            Ok(text) => text,
            Err(e) => {
                let reason = format!("line {number}: the document is not UTF-8 (at byte {})", e.valid_up_to());
                items.push(refuse(400, "document_parsing_exception", &reason));
                continue;
            }
        };
        let object = match serde_json::from_str::<Value>(doc_line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                items.push(refuse(400, "document_parsing_exception", "the document is not a JSON object"));
                continue;
            }
            Err(e) => {
                items.push(refuse(400, "document_parsing_exception", &format!("invalid JSON: {e}")));
                continue;
            }
        };
        let stream = logwarden_event::stream_of_index(index);
        let line_ctx = LineContext { ingested: ctx.ingested, host_name: ctx.ip, file_path: None, stream };
        let mut event = document_event(ctx.parsers, doc_line, object, &line_ctx);
        if let Err(reason) = may_write(ctx.key, &event.stream) {
            items.push(refuse(403, "security_exception", &reason));
            continue;
        }
        let id = action.id.clone().unwrap_or_else(new_id);
        event.id = Some(id.clone());
        event.log_source_address = Some(ctx.source.to_string());
        records.push(encode_record(&mut event));
        items.push(Item::Created { op, index: index.to_string(), id });
    }
    (records, items)
}

pub(super) fn items_for_fuzzing(body: &[u8]) -> Result<usize, String> {
    let key = ApiKey::new("fuzz".into(), logwarden_config::auth::Role::Ingest, &format!("sha256:{}", "0".repeat(64)), None)
        .expect("a valid hash");
    let actions = parse_actions(body, Some("app")).map_err(|e| format!("{e:?}"))?;
    let parsers = crate::parse::Parsers::shared_default();
    let ctx = Context { key: &key, parsers, ip: "127.0.0.1", source: "127.0.0.1:1", ingested: Utc::now() };
    let mut items = 0;
    for chunk in actions.chunks(CHUNK) {
        let (records, answered) = chunk_records(chunk, &ctx);
        assert!(records.len() <= answered.len(), "a record for every created item at most");
        for record in &records {
            logwarden_event::wire::decode(&record.payload).expect("a record decodes as an event");
        }
        items += answered.len();
    }
    assert_eq!(items, actions.len(), "one answer per action");
    Ok(items)
}

/// Checks every action line and pairs it with its document line; a
/// malformed action refuses the whole body, naming the line.
fn parse_actions<'a>(body: &'a [u8], default_index: Option<&str>) -> Result<Vec<Action<'a>>, ApiError> {
    let mut lines = lines(body);
    let mut actions = Vec::new();
    while let Some((number, line)) = lines.next() {
        let (op, meta) = action(number, line)?;
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .or(default_index)
            .map(str::to_string);
        let id = meta.get("_id").and_then(Value::as_str).map(str::to_string);
        let doc = match op {
            "index" | "create" => Some(lines.next().ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_bulk",
                    format!("line {number}: `{op}` action without a document line"),
                )
            })?),
            "update" => {
                lines.next();
                None
            }
            _ => None,
        };
        actions.push(Action { op, index, id, doc });
    }
    Ok(actions)
}

/// Parses an action line: exactly one of index, create, update, delete.
fn action(number: usize, line: &[u8]) -> Result<(&'static str, Map<String, Value>), ApiError> {
    let invalid = |message: String| {
        ApiError::bad_request("invalid_bulk", format!("line {number}: {message}"))
    };
    let object = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(invalid("an action line must be a JSON object".into())),
        Err(e) => return Err(invalid(format!("invalid JSON action: {e}"))),
    };
    let mut entries = object.into_iter();
    let op = match (entries.next(), entries.next()) {
        (Some((op, meta)), None) => {
            let op = match op.as_str() {
                "index" => "index",
                "create" => "create",
                "update" => "update",
                "delete" => "delete",
                _ => "",
            };
            (!op.is_empty()).then(|| (op, meta.as_object().cloned().unwrap_or_default()))
        }
        _ => None,
    };
    op.ok_or_else(|| invalid("an action line holds exactly one of index, create, update or delete".into()))
}

/// The response, written item by item: `{"items":[...],"took":…,"errors":…}`.
#[derive(Default)]
struct Answer {
    body: Vec<u8>,
    items: usize,
    errors: bool,
}

impl Answer {
    fn push(&mut self, item: Value) {
        self.body.push(if self.items == 0 { b'[' } else { b',' });
        self.errors |= item.as_object().and_then(|o| o.values().next()).and_then(|v| v.get("error")).is_some();
        serde_json::to_writer(&mut self.body, &item).expect("a JSON value serializes");
        self.items += 1;
    }

    fn finish(mut self, started: Instant) -> Response {
        if self.items == 0 {
            self.body.push(b'[');
        }
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(b"{\"items\":");
        out.append(&mut self.body);
        out.extend_from_slice(
            format!("],\"took\":{},\"errors\":{}}}", started.elapsed().as_millis(), self.errors).as_bytes(),
        );
        ([(axum::http::header::CONTENT_TYPE, "application/json")], out).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_pair_with_documents_and_bad_action_lines_name_their_line() {
        let body = b"{\"index\":{\"_index\":\"logwarden-auth\"}}\n{\"message\":\"a\"}\n{\"delete\":{\"_id\":\"1\"}}\n{\"create\":{}}\n{\"m\":\"\xff\"}\n";
        let actions = parse_actions(body, Some("app")).unwrap();
        assert_eq!(actions.len(), 3);
        assert_eq!((actions[0].op, actions[0].index.as_deref()), ("index", Some("logwarden-auth")));
        assert_eq!(actions[0].doc.unwrap().0, 2);
        assert!(actions[1].doc.is_none());
        assert_eq!((actions[2].index.as_deref(), actions[2].doc.unwrap().0), (Some("app"), 5));
        let err = parse_actions(b"{\"index\":{}}\n{}\n{\"bogus\":{}}\n{}\n", None).err().unwrap();
        assert!(matches!(err, ApiError::BadRequest { ref message, .. } if message.starts_with("line 3:")), "{err:?}");
        let err = parse_actions(b"{\"index\":{}}\n", None).err().unwrap();
        assert!(matches!(err, ApiError::BadRequest { ref message, .. } if message.contains("without a document")));
    }

    #[test]
    fn the_answer_is_written_item_by_item() {
        let mut answer = Answer::default();
        answer.push(item_created("index", "auth", "1"));
        answer.push(item_error("index", "audit", 403, "security_exception", "reserved"));
        let response = answer.finish(Instant::now());
        let body = futures_body(response);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["items"].as_array().unwrap().len(), 2);
        assert_eq!(value["errors"], true);
        let empty: Value = serde_json::from_slice(&futures_body(Answer::default().finish(Instant::now()))).unwrap();
        assert_eq!(empty["items"], json!([]));
        assert_eq!(empty["errors"], false);
    }

    fn futures_body(response: Response) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async { axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec() })
    }
}
