use logwarden_indexer::schema::LogSchema;

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
}
