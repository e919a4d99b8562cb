#![no_main]
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use logwarden_parse::PatternLibrary;

static LIBRARY: LazyLock<PatternLibrary> = LazyLock::new(PatternLibrary::builtin);

fuzz_target!(|input: &str| {
    // The first line picks the program (as a syslog header would), the rest
    // is the message; no program = whole-line patterns only.
    let (program, text) = match input.split_once('\n') {
        Some((program, text)) => (Some(program), text),
        None => (None, input),
    };
    logwarden_parse_fuzz::check_parser(text, |line, event| {
        LIBRARY.apply(line, program, logwarden_parse::Tz::UTC, event).is_some()
    });
});
