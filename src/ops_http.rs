//! `/metrics`, `/healthz` and `/readyz` for processes that have no other
//! HTTP listener (`logwarden detect`, `indexer`, a file-only `collector`),
//! on `[telemetry] listen` / `--metrics-addr`.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Binds `addr` (port 0 picks one) and returns the bound address and the
/// server, which runs until `shutdown`.
pub async fn bind(
    addr: SocketAddr,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, impl std::future::Future<Output = anyhow::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding telemetry.listen {addr}"))?;
    let bound = listener.local_addr()?;
    let router = Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        // The process answers once its components started: ready.
        .route("/readyz", get(|| async { axum::Json(json!({"status": "ready"})) }))
        .route(
            "/metrics",
            get(move || {
                let body = metrics.as_ref().map(|h| h.render()).unwrap_or_default();
                async move { ([("content-type", "text/plain; version=0.0.4")], body) }
            }),
        );
    let server = async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("serving telemetry")
    };
    Ok((bound, server))
}
