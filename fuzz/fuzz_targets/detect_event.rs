#![no_main]
//! Any event the collector can produce (a JSON document or a log line,
//! parsed as HTTP ingest parses it) through the Sigma view, the logsource
//! routing and the rules (SigmaHQ Linux rules, a Windows rule, the SSH
//! brute-force correlation): alerts or hits, never a panic.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logwarden_collector::http::line_event;
use logwarden_collector::parse::{LineContext, Parsers};
use logwarden_detect::alert::EventRef;
use logwarden_detect::rules::RuleSet;
use logwarden_detect::stage::detect::outputs_of;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let paths = vec![
            format!("{root}/rules"),
            format!("{root}/../shared/data/sigma/linux"),
            format!("{root}/../shared/data/sigma/regression/07f8bdc2-c9b3-472a-9817-5a670b872f53/rule.yml"),
        ];
        RuleSet::load(&paths, &[]).expect("the fuzz rules load")
    })
}

fuzz_target!(|text: &str| {
    let parsers = Parsers::shared_default();
    let ctx = LineContext { ingested: chrono::Utc::now(), host_name: "fuzz", file_path: None, stream: None };
    let Ok(event) = line_event(parsers, text, &ctx) else { return };
    let reference = EventRef { event_id: event.id.clone(), stream: event.stream.clone(), partition: 0, offset: 0, timestamp: event.timestamp };
    for output in outputs_of(rules(), &event, reference) {
        let _ = output;
    }
});
