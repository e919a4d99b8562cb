use std::sync::Arc;

use logwarden_config::auth::KeyRing;
use logwarden_store::schema::LogSchema;

use crate::alerts::StatusStore;
use crate::audit::Auditor;
use crate::error::ApiError;
use crate::rules::LiveRules;
use crate::search::{QueryCompiler, SplitCatalog};

/// What every handler shares.
pub struct AppState {
    pub schema: LogSchema,
    pub queries: QueryCompiler,
    pub catalog: SplitCatalog,
    pub max_hits: usize,
    pub query_timeout: std::time::Duration,
    pub data_dir: std::path::PathBuf,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Who may call.
    pub keys: KeyRing,
    /// Where every call is recorded.
    pub audit: Auditor,
    /// Alerts' triage status, in the shared data directory.
    pub alert_status: StatusStore,
    /// Streams' policies and windowing, for the compliance report.
    pub compliance: logwarden_compliance::Policies,
    /// The manifest signing key, which also signs audit exports.
    pub signing_key: std::path::PathBuf,
    /// `[compliance.review]` and the lock of review changes.
    pub review: crate::compliance::ReviewState,
    /// `compliance.max_export_bytes`.
    pub max_export_bytes: u64,
    /// The detector's rules (`[detect] rules`), when configured.
    pub rules: Option<Arc<LiveRules>>,
    /// Where `GET /api/v1/status` reads from.
    pub status: crate::status::StatusSources,
}

/// Runs `job` on the blocking pool (it reads splits); 504 past
/// `api.query_timeout`.
pub async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    job: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let timeout = state.query_timeout;
    let state = state.clone();
    let task = tokio::task::spawn_blocking(move || job(&state));
    match tokio::time::timeout(timeout, task).await {
        Ok(joined) => joined.map_err(|e| ApiError::Internal(e.into()))?,
        Err(_) => Err(ApiError::Timeout(timeout)),
    }
}
