//! Conformance with SigmaHQ's regression data: every Windows rule of
//! `shared/data/sigma/regression/<id>/` must match the real EVTX-rendered
//! event recorded with it, or be reported unsupported with a reason. A rule
//! that loads and then silently misses its own event is a failure.
//!
//! Events reach the rules the way the pipeline delivers them: the event
//! JSON (compacted to one line, as a shipper writes it) goes through the
//! collector's parser chain (the `[collector.parse]` defaults), is encoded
//! for Kafka and decoded as the detector reads it. The data is read in
//! place from the shared folder, never copied into the repository.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use logwarden_detect::rules::RuleSet;
use logwarden_detect::view::{event_source, sigma_view};
use logwarden_event::Event;
use logwarden_parse::Parsers;
use serde_json::Value;

use common::{DATA, collector_parsers, ingest};

/// The JSON documents of an `event.json` (some hold several, one after the
/// other), each compacted to one line.
fn event_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|doc| doc.unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_string())
        .collect()
}

fn regression_cases() -> Vec<PathBuf> {
    let dir = Path::new(DATA).join("sigma/regression");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("rule.yml").is_file())
        .collect();
    cases.sort();
    cases
}

/// An sshd failure from loghub's OpenSSH log, as the collector reads it.
fn sshd_event(parsers: &Parsers) -> Event {
    let path = format!("{DATA}/loghub/OpenSSH_2k.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().find(|l| l.contains("Failed password")).expect("a failed password line");
    let event = ingest(parsers, line, &path);
    assert_eq!(event.process_name.as_deref(), Some("sshd"));
    event
}

enum Outcome {
    /// Matched `n` of the case's events.
    Matched(usize, usize),
    Unsupported(String),
    /// Loaded and evaluated, but matched none of its events.
    Missed(String),
}

#[test]
fn every_regression_rule_matches_its_event_or_says_why_not() {
    let parsers = collector_parsers();
    let sshd = sshd_event(&parsers);
    let sshd_view = sigma_view(&sshd);
    let sshd_source = event_source(&sshd_view);
    assert_eq!(sshd_source.product.as_deref(), Some("linux"));

    let cases = regression_cases();
    assert_eq!(cases.len(), 101, "the regression set has 101 cases");
    let mut outcomes = BTreeMap::new();
    let mut cross_matches = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let rule_path = case.join("rule.yml").display().to_string();
        let rules = RuleSet::load(std::slice::from_ref(&rule_path), &[]).expect("rule file loads");
        assert!(rules.report.errors.is_empty(), "{name}: {:?}", rules.report.errors);
        let outcome = match rules.report.loaded.as_slice() {
            [] => match rules.report.unsupported.first() {
                Some(unsupported) if !unsupported.reason.is_empty() => Outcome::Unsupported(unsupported.reason.clone()),
                _ => Outcome::Missed("neither loaded nor reported unsupported".into()),
            },
            [loaded] => {
                let lines = event_lines(&case.join("event.json"));
                let mut matched = 0;
                let mut missed = String::new();
                for line in &lines {
                    let event = ingest(&parsers, line, "C:\\Windows\\System32\\winevt\\Logs\\export.json");
                    let view = sigma_view(&event);
                    let source = event_source(&view);
                    if rules.evaluate(&view, &source).iter().any(|m| m.rule_id == loaded.rule.id) {
                        matched += 1;
                    } else if missed.is_empty() {
                        missed = format!("logsource {:?} of the event {source:?}", loaded.logsource);
                    }
                }
                if matched > 0 { Outcome::Matched(matched, lines.len()) } else { Outcome::Missed(missed) }
            }
            more => Outcome::Missed(format!("{} rules in one file", more.len())),
        };
        // No Windows rule may match a Linux event.
        for m in rules.evaluate(&sshd_view, &sshd_source) {
            cross_matches.push(format!("{name}: {} matched an sshd line", m.rule_id));
        }
        outcomes.insert(name, outcome);
    }

    let mut table = String::from("\nregression case                        outcome\n");
    let (mut matched, mut unsupported, mut missed) = (0, 0, 0);
    for (name, outcome) in &outcomes {
        let text = match outcome {
            Outcome::Matched(n, of) => {
                matched += 1;
                format!("matched ({n}/{of} events)")
            }
            Outcome::Unsupported(reason) => {
                unsupported += 1;
                format!("unsupported: {reason}")
            }
            Outcome::Missed(why) => {
                missed += 1;
                format!("NOT matched: {why}")
            }
        };
        table.push_str(&format!("{name}  {text}\n"));
    }
    table.push_str(&format!("{matched} matched, {unsupported} unsupported, {missed} not matched\n"));
    println!("{table}");
    assert!(cross_matches.is_empty(), "{cross_matches:#?}");
    assert_eq!(missed, 0, "{matched} of {} matched; rules that load must match their own event:{table}", outcomes.len());
}

#[test]
fn linux_rules_never_match_a_windows_event() {
    let parsers = collector_parsers();
    let rules = RuleSet::load(&[format!("{DATA}/sigma/linux")], &[]).expect("linux rules load");
    assert!(!rules.report.loaded.is_empty());
    let mut checked = 0;
    for case in regression_cases() {
        for line in event_lines(&case.join("event.json")) {
            let event = ingest(&parsers, &line, "C:\\export.json");
            let view = sigma_view(&event);
            let source = event_source(&view);
            assert_eq!(source.product.as_deref(), Some("windows"), "{}", case.display());
            let matches = rules.evaluate(&view, &source);
            assert!(matches.is_empty(), "{}: {:?}", case.display(), matches.iter().map(|m| &m.rule_id).collect::<Vec<_>>());
            checked += 1;
        }
    }
    assert!(checked >= 101);
}


/// The cmdkey rule of the regression set, and its Sysmon event's fields.
const CMDKEY_RULE: &str = "07f8bdc2-c9b3-472a-9817-5a670b872f53";

fn matches(rules: &RuleSet, parsers: &Parsers, line: &str) -> Vec<String> {
    let event = ingest(parsers, line, "C:\\export.json");
    let view = sigma_view(&event);
    rules.evaluate(&view, &event_source(&view)).into_iter().map(|m| m.rule_id).collect()
}

fn regression_rule(id: &str) -> RuleSet {
    let path = Path::new(DATA).join("sigma/regression").join(id).join("rule.yml");
    let rules = RuleSet::load(&[path.display().to_string()], &[]).unwrap();
    assert_eq!(rules.report.loaded.len(), 1);
    rules
}

#[test]
fn winlogbeat_and_security_events_reach_sysmon_named_rules() {
    let parsers = collector_parsers();
    let rules = regression_rule(CMDKEY_RULE);
    // winlogbeat's shape, as the JSON parser flattens it (`winlog.event_id`
    // becomes `event.code`).
    let winlogbeat = r#"{"@timestamp":"2026-02-11T08:15:01.123Z","message":"Process Create","host":{"name":"WS1"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\Windows\\System32\\cmdkey.exe","OriginalFileName":"cmdkey.exe","CommandLine":"cmdkey /list"}}}"#;
    assert_eq!(matches(&rules, &parsers, winlogbeat), [CMDKEY_RULE]);
    // Security 4688 names the image `NewProcessName`.
    let security = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4688,"Channel":"Security","Computer":"WS1"},"EventData":{"SubjectUserName":"alice","NewProcessName":"C:\\Windows\\System32\\cmdkey.exe","CommandLine":"cmdkey /list","ParentProcessName":"C:\\Windows\\System32\\cmd.exe"}}}"##;
    assert_eq!(matches(&rules, &parsers, security), [CMDKEY_RULE]);
    // The same data on the Security channel under another event id is no
    // process creation.
    assert!(matches(&rules, &parsers, &security.replace("4688", "4689")).is_empty());
}

#[test]
fn event_ids_with_qualifiers_user_data_and_hashes_have_their_sigma_names() {
    let parsers = collector_parsers();
    let rules = RuleSet::from_yaml(
        r#"
title: System log cleared
id: 10000000-0000-0000-0000-000000000001
logsource:
    product: windows
    service: system
detection:
    selection:
        EventID: 104
        Provider_Name: Microsoft-Windows-Eventlog
        SubjectUserName: alice
    condition: selection
---
title: Known imphash
id: 10000000-0000-0000-0000-000000000002
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Imphash: 03ad7a1af78bf7a500fb199cabe4c34a
    condition: selection
"#,
    )
    .unwrap();
    assert!(rules.report.unsupported.is_empty(), "{:?}", rules.report.unsupported);
    // evtx_dump writes `{"#text": 104, "#attributes": {"Qualifiers": …}}`
    // for an EventID with qualifiers; the data of 104 is in `UserData`.
    let cleared = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Eventlog"}},"EventID":{"#attributes":{"Qualifiers":0},"#text":104},"Channel":"System","Computer":"WS1"},"UserData":{"LogFileCleared":{"SubjectUserName":"alice","SubjectDomainName":"CORP","Channel":"System"}}}}"##;
    assert_eq!(matches(&rules, &parsers, cleared), ["10000000-0000-0000-0000-000000000001"]);
    let event = event_lines(&Path::new(DATA).join("sigma/regression").join(CMDKEY_RULE).join("event.json")).remove(0);
    assert_eq!(matches(&rules, &parsers, &event), ["10000000-0000-0000-0000-000000000002"]);
}

#[test]
fn a_sysmon_registry_event_is_the_category_of_its_event_type() {
    let parsers = collector_parsers();
    let rules = RuleSet::from_yaml(
        r#"
title: Run key added
id: 10000000-0000-0000-0000-000000000003
logsource:
    product: windows
    category: registry_add
detection:
    selection:
        TargetObject|contains: '\CurrentVersion\Run\'
    condition: selection
"#,
    )
    .unwrap();
    let event = |kind: &str| {
        format!(
            r#"{{"Event":{{"System":{{"EventID":12,"Channel":"Microsoft-Windows-Sysmon/Operational"}},"EventData":{{"EventType":"{kind}","TargetObject":"HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater","Image":"C:\\Users\\a\\x.exe"}}}}}}"#
        )
    };
    assert_eq!(matches(&rules, &parsers, &event("CreateKey")).len(), 1);
    assert!(matches(&rules, &parsers, &event("DeleteKey")).is_empty());
}

/// rsigma's field mappings rename a rule's fields but not the field a
/// `fieldref` names: `rules.rs` renames the target the same way, so
/// `User|fieldref: ParentUser` compares `Event.EventData.User` with
/// `Event.EventData.ParentUser` and the filter holds when they are equal.
#[test]
fn a_fieldref_filter_compares_the_mapped_fields() {
    let parsers = collector_parsers();
    let id = "d2b7a134-9c3e-4f8a-b56d-e0c1f8a29b47";
    let rules = regression_rule(id);
    let event = event_lines(&Path::new(DATA).join("sigma/regression").join(id).join("event.json")).remove(0);
    assert_eq!(matches(&rules, &parsers, &event), [id], "users differ: the rule fires");
    let same_user = event.replace(r"swachchhanda\\testuser", r"swachchhanda\\xodih");
    assert_ne!(same_user, event);
    assert!(matches(&rules, &parsers, &same_user).is_empty(), "User equals ParentUser: filtered out");
}
