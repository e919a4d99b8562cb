//! `GET`/`POST /_search` and `/{index}/_search`: the endpoints, their URI
//! parameters, and the answer in Elasticsearch's shape.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::bad;
use super::dsl::to_lucene;
use super::source::SourceFilter;
use super::sort::{cursor_text, sort_text};
use crate::audit::AuditResults;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::search::handler::{Audited, run};
use crate::search::request::SearchParams;
use crate::search::sorted::Cursor;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct EsSearch {
    #[serde(default)]
    query: Option<Value>,
    size: Option<usize>,
    from: Option<usize>,
    #[serde(default)]
    sort: Option<Value>,
    #[serde(default)]
    search_after: Option<Vec<Value>>,
    #[serde(default, alias = "aggregations")]
    aggs: Option<Value>,
    /// Accepted and ignored: totals are always exact.
    #[serde(default)]
    #[allow(dead_code)]
    track_total_hits: Option<Value>,
    /// Which fields of each hit to return ([`SourceFilter`]).
    #[serde(default, rename = "_source")]
    source: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    timeout: Option<Value>,
}

/// The URI parameters of `_search` that clients send (`GET
/// /_search?q=...&size=...`); a parameter Elasticsearch would not know is
/// refused, as Elasticsearch does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EsUriParams {
    q: Option<String>,
    size: Option<usize>,
    from: Option<usize>,
    sort: Option<String>,
    /// Accepted and ignored, as in the body: totals are always exact.
    #[allow(dead_code)]
    track_total_hits: Option<String>,
    #[allow(dead_code)]
    rest_total_hits_as_int: Option<String>,
    #[serde(rename = "_source")]
    source: Option<String>,
    #[serde(rename = "_source_includes")]
    source_includes: Option<String>,
    #[serde(rename = "_source_excludes")]
    source_excludes: Option<String>,
    #[allow(dead_code)]
    timeout: Option<String>,
    #[allow(dead_code)]
    pretty: Option<String>,
    #[allow(dead_code)]
    ignore_unavailable: Option<String>,
    #[allow(dead_code)]
    allow_no_indices: Option<String>,
}

type UriParams = Result<Query<EsUriParams>, QueryRejection>;

pub async fn search_all(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    uri: UriParams,
    body: Result<Json<EsSearch>, JsonRejection>,
) -> Result<Audited<Value>, ApiError> {
    search(state, identity, "_all", uri, body).await
}

pub async fn search_index(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path(index): Path<String>,
    uri: UriParams,
    body: Result<Json<EsSearch>, JsonRejection>,
) -> Result<Audited<Value>, ApiError> {
    search(state, identity, &index, uri, body).await
}

/// The URI parameters folded into the body; each of q, size, from, sort
/// and _source comes from one place only.
fn merge_uri(uri: EsUriParams, mut body: EsSearch) -> Result<(EsSearch, Option<String>, SourceFilter), ApiError> {
    let twice = |name: &str| bad(format!("{name} is given both in the URI and in the body; give it once"));
    if uri.q.is_some() && body.query.is_some() {
        return Err(twice("q (the URI query) and query"));
    }
    let uri_source = uri.source.is_some() || uri.source_includes.is_some() || uri.source_excludes.is_some();
    if uri_source && body.source.is_some() {
        return Err(twice("_source"));
    }
    let source = if uri_source {
        SourceFilter::from_uri(uri.source.as_deref(), uri.source_includes.as_deref(), uri.source_excludes.as_deref())
    } else {
        SourceFilter::from_body(body.source.as_ref())?
    };
    if let Some(size) = uri.size
        && body.size.replace(size).is_some()
    {
        return Err(twice("size"));
    }
    if let Some(from) = uri.from
        && body.from.replace(from).is_some()
    {
        return Err(twice("from"));
    }
    if let Some(sort) = uri.sort
        && body.sort.replace(Value::String(sort)).is_some()
    {
        return Err(twice("sort"));
    }
    Ok((body, uri.q, source))
}

async fn search(
    state: Arc<AppState>,
    identity: Identity,
    index: &str,
    uri: UriParams,
    body: Result<Json<EsSearch>, JsonRejection>,
) -> Result<Audited<Value>, ApiError> {
    let Query(uri) = uri?;
    let body = match body {
        Ok(Json(body)) => body,
        // An empty body is a match_all.
        Err(JsonRejection::MissingJsonContentType(_)) => EsSearch::default(),
        Err(e) => return Err(e.into()),
    };
    let (body, uri_query, source) = merge_uri(uri, body)?;
    let stream = index_to_stream(index)?;
    let size = body.size.unwrap_or(10);
    let from = body.from.unwrap_or(0);
    if from > 0 && body.search_after.is_some() {
        return Err(bad("use from or search_after, not both"));
    }
    let q = match (&body.query, uri_query) {
        (_, Some(text)) if text.trim().is_empty() => "*".to_string(),
        (_, Some(text)) => format!("({text})"),
        (None, None) => "*".to_string(),
        (Some(query), None) => to_lucene(query)?,
    };
    let sort = body.sort.as_ref().map(sort_text).transpose()?;
    let search_after = body.search_after.as_deref().map(cursor_text).transpose()?;
    let params = SearchParams {
        q,
        stream: stream.clone(),
        limit: Some(from + size),
        sort,
        search_after,
        aggs: body.aggs.clone(),
        ..SearchParams::default()
    };
    let audit_query = params.q.clone();
    let response = run(state, identity, params).await?;
    let results = AuditResults {
        total: response.total,
        returned: response.hits.len().saturating_sub(from) as u64,
        query: Some(audit_query),
        stream: stream.clone(),
    };
    let hits: Vec<Value> = response
        .hits
        .into_iter()
        .skip(from)
        .map(|event| {
            let mut hit = json!({
                "_index": event.get("stream").cloned().unwrap_or(Value::Null),
                "_id": event.get("event.id").cloned().unwrap_or(Value::Null),
                "_score": null,
            });
            if let Some(kept) = source.apply(event) {
                hit["_source"] = kept;
            }
            hit
        })
        .collect();
    let mut answer = json!({
        "took": response.took_ms,
        "timed_out": false,
        "_shards": {
            "total": response.splits.total,
            "successful": response.splits.total,
            "skipped": response.splits.total - response.splits.searched,
            "failed": 0,
        },
        "hits": {
            "total": {"value": response.total, "relation": "eq"},
            "max_score": null,
            "hits": hits,
        },
    });
    if let Some(next) = response.next {
        // ES clients page with the last hit's `sort` values.
        if let (Some(last), Ok(cursor)) = (
            answer["hits"]["hits"]
                .as_array_mut()
                .and_then(|h| h.last_mut()),
            Cursor::parse(&next),
        ) {
            last["sort"] = json!([cursor.value, cursor.stream, cursor.partition, cursor.offset]);
        }
    }
    if let Some(aggregations) = response.aggregations {
        answer["aggregations"] = aggregations;
    }
    Ok((Extension(results), Json(answer)))
}

/// The query DSL translation, for property tests (must refuse, never panic).
#[doc(hidden)]
pub fn translate_query_for_tests(query: &Value) -> Result<String, String> {
    to_lucene(query).map_err(|e| format!("{e:?}"))
}

/// `auth`, `logwarden-auth` → that stream; `*`, `_all`, `logwarden*` → all.
fn index_to_stream(index: &str) -> Result<Option<String>, ApiError> {
    if matches!(
        index,
        "_all" | "*" | "logwarden*" | "logwarden-*" | "logs-*"
    ) {
        return Ok(None);
    }
    if let Some(stream) = logwarden_event::stream_of_index(index) {
        Ok(Some(stream.to_string()))
    } else {
        Err(ApiError::bad_request(
            "invalid_parameter",
            format!(
                "index `{index}` is not a stream name, logwarden-STREAM, or * for every stream (one at a time)"
            ),
        ))
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names() {
        assert_eq!(
            index_to_stream("logwarden-auth").unwrap(),
            Some("auth".into())
        );
        assert_eq!(index_to_stream("*").unwrap(), None);
        assert!(index_to_stream("a,b").is_err());
    }
}
