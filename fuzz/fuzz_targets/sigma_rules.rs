#![no_main]
//! A Sigma rule file as an operator writes it (and `rules check` reads it):
//! loaded, reported unsupported or refused with a reason, never a panic.
use libfuzzer_sys::fuzz_target;
use logwarden_detect::rules::RuleSet;

fuzz_target!(|text: &str| {
    if let Ok(rules) = RuleSet::from_yaml(text) {
        let _ = rules.report.loaded.len() + rules.report.unsupported.len();
    }
});
