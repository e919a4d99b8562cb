//! Whatever a client sends as a query, a sort, a cursor, a time or an
//! aggregation gets an answer or a clear error: never a panic. Property
//! tests over arbitrary and query-shaped inputs.

use logwarden_store::schema::LogSchema;
use logwarden_query_api::search::{QueryCompiler, SearchParams};
use proptest::prelude::*;

/// Strings built from the pieces of the query syntax, so the parser's
/// corners get visited, not only its first error.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("host.name:".to_string()),
        Just("message:".to_string()),
        Just("@timestamp:".to_string()),
        Just("process.pid:".to_string()),
        Just("fields.a.b:".to_string()),
        Just("nosuch:".to_string()),
        Just(" AND ".to_string()),
        Just(" OR ".to_string()),
        Just("NOT ".to_string()),
        Just("-".to_string()),
        Just("+".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(" TO ".to_string()),
        Just("*".to_string()),
        Just("?".to_string()),
        Just("/".to_string()),
        Just("\\".to_string()),
        Just(":".to_string()),
        Just("2026-11-24T10:00:00Z".to_string()),
        Just("42".to_string()),
        "[a-zA-Z0-9._-]{1,8}",
        ".{0,3}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|parts| parts.concat())
}

/// JSON values biased towards the keys the APIs look at.
fn arbitrary_json(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("bool"),
        Just("must"),
        Just("should"),
        Just("must_not"),
        Just("filter"),
        Just("term"),
        Just("terms"),
        Just("range"),
        Just("match"),
        Just("match_phrase"),
        Just("exists"),
        Just("query_string"),
        Just("query"),
        Just("field"),
        Just("gte"),
        Just("lt"),
        Just("value"),
        Just("operator"),
        Just("date_histogram"),
        Just("fixed_interval"),
        Just("calendar_interval"),
        Just("time_zone"),
        Just("size"),
        Just("aggs"),
        Just("stats"),
        Just("@timestamp"),
        Just("host.name"),
        Just("process.pid"),
        Just("x"),
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop_oneof![
            Just("1h".to_string()),
            Just("month".to_string()),
            Just("+09:00".to_string()),
            Just("now-1d".to_string()),
            ".{0,8}".prop_map(|s: String| s),
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(depth, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|pairs| {
                serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn time_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("now".to_string()),
        Just("now-1h".to_string()),
        Just("1764000000000".to_string()),
        ".{0,24}".prop_map(|s: String| s),
    ])
}

/// Every refusal says which parameter (or which part of the query or the
/// aggregations) is at fault.
fn names_a_parameter(message: &str) -> bool {
    ["query", "from", "to", "sort", "search_after", "stream", "limit", "agg"].iter().any(|p| message.contains(p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn query_text_compiles_or_is_refused(text in query_like()) {
        let compiler = QueryCompiler::new(&LogSchema::new());
        if let Err(message) = compiler.compile(&text) {
            prop_assert!(message.contains("query"), "`{text}`: {message}");
        }
    }

    #[test]
    fn arbitrary_text_compiles_or_is_refused(text in ".{0,64}") {
        let compiler = QueryCompiler::new(&LogSchema::new());
        if let Err(message) = compiler.compile(&text) {
            prop_assert!(message.contains("query"), "`{text}`: {message}");
        }
    }

    #[test]
    fn every_parameter_is_checked_without_panicking(
        q in query_like(),
        from in time_text(),
        to in time_text(),
        sort in prop::option::of(prop_oneof![Just("@timestamp:asc".to_string()), Just("process.pid".to_string()), ".{0,16}".prop_map(|s: String| s)]),
        search_after in prop::option::of(prop_oneof![Just("1:auth:0:5".to_string()), Just("-:a:1:2".to_string()), ".{0,24}".prop_map(|s: String| s)]),
        stream in prop::option::of("[a-z/.]{0,8}"),
        limit in prop::option::of(0usize..20_000),
    ) {
        let schema = LogSchema::new();
        let compiler = QueryCompiler::new(&schema);
        let params = SearchParams { q, from, to, stream, limit, sort, search_after, aggs: None };
        if let Err(message) = logwarden_query_api::check_params_for_tests(params, &compiler, &schema) {
            prop_assert!(names_a_parameter(&message), "{message}");
        }
    }

    #[test]
    fn aggregation_requests_are_checked_without_panicking(json in arbitrary_json(3)) {
        let schema = LogSchema::new();
        let compiler = QueryCompiler::new(&schema);
        let params = SearchParams { aggs: Some(json), ..SearchParams::default() };
        if let Err(message) = logwarden_query_api::check_params_for_tests(params, &compiler, &schema) {
            prop_assert!(names_a_parameter(&message), "{message}");
        }
    }

    #[test]
    fn elasticsearch_query_dsl_translates_or_is_refused(json in arbitrary_json(4)) {
        if let Err(error) = logwarden_query_api::search::es::translate_query_for_tests(&json) {
            // A 400 with a message, never another kind of error.
            prop_assert!(error.starts_with("BadRequest") && error.contains("message"), "{json}: {error}");
        }
    }
}
