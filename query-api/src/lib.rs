//! The query API: the analysts' and tools' HTTP door into the indexed data.
//!
//! # Layout
//!
//! - `search`: `GET /api/v1/search`, the split catalog and query compilation.
//! - `alerts`: `/api/v1/alerts`: the detector's alerts, listed and shown
//!   with their events, and their triage (acknowledge, close).
//! - `compliance`: `GET /api/v1/compliance/report`, the retention report,
//!   `/api/v1/compliance/review`, the monthly access review (findings'
//!   소명 states, sign-off), and `POST /api/v1/exports`, the signed audit bundle
//!   (admin and auditor keys), recorded in the `audit` stream; the exports
//!   recorded (`GET /api/v1/exports`) and a bundle checked offline
//!   (`POST /api/v1/exports/verify`).
//! - `rules`: `/api/v1/rules`: the detector's Sigma rules (those of
//!   `[detect]`, reloaded as they change) with their alert counts.
//! - `auth`: API keys and roles on every request (the guard); `identity`:
//!   who the caller is and which streams it may search; `audit`: the access
//!   record of every call, in the `audit` stream.
//! - `status`: `GET /api/v1/status`, the pipeline's health (consumer lag,
//!   dead letters, ingest rates, spools, seals, last verify), also printed
//!   by `logwarden status`.
//! - `session`: `GET /api/v1/whoami`, the caller's role and what it may do.
//! - `ui`: the web UI at `/`, embedded in the binary (`query-api/ui/`).
//! - `tls`: HTTPS when `api.tls` is set.
//! - `health`: `/healthz`, `/readyz`, `/metrics`; `metrics`: this crate's
//!   Prometheus metrics.
//! - `error`: [`ApiError`], the JSON error every endpoint answers with.
//! - `state`: what handlers share.
//! - `openapi.json`: the API description served at `/api/v1/openapi.json`.

pub mod alerts;
pub mod audit;
mod compliance;
mod auth;
mod error;
mod health;
mod identity;
mod metrics;
pub mod rules;
mod session;
pub mod status;
pub mod ui;
pub mod search;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use logwarden_config::Config;
use logwarden_store::schema::{FreeFields, LogSchema};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use state::AppState;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router(state: Arc<AppState>) -> Router {
    ui::pages(Router::new())
        .route(
            "/api/v1/search",
            get(search::search_get).post(search::search_post),
        )
        .route("/api/v1/alerts", get(alerts::list).fallback(alerts::method_not_allowed))
        .route("/api/v1/alerts/{id}", get(alerts::detail).fallback(alerts::method_not_allowed))
        .route(
            "/api/v1/alerts/{id}/acknowledge",
            post(alerts::acknowledge).fallback(alerts::method_not_allowed),
        )
        .route("/api/v1/alerts/{id}/close", post(alerts::close).fallback(alerts::method_not_allowed))
        .route("/api/v1/rules", get(rules::list).fallback(alerts::method_not_allowed))
        .route("/api/v1/status", get(status::status).fallback(alerts::method_not_allowed))
        .route("/api/v1/whoami", get(session::whoami).fallback(alerts::method_not_allowed))
        .route("/", get(ui::index))
        .route("/alerts/{id}", get(ui::index))
        .route("/assets/{*path}", get(ui::asset))
        .route("/api/v1/compliance/report", get(compliance::report).fallback(alerts::method_not_allowed))
        .route("/api/v1/exports", get(compliance::list_exports).post(compliance::export).fallback(alerts::method_not_allowed))
        .route("/api/v1/exports/verify", post(compliance::verify_export).fallback(alerts::method_not_allowed))
        .route("/api/v1/compliance/review", get(compliance::get_review).fallback(alerts::method_not_allowed))
        .route("/api/v1/compliance/review/findings/{id}", post(compliance::set_finding).fallback(alerts::method_not_allowed))
        .route("/api/v1/compliance/review/signoff", post(compliance::sign_off).fallback(alerts::method_not_allowed))
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        .with_state(state)
}

/// The shared state: schema, catalog, keys, the audit delivery (whose
/// spool drains until `shutdown`) and the detector's rules (loaded here,
/// then watched for changes until `shutdown`).
pub fn state(
    config: &Config,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<Arc<AppState>> {
    let schema = LogSchema::with_free_fields(FreeFields::new(&config.index.free_fields));
    let audit = audit::Auditor::open(config).context("opening the audit delivery")?;
    audit.spawn_drainer(shutdown.clone());
    let rules = rules::load(&config.detect);
    if let Some(rules) = &rules {
        tokio::spawn(rules.clone().watch(rules::WATCH_INTERVAL, shutdown));
    }
    Ok(Arc::new(AppState {
        queries: search::QueryCompiler::new(&schema),
        catalog: search::SplitCatalog::new(&config.data_dir, config.indexer.split_window),
        schema,
        max_hits: config.api.max_hits,
        query_timeout: config.api.query_timeout,
        data_dir: config.data_dir.clone(),
        metrics,
        keys: config.auth.clone(),
        audit,
        alert_status: alerts::StatusStore::new(&config.data_dir),
        compliance: logwarden_compliance::Policies::of(config),
        signing_key: config.indexer.signing_key.clone(),
        max_export_bytes: config.compliance.max_export_bytes,
        review: compliance::ReviewState::new(config.compliance.review.clone()),
        rules,
        status: status::StatusSources::of(config),
    }))
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

/// Serves until `shutdown`, then finishes in-flight requests and flushes
/// the audit records. HTTPS when `api.tls` is set.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = router(state.clone()).into_make_service_with_connect_info::<tls::ClientAddr>();
    let stop = shutdown.clone();
    let served = match &config.api.tls {
        Some(files) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(files.server_config("api.tls")?));
            axum::serve(tls::TlsListener::new(listener, acceptor), app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
    };
    let flushed = tokio::task::spawn_blocking(move || state.audit.flush(std::time::Duration::from_secs(10))).await?;
    if !flushed {
        tracing::warn!("audit records not acknowledged by Kafka at shutdown stay in the audit spool");
    }
    served.context("query API server")
}

/// Checks search parameters as an admin would send them (for property
/// tests: the checks must refuse, never panic).
#[doc(hidden)]
pub fn check_params_for_tests(
    params: search::SearchParams,
    compiler: &search::QueryCompiler,
    schema: &LogSchema,
) -> Result<(), String> {
    let admin = identity::Identity { name: "test".into(), role: logwarden_config::auth::Role::Admin, streams: None };
    params.check(admin, compiler, schema, 10_000, chrono::Utc::now()).map(|_| ()).map_err(|(_, m)| m)
}
