//! A search request, from query-string parameters (`GET`) or a JSON body
//! (`POST`), checked into what the engine runs. Every error names the
//! parameter at fault.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use logwarden_event::fields;
use logwarden_store::schema::{FastKind, LogSchema, to_tantivy};
use serde::Deserialize;
use serde_json::Value;
use tantivy::Term;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};

use super::QueryCompiler;
use crate::identity::Identity;
use super::aggs::AggRequest;
use super::sorted::{Cursor, SortKind, SortSpec};
use super::time::parse_time;

pub const DEFAULT_LIMIT: usize = 100;

/// The parameters as clients send them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Lucene-style query; absent or `*` matches everything.
    #[serde(default)]
    pub q: String,
    /// Start of the time range (inclusive): RFC 3339, epoch ms or `now-15m`.
    pub from: Option<String>,
    /// End of the time range (exclusive).
    pub to: Option<String>,
    /// Only this stream's splits.
    pub stream: Option<String>,
    pub limit: Option<usize>,
    /// `FIELD` or `FIELD:asc|desc`; default `@timestamp:desc`.
    pub sort: Option<String>,
    /// The `next` cursor of the previous page.
    pub search_after: Option<String>,
    /// Aggregations (JSON body only), in Elasticsearch's shape.
    #[serde(default)]
    pub aggs: Option<Value>,
}

/// A checked request.
pub struct SearchRequest {
    pub query: Box<dyn Query>,
    /// The query text matches every event: only the time range restricts
    /// `query`.
    pub match_all: bool,
    /// The stream asked for; `None`: every stream the caller searches by
    /// default (not `audit`, and only the key's streams).
    pub stream: Option<String>,
    pub identity: Identity,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: usize,
    pub sort: SortSpec,
    pub after: Option<Cursor>,
    pub aggs: Option<AggRequest>,
}

impl SearchRequest {
    pub fn admits_stream(&self, stream: &str) -> bool {
        match &self.stream {
            Some(only) => only == stream,
            None => self.identity.searches_by_default(stream),
        }
    }
}

fn bad(message: impl Into<String>) -> (&'static str, String) {
    ("invalid_parameter", message.into())
}

impl SearchParams {
    /// Checks every parameter; the error is `(code, message)`.
    pub fn check(
        self,
        identity: Identity,
        compiler: &QueryCompiler,
        schema: &LogSchema,
        max_hits: usize,
        now: DateTime<Utc>,
    ) -> Result<SearchRequest, (&'static str, String)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit > max_hits {
            return Err(bad(format!(
                "limit {limit} is above the maximum of {max_hits}"
            )));
        }
        if let Some(stream) = &self.stream
            && !logwarden_event::is_valid_stream_name(stream)
        {
            return Err(bad(format!("stream `{stream}` is not a valid stream name")));
        }
        let from = self
            .from
            .as_deref()
            .map(|t| parse_time(t, now).map_err(|e| bad(format!("from: {e}"))))
            .transpose()?;
        let to = self
            .to
            .as_deref()
            .map(|t| parse_time(t, now).map_err(|e| bad(format!("to: {e}"))))
            .transpose()?;
        let (from, to) = clamp_to_stored_range(from, to).map_err(bad)?;
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(bad(format!("from ({from}) must be before to ({to})")));
        }
        let sort = parse_sort(self.sort.as_deref(), schema).map_err(bad)?;
        let after = self
            .search_after
            .as_deref()
            .map(Cursor::parse)
            .transpose()
            .map_err(bad)?;
        let aggs = self
            .aggs
            .as_ref()
            .map(|a| AggRequest::parse(a, schema))
            .transpose()
            .map_err(|e| ("invalid_aggregation", e))?;
        let query = compiler
            .compile(&self.q)
            .map_err(|m| ("invalid_query", m))?;
        let match_all = query.downcast_ref::<tantivy::query::AllQuery>().is_some();
        let query = within(query, schema, from, to);
        Ok(SearchRequest {
            query,
            match_all,
            stream: self.stream,
            identity,
            from,
            to,
            limit,
            sort,
            after,
            aggs,
        })
    }
}

/// A search's `from` and `to`, each optional.
type TimeBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Bounds past the times logwarden stores (1678 to 2261) are clamped: a
/// `from` before 1678 or a `to` after 2261 bounds nothing. A `from` after
/// 2261 or a `to` before 1678 could only match nothing, so it is refused
/// rather than answered with a silent empty result.
fn clamp_to_stored_range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<TimeBounds, String> {
    use logwarden_event::time::{RANGE_TEXT, max, min};
    if let Some(from) = from.filter(|t| *t > max()) {
        return Err(format!("from ({from}) is after every time logwarden stores ({RANGE_TEXT})"));
    }
    if let Some(to) = to.filter(|t| *t <= min()) {
        return Err(format!("to ({to}) is before every time logwarden stores ({RANGE_TEXT})"));
    }
    Ok((from.filter(|t| *t >= min()), to.filter(|t| *t <= max())))
}

/// `query` restricted to `[from, to)` on `@timestamp`.
fn within(
    query: Box<dyn Query>,
    schema: &LogSchema,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Box<dyn Query> {
    if from.is_none() && to.is_none() {
        return query;
    }
    let term = |t: DateTime<Utc>| Term::from_field_date_for_search(schema.timestamp, to_tantivy(t));
    let lower = from.map_or(Bound::Unbounded, |t| Bound::Included(term(t)));
    let upper = to.map_or(Bound::Unbounded, |t| Bound::Excluded(term(t)));
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, query),
        (Occur::Must, Box::new(RangeQuery::new(lower, upper))),
    ]))
}

fn parse_sort(text: Option<&str>, schema: &LogSchema) -> Result<SortSpec, String> {
    let text = text.unwrap_or(fields::TIMESTAMP);
    let (field, order) = match text.rsplit_once(':') {
        Some((field, order)) => (field, order),
        None => (text, "desc"),
    };
    let descending = match order {
        "desc" => true,
        "asc" => false,
        other => return Err(format!("sort order `{other}` is not asc or desc")),
    };
    let kind = match schema.fast_field_kind(field) {
        Some(FastKind::Date) => SortKind::Date,
        Some(FastKind::Number) => SortKind::Number,
        _ => {
            return Err(format!(
                "cannot sort by `{field}`: sortable fields are @timestamp, event.ingested and the numeric fields ({})",
                fields::NUMBERS.join(", ")
            ));
        }
    };
    Ok(SortSpec {
        field: field.to_string(),
        kind,
        descending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(params: SearchParams) -> Result<SearchRequest, (&'static str, String)> {
        let schema = LogSchema::new();
        let admin = Identity { name: "t".into(), role: logwarden_config::auth::Role::Admin, streams: None };
        params.check(admin, &QueryCompiler::new(&schema), &schema, 1000, Utc::now())
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let cases: Vec<(SearchParams, &str)> = vec![
            (
                SearchParams {
                    limit: Some(5000),
                    ..Default::default()
                },
                "limit",
            ),
            (
                SearchParams {
                    from: Some("yesterday".into()),
                    ..Default::default()
                },
                "from",
            ),
            (
                SearchParams {
                    from: Some("now".into()),
                    to: Some("now-1h".into()),
                    ..Default::default()
                },
                "must be before",
            ),
            (
                SearchParams {
                    sort: Some("message:desc".into()),
                    ..Default::default()
                },
                "message",
            ),
            (
                SearchParams {
                    sort: Some("@timestamp:up".into()),
                    ..Default::default()
                },
                "up",
            ),
            (
                SearchParams {
                    search_after: Some("zzz".into()),
                    ..Default::default()
                },
                "search_after",
            ),
            (
                SearchParams {
                    q: "nosuch:x".into(),
                    ..Default::default()
                },
                "nosuch",
            ),
            (
                SearchParams {
                    stream: Some("A/B".into()),
                    ..Default::default()
                },
                "stream",
            ),
        ];
        for (params, fragment) in cases {
            let Err((_, message)) = check(params.clone()) else {
                panic!("{params:?} was accepted")
            };
            assert!(message.contains(fragment), "{params:?}: {message}");
        }
        // Past the stored range: clamped when the bound cuts nothing off,
        // refused when it would leave nothing to find.
        for (from, to, fragment) in [
            (Some("2263-01-01T00:00:00Z"), None, "after every time"),
            (None, Some("1600-01-01T00:00:00Z"), "before every time"),
        ] {
            let params = SearchParams { from: from.map(Into::into), to: to.map(Into::into), ..Default::default() };
            let Err((_, message)) = check(params) else { panic!("{from:?} {to:?} was accepted") };
            assert!(message.contains(fragment), "{message}");
        }
        let clamped = check(SearchParams {
            from: Some("1000-01-01T00:00:00Z".into()),
            to: Some("2263-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .ok()
        .unwrap();
        assert!(clamped.from.is_none() && clamped.to.is_none());
        let ok = check(SearchParams {
            sort: Some("process.pid:asc".into()),
            from: Some("now-1h".into()),
            ..Default::default()
        })
        .ok()
        .unwrap();
        assert!(!ok.sort.descending && ok.sort.kind == SortKind::Number && ok.from.is_some());
    }
}
