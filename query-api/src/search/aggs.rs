//! Aggregations, in Elasticsearch's request and response shape: date
//! histograms (fixed and calendar intervals, with a time zone), terms (size,
//! missing) and count/min/max/avg/sum/stats on numeric fields.
//!
//! tantivy computes them per split; the intermediate results are merged and
//! finished once. Calendar intervals are turned into what tantivy supports:
//! minute to week into fixed intervals shifted to the time zone; month,
//! quarter and year into daily buckets folded afterwards.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::{Map, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::tokenizer::TokenizerManager;

use logwarden_store::schema::LogSchema;

use super::split_histogram::CountableHistogram;

/// At most this many buckets in a response.
const BUCKET_LIMIT: u32 = 65_000;
/// At most this much memory per aggregation request.
const MEMORY_LIMIT: u64 = 500 * 1024 * 1024;

/// A checked aggregation request.
#[derive(Debug, Clone)]
pub struct AggRequest {
    /// What tantivy runs.
    tantivy: Aggregations,
    /// Date histograms whose buckets are rewritten afterwards, by name.
    calendars: Vec<(String, Calendar)>,
    /// Set when every aggregation is a date histogram a split can answer
    /// from its hit count (see `split_histogram`).
    countable: Option<Vec<CountableHistogram>>,
}

/// How a date histogram's buckets are presented.
#[derive(Debug, Clone, Copy)]
struct Calendar {
    zone: FixedOffset,
    /// Daily buckets to fold into months, quarters or years.
    fold: Option<Fold>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    Month,
    Quarter,
    Year,
}

impl AggRequest {
    /// Checks an `aggs` object against the schema; errors name the
    /// aggregation and the problem.
    pub fn parse(aggs: &Value, schema: &LogSchema) -> Result<AggRequest, String> {
        let Value::Object(map) = aggs else {
            return Err("aggs must be an object of named aggregations".into());
        };
        let mut rewritten = Map::new();
        let mut calendars = Vec::new();
        let mut countable = Some(Vec::new());
        for (name, agg) in map {
            let (agg, calendar) = rewrite(name, agg, schema, 0)?;
            if let Some(calendar) = calendar {
                calendars.push((name.clone(), calendar));
            }
            match (&mut countable, countable_histogram(name, &agg)) {
                (Some(all), Some(histogram)) => all.push(histogram),
                _ => countable = None,
            }
            rewritten.insert(name.clone(), agg);
        }
        let tantivy: Aggregations = serde_json::from_value(Value::Object(rewritten))
            .map_err(|e| format!("invalid aggs: {e}"))?;
        Ok(AggRequest {
            tantivy,
            calendars,
            countable: countable.filter(|c| !c.is_empty()),
        })
    }

    /// The histograms, when a split whose events fall in one bucket of
    /// each can be answered from its hit count.
    pub fn countable(&self) -> Option<&[CountableHistogram]> {
        self.countable.as_deref()
    }

    pub fn collector(&self) -> DistributedAggregationCollector {
        DistributedAggregationCollector::from_aggs(self.tantivy.clone(), context())
    }

    /// Finishes merged per-split results into the response's `aggregations`.
    pub fn finish(&self, merged: IntermediateAggregationResults) -> Result<Value, String> {
        let result = merged
            .into_final_result(self.tantivy.clone(), limits())
            .map_err(|e| format!("aggregation failed: {e}"))?;
        let mut value = serde_json::to_value(result).map_err(|e| e.to_string())?;
        for (name, calendar) in &self.calendars {
            if let Some(agg) = value.get_mut(name) {
                present(agg, *calendar);
            }
        }
        Ok(value)
    }
}

/// A rewritten top-level aggregation that is a plain date histogram:
/// `fixed_interval` and `offset` in whole seconds (as `date_histogram`
/// writes them), no sub-aggregations, nothing that filters values.
fn countable_histogram(name: &str, agg: &Value) -> Option<CountableHistogram> {
    let body = agg.as_object()?;
    if body.len() != 1 {
        return None;
    }
    let params = body.get("date_histogram")?.as_object()?;
    const PLAIN: [&str; 5] = ["field", "fixed_interval", "offset", "min_doc_count", "keyed"];
    if params.keys().any(|k| !PLAIN.contains(&k.as_str())) {
        return None;
    }
    let seconds = |key: &str| -> Option<i64> {
        match params.get(key) {
            None => Some(0),
            Some(v) => v.as_str()?.strip_suffix('s')?.parse().ok(),
        }
    };
    let interval = seconds("fixed_interval").filter(|&s| s > 0)?;
    let offset = seconds("offset")?;
    let field = params.get("field")?.as_str()?;
    Some(CountableHistogram::new(name, field, interval, offset))
}

fn limits() -> AggregationLimitsGuard {
    AggregationLimitsGuard::new(Some(MEMORY_LIMIT), Some(BUCKET_LIMIT))
}

fn context() -> AggContextParams {
    AggContextParams::new(limits(), TokenizerManager::default())
}

const METRICS: [&str; 7] = [
    "avg",
    "min",
    "max",
    "sum",
    "stats",
    "value_count",
    "cardinality",
];

/// The deepest nesting of sub-aggregations accepted: each level multiplies
/// the buckets and recurses in tantivy's collector.
pub const MAX_AGG_DEPTH: usize = 6;

/// Checks one aggregation (and its sub-aggregations) and rewrites calendar
/// intervals and time zones into what tantivy runs.
fn rewrite(
    name: &str,
    agg: &Value,
    schema: &LogSchema,
    depth: usize,
) -> Result<(Value, Option<Calendar>), String> {
    let Value::Object(body) = agg else {
        return Err(format!("aggregation `{name}` must be an object"));
    };
    if depth >= MAX_AGG_DEPTH {
        return Err(format!(
            "`{name}`: aggregations nest deeper than {MAX_AGG_DEPTH} levels"
        ));
    }
    let top_level = depth == 0;
    let mut out = Map::new();
    let mut calendar = None;
    for (kind, params) in body {
        match kind.as_str() {
            "aggs" | "aggregations" => {
                let Value::Object(subs) = params else {
                    return Err(format!("`{name}.aggs` must be an object"));
                };
                let mut rewritten = Map::new();
                for (sub_name, sub) in subs {
                    let (sub, sub_calendar) = rewrite(sub_name, sub, schema, depth + 1)?;
                    if sub_calendar
                        .is_some_and(|c| c.fold.is_some() || c.zone.local_minus_utc() != 0)
                    {
                        return Err(format!(
                            "`{name}.{sub_name}`: calendar months and time zones are supported on top-level date histograms only"
                        ));
                    }
                    rewritten.insert(sub_name.clone(), sub);
                }
                out.insert("aggs".into(), Value::Object(rewritten));
            }
            "date_histogram" => {
                let (params, cal) = date_histogram(name, params, schema)?;
                if cal.fold.is_some()
                    && (!top_level
                        || body.contains_key("aggs")
                        || body.contains_key("aggregations"))
                {
                    return Err(format!(
                        "`{name}`: month, quarter and year intervals cannot have sub-aggregations"
                    ));
                }
                calendar = Some(cal);
                out.insert(kind.clone(), params);
            }
            "terms" => {
                check_field(name, params, schema, FieldUse::Terms)?;
                out.insert(kind.clone(), params.clone());
            }
            metric if METRICS.contains(&metric) => {
                check_field(name, params, schema, FieldUse::Metric)?;
                out.insert(kind.clone(), params.clone());
            }
            other => {
                return Err(format!(
                    "aggregation `{name}`: `{other}` is not supported; use date_histogram, terms, {}",
                    METRICS.join(", ")
                ));
            }
        }
    }
    Ok((Value::Object(out), calendar))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldUse {
    Terms,
    Metric,
    Date,
}

fn check_field(
    name: &str,
    params: &Value,
    schema: &LogSchema,
    use_: FieldUse,
) -> Result<String, String> {
    let field = params
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("aggregation `{name}` needs a `field`"))?;
    let kind = schema.fast_field_kind(field);
    let ok = match use_ {
        FieldUse::Terms => kind.is_some(),
        FieldUse::Metric => {
            kind == Some(logwarden_store::schema::FastKind::Number)
                || kind == Some(logwarden_store::schema::FastKind::Date)
        }
        FieldUse::Date => kind == Some(logwarden_store::schema::FastKind::Date),
    };
    if !ok {
        let wanted = match use_ {
            FieldUse::Terms => "a keyword, number or date field",
            FieldUse::Metric => "a numeric field",
            FieldUse::Date => "a date field (@timestamp, event.ingested)",
        };
        return Err(format!(
            "aggregation `{name}`: field `{field}` is not {wanted} with doc values"
        ));
    }
    Ok(field.to_string())
}

fn date_histogram(
    name: &str,
    params: &Value,
    schema: &LogSchema,
) -> Result<(Value, Calendar), String> {
    check_field(name, params, schema, FieldUse::Date)?;
    let Value::Object(params) = params else {
        return Err(format!("`{name}.date_histogram` must be an object"));
    };
    let mut params = params.clone();
    let zone = match params.remove("time_zone") {
        None => FixedOffset::east_opt(0).expect("UTC"),
        Some(Value::String(zone)) => {
            parse_zone(&zone).map_err(|e| format!("`{name}.date_histogram.time_zone`: {e}"))?
        }
        Some(_) => {
            return Err(format!(
                "`{name}.date_histogram.time_zone` must be a string like \"+09:00\""
            ));
        }
    };
    let zone_secs = i64::from(zone.local_minus_utc());
    let mut fold = None;
    let interval_secs = match (
        params.remove("calendar_interval"),
        params.get("fixed_interval"),
    ) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "`{name}`: give calendar_interval or fixed_interval, not both"
            ));
        }
        (Some(Value::String(interval)), None) => match interval.as_str() {
            "minute" | "1m" => 60,
            "hour" | "1h" => 3600,
            "day" | "1d" => 86_400,
            "week" | "1w" => 7 * 86_400,
            "month" | "1M" => {
                fold = Some(Fold::Month);
                86_400
            }
            "quarter" | "1q" => {
                fold = Some(Fold::Quarter);
                86_400
            }
            "year" | "1y" => {
                fold = Some(Fold::Year);
                86_400
            }
            other => {
                return Err(format!(
                    "`{name}.date_histogram.calendar_interval`: `{other}` is not one of minute, hour, day, week, month, quarter, year"
                ));
            }
        },
        (Some(_), None) => {
            return Err(format!(
                "`{name}.date_histogram.calendar_interval` must be a string"
            ));
        }
        (None, Some(Value::String(fixed))) => {
            let secs = humantime::parse_duration(fixed)
                .map_err(|e| format!("`{name}.date_histogram.fixed_interval` `{fixed}`: {e}"))?
                .as_secs() as i64;
            if secs == 0 {
                return Err(format!(
                    "`{name}.date_histogram.fixed_interval` must be at least 1s"
                ));
            }
            secs
        }
        (None, Some(_)) => {
            return Err(format!(
                "`{name}.date_histogram.fixed_interval` must be a string like \"5m\""
            ));
        }
        (None, None) => {
            return Err(format!(
                "`{name}.date_histogram` needs calendar_interval or fixed_interval"
            ));
        }
    };
    params.insert(
        "fixed_interval".into(),
        Value::String(format!("{interval_secs}s")),
    );
    // Buckets start at local midnight (weeks: on Monday): shift the grid.
    let week_shift = if interval_secs == 7 * 86_400 {
        4 * 86_400
    } else {
        0
    };
    let offset = (week_shift - zone_secs).rem_euclid(interval_secs);
    if offset != 0 {
        params.insert("offset".into(), Value::String(format!("{offset}s")));
    }
    if fold.is_some() {
        params.insert("min_doc_count".into(), Value::from(1));
    }
    Ok((Value::Object(params), Calendar { zone, fold }))
}

fn parse_zone(text: &str) -> Result<FixedOffset, String> {
    if matches!(text, "Z" | "UTC" | "Etc/UTC" | "GMT") {
        return Ok(FixedOffset::east_opt(0).expect("UTC"));
    }
    let bad = || {
        format!(
            "`{text}` is not a fixed offset like +09:00 (named zones with daylight saving are not supported)"
        )
    };
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

/// Writes bucket keys as local times and folds daily buckets into calendar
/// months, quarters or years.
fn present(agg: &mut Value, calendar: Calendar) {
    let Some(buckets) = agg.get_mut("buckets").and_then(Value::as_array_mut) else {
        return;
    };
    let local = |millis: f64| -> Option<DateTime<FixedOffset>> {
        DateTime::<Utc>::from_timestamp_millis(millis as i64)
            .map(|t| t.with_timezone(&calendar.zone))
    };
    match calendar.fold {
        None => {
            for bucket in buckets.iter_mut() {
                if let Some(time) = bucket.get("key").and_then(Value::as_f64).and_then(local) {
                    bucket["key_as_string"] = Value::String(time.to_rfc3339());
                }
            }
        }
        Some(fold) => {
            let mut folded: Vec<(NaiveDate, u64)> = Vec::new();
            for bucket in buckets.iter() {
                let (Some(time), Some(count)) = (
                    bucket.get("key").and_then(Value::as_f64).and_then(local),
                    bucket.get("doc_count").and_then(Value::as_u64),
                ) else {
                    continue;
                };
                let date = time.date_naive();
                let first_month = match fold {
                    Fold::Month => date.month(),
                    Fold::Quarter => (date.month() - 1) / 3 * 3 + 1,
                    Fold::Year => 1,
                };
                let start = NaiveDate::from_ymd_opt(date.year(), first_month, 1)
                    .expect("valid month start");
                match folded.last_mut() {
                    Some((last, total)) if *last == start => *total += count,
                    _ => folded.push((start, count)),
                }
            }
            *buckets = folded
                .into_iter()
                .filter_map(|(start, count)| {
                    let time = calendar
                        .zone
                        .from_local_datetime(&start.and_hms_opt(0, 0, 0)?)
                        .single()?;
                    Some(serde_json::json!({
                        "key": time.timestamp_millis() as f64,
                        "key_as_string": time.to_rfc3339(),
                        "doc_count": count,
                    }))
                })
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(aggs: Value) -> Result<AggRequest, String> {
        AggRequest::parse(&aggs, &LogSchema::new())
    }

    #[test]
    fn unsupported_and_misplaced_things_are_named() {
        let mut cases = vec![
            (
                json!({"h": {"date_histogram": {"field": "message", "fixed_interval": "1h"}}}),
                "message",
            ),
            (
                json!({"h": {"date_histogram": {"field": "@timestamp"}}}),
                "calendar_interval or fixed_interval",
            ),
            (
                json!({"h": {"date_histogram": {"field": "@timestamp", "calendar_interval": "fortnight"}}}),
                "fortnight",
            ),
            (
                json!({"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "time_zone": "Europe/Berlin"}}}),
                "Europe/Berlin",
            ),
            (
                json!({"t": {"terms": {"field": "fields.tty"}}}),
                "fields.tty",
            ),
            (json!({"a": {"avg": {"field": "host.name"}}}), "numeric"),
            (json!({"x": {"geo_grid": {"field": "x"}}}), "geo_grid"),
            (
                json!({"m": {"date_histogram": {"field": "@timestamp", "calendar_interval": "month"}, "aggs": {"t": {"terms": {"field": "host.name"}}}}}),
                "sub-aggregations",
            ),
            (json!([1]), "object"),
        ];
        let mut deep = json!({"terms": {"field": "host.name"}});
        for _ in 0..MAX_AGG_DEPTH {
            deep = json!({"terms": {"field": "host.name"}, "aggs": {"inner": deep}});
        }
        cases.push((json!({"outer": deep}), "deeper than 6"));
        for (aggs, fragment) in cases {
            let err = parse(aggs.clone()).unwrap_err();
            assert!(err.contains(fragment), "{aggs}: {err}");
        }
    }

    #[test]
    fn calendar_days_start_at_local_midnight() {
        let request = parse(json!({"d": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day", "time_zone": "+09:00"}}})).unwrap();
        let tantivy = serde_json::to_value(&request.tantivy).unwrap();
        assert_eq!(tantivy["d"]["date_histogram"]["fixed_interval"], "86400s");
        assert_eq!(
            tantivy["d"]["date_histogram"]["offset"], "54000s",
            "local midnight at +09:00 is 15:00 UTC"
        );
        assert_eq!(
            parse_zone("-05:30").unwrap().local_minus_utc(),
            -(5 * 3600 + 1800)
        );
    }
}
