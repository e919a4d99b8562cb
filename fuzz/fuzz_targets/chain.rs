#![no_main]
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use logwarden_parse::{LineContext, ParserKind, Parsers};

static CHAINS: LazyLock<Vec<Parsers>> = LazyLock::new(|| {
    let auto = Parsers::default();
    vec![
        auto.with_chain(vec![ParserKind::Syslog, ParserKind::Cef, ParserKind::Leef, ParserKind::Json, ParserKind::Patterns]),
        auto.with_chain(vec![ParserKind::Cef]),
        auto,
    ]
});

fuzz_target!(|line: &str| {
    let ctx = LineContext { ingested: logwarden_parse_fuzz::received(), host_name: "fuzz", file_path: None, stream: None };
    for parsers in CHAINS.iter() {
        let event = parsers.parse(line, &ctx);
        assert_eq!(event.original, line);
        assert!(event.host_name.is_some());
        assert!(logwarden_event::is_valid_stream_name(&event.stream), "stream {:?}", event.stream);
        if event.parse_error.is_some() {
            // Unrecognized: the line is kept whole, the time is the receipt time.
            assert_eq!(event.message, line);
            assert_eq!(event.timestamp, ctx.ingested);
        }
        let decoded = logwarden_event::wire::decode(&logwarden_event::wire::encode(&event)).expect("decodes");
        assert_eq!(decoded, event);
    }
});
