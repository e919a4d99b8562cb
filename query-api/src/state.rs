use logwarden_config::auth::KeyRing;
use logwarden_store::schema::LogSchema;

use crate::alerts::StatusStore;
use crate::audit::Auditor;

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
}
