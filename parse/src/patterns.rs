//! Named-capture regex patterns as data: the built-in library
//! (`config/patterns.toml`, embedded) plus operators' own files.
//!
//! A pattern file is TOML:
//!
//! ```toml
//! [[pattern]]
//! name = "sshd.failed"              # unique, reported in fields["parse.pattern"]
//! program = ["sshd"]                # optional: only for these process names
//! contains = "Failed "              # optional: cheap literal prefilter
//! regex = '^Failed (?P<ssh.method>\S+) for (?P<user.name>\S+) from (?P<source.address>\S+)'
//! timestamp_format = "%d/%b/%Y:%H:%M:%S %z"   # optional: for a group named `timestamp`
//! [pattern.fields]                  # static ECS fields set on a match
//! "event.category" = "authentication"
//! ```
//!
//! Naming rule for capture groups: **the group name is the ECS field name,
//! dots included** (`(?P<source.ip>…)`, `(?P<user.name>…)`); typed fields
//! (`source.port`, `process.pid`) are converted, names without an event
//! member land in `fields`. `source.address`/`destination.address` go to
//! `*.ip` when the value is an IP address, else to `*.domain`. Groups whose
//! name starts with `_` are helpers and not stored; a value of `-` or an
//! empty match means "absent". The group `timestamp` sets `@timestamp`
//! through `timestamp_format` (zone-less formats read in the syslog zone).
//! `program` matches the process name, its part before `(` or the part
//! inside (`sshd(pam_unix)` matches `sshd` and `pam_unix`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use logwarden_event::Event;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::ecs;

/// The library shipped with logwarden: sshd, sudo, su, PAM, cron,
/// iptables, Apache and nginx.
pub const BUILTIN: &str = include_str!("../../config/patterns.toml");

/// Why a pattern file was refused; `key` names the entry
/// (`pattern[3].regex`).
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("cannot read pattern file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Toml { origin: String, message: String },
    #[error("{origin}: {key}: {message}")]
    Invalid { origin: String, key: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pattern: Vec<RawPattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    name: String,
    #[serde(default)]
    program: Vec<String>,
    contains: Option<String>,
    regex: String,
    timestamp_format: Option<String>,
    #[serde(default)]
    fields: toml::Table,
}

#[derive(Debug, Clone)]
struct Pattern {
    name: String,
    programs: Vec<String>,
    contains: Option<String>,
    regex: Regex,
    timestamp_format: Option<String>,
    /// The groups stored on a match: index and ECS name (not `_…`, not
    /// `timestamp`), in the regex's order.
    stored: Vec<(usize, String)>,
    fields: Vec<(String, Value)>,
}

/// An ordered list of patterns: the first that matches wins.
///
/// Dispatched by program: for each program name a pattern lists, the
/// indexes of the patterns that can apply to it (its own and those without
/// `program`, in library order), so a line tries only those instead of
/// skipping every other program's patterns one by one.
#[derive(Debug, Clone, Default)]
pub struct PatternLibrary {
    patterns: Vec<Pattern>,
    /// Patterns without `program`: for whole lines and unlisted programs.
    generic: Vec<usize>,
    by_program: HashMap<String, Vec<usize>>,
}

impl PatternLibrary {
    /// The built-in library.
    pub fn builtin() -> PatternLibrary {
        PatternLibrary::from_toml(BUILTIN, "built-in patterns").expect("the built-in pattern library is valid")
    }

    /// Reads a pattern file; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<PatternLibrary, PatternError> {
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| PatternError::Toml { origin: origin.to_string(), message: e.to_string() })?;
        let invalid = |index: usize, field: &str, message: String| PatternError::Invalid {
            origin: origin.to_string(),
            key: format!("pattern[{index}].{field}"),
            message,
        };
        let mut patterns = Vec::with_capacity(raw.pattern.len());
        for (index, p) in raw.pattern.into_iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(invalid(index, "name", "must not be empty".into()));
            }
            let regex = Regex::new(&p.regex).map_err(|e| invalid(index, "regex", e.to_string()))?;
            if p.timestamp_format.is_some() != regex.capture_names().flatten().any(|n| n == "timestamp") {
                return Err(invalid(
                    index,
                    "timestamp_format",
                    "is needed exactly when the regex has a group named `timestamp`".into(),
                ));
            }
            let stored = regex
                .capture_names()
                .enumerate()
                .filter_map(|(index, name)| Some((index, name?.to_string())))
                .filter(|(_, name)| !name.starts_with('_') && name != "timestamp")
                .collect();
            let mut fields = Vec::new();
            for (key, value) in p.fields {
                let value = match value {
                    toml::Value::String(s) => Value::String(s),
                    toml::Value::Integer(i) => Value::from(i),
                    toml::Value::Boolean(b) => Value::from(b),
                    other => {
                        return Err(invalid(
                            index,
                            &format!("fields.{key}"),
                            format!("`{other}` must be a string, integer or boolean"),
                        ));
                    }
                };
                fields.push((key, value));
            }
            patterns.push(Pattern {
                name: p.name,
                programs: p.program,
                contains: p.contains.filter(|c| !c.is_empty()),
                regex,
                timestamp_format: p.timestamp_format,
                stored,
                fields,
            });
        }
        Ok(PatternLibrary::indexed(patterns))
    }

    fn indexed(patterns: Vec<Pattern>) -> PatternLibrary {
        let generic = (0..patterns.len()).filter(|&i| patterns[i].programs.is_empty()).collect();
        let mut by_program: HashMap<String, Vec<usize>> = HashMap::new();
        for program in patterns.iter().flat_map(|p| &p.programs) {
            if !by_program.contains_key(program) {
                let applies = |p: &Pattern| p.programs.is_empty() || p.programs.contains(program);
                let list = (0..patterns.len()).filter(|&i| applies(&patterns[i])).collect();
                by_program.insert(program.clone(), list);
            }
        }
        PatternLibrary { patterns, generic, by_program }
    }

    /// The patterns that can apply to `program`, in library order: those
    /// listing the process name, its part before `(`/`[` or the part inside
    /// `(…)`, and those without `program`.
    fn candidates(&self, program: Option<&str>) -> Cow<'_, [usize]> {
        let Some(process) = program else { return Cow::Borrowed(&self.generic) };
        let base = process.split(['(', '[']).next().unwrap_or(process);
        let inner = process.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')'));
        let mut lists = [Some(process), Some(base), inner].into_iter().flatten().filter_map(|k| self.by_program.get(k));
        let Some(first) = lists.next() else { return Cow::Borrowed(&self.generic) };
        let mut merged: Option<Vec<usize>> = None;
        for other in lists.filter(|l| !std::ptr::eq(*l, first)) {
            merged.get_or_insert_with(|| first.clone()).extend(other);
        }
        match merged {
            None => Cow::Borrowed(first),
            Some(mut merged) => {
                merged.sort_unstable();
                merged.dedup();
                Cow::Owned(merged)
            }
        }
    }

    /// Reads a pattern file from disk.
    pub fn load(path: &Path) -> Result<PatternLibrary, PatternError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PatternError::Read { path: path.display().to_string(), source })?;
        PatternLibrary::from_toml(&text, &path.display().to_string())
    }

    /// Appends `other`'s patterns after these.
    pub fn extend(&mut self, other: PatternLibrary) {
        let mut patterns = std::mem::take(&mut self.patterns);
        patterns.extend(other.patterns);
        *self = PatternLibrary::indexed(patterns);
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Matches `text` (a syslog message, or a whole line when `program` is
    /// `None`: then only patterns without a `program` are tried). On a
    /// match fills `event` and returns the pattern's name.
    pub fn apply(&self, text: &str, program: Option<&str>, timezone: Tz, event: &mut Event) -> Option<&str> {
        for &index in self.candidates(program).iter() {
            let pattern = &self.patterns[index];
            debug_assert!(
                pattern.programs.is_empty() || program.is_some_and(|p| program_matches(&pattern.programs, p))
            );
            if pattern.contains.as_deref().is_some_and(|c| !text.contains(c)) {
                continue;
            }
            let Some(caps) = pattern.regex.captures(text) else { continue };
            // A timestamp that does not parse means this is not the format.
            let mut timestamp = None;
            if let (Some(format), Some(m)) = (&pattern.timestamp_format, caps.name("timestamp")) {
                match parse_time(m.as_str(), format, timezone) {
                    Some(ts) => timestamp = Some(ts),
                    None => continue,
                }
            }
            if let Some(ts) = timestamp {
                event.timestamp = ts;
            }
            for (group, name) in &pattern.stored {
                let Some(m) = caps.get(*group) else { continue };
                let value = m.as_str();
                if value.is_empty() || value == "-" {
                    continue;
                }
                ecs::set_str(event, name, value);
            }
            for (key, value) in &pattern.fields {
                ecs::set(event, key, value.clone());
            }
            event.fields.insert("parse.pattern".into(), Value::String(pattern.name.clone()));
            return Some(&pattern.name);
        }
        None
    }
}

#[cfg_attr(not(debug_assertions), allow(dead_code))]
fn program_matches(programs: &[String], process: &str) -> bool {
    let base = process.split(['(', '[']).next().unwrap_or(process);
    let inner = process.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')'));
    programs.iter().any(|p| p == process || p == base || Some(p.as_str()) == inner)
}

/// The web access-log time format, read by hand when it has its usual shape.
const NCSA_FORMAT: &str = "%d/%b/%Y:%H:%M:%S %z";

fn parse_time(text: &str, format: &str, timezone: Tz) -> Option<DateTime<Utc>> {
    if format == NCSA_FORMAT
        && let Some(parsed) = crate::clock::ncsa_time(text)
    {
        // chrono's result for this shape, read by hand (the web access
        // pattern's format). An impossible date fails the naive read too.
        return ecs::in_range(parsed?.to_utc());
    }
    let ts = match DateTime::parse_from_str(text, format) {
        Ok(ts) => ts.to_utc(),
        Err(_) => {
            let naive = NaiveDateTime::parse_from_str(text, format).ok()?;
            timezone.from_local_datetime(&naive).earliest()?.with_timezone(&Utc)
        }
    };
    ecs::in_range(ts)
}

#[cfg(test)]
mod tests;
