//! Properties of the whole chain on arbitrary input: never a panic, the raw
//! line always kept, and an unrecognized line always flagged.

use chrono::DateTime;
use logwarden_parse::{LineContext, ParserKind, Parsers};
use proptest::prelude::*;

static CHAINS: std::sync::LazyLock<[Parsers; 2]> =
    std::sync::LazyLock::new(|| [Parsers::default(), Parsers::new(vec![ParserKind::Patterns])]);

fn ctx() -> LineContext<'static> {
    LineContext {
        ingested: DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().to_utc(),
        host_name: "h",
        file_path: None,
        stream: None,
    }
}

/// Lines that look like the formats, so the properties reach deep paths.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "<[0-9]{1,3}>1 [-0-9T:.Z]{1,25} [a-z]{1,5} [a-z-]{1,4} [0-9-]{1,3} - (-|\\[[a-z@0-9]{1,4}( [a-z]{1,3}=\"[^\"]{0,5}\"){0,2}\\]) .{0,20}",
        "(<[0-9]{1,3}>)?[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [a-z]{1,6} [a-z]{1,6}(\\[[0-9]{1,6}\\])?: .{0,30}",
        "CEF:[0-9]\\|[^|]{0,4}\\|[^|]{0,4}\\|[^|]{0,3}\\|[^|]{0,3}\\|[^|]{0,5}\\|[0-9]{1,2}\\|([a-z]{1,4}=[^=]{0,6} ?){0,4}",
        "LEEF:[12]\\.0\\|[^|]{0,4}\\|[^|]{0,4}\\|[^|]{0,3}\\|[^|]{0,3}\\|(x09\\||\\^\\|)?([a-z]{1,4}=[^=\t^]{0,6}[\t^]?){0,4}",
        "\\{(\"[a-z.@]{1,8}\":(\"[^\"]{0,8}\"|[0-9]{1,12}|\\{\\}|null),?){0,4}\\}",
        "([a-z]{1,5}=(\"[^\"]{0,5}\"|[a-z0-9]{0,5}) ?){0,5}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chain_invariants(line in line()) {
        for parsers in CHAINS.iter() {
            let event = parsers.parse(&line, &ctx());
            prop_assert_eq!(&event.original, &line);
            prop_assert!(event.host_name.is_some());
            prop_assert!(logwarden_event::is_valid_stream_name(&event.stream));
            if event.parse_error.is_some() {
                prop_assert_eq!(event.timestamp, ctx().ingested);
                prop_assert_eq!(&event.message, &line);
            }
            // The wire format round-trips whatever the parsers produced.
            let decoded = logwarden_event::wire::decode(&logwarden_event::wire::encode(&event)).unwrap();
            prop_assert_eq!(decoded, event);
        }
    }
}
