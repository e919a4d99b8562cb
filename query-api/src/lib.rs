//! The query API: the analysts' and tools' HTTP door into the indexed data.
//!
//! # Layout
//!
//! - `search`: `GET /api/v1/search`, the split catalog and query compilation.
//! - `health`: `/healthz`, `/readyz`, `/metrics`.
//! - `error`: [`ApiError`], the JSON error every endpoint answers with.
//! - `state`: what handlers share.
//! - `openapi.json`: the API description served at `/api/v1/openapi.json`.

mod error;
mod health;
mod metrics;
pub mod search;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use logwarden_config::Config;
use logwarden_indexer::schema::LogSchema;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use state::AppState;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/api/v1/search",
            get(search::search_get).post(search::search_post),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { ([("content-type", "application/json")], OPENAPI) }),
        )
        .route(
            "/_search",
            get(search::es::search_all).post(search::es::search_all),
        )
        .route(
            "/{index}/_search",
            get(search::es::search_index).post(search::es::search_index),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

pub fn state(config: &Config, metrics: Option<PrometheusHandle>) -> Arc<AppState> {
    let schema = LogSchema::new();
    Arc::new(AppState {
        queries: search::QueryCompiler::new(&schema),
        catalog: search::SplitCatalog::new(&config.data_dir),
        schema,
        max_hits: config.api.max_hits,
        query_timeout: config.api.query_timeout,
        data_dir: config.data_dir.clone(),
        metrics,
    })
}

/// Binds `config.api.listen`; the bound address is returned before serving
/// (port 0 picks a free port).
pub async fn bind(config: &Config) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("binding the query API to {}", config.api.listen))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves until `shutdown`, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("query API server")
}
