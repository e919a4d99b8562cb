//! `_source` filtering: which of a hit's fields a `_search` request wants
//! back (`"_source": false`, `"_source": ["host.*", "message"]`,
//! `{"includes": [...], "excludes": [...]}`, or the URI's `_source`,
//! `_source_includes` and `_source_excludes`).
//!
//! Events are flat objects of dotted ECS names with free fields under
//! `fields` (`fields` → `url.path`), so a field's path is its key, or
//! `fields.` and its key. A pattern names a path, or an object above it
//! (`host` takes `host.name`; `fields` takes every free field); `*` stands
//! for any run of characters.

use serde_json::{Map, Value};

use super::bad;
use crate::error::ApiError;

/// What of each hit's event a request wants back.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SourceFilter {
    /// The whole event (no `_source` given, or `true`).
    Whole,
    /// No `_source` at all (`false`).
    Nothing,
    /// The fields some pattern includes (every field if none is given)
    /// and none excludes.
    Fields { includes: Vec<String>, excludes: Vec<String> },
}

impl SourceFilter {
    /// From a request body's `_source`.
    pub(super) fn from_body(source: Option<&Value>) -> Result<SourceFilter, ApiError> {
        let patterns = |value: &Value, key: &str| -> Result<Vec<String>, ApiError> {
            match value {
                Value::String(pattern) => Ok(vec![pattern.clone()]),
                Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(format!("{key} must list field patterns (strings)")))
                    })
                    .collect(),
                _ => Err(bad(format!("{key} must be a field pattern or a list of them"))),
            }
        };
        let filter = match source {
            None | Some(Value::Bool(true)) => SourceFilter::Whole,
            Some(Value::Bool(false)) => SourceFilter::Nothing,
            Some(Value::Object(map)) => {
                if let Some(key) = map.keys().find(|k| !matches!(k.as_str(), "includes" | "include" | "excludes" | "exclude")) {
                    return Err(bad(format!("_source.{key} is not known: use includes and excludes")));
                }
                let list = |names: [&str; 2]| -> Result<Vec<String>, ApiError> {
                    names
                        .iter()
                        .filter_map(|name| map.get(*name).map(|v| patterns(v, &format!("_source.{name}"))))
                        .try_fold(Vec::new(), |mut all, some| {
                            all.extend(some?);
                            Ok(all)
                        })
                };
                SourceFilter::Fields { includes: list(["includes", "include"])?, excludes: list(["excludes", "exclude"])? }
            }
            Some(other) => SourceFilter::Fields { includes: patterns(other, "_source")?, excludes: Vec::new() },
        };
        Ok(filter)
    }

    /// From the URI's `_source` (`true`, `false` or a comma-separated list
    /// of patterns), `_source_includes` and `_source_excludes`.
    pub(super) fn from_uri(
        source: Option<&str>,
        includes: Option<&str>,
        excludes: Option<&str>,
    ) -> SourceFilter {
        let list = |text: Option<&str>| -> Vec<String> {
            text.map(|t| t.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        };
        match source {
            Some("false") => SourceFilter::Nothing,
            Some("true") | None if includes.is_none() && excludes.is_none() => SourceFilter::Whole,
            Some("true") | None => SourceFilter::Fields { includes: list(includes), excludes: list(excludes) },
            Some(patterns) => {
                let mut all = list(Some(patterns));
                all.extend(list(includes));
                SourceFilter::Fields { includes: all, excludes: list(excludes) }
            }
        }
    }

    /// The hit's `_source`, or `None` for none.
    pub(super) fn apply(&self, event: Value) -> Option<Value> {
        match self {
            SourceFilter::Whole => Some(event),
            SourceFilter::Nothing => None,
            SourceFilter::Fields { includes, excludes } => match event {
                Value::Object(map) => Some(Value::Object(keep(map, "", includes, excludes))),
                other => Some(other),
            },
        }
    }
}

/// The entries of `map` (at `prefix`, empty or ending in '.') whose path
/// some include takes (or any, if there are none) and no exclude does;
/// an object not taken whole keeps what is taken below it.
fn keep(map: Map<String, Value>, prefix: &str, includes: &[String], excludes: &[String]) -> Map<String, Value> {
    let mut kept = Map::new();
    for (key, value) in map {
        let path = format!("{prefix}{key}");
        if excludes.iter().any(|e| takes(e, &path)) {
            continue;
        }
        let included = includes.is_empty() || includes.iter().any(|i| takes(i, &path));
        match value {
            Value::Object(inner) if !included || !excludes.is_empty() => {
                let below = keep(inner, &format!("{path}."), if included { &[] } else { includes }, excludes);
                if !below.is_empty() {
                    kept.insert(key, Value::Object(below));
                }
            }
            value if included => {
                kept.insert(key, value);
            }
            _ => {}
        }
    }
    kept
}

/// Whether `pattern` takes the field at `path`: it matches the path, or
/// an object above it (a dotted prefix).
fn takes(pattern: &str, path: &str) -> bool {
    glob(pattern, path)
        || path.match_indices('.').any(|(dot, _)| glob(pattern, &path[..dot]))
}

/// Whether `text` matches `pattern`, where `*` is any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or("");
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "@timestamp": "2026-01-01T00:00:00Z",
            "host.name": "web01",
            "host.ip": "10.0.0.1",
            "message": "GET /login",
            "fields": {"url.path": "/login", "http.response.status_code": 200, "user_agent.original": "curl"},
        })
    }

    fn filtered(source: Value) -> Option<Value> {
        SourceFilter::from_body(Some(&source)).unwrap().apply(event())
    }

    #[test]
    fn patterns_take_fields_and_the_objects_above_them() {
        assert_eq!(filtered(json!(true)), Some(event()));
        assert_eq!(filtered(json!(false)), None);
        assert_eq!(filtered(json!("message")), Some(json!({"message": "GET /login"})));
        assert_eq!(
            filtered(json!(["host", "fields.url.path"])),
            Some(json!({"host.name": "web01", "host.ip": "10.0.0.1", "fields": {"url.path": "/login"}}))
        );
        assert_eq!(filtered(json!("host.*")), filtered(json!("host")));
        assert_eq!(filtered(json!(["*.ip"])), Some(json!({"host.ip": "10.0.0.1"})));
        assert_eq!(
            filtered(json!({"includes": ["fields"], "excludes": ["fields.user_agent*"]})),
            Some(json!({"fields": {"url.path": "/login", "http.response.status_code": 200}}))
        );
        assert_eq!(
            filtered(json!({"excludes": ["fields", "message", "@*"]})),
            Some(json!({"host.name": "web01", "host.ip": "10.0.0.1"}))
        );
        assert_eq!(filtered(json!(["nope"])), Some(json!({})));
    }

    #[test]
    fn the_uri_form_and_bad_forms() {
        assert_eq!(SourceFilter::from_uri(None, None, None), SourceFilter::Whole);
        assert_eq!(SourceFilter::from_uri(Some("false"), None, None), SourceFilter::Nothing);
        assert_eq!(
            SourceFilter::from_uri(Some("host.name, message"), None, Some("x")),
            SourceFilter::Fields { includes: vec!["host.name".into(), "message".into()], excludes: vec!["x".into()] }
        );
        assert_eq!(
            SourceFilter::from_uri(None, Some("host.*"), None).apply(event()),
            Some(json!({"host.name": "web01", "host.ip": "10.0.0.1"}))
        );
        for bad_source in [json!(3), json!([1]), json!({"fields": ["a"]}), json!({"includes": {"a": 1}})] {
            assert!(SourceFilter::from_body(Some(&bad_source)).is_err(), "{bad_source}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("host.*", "host.name"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "abxbc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("*name", "host.name"));
        assert!(!glob("host", "hostname"));
    }
}
