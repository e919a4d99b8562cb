//! The Elasticsearch `_search` subset that existing tools and scripts send:
//! `GET`/`POST /_search` and `/{index}/_search` with the URI parameters `q`,
//! `size`, `from` and `sort`, and a body with `query` (query_string,
//! bool, term, terms, range, match, match_phrase, exists, match_all),
//! `size`, `from`, `sort`, `search_after` and `aggs` (date_histogram,
//! terms, metrics), answered in Elasticsearch's response shape.
//!
//! The index name picks the stream: `auth`, `logwarden-auth`, or `*` /
//! `_all` / `logwarden*` for every stream. The query DSL is translated into
//! the Lucene syntax of the native API, with values quoted.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::handler::{Audited, run};
use crate::audit::AuditResults;
use crate::auth::Identity;
use super::request::SearchParams;
use super::sorted::Cursor;
use crate::error::ApiError;
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
    #[serde(default, rename = "_source")]
    #[allow(dead_code)]
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
    /// Accepted and ignored, as in the body: totals are always exact and
    /// whole events are returned.
    #[allow(dead_code)]
    track_total_hits: Option<String>,
    #[allow(dead_code)]
    rest_total_hits_as_int: Option<String>,
    #[serde(rename = "_source")]
    #[allow(dead_code)]
    source: Option<String>,
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

/// The URI parameters folded into the body; each of q, size, from and sort
/// comes from one place only.
fn merge_uri(uri: EsUriParams, mut body: EsSearch) -> Result<(EsSearch, Option<String>), ApiError> {
    let twice = |name: &str| bad(format!("{name} is given both in the URI and in the body; give it once"));
    if uri.q.is_some() && body.query.is_some() {
        return Err(twice("q (the URI query) and query"));
    }
    if let Some(size) = uri.size {
        if body.size.replace(size).is_some() {
            return Err(twice("size"));
        }
    }
    if let Some(from) = uri.from {
        if body.from.replace(from).is_some() {
            return Err(twice("from"));
        }
    }
    if let Some(sort) = uri.sort {
        if body.sort.replace(Value::String(sort)).is_some() {
            return Err(twice("sort"));
        }
    }
    Ok((body, uri.q))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
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
    let (body, uri_query) = merge_uri(uri, body)?;
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
            json!({
                "_index": event.get("stream").cloned().unwrap_or(Value::Null),
                "_id": event.get("event.id").cloned().unwrap_or(Value::Null),
                "_score": null,
                "_source": event,
            })
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

/// The deepest nesting of `bool` queries accepted (Elasticsearch's own
/// `indices.query.bool.max_nested_depth` is 30; each level here also adds
/// parentheses to the Lucene text, whose depth is bounded too).
pub const MAX_BOOL_DEPTH: usize = 20;

/// A query DSL object as Lucene query text.
fn to_lucene(query: &Value) -> Result<String, ApiError> {
    to_lucene_at(query, 0)
}

/// `depth`: how many `bool` queries enclose this one.
fn to_lucene_at(query: &Value, depth: usize) -> Result<String, ApiError> {
    let Value::Object(map) = query else {
        return Err(bad("query must be an object"));
    };
    if map.len() != 1 {
        return Err(bad(
            "a query object has exactly one key (bool, term, range, ...)",
        ));
    }
    let (kind, body) = map.iter().next().expect("one key");
    match kind.as_str() {
        "match_all" => Ok("*".into()),
        "query_string" | "simple_query_string" => {
            let text = body
                .get("query")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{kind}.query must be a string")))?;
            Ok(format!("({text})"))
        }
        "term" | "match_phrase" => {
            let (field, value) = single_field(kind, body)?;
            let value = value
                .get("value")
                .or_else(|| value.get("query"))
                .unwrap_or(value);
            Ok(format!("{field}:{}", quote(value)?))
        }
        "terms" => {
            let (field, values) = single_field(kind, body)?;
            let values = values
                .as_array()
                .ok_or_else(|| bad("terms values must be an array"))?;
            if values.is_empty() {
                return Err(bad("terms needs at least one value"));
            }
            let parts = values
                .iter()
                .map(|v| Ok(format!("{field}:{}", quote(v)?)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(format!("({})", parts.join(" OR ")))
        }
        "match" => {
            let (field, value) = single_field(kind, body)?;
            let (text, operator) = match value {
                Value::Object(o) => (
                    o.get("query").cloned().unwrap_or(Value::Null),
                    o.get("operator").and_then(Value::as_str).unwrap_or("or"),
                ),
                other => (other.clone(), "or"),
            };
            let words: Vec<String> = match &text {
                Value::String(s) => s
                    .split_whitespace()
                    .map(|w| quote(&Value::String(w.to_string())))
                    .collect::<Result<_, _>>()?,
                other => vec![quote(other)?],
            };
            if words.is_empty() {
                return Ok("*".into());
            }
            let joiner = if operator.eq_ignore_ascii_case("and") {
                " AND "
            } else {
                " OR "
            };
            Ok(format!("{field}:({})", words.join(joiner)))
        }
        "exists" => {
            let field = body
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("exists.field must be a string"))?;
            Ok(format!("{field}:*"))
        }
        "range" => {
            let (field, bounds) = single_field(kind, body)?;
            let Value::Object(bounds) = bounds else {
                return Err(bad("range bounds must be an object"));
            };
            let bound = |keys: [&str; 2]| -> Result<Option<(String, bool)>, ApiError> {
                for (i, key) in keys.iter().enumerate() {
                    if let Some(v) = bounds.get(*key) {
                        return Ok(Some((range_value(field, v)?, i == 0)));
                    }
                }
                Ok(None)
            };
            let lower = bound(["gte", "gt"])?;
            let upper = bound(["lte", "lt"])?;
            let open = match &lower {
                Some((_, true)) | None => "[",
                Some((_, false)) => "{",
            };
            let close = match &upper {
                Some((_, true)) | None => "]",
                Some((_, false)) => "}",
            };
            let lower = lower.map_or("*".to_string(), |b| b.0);
            let upper = upper.map_or("*".to_string(), |b| b.0);
            Ok(format!("{field}:{open}{lower} TO {upper}{close}"))
        }
        "bool" if depth >= MAX_BOOL_DEPTH => Err(bad(format!(
            "bool queries nest deeper than {MAX_BOOL_DEPTH} levels"
        ))),
        "bool" => bool_query(body, depth + 1),
        other => Err(bad(format!(
            "query `{other}` is not supported; use query_string, bool, term, terms, range, match, match_phrase, exists or match_all"
        ))),
    }
}

fn bool_query(body: &Value, depth: usize) -> Result<String, ApiError> {
    let Value::Object(body) = body else {
        return Err(bad("bool must be an object"));
    };
    let clauses = |key: &str| -> Result<Vec<String>, ApiError> {
        match body.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|q| to_lucene_at(q, depth)).collect(),
            Some(single) => Ok(vec![to_lucene_at(single, depth)?]),
        }
    };
    for key in body.keys() {
        if !matches!(
            key.as_str(),
            "must" | "filter" | "should" | "must_not" | "minimum_should_match" | "boost"
        ) {
            return Err(bad(format!("bool.{key} is not supported")));
        }
    }
    let mut required: Vec<String> = clauses("must")?
        .into_iter()
        .chain(clauses("filter")?)
        .map(|c| format!("({c})"))
        .collect();
    let should = clauses("should")?;
    let minimum = body.get("minimum_should_match").and_then(Value::as_u64);
    if !should.is_empty() && (required.is_empty() || minimum.is_some_and(|m| m > 0)) {
        if minimum.is_some_and(|m| m > 1) {
            return Err(bad("bool.minimum_should_match above 1 is not supported"));
        }
        required.push(format!(
            "({})",
            should
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" OR ")
        ));
    }
    let excluded: Vec<String> = clauses("must_not")?
        .into_iter()
        .map(|c| format!("NOT ({c})"))
        .collect();
    if required.is_empty() {
        required.push("*".into());
    }
    Ok(required
        .into_iter()
        .chain(excluded)
        .collect::<Vec<_>>()
        .join(" AND "))
}

fn single_field<'a>(kind: &str, body: &'a Value) -> Result<(&'a str, &'a Value), ApiError> {
    match body {
        Value::Object(map) => {
            let mut fields = map
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "boost" | "_name"));
            match (fields.next(), fields.next()) {
                (Some((field, value)), None) => Ok((field.as_str(), value)),
                _ => Err(bad(format!("{kind} takes exactly one field"))),
            }
        }
        _ => Err(bad(format!("{kind} must be an object"))),
    }
}

/// A value as a quoted Lucene term.
fn quote(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(format!(
            "\"{}\"",
            s.replace('\\', "\\\\").replace('"', "\\\"")
        )),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(bad(format!("`{value}` is not a string, number or boolean"))),
    }
}

/// A range bound: dates as RFC 3339 (`now-15m` and epoch ms resolved).
fn range_value(field: &str, value: &Value) -> Result<String, ApiError> {
    let is_date = matches!(field, "@timestamp" | "event.ingested");
    match value {
        Value::String(s) if is_date => super::time::parse_time(s, chrono::Utc::now())
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .map_err(|e| bad(format!("range.{field}: {e}"))),
        Value::Number(n) if is_date => {
            let millis = n
                .as_i64()
                .ok_or_else(|| bad(format!("range.{field}: `{n}` is not epoch milliseconds")))?;
            chrono::DateTime::from_timestamp_millis(millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                .ok_or_else(|| bad(format!("range.{field}: `{n}` is out of range")))
        }
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if !s.contains([' ', ']', '}', '"']) => Ok(s.clone()),
        other => Err(bad(format!(
            "range.{field}: `{other}` is not a usable bound"
        ))),
    }
}

/// `[{"@timestamp": "desc"}]`, `[{"f": {"order": "asc"}}]` or `["f"]`.
fn sort_text(sort: &Value) -> Result<String, ApiError> {
    let first = match sort {
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Array(items) if items.len() > 1 => {
            return Err(bad(
                "sort by one field (ties are broken by stream, partition and offset)",
            ));
        }
        single => single,
    };
    match first {
        Value::String(field) => Ok(field.clone()),
        Value::Object(map) if map.len() == 1 => {
            let (field, order) = map.iter().next().expect("one key");
            let order = match order {
                Value::String(o) => o.clone(),
                Value::Object(o) => o
                    .get("order")
                    .and_then(Value::as_str)
                    .unwrap_or("asc")
                    .to_string(),
                _ => return Err(bad("sort order must be \"asc\" or \"desc\"")),
            };
            Ok(format!("{field}:{order}"))
        }
        _ => Err(bad("sort must be [{\"FIELD\": \"asc|desc\"}]")),
    }
}

/// The `sort` values of a hit (value, stream, partition, offset) as a cursor.
fn cursor_text(values: &[Value]) -> Result<String, ApiError> {
    let invalid = || bad("search_after must be the `sort` array of the last hit");
    let [value, stream, partition, offset] = values else {
        return Err(invalid());
    };
    let cursor = Cursor {
        value: match value {
            Value::Null => None,
            v => Some(v.as_i64().ok_or_else(invalid)?),
        },
        stream: stream.as_str().ok_or_else(invalid)?.to_string(),
        partition: partition.as_i64().ok_or_else(invalid)? as i32,
        offset: offset.as_u64().ok_or_else(invalid)?,
    };
    Ok(cursor.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_nesting_is_bounded_and_what_is_allowed_compiles() {
        let nested = |levels: usize| {
            let mut query = json!({"term": {"host.name": "a"}});
            for _ in 0..levels {
                query = json!({"bool": {"must": [query], "must_not": [{"term": {"user.name": "b"}}]}});
            }
            query
        };
        let err = to_lucene(&nested(MAX_BOOL_DEPTH + 1)).unwrap_err();
        assert!(format!("{err:?}").contains("deeper than 20"), "{err:?}");
        // The deepest allowed query compiles on a tokio worker's stack.
        let text = to_lucene(&{
            let mut query = json!({"term": {"host.name": "a"}});
            for _ in 0..MAX_BOOL_DEPTH {
                query = json!({"bool": {"should": [query, {"term": {"user.name": "b"}}], "must_not": [{"term": {"user.name": "c"}}]}});
            }
            query
        })
        .unwrap();
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let compiler = super::super::QueryCompiler::new(&logwarden_store::schema::LogSchema::new());
                compiler.compile(&text).map(|_| ())
            })
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
    }

    #[test]
    fn the_query_dsl_becomes_lucene_text() {
        let q = |v: Value| to_lucene(&v).map_err(|e| format!("{e:?}"));
        assert_eq!(q(json!({"match_all": {}})).unwrap(), "*");
        assert_eq!(
            q(json!({"term": {"host.name": "web\"01"}})).unwrap(),
            r#"host.name:"web\"01""#
        );
        assert_eq!(
            q(json!({"term": {"process.pid": {"value": 42}}})).unwrap(),
            "process.pid:42"
        );
        assert_eq!(
            q(json!({"terms": {"user.name": ["a", "b"]}})).unwrap(),
            r#"(user.name:"a" OR user.name:"b")"#
        );
        assert_eq!(
            q(json!({"match": {"message": {"query": "failed password", "operator": "and"}}}))
                .unwrap(),
            r#"message:("failed" AND "password")"#
        );
        assert_eq!(
            q(json!({"exists": {"field": "source.ip"}})).unwrap(),
            "source.ip:*"
        );
        assert_eq!(
            q(json!({"range": {"process.pid": {"gte": 10, "lt": 20}}})).unwrap(),
            "process.pid:[10 TO 20}"
        );
        assert_eq!(
            q(json!({"range": {"@timestamp": {"gt": 1764000000000_i64}}})).unwrap(),
            "@timestamp:{2025-11-24T16:00:00.000000Z TO *]"
        );
        assert_eq!(
            q(json!({"bool": {"must": [{"term": {"host.name": "a"}}], "should": [{"term": {"user.name": "x"}}], "must_not": {"exists": {"field": "parse.error"}}}})).unwrap(),
            r#"(host.name:"a") AND NOT (parse.error:*)"#
        );
        assert_eq!(
            q(json!({"bool": {"should": [{"term": {"user.name": "x"}}, {"term": {"user.name": "y"}}]}})).unwrap(),
            r#"((user.name:"x") OR (user.name:"y"))"#
        );
        assert_eq!(
            q(json!({"bool": {"must_not": [{"term": {"a": 1}}]}})).unwrap(),
            "* AND NOT (a:1)"
        );
        for bad_query in [
            json!({"fuzzy": {"a": "b"}}),
            json!({"term": {"a": "b", "c": "d"}}),
            json!({"bool": {"nope": []}}),
            json!([]),
        ] {
            assert!(q(bad_query.clone()).is_err(), "{bad_query}");
        }
    }

    #[test]
    fn sorts_indexes_and_cursors() {
        assert_eq!(
            sort_text(&json!([{"@timestamp": {"order": "desc"}}])).unwrap(),
            "@timestamp:desc"
        );
        assert_eq!(sort_text(&json!(["process.pid"])).unwrap(), "process.pid");
        assert_eq!(
            index_to_stream("logwarden-auth").unwrap(),
            Some("auth".into())
        );
        assert_eq!(index_to_stream("*").unwrap(), None);
        assert!(index_to_stream("a,b").is_err());
        assert_eq!(
            cursor_text(&[json!(5), json!("auth"), json!(1), json!(9)]).unwrap(),
            "5:auth:1:9"
        );
        assert!(cursor_text(&[json!(5)]).is_err());
    }
}
