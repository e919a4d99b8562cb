//! `sort` and `search_after` in Elasticsearch's shapes, as the native
//! API's parameters.

use serde_json::Value;

use super::bad;
use crate::search::sorted::Cursor;
use crate::error::ApiError;

/// `[{"@timestamp": "desc"}]`, `[{"f": {"order": "asc"}}]` or `["f"]`.
pub(super) fn sort_text(sort: &Value) -> Result<String, ApiError> {
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
pub(super) fn cursor_text(values: &[Value]) -> Result<String, ApiError> {
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
    use serde_json::json;

    #[test]
    fn sorts_and_cursors() {
        assert_eq!(
            sort_text(&json!([{"@timestamp": {"order": "desc"}}])).unwrap(),
            "@timestamp:desc"
        );
        assert_eq!(sort_text(&json!(["process.pid"])).unwrap(), "process.pid");
        assert_eq!(
            cursor_text(&[json!(5), json!("auth"), json!(1), json!(9)]).unwrap(),
            "5:auth:1:9"
        );
        assert!(cursor_text(&[json!(5)]).is_err());
    }
}
