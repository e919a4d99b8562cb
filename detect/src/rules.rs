//! Loading Sigma rules: files, directories and globs, the field-mapping
//! pipelines, and the report of what was loaded and what was not.
//!
//! A rule the engine or the mapping cannot support is reported with the
//! reason and not loaded; it never runs as if it worked. Detection rules
//! are grouped by logsource, one engine per group, so an event is only
//! evaluated against the rules of the logsources it belongs to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rsigma_eval::correlation::compile_correlation;
use rsigma_eval::pipeline::apply_pipelines_to_correlation;
use rsigma_eval::{Engine, EvaluationResult, Pipeline, apply_pipelines, parse_pipeline};
use rsigma_parser::{CorrelationRule, LogSource, SigmaRule, parse_sigma_yaml};
use serde::Serialize;
use serde_json::Value;

use crate::alert::RuleRef;
use crate::view::EventSource;

/// The field mappings shipped with logwarden, applied before the
/// operator's own pipelines.
pub const BUILTIN_PIPELINES: &[(&str, &str)] = &[
    ("config/sigma/windows.yml", include_str!("../../config/sigma/windows.yml")),
    ("config/sigma/linux.yml", include_str!("../../config/sigma/linux.yml")),
];

/// Products whose events logwarden recognises (see `view::event_source`).
pub const KNOWN_PRODUCTS: &[&str] = &["linux", "windows"];

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rule path `{0}` matches no file")]
    NoMatch(String),
    #[error("rule path `{pattern}` is not a valid glob: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline {path}: {message}")]
    Pipeline { path: String, message: String },
}

/// A rule that is loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    #[serde(flatten)]
    pub rule: RuleRef,
    pub file: String,
    /// `detection` or the correlation type (`event_count`, `temporal`, …).
    pub kind: String,
    pub logsource: BTreeMap<String, String>,
    /// Correlations fed by this rule; empty for a standalone rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
    /// Whether a match is an alert of its own (false for a rule that only
    /// feeds correlations, unless one of them says `generate: true`).
    pub alerts: bool,
    /// Whether the logsource names a product logwarden does not ingest.
    pub matches_no_source: bool,
}

/// A rule that was not loaded, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unsupported {
    pub file: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub reason: String,
}

/// What loading found: every rule is in `loaded`, `unsupported` or
/// (when its file did not parse) `errors`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub files: usize,
    pub loaded: Vec<RuleInfo>,
    pub unsupported: Vec<Unsupported>,
    pub errors: Vec<Unsupported>,
}

/// A correlation, ready for the correlation stage: its compiled form (for
/// group keys) and the rules it needs to build its own engine.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub info: RuleRef,
    pub rule: CorrelationRule,
    pub compiled: rsigma_eval::CompiledCorrelation,
    /// The (transformed) detection rules it references.
    pub inputs: Vec<SigmaRule>,
    /// Ids of those rules.
    pub input_ids: Vec<String>,
}

impl Correlation {
    /// The stable id of the input rule a detection result came from (the
    /// result names a rule by id, or by title when it has none).
    pub fn input_id(&self, rule_id: Option<&str>, title: &str) -> Option<&str> {
        self.inputs
            .iter()
            .zip(&self.input_ids)
            .find(|(rule, _)| match (&rule.id, rule_id) {
                (Some(id), Some(wanted)) => id == wanted,
                (None, None) => rule.title == title,
                _ => false,
            })
            .map(|(_, id)| id.as_str())
    }
}

/// The detection rules of one logsource.
struct Group {
    logsource: LogSource,
    engine: Engine,
}

/// Every loaded rule, ready to evaluate.
pub struct RuleSet {
    groups: Vec<Group>,
    rules: BTreeMap<String, RuleInfo>,
    correlations: Vec<Correlation>,
    pub report: LoadReport,
}

/// A detection rule's match on one event.
#[derive(Debug, Clone)]
pub struct Match {
    pub rule_id: String,
    /// Matched field values (`field` → value), as the engine reports them.
    pub fields: Vec<(String, Value)>,
}

/// The stable id of a rule: its `id`, else its `name`, else its title.
fn stable_id(id: &Option<String>, name: &Option<String>, title: &str) -> String {
    id.clone().or_else(|| name.clone()).unwrap_or_else(|| title.to_string())
}

fn logsource_map(logsource: &LogSource) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (key, value) in [("product", &logsource.product), ("service", &logsource.service), ("category", &logsource.category)] {
        if let Some(value) = value {
            map.insert(key.to_string(), value.clone());
        }
    }
    map
}

/// The [`RuleRef`] of a detection or correlation rule (both have these fields).
macro_rules! rule_ref {
    ($id:expr, $rule:expr) => {
        RuleRef {
            id: $id.clone(),
            title: $rule.title.clone(),
            level: level_text($rule.level),
            tags: $rule.tags.clone(),
            author: $rule.author.clone(),
            description: $rule.description.clone(),
        }
    };
}

fn level_text(level: Option<rsigma_parser::Level>) -> String {
    level.map(|l| l.as_str().to_string()).unwrap_or_else(|| "medium".to_string())
}

/// Expands rule paths: a file, a directory (its `.yml`/`.yaml` files,
/// recursively) or a glob. A path that matches nothing is an error: a
/// typo must not leave a SOC without its rules.
pub fn expand_paths(paths: &[String]) -> Result<Vec<PathBuf>, RulesError> {
    let mut files = BTreeSet::new();
    for pattern in paths {
        let path = Path::new(pattern);
        let before = files.len();
        if path.is_dir() {
            collect_dir(path, &mut files)?;
        } else if path.is_file() {
            files.insert(path.to_path_buf());
        } else {
            let entries = glob::glob(pattern)
                .map_err(|e| RulesError::BadGlob { pattern: pattern.clone(), message: e.to_string() })?;
            for entry in entries.flatten() {
                if entry.is_dir() {
                    collect_dir(&entry, &mut files)?;
                } else if is_rule_file(&entry) {
                    files.insert(entry);
                }
            }
        }
        if files.len() == before && !path.is_dir() {
            return Err(RulesError::NoMatch(pattern.clone()));
        }
    }
    Ok(files.into_iter().collect())
}

fn is_rule_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

fn collect_dir(dir: &Path, files: &mut BTreeSet<PathBuf>) -> Result<(), RulesError> {
    let read = |e| RulesError::Read { path: dir.display().to_string(), source: e };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_dir(&path, files)?;
        } else if is_rule_file(&path) {
            files.insert(path);
        }
    }
    Ok(())
}

/// The built-in pipelines followed by the operator's.
pub fn load_pipelines(extra: &[PathBuf]) -> Result<Vec<Pipeline>, RulesError> {
    let mut pipelines = Vec::new();
    for (name, text) in BUILTIN_PIPELINES {
        pipelines.push(parse_pipeline(text).map_err(|e| RulesError::Pipeline { path: name.to_string(), message: e.to_string() })?);
    }
    for path in extra {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RulesError::Read { path: path.display().to_string(), source: e })?;
        pipelines.push(parse_pipeline(&text).map_err(|e| RulesError::Pipeline { path: path.display().to_string(), message: e.to_string() })?);
    }
    Ok(pipelines)
}

/// One parsed rule with the file it came from.
struct Parsed<T> {
    file: String,
    rule: T,
}

impl RuleSet {
    /// No rules at all.
    pub fn empty() -> RuleSet {
        RuleSet { groups: Vec::new(), rules: BTreeMap::new(), correlations: Vec::new(), report: LoadReport::default() }
    }

    /// Loads the rules at `paths` with the built-in and `pipelines`.
    pub fn load(paths: &[String], pipelines: &[PathBuf]) -> Result<RuleSet, RulesError> {
        let files = expand_paths(paths)?;
        let pipelines = load_pipelines(pipelines)?;
        let mut report = LoadReport { files: files.len(), ..LoadReport::default() };
        let mut rules = Vec::new();
        let mut correlations = Vec::new();
        for file in &files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| RulesError::Read { path: name.clone(), source: e })?;
            match parse_sigma_yaml(&text) {
                Ok(collection) => {
                    for error in &collection.errors {
                        report.errors.push(Unsupported { file: name.clone(), id: None, title: None, reason: error.clone() });
                    }
                    for filter in &collection.filters {
                        report.unsupported.push(Unsupported {
                            file: name.clone(),
                            id: filter.id.clone(),
                            title: Some(filter.title.clone()),
                            reason: "Sigma filters are not applied by logwarden yet; add the exclusion to the rule".into(),
                        });
                    }
                    rules.extend(collection.rules.into_iter().map(|rule| Parsed { file: name.clone(), rule }));
                    correlations.extend(collection.correlations.into_iter().map(|rule| Parsed { file: name.clone(), rule }));
                }
                Err(e) => report.errors.push(Unsupported { file: name.clone(), id: None, title: None, reason: e.to_string() }),
            }
        }
        Ok(Self::build(rules, correlations, &pipelines, report))
    }

    /// Loads rules from YAML text (tests, `rules test` on one document).
    pub fn from_yaml(text: &str) -> Result<RuleSet, RulesError> {
        let pipelines = load_pipelines(&[])?;
        let collection = parse_sigma_yaml(text).map_err(|e| RulesError::Pipeline { path: "<rules>".into(), message: e.to_string() })?;
        let file = "<rules>".to_string();
        let mut report = LoadReport { files: 1, ..LoadReport::default() };
        for error in &collection.errors {
            report.errors.push(Unsupported { file: file.clone(), id: None, title: None, reason: error.clone() });
        }
        let rules = collection.rules.into_iter().map(|rule| Parsed { file: file.clone(), rule }).collect();
        let correlations = collection.correlations.into_iter().map(|rule| Parsed { file: file.clone(), rule }).collect();
        Ok(Self::build(rules, correlations, &pipelines, report))
    }

    fn build(
        rules: Vec<Parsed<SigmaRule>>,
        correlations: Vec<Parsed<CorrelationRule>>,
        pipelines: &[Pipeline],
        mut report: LoadReport,
    ) -> RuleSet {
        // Detection rules: transformed by the pipelines, compiled alone first
        // so that one bad rule is reported without touching the others.
        let mut transformed: BTreeMap<String, (String, SigmaRule)> = BTreeMap::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for Parsed { file, rule } in rules {
            let id = stable_id(&rule.id, &rule.name, &rule.title);
            let unsupported = |reason: String| Unsupported { file: file.clone(), id: rule.id.clone(), title: Some(rule.title.clone()), reason };
            if transformed.contains_key(&id) {
                report.unsupported.push(unsupported(format!("another rule has the id {id}")));
                continue;
            }
            let mut mapped = rule.clone();
            // rsigma names a match by the rule's id: a rule known by its
            // name alone gets that name as id, so correlations find it.
            mapped.id.get_or_insert_with(|| id.clone());
            if let Err(e) = apply_pipelines(pipelines, &mut mapped) {
                report.unsupported.push(unsupported(format!("field mapping: {e}")));
                continue;
            }
            if let Err(reason) = map_fieldrefs(pipelines, &mut mapped) {
                report.unsupported.push(unsupported(reason));
                continue;
            }
            if let Err(e) = rsigma_eval::compile_rule(&mapped) {
                report.unsupported.push(unsupported(e.to_string()));
                continue;
            }
            if let Some(name) = &rule.name {
                names.insert(name.clone(), id.clone());
            }
            transformed.insert(id, (file, mapped));
        }
        let resolve = |reference: &str| -> Option<String> {
            if transformed.contains_key(reference) {
                Some(reference.to_string())
            } else {
                names.get(reference).cloned()
            }
        };

        // Correlations: every referenced rule must be a loaded detection rule.
        let mut feeds: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut generate: BTreeSet<String> = BTreeSet::new();
        let mut loaded_correlations = Vec::new();
        let correlation_ids: BTreeSet<String> = correlations
            .iter()
            .flat_map(|c| [c.rule.id.clone(), c.rule.name.clone()])
            .flatten()
            .collect();
        for Parsed { file, rule } in correlations {
            let id = stable_id(&rule.id, &rule.name, &rule.title);
            let unsupported = |reason: String| Unsupported { file: file.clone(), id: rule.id.clone(), title: Some(rule.title.clone()), reason };
            let mut input_ids = Vec::new();
            let mut problem = None;
            for reference in &rule.rules {
                match resolve(reference) {
                    Some(input) => input_ids.push(input),
                    None if correlation_ids.contains(reference) => {
                        problem = Some(format!("references the correlation `{reference}`: chained correlations are not supported by the streaming detector yet"));
                    }
                    None => problem = Some(format!("references `{reference}`, which is not a loaded detection rule")),
                }
            }
            if let Some(problem) = problem {
                report.unsupported.push(unsupported(problem));
                continue;
            }
            let mut mapped = rule.clone();
            require_all_rules_by_default(&mut mapped);
            if let Err(e) = apply_pipelines_to_correlation(pipelines, &mut mapped) {
                report.unsupported.push(unsupported(format!("field mapping: {e}")));
                continue;
            }
            let compiled = match compile_correlation(&mapped) {
                Ok(compiled) => compiled,
                Err(e) => {
                    report.unsupported.push(unsupported(e.to_string()));
                    continue;
                }
            };
            for input in &input_ids {
                feeds.entry(input.clone()).or_default().push(id.clone());
                if rule.generate {
                    generate.insert(input.clone());
                }
            }
            let info = rule_ref!(id, rule);
            let inputs = input_ids.iter().map(|i| transformed[i].1.clone()).collect();
            report.loaded.push(RuleInfo {
                rule: info.clone(),
                file: file.clone(),
                kind: rule.correlation_type.as_str().to_string(),
                logsource: BTreeMap::new(),
                feeds: Vec::new(),
                alerts: true,
                matches_no_source: false,
            });
            loaded_correlations.push(Correlation { info, rule: mapped, compiled, inputs, input_ids });
        }

        // Engines, one per logsource.
        let mut groups: Vec<Group> = Vec::new();
        let mut infos = BTreeMap::new();
        for (id, (file, rule)) in transformed {
            let group = match groups.iter_mut().position(|g| same_logsource(&g.logsource, &rule.logsource)) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(Group { logsource: rule.logsource.clone(), engine: Engine::new() });
                    groups.last_mut().expect("just pushed")
                }
            };
            // Compiled once above; this cannot fail differently.
            if let Err(e) = group.engine.add_rule(&rule) {
                report.unsupported.push(Unsupported { file, id: rule.id.clone(), title: Some(rule.title.clone()), reason: e.to_string() });
                continue;
            }
            let rule_feeds = feeds.remove(&id).unwrap_or_default();
            let info = RuleInfo {
                rule: rule_ref!(id, rule),
                file,
                kind: "detection".into(),
                logsource: logsource_map(&rule.logsource),
                alerts: rule_feeds.is_empty() || generate.contains(&id),
                feeds: rule_feeds,
                matches_no_source: rule
                    .logsource
                    .product
                    .as_deref()
                    .is_some_and(|p| !KNOWN_PRODUCTS.iter().any(|k| k.eq_ignore_ascii_case(p))),
            };
            report.loaded.push(info.clone());
            infos.insert(id, info);
        }
        report.loaded.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        RuleSet { groups, rules: infos, correlations: loaded_correlations, report }
    }

    /// The detection rules that match `view` (an event's Sigma view) among
    /// those whose logsource the event belongs to.
    pub fn evaluate(&self, view: &Value, source: &EventSource) -> Vec<Match> {
        let event = rsigma_eval::JsonEvent::borrow(view);
        let mut matches = Vec::new();
        for group in &self.groups {
            if !source.admits(&group.logsource) {
                continue;
            }
            for result in group.engine.evaluate(&event) {
                if let Some(m) = self.to_match(result) {
                    matches.push(m);
                }
            }
        }
        matches
    }

    fn to_match(&self, result: EvaluationResult) -> Option<Match> {
        let id = stable_id(&result.header.rule_id, &None, &result.header.rule_title);
        let id = if self.rules.contains_key(&id) {
            id
        } else {
            // A rule without id is known by its name or title.
            self.rules.values().find(|r| r.rule.title == result.header.rule_title)?.rule.id.clone()
        };
        let fields = result
            .as_detection()
            .map(|d| d.matched_fields.iter().map(|f| (f.field.clone(), f.value.clone())).collect())
            .unwrap_or_default();
        Some(Match { rule_id: id, fields })
    }

    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.get(id)
    }

    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    pub fn correlation(&self, id: &str) -> Option<&Correlation> {
        self.correlations.iter().find(|c| c.info.id == id)
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }
}

/// Renames the fields that `fieldref` values point to the way the
/// pipelines rename fields of this rule's logsource. rsigma's mapping
/// renames a rule's fields but not a `fieldref` target, which would then
/// name a field no event has: the comparison would silently never hold.
fn map_fieldrefs(pipelines: &[Pipeline], rule: &mut SigmaRule) -> Result<(), String> {
    use rsigma_parser::{Detection, DetectionItem, Modifier, SigmaString, SigmaValue};
    fn visit(detection: &mut Detection, f: &mut dyn FnMut(&mut DetectionItem) -> Result<(), String>) -> Result<(), String> {
        match detection {
            Detection::AllOf(items) => items.iter_mut().try_for_each(&mut *f),
            Detection::AnyOf(list) | Detection::And(list) => list.iter_mut().try_for_each(|d| visit(d, f)),
            Detection::ArrayMatch { body, .. } => visit(body, f),
            Detection::Conditional { named, .. } => named.values_mut().try_for_each(|d| visit(d, f)),
            Detection::Keywords(_) => Ok(()),
        }
    }
    let template = rule.clone();
    let mut named = std::mem::take(&mut rule.detection.named);
    let result = named.values_mut().try_for_each(|detection| {
        visit(detection, &mut |item| {
            if !item.field.has_modifier(Modifier::FieldRef) {
                return Ok(());
            }
            for value in &mut item.values {
                let SigmaValue::String(target) = value else { continue };
                let Some(name) = target.as_plain() else { continue };
                let mapped = mapped_field_name(pipelines, &template, &name)?;
                *value = SigmaValue::String(SigmaString::from_raw(&mapped));
            }
            Ok(())
        })
    });
    rule.detection.named = named;
    result
}

/// The name the pipelines give field `name` in a rule like `template`.
fn mapped_field_name(pipelines: &[Pipeline], template: &SigmaRule, name: &str) -> Result<String, String> {
    use rsigma_parser::{Detection, DetectionItem, FieldSpec, SigmaString, SigmaValue};
    let mut probe = template.clone();
    let item = DetectionItem { field: FieldSpec::new(Some(name.to_string()), Vec::new()), values: vec![SigmaValue::String(SigmaString::new("x"))] };
    probe.detection.named = [("probe".to_string(), Detection::AllOf(vec![item]))].into();
    probe.detection.conditions = vec![rsigma_parser::parse_condition("probe").map_err(|e| e.to_string())?];
    probe.detection.condition_strings = vec!["probe".to_string()];
    apply_pipelines(pipelines, &mut probe).map_err(|e| format!("field mapping of fieldref `{name}`: {e}"))?;
    match probe.detection.named.get("probe") {
        Some(Detection::AllOf(items)) if items.len() == 1 => items[0]
            .field
            .name
            .clone()
            .ok_or_else(|| format!("fieldref `{name}` maps to no field")),
        _ => Err(format!("fieldref `{name}` maps to several fields; a field reference must name one")),
    }
}

/// A temporal correlation without a condition needs every referenced rule
/// to match (Sigma correlation specification, "Temporal Proximity").
/// rsigma-parser 0.23 reads an absent condition as `gte: 1`, which would
/// fire on any single rule; an explicit `gte: 1` means the same thing
/// for a temporal correlation, so both become "all rules".
fn require_all_rules_by_default(rule: &mut CorrelationRule) {
    use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationType};
    if !matches!(rule.correlation_type, CorrelationType::Temporal | CorrelationType::TemporalOrdered) {
        return;
    }
    if let CorrelationCondition::Threshold { predicates, field: None, percentile: None } = &mut rule.condition
        && predicates.as_slice() == [(ConditionOperator::Gte, 1)]
    {
        predicates[0].1 = rule.rules.len() as u64;
    }
}

/// Lint findings of a rule file (rsigma's linter) as (severity, rule,
/// message); severity is `error`, `warning`, `info` or `hint`.
pub fn lint(text: &str) -> Vec<(String, String, String)> {
    rsigma_parser::lint_yaml_str(text)
        .into_iter()
        .map(|w| (w.severity.to_string().to_lowercase(), w.rule.to_string(), format!("{} (at {})", w.message, w.path)))
        .collect()
}

fn same_logsource(a: &LogSource, b: &LogSource) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| x.as_deref().map(str::to_ascii_lowercase) == y.as_deref().map(str::to_ascii_lowercase);
    eq(&a.product, &b.product) && eq(&a.service, &b.service) && eq(&a.category, &b.category)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{event_source, sigma_view};
    use chrono::Utc;
    use logwarden_event::Event;

    const HEAD: &str = r#"
title: SSH failed login
id: 11111111-1111-1111-1111-111111111111
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.outcome: failure
    condition: selection
level: low
---
title: Windows cmdkey
id: 22222222-2222-2222-2222-222222222222
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\cmdkey.exe'
    condition: selection
level: high
---
title: Broken
id: 33333333-3333-3333-3333-333333333333
logsource:
    product: linux
detection:
    selection:
        message|re: '(unclosed'
    condition: selection
"#;

    const CHAINED: &str = r#"
title: Chained
id: 55555555-5555-5555-5555-555555555555
correlation:
    type: event_count
    rules:
        - 44444444-4444-4444-4444-444444444444
    group-by:
        - source.ip
    timespan: 1h
    condition:
        gte: 2
"#;

    /// Detections, a broken rule, the brute-force correlation and a
    /// correlation of it.
    fn rules_text() -> String {
        let brute_force = crate::test_sigma::event_count(
            "SSH brute force",
            "44444444-4444-4444-4444-444444444444",
            "",
            &["11111111-1111-1111-1111-111111111111"],
            "5m",
            3,
        );
        format!("{HEAD}---\n{brute_force}---{CHAINED}")
    }

    fn sshd_failure() -> Event {
        let mut event = Event::new("Failed password for root from 10.0.0.5 port 22 ssh2", Utc::now());
        event.process_name = Some("sshd".into());
        event.event_outcome = Some("failure".into());
        event.source_ip = Some("10.0.0.5".into());
        event
    }

    #[test]
    fn loads_reports_and_routes_by_logsource() {
        let rules = RuleSet::from_yaml(&rules_text()).unwrap();
        let reasons: Vec<_> = rules.report.unsupported.iter().map(|u| (u.id.clone().unwrap(), u.reason.clone())).collect();
        assert!(reasons.iter().any(|(id, _)| id.starts_with("3333")), "{reasons:?}");
        assert!(reasons.iter().any(|(id, r)| id.starts_with("5555") && r.contains("chained")), "{reasons:?}");
        assert_eq!(rules.rule_count(), 3);
        let failed = rules.rule("11111111-1111-1111-1111-111111111111").unwrap();
        assert_eq!(failed.feeds, vec!["44444444-4444-4444-4444-444444444444".to_string()]);
        assert!(!failed.alerts, "a rule that only feeds a correlation is not an alert by itself");

        let view = sigma_view(&sshd_failure());
        let matches = rules.evaluate(&view, &event_source(&view));
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].rule_id, "11111111-1111-1111-1111-111111111111");

        // The same fields on a Windows-shaped event: the sshd rule must not match.
        let mut windows = sshd_failure();
        windows.process_name = None;
        windows.fields.insert("Event".into(), serde_json::json!({"System": {"Channel": "Security", "EventID": 4625}}));
        let view = sigma_view(&windows);
        assert!(rules.evaluate(&view, &event_source(&view)).is_empty());
    }

    #[test]
    fn a_path_that_matches_nothing_is_an_error() {
        let error = RuleSet::load(&["/nonexistent/rules/*.yml".into()], &[]).err().unwrap();
        assert!(error.to_string().contains("matches no file"), "{error}");
    }
}
