#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &str| logwarden_parse_fuzz::check_parser(line, logwarden_parse::leef::parse_leef));
