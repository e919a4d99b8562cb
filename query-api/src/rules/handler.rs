//! `GET /api/v1/rules`: the rules the detector runs, what was not loaded
//! and why, and how many alerts each rule raised.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use chrono::{Duration, Utc};
use logwarden_detect::rules::{RuleInfo, Unsupported};
use logwarden_event::ALERTS_STREAM;
use serde::Serialize;

use super::counts::{AlertCounts, count_by_rule};
use crate::audit::AuditResults;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::search::Audited;
use crate::state::{AppState, blocking};

#[derive(Debug, Serialize)]
pub struct RuleList {
    /// Whether `[detect] rules` names any rules.
    pub configured: bool,
    /// False when the rule files changed and did not load: `rules` are the
    /// ones loaded before (none if they never loaded) and `errors` says why.
    pub up_to_date: bool,
    /// Bumped on each reload; 0 while no rules are loaded.
    pub generation: u64,
    /// Rule files read.
    pub files: usize,
    /// Loaded rules, by id.
    pub rules: Vec<RuleView>,
    /// Rules not loaded, with the reason.
    pub unsupported: Vec<Unsupported>,
    /// Files that do not parse.
    pub errors: Vec<Unsupported>,
}

/// One loaded rule.
#[derive(Debug, Serialize)]
pub struct RuleView {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `detection` or the correlation type (`event_count`, `temporal`, …).
    pub kind: String,
    pub logsource: BTreeMap<String, String>,
    pub file: String,
    /// Correlations this rule feeds.
    pub feeds: Vec<String>,
    /// Whether a match is an alert of its own.
    pub alerts: bool,
    /// Whether its logsource names a product logwarden does not ingest.
    pub matches_no_source: bool,
    /// Alerts of this rule in the `alerts` stream; `null` for a key that
    /// may not read that stream.
    pub alert_counts: Option<AlertCounts>,
}

impl RuleView {
    fn new(info: &RuleInfo, alert_counts: Option<AlertCounts>) -> RuleView {
        let rule = &info.rule;
        RuleView {
            id: rule.id.clone(),
            title: rule.title.clone(),
            level: rule.level.clone(),
            tags: rule.tags.clone(),
            author: rule.author.clone(),
            description: rule.description.clone(),
            kind: info.kind.clone(),
            logsource: info.logsource.clone(),
            file: info.file.clone(),
            feeds: info.feeds.clone(),
            alerts: info.alerts,
            matches_no_source: info.matches_no_source,
            alert_counts,
        }
    }
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
) -> Result<Audited<RuleList>, ApiError> {
    let Some(configured) = &state.rules else {
        let empty = RuleList {
            configured: false,
            up_to_date: true,
            generation: 0,
            files: 0,
            rules: Vec::new(),
            unsupported: Vec::new(),
            errors: Vec::new(),
        };
        return Ok((Extension(AuditResults { total: 0, returned: 0, query: None, stream: None }), Json(empty)));
    };
    let snapshot = configured.snapshot();
    let loaded = snapshot.rules.as_ref().map(|r| r.report.loaded.as_slice()).unwrap_or_default();
    // Counts are data of the alerts stream: only for keys that may read it.
    let counted = identity.may_search_stream(ALERTS_STREAM).is_ok() && !loaded.is_empty();
    let counts: Option<HashMap<String, AlertCounts>> = if counted {
        let since = Utc::now() - Duration::hours(24);
        Some(blocking(&state, move |state| Ok(count_by_rule(&state.catalog, since)?)).await?)
    } else {
        None
    };
    let rules: Vec<RuleView> = loaded
        .iter()
        .map(|info| {
            let count = counts.as_ref().map(|c| c.get(&info.rule.id).copied().unwrap_or_default());
            RuleView::new(info, count)
        })
        .collect();
    let report = snapshot.rules.as_ref().map(|r| &r.report);
    let mut errors = report.map(|r| r.errors.clone()).unwrap_or_default();
    errors.extend(snapshot.errors.iter().flatten().cloned());
    let list = RuleList {
        configured: true,
        up_to_date: snapshot.errors.is_none(),
        generation: snapshot.generation,
        files: report.map_or(0, |r| r.files),
        rules,
        unsupported: report.map(|r| r.unsupported.clone()).unwrap_or_default(),
        errors,
    };
    let results = AuditResults {
        total: list.rules.len() as u64,
        returned: list.rules.len() as u64,
        query: None,
        stream: counted.then(|| ALERTS_STREAM.to_string()),
    };
    Ok((Extension(results), Json(list)))
}
