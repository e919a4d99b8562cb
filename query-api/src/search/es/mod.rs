//! The Elasticsearch `_search` subset that existing tools and scripts send:
//! `GET`/`POST /_search` and `/{index}/_search` with the URI parameters `q`,
//! `size`, `from`, `sort` and `_source` (and its `_includes`/`_excludes`),
//! and a body with `query` (query_string, bool, term, terms, range, match,
//! match_phrase, prefix, wildcard, regexp, exists, match_all), `size`,
//! `from`, `sort`, `search_after`, `_source` and `aggs` (date_histogram,
//! terms, metrics), answered in Elasticsearch's response shape.
//!
//! The index name picks the stream: `auth`, `logwarden-auth`, or `*` /
//! `_all` / `logwarden*` for every stream. The query DSL is translated into
//! the Lucene syntax of the native API, with values quoted.
//!
//! - `handler`: the endpoints, their URI parameters and the response shape.
//! - `dsl`: the query DSL as Lucene text (nesting bounded, values quoted,
//!   field names checked before they are pasted into the text).
//! - `sort`: `sort` and `search_after` as the native API's parameters.
//! - `source`: which fields of each hit `_source` asks for.

mod dsl;
mod handler;
mod sort;
mod source;

pub use dsl::MAX_BOOL_DEPTH;
pub use handler::{EsSearch, EsUriParams, search_all, search_index, translate_query_for_tests};

use crate::error::ApiError;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}
