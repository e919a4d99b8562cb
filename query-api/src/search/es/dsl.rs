//! The query DSL (query_string, bool, term, terms, range, match,
//! match_phrase, prefix, wildcard, regexp, exists, match_all) as Lucene query text for the native
//! query compiler: values quoted, field names checked, `bool` nesting
//! bounded.

use serde_json::Value;

use super::bad;
use crate::error::ApiError;
use crate::search::query::pattern_regex;

/// The deepest nesting of `bool` queries accepted (Elasticsearch's own
/// `indices.query.bool.max_nested_depth` is 30; each level here also adds
/// parentheses to the Lucene text, whose depth is bounded too).
pub const MAX_BOOL_DEPTH: usize = 20;

/// A query DSL object as Lucene query text.
pub(super) fn to_lucene(query: &Value) -> Result<String, ApiError> {
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
        // A term's text matched by a pattern: a regex leaf of the native
        // syntax (message terms are lowercase words, so patterns on it are
        // lowercased as the native bare-word wildcards are).
        "prefix" | "wildcard" | "regexp" => {
            let (field, value) = single_field(kind, body)?;
            let value = match value {
                Value::Object(o) => o.get("value").or_else(|| o.get(kind)).unwrap_or(&Value::Null),
                other => other,
            };
            let text = value
                .as_str()
                .ok_or_else(|| bad(format!("{kind}.{field} must be a string or {{\"value\": string}}")))?;
            let regex = match kind.as_str() {
                "prefix" => format!("{}.*", pattern_regex(text, false)),
                "wildcard" => pattern_regex(text, true),
                // The grammar ends the regex at an unescaped '/'.
                _ => text.replace('/', "\\/"),
            };
            let regex = if field == logwarden_event::fields::MESSAGE { regex.to_lowercase() } else { regex };
            Ok(format!("{field}:/{regex}/"))
        }
        "exists" => {
            let field = body
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("exists.field must be a string"))?;
            Ok(format!("{}:*", field_name(kind, field)?))
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
            "query `{other}` is not supported; use query_string, bool, term, terms, range, match, match_phrase, prefix, wildcard, regexp, exists or match_all"
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

/// A field name as it is pasted into the query text: letters, digits and
/// `.`, `_`, `@`, `-` (every ECS name and `fields.*` key), nothing that the
/// query grammar would read as syntax.
fn field_name<'a>(kind: &str, field: &'a str) -> Result<&'a str, ApiError> {
    let plain = !field.is_empty()
        && field.len() <= 256
        && field.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    if plain {
        Ok(field)
    } else {
        Err(bad(format!(
            "{kind}: `{field}` is not a field name (letters, digits, '.', '_', '@' and '-' only)"
        )))
    }
}

fn single_field<'a>(kind: &str, body: &'a Value) -> Result<(&'a str, &'a Value), ApiError> {
    match body {
        Value::Object(map) => {
            let mut fields = map
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "boost" | "_name"));
            match (fields.next(), fields.next()) {
                (Some((field, value)), None) => Ok((field_name(kind, field)?, value)),
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
        Value::String(s) if is_date => crate::search::time::parse_time(s, chrono::Utc::now())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;


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
                let compiler = crate::search::QueryCompiler::new(&logwarden_store::schema::LogSchema::new());
                compiler.compile(&text).map(|_| ())
            })
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
    }

    /// `prefix`, `wildcard` and `regexp` become regex leaves that find what
    /// Elasticsearch would: characters literal but the pattern's own,
    /// message patterns lowercased.
    #[test]
    fn prefix_wildcard_and_regexp_find_terms_by_pattern() {
        use tantivy::collector::Count;
        let schema = logwarden_store::schema::LogSchema::new();
        let index = tantivy::Index::create_in_ram(schema.schema.clone());
        let mut writer: tantivy::IndexWriter<logwarden_store::EventDocument> = index.writer(15_000_000).unwrap();
        for (offset, payload) in [
            r#"{"@timestamp":"2026-01-01T00:00:00Z","host.name":"web-01.example","message":"Failed password","log.file.path":"/var/log/auth.log"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:01Z","host.name":"web+01","message":"Accepted key","log.file.path":"/var/log/syslog"}"#,
            r#"{"@timestamp":"2026-01-01T00:00:02Z","host.name":"db01","message":"failure"}"#,
        ]
        .into_iter()
        .enumerate()
        {
            writer.add_document(schema.document(payload.as_bytes(), offset as u64).unwrap().document).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let compiler = crate::search::QueryCompiler::new(&schema);
        let count = |query: Value| {
            let text = to_lucene(&query).map_err(|e| format!("{e:?}"))?;
            Ok::<_, String>(searcher.search(&compiler.compile(&text)?, &Count).unwrap())
        };
        for (query, expected) in [
            (json!({"prefix": {"host.name": "web"}}), 2),
            (json!({"prefix": {"host.name": {"value": "web-0"}}}), 1),
            (json!({"prefix": {"host.name": "web+"}}), 1),
            (json!({"prefix": {"host.name": "web."}}), 0),
            (json!({"prefix": {"host.name": "web*"}}), 0),
            (json!({"prefix": {"log.file.path": "/var/log/"}}), 2),
            (json!({"wildcard": {"host.name": "web?01*"}}), 2),
            (json!({"wildcard": {"host.name": {"value": "*.example"}}}), 1),
            (json!({"wildcard": {"host.name": {"wildcard": "d?01"}}}), 1),
            (json!({"wildcard": {"message": "FAIL*"}}), 2),
            (json!({"regexp": {"host.name": "web[-+]0[0-9]"}}), 1),
            (json!({"regexp": {"log.file.path": "/var/log/(auth|sys)log"}}), 1),
            (json!({"bool": {"must": [{"prefix": {"host.name": "web"}}], "must_not": [{"wildcard": {"message": "acc*"}}]}}), 1),
        ] {
            assert_eq!(count(query.clone()), Ok(expected), "{query}");
        }
        assert!(count(json!({"prefix": {"host.name": 5}})).unwrap_err().contains("must be a string"));
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
            // A field name that would be read as query syntax.
            json!({"term": {"a) OR (host.name": "b"}}),
            json!({"exists": {"field": "user.name:* OR x"}}),
            json!({"fuzzy": {"a": "b"}}),
            json!({"term": {"a": "b", "c": "d"}}),
            json!({"bool": {"nope": []}}),
            json!([]),
        ] {
            assert!(q(bad_query.clone()).is_err(), "{bad_query}");
        }
    }
}
