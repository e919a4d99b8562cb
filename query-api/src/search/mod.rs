//! `GET /api/v1/search`: query every split, merge newest first.

mod catalog;
mod handler;
mod query;

pub use catalog::SplitCatalog;
pub use handler::search;
pub use query::QueryCompiler;
