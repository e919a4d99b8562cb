//! Search: query every split whose time range can match, in parallel, and
//! merge counts, sorted hits and aggregations.
//!
//! - `request`: parameters (query string or JSON) checked into a request.
//! - `query`: Lucene-style query text → tantivy query.
//! - `time`: absolute and relative time expressions.
//! - `catalog`: the splits on disk, pruned by their metadata, and an open
//!   reader for each split searched.
//! - `sorted`: the sort order and `search_after` cursor across splits.
//! - `aggs`: date histogram, terms and metric aggregations.
//! - `split_histogram`: date histograms answered from a split's hit count.
//! - `engine`: runs a request over the splits.
//! - `handler`: the HTTP endpoints.
//! - `es`: the Elasticsearch `_search` subset.

mod aggs;
pub(crate) mod catalog;
pub mod engine;
pub mod es;
mod handler;
mod query;
pub mod request;
mod sorted;
mod split_histogram;
pub(crate) mod time;
#[cfg(test)]
mod tests;

pub use catalog::{SplitCatalog, TimeFilter};
pub use handler::{Audited, SearchResponse, run, search_get, search_post};
pub use query::QueryCompiler;
pub use request::SearchParams;
