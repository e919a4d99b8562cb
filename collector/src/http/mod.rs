//! HTTP ingest on its own listener (`collector.http.listen`).
//!
//! - `ingest`: `POST /api/v1/ingest/{stream}` (NDJSON).
//! - `bulk`: `POST /_bulk`, `POST /{index}/_bulk` (Elasticsearch subset).
//! - `document`: a JSON document to an event.
//! - `auth`: ingest keys and the streams they may write; `error`:
//!   [`ApiError`](error::ApiError).
//! - `budget`: the memory all requests together may hold (429 past it).
//!
//! A 2xx answer means the events are acknowledged by Kafka or in the spool.

mod auth;
mod budget;
mod bulk;
mod document;
mod error;
mod ingest;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use logwarden_config::auth::KeyRing;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use budget::MemoryBudget;
pub use error::ApiError;
pub use ingest::line_event;

use crate::delivery::Delivery;

#[derive(Clone)]
pub struct IngestState {
    pub delivery: Delivery,
    pub keys: Arc<KeyRing>,
    pub metrics: Option<PrometheusHandle>,
    /// The configured parser chain, patterns, time zone and routes.
    pub parsers: crate::parse::Parsers,
    /// Shared by every request; also holds `max_body_bytes`.
    pub budget: MemoryBudget,
    /// How long a client may take to send its whole body.
    pub body_timeout: std::time::Duration,
}

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/", get(root).head(root))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/ingest/{stream}", post(ingest::ndjson))
        .route("/_bulk", post(bulk::bulk))
        .route("/{index}/_bulk", post(bulk::bulk_index))
        .fallback(|| async { ApiError::NotFound })
        // Filebeat and others gzip their bodies; the limit applies to the
        // decompressed size (see `read_body`).
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(observe))
        .with_state(state)
}

pub async fn serve(
    listener: TcpListener,
    state: IngestState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    Ok(())
}

/// Counts requests by route and status; marks answers as coming from an
/// Elasticsearch-compatible endpoint (clients check this header).
async fn observe(request: Request, next: Next) -> Response {
    let route = match request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some("/api/v1/ingest/{stream}") => "ingest",
        Some("/_bulk") | Some("/{index}/_bulk") => "bulk",
        Some("/") => "root",
        Some(_) => "other",
        None => "unmatched",
    };
    let mut response = next.run(request).await;
    crate::metrics::http_request(route, response.status().as_u16());
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    response
}

/// What Elasticsearch clients read at `GET /` before they send.
async fn root() -> Json<serde_json::Value> {
    Json(json!({
        "name": gethostname::gethostname().to_string_lossy(),
        "cluster_name": "logwarden",
        "cluster_uuid": "logwarden",
        "version": {
            "number": "8.11.0",
            "build_flavor": "default",
            "build_type": "logwarden",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"
        },
        "tagline": "You Know, for Search"
    }))
}

async fn healthz() -> &'static str {
    "ok"
}

/// Not ready while the spool is full: pushed events would be refused.
async fn readyz(State(state): State<IngestState>) -> Response {
    if state.delivery.spool_full() {
        (StatusCode::SERVICE_UNAVAILABLE, "spool full").into_response()
    } else {
        "ready".into_response()
    }
}

async fn metrics(State(state): State<IngestState>) -> String {
    state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Reads the whole (decompressed) body: 413 past
/// `collector.http.max_body_bytes`, 408 past `collector.http.body_timeout`
/// (a client sending a byte now and then holds no reservation for long),
/// 400 when it cannot be read or decompressed.
async fn read_body(body: Body, state: &IngestState) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let limit = state.budget.max_body_bytes();
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(state.body_timeout, limited.collect()).await {
        Err(_) => Err(ApiError::SlowBody(state.body_timeout)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(ApiError::TooLarge),
        Ok(Err(error)) => Err(ApiError::bad_request("invalid_body", format!("cannot read the body: {error}"))),
    }
}

/// The non-blank lines of a body with their 1-based numbers, `\r\n` or
/// `\n` ended; each line is checked for UTF-8 on its own, so one bad byte
/// costs one line, not the body.
fn lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

/// The sender's IP and `ip:port`, IPv4-mapped IPv6 addresses shown as IPv4.
fn peer_addresses(peer: SocketAddr) -> (String, String) {
    let ip = peer.ip().to_canonical();
    (ip.to_string(), SocketAddr::new(ip, peer.port()).to_string())
}

/// Reads a `_bulk` body as the endpoint does, up to the records it would
/// deliver, and returns how many items it answers (for fuzzing: every body
/// is refused or answered, never a panic).
#[doc(hidden)]
pub fn bulk_items_for_fuzzing(body: &[u8]) -> Result<usize, String> {
    bulk::items_for_fuzzing(body)
}
