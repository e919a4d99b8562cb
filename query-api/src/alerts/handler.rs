//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, and the triage
//! endpoints `POST /api/v1/alerts/{id}/acknowledge` and
//! `POST /api/v1/alerts/{id}/close`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{Method, Uri};
use chrono::Utc;
use logwarden_detect::Alert;
use logwarden_detect::alert::EventRef;
use logwarden_event::ALERTS_STREAM;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::index::{self, Located, Splits};
use super::params::{ListParams, ListRequest};
use super::status::{AlertStatus, MAX_COMMENT_BYTES, Status, StatusChange, StatusError, TransitionError, is_alert_id};
use crate::audit::{AuditChange, AuditResults};
use crate::error::ApiError;
use crate::identity::Identity;
use crate::search::Audited;
use crate::state::{AppState, blocking};
use crate::tls::ClientAddr;

/// An alert with its triage status.
#[derive(Debug, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    pub status: Status,
    /// Every change of status, oldest first.
    pub status_history: Vec<StatusChange>,
}

impl AlertView {
    fn new(alert: Alert, status: AlertStatus) -> AlertView {
        AlertView { alert, status: status.status, status_history: status.history }
    }
}

#[derive(Debug, Serialize)]
pub struct AlertList {
    /// Alerts matching the filters (each id once).
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    /// This page, newest `last_seen` first.
    pub alerts: Vec<AlertView>,
}

#[derive(Debug, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub view: AlertView,
    /// Each of the alert's event references, with the event when found.
    pub matched_events: Vec<MatchedEvent>,
}

#[derive(Debug, Serialize)]
pub struct MatchedEvent {
    #[serde(rename = "ref")]
    pub reference: EventRef,
    pub resolved: bool,
    /// The event as stored, when resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    /// Why it is not, when unresolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The body of a status change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    pub comment: String,
}

impl From<StatusError> for ApiError {
    fn from(error: StatusError) -> Self {
        match error {
            StatusError::Busy(id) => ApiError::Busy(format!("alert {id} is being changed by another request; retry")),
            other => ApiError::Internal(other.into()),
        }
    }
}

fn internal(error: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(error.into())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Audited<AlertList>, ApiError> {
    let Query(params) = params?;
    identity.may_search_stream(ALERTS_STREAM)?;
    let request = params.check(Utc::now()).map_err(|m| ApiError::bad_request("invalid_parameter", m))?;
    let list = blocking(&state, move |state| list_alerts(state, &request)).await?;
    let results = AuditResults {
        total: list.total,
        returned: list.alerts.len() as u64,
        query: None,
        stream: Some(ALERTS_STREAM.into()),
    };
    Ok((Extension(results), Json(list)))
}

pub async fn detail(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Audited<AlertDetail>, ApiError> {
    let id = checked_id(path)?;
    identity.may_search_stream(ALERTS_STREAM)?;
    let detail = blocking(&state, move |state| {
        let alert = find_alert(state, &id)?;
        let status = status_of(state, &id)?;
        let matched_events = resolve(state, &identity, &alert.events)?;
        Ok(AlertDetail { view: AlertView::new(alert, status), matched_events })
    })
    .await?;
    let results = AuditResults { total: 1, returned: 1, query: None, stream: Some(ALERTS_STREAM.into()) };
    Ok((Extension(results), Json(detail)))
}

pub async fn acknowledge(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ChangeBody>, JsonRejection>,
) -> Result<Json<AlertView>, ApiError> {
    change(state, identity, client, path, body, Status::Acknowledged).await
}

pub async fn close(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ChangeBody>, JsonRejection>,
) -> Result<Json<AlertView>, ApiError> {
    change(state, identity, client, path, body, Status::Closed).await
}

/// A JSON 405 for the alert paths.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Moves alert `id` to `to`: recorded in the audit stream before the new
/// status is written; a move the lifecycle refuses is a 409.
async fn change(
    state: Arc<AppState>,
    identity: Identity,
    client: std::net::SocketAddr,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ChangeBody>, JsonRejection>,
    to: Status,
) -> Result<Json<AlertView>, ApiError> {
    let id = checked_id(path)?;
    identity.may_search_stream(ALERTS_STREAM)?;
    let Json(body) = body?;
    let comment = checked_comment(body.comment)?;
    let alert = {
        let id = id.clone();
        blocking(&state, move |state| find_alert(state, &id)).await?
    };
    let (action, verb) = match to {
        Status::Acknowledged => ("alert-acknowledge", "acknowledged"),
        Status::Closed => ("alert-close", "closed"),
        Status::Open => ("alert-reopen", "reopened"),
    };
    let record = async |from: Status| {
        let excerpt: String = comment.chars().take(200).collect();
        let change = AuditChange {
            identity: identity.clone(),
            client,
            action,
            message: format!("{} {verb} alert {id} ({from} -> {to}): {excerpt}", identity.name),
            fields: vec![
                ("alert.id", id.clone()),
                ("alert.rule.id", alert.rule.id.clone()),
                ("alert.status.from", from.to_string()),
                ("alert.status.to", to.to_string()),
                ("alert.comment", comment.clone()),
            ],
        };
        state.audit.record_change(change).await
    };
    let change = StatusChange { status: to, by: identity.name.clone(), at: Utc::now(), comment: comment.clone() };
    let transition = state.alert_status.transition(&id, change, record).await.map_err(|e| match e {
        TransitionError::Refused(refused) => {
            ApiError::Conflict { code: "invalid_transition", message: format!("alert {id}: {refused}") }
        }
        TransitionError::Unrecorded(reason) => ApiError::AuditUnavailable(reason),
        TransitionError::Store(e) => e.into(),
    })?;
    crate::metrics::alert_transition(transition.from, to);
    Ok(Json(AlertView::new(alert, transition.now)))
}

fn checked_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path?;
    if is_alert_id(&id) {
        return Ok(id);
    }
    let shown: String = id.chars().take(64).collect();
    Err(ApiError::bad_request("invalid_parameter", format!("alert id `{shown}` is not 32 lowercase hex digits")))
}

fn checked_comment(comment: String) -> Result<String, ApiError> {
    if comment.trim().is_empty() {
        return Err(ApiError::bad_request("invalid_body", "comment: say why the status changes (it must not be empty)"));
    }
    if comment.len() > MAX_COMMENT_BYTES {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("comment is {} bytes; the longest accepted is {MAX_COMMENT_BYTES} bytes", comment.len()),
        ));
    }
    Ok(comment)
}

/// The status of `id`; an id that cannot have been changed is open.
fn status_of(state: &AppState, id: &str) -> Result<AlertStatus, ApiError> {
    if !is_alert_id(id) {
        return Ok(AlertStatus::default());
    }
    Ok(state.alert_status.read(id)?)
}

/// The alert `id` (its newest copy), or a 404.
fn find_alert(state: &AppState, id: &str) -> Result<Alert, ApiError> {
    let splits = Splits::open(&state.catalog, &state.schema, |s| s == ALERTS_STREAM)?;
    let found = index::distinct(splits.find(&*index::by_id(&state.schema, id), None).map_err(internal)?);
    let located = found.first().ok_or_else(|| ApiError::NoSuchResource(format!("no alert with id {id}")))?;
    splits.alert(located).map_err(ApiError::Internal)
}

/// The alert stored at `located`; one that does not decode is logged and
/// left out.
fn load(splits: &Splits, located: &Located) -> Option<Alert> {
    splits
        .alert(located)
        .inspect_err(|e| tracing::warn!(id = ?located.id, error = format!("{e:#}"), "an event of the alerts stream holds no alert"))
        .ok()
}

fn list_alerts(state: &AppState, request: &ListRequest) -> Result<AlertList, ApiError> {
    let splits = Splits::open(&state.catalog, &state.schema, |s| s == ALERTS_STREAM)?;
    let query = index::alert_filter(&state.schema, request.rule.as_deref(), request.min_level);
    // Copies collapse first, then the time range applies to the copy kept.
    let mut found = index::distinct(splits.find(&*query, None).map_err(internal)?);
    found.retain(|located| request.covers(located.timestamp));
    let id = |located: &Located| located.id.clone().unwrap_or_default();
    let mut statuses: HashMap<String, AlertStatus> = HashMap::new();
    if let Some(wanted) = &request.statuses {
        let changed = state.alert_status.changed_ids()?;
        let mut kept = Vec::new();
        for located in found {
            let id = id(&located);
            let status = if changed.contains(&id) { status_of(state, &id)? } else { AlertStatus::default() };
            if wanted.contains(&status.status) {
                statuses.insert(id, status);
                kept.push(located);
            }
        }
        found = kept;
    }
    let mut candidates: Vec<(Located, Option<Alert>)> = found.into_iter().map(|l| (l, None)).collect();
    if let Some(group) = &request.group {
        let group = group.to_lowercase();
        candidates = candidates
            .into_iter()
            .filter_map(|(located, _)| {
                let alert = load(&splits, &located)?;
                alert.group.key.to_lowercase().contains(&group).then_some((located, Some(alert)))
            })
            .collect();
    }
    let total = candidates.len() as u64;
    let mut alerts = Vec::new();
    for (located, alert) in candidates.into_iter().skip(request.offset).take(request.limit) {
        let Some(alert) = alert.or_else(|| load(&splits, &located)) else { continue };
        let status = match statuses.remove(&id(&located)) {
            Some(status) => status,
            None => status_of(state, &id(&located))?,
        };
        alerts.push(AlertView::new(alert, status));
    }
    Ok(AlertList { total, offset: request.offset, limit: request.limit, alerts })
}

/// Each reference with its event, looked up by `event.id` in its stream
/// (the copy at the referenced partition and offset when there are
/// several); unresolved, with the reason, when that cannot be done.
fn resolve(state: &AppState, identity: &Identity, references: &[EventRef]) -> Result<Vec<MatchedEvent>, ApiError> {
    let streams: HashSet<&str> = references
        .iter()
        .filter(|r| r.event_id.is_some() && identity.may_search_stream(&r.stream).is_ok())
        .map(|r| r.stream.as_str())
        .collect();
    let splits = Splits::open(&state.catalog, &state.schema, |s| streams.contains(s))?;
    let mut matched = Vec::with_capacity(references.len());
    for reference in references {
        let unresolved = |reason: String| MatchedEvent {
            reference: reference.clone(),
            resolved: false,
            event: None,
            reason: Some(reason),
        };
        let Some(event_id) = &reference.event_id else {
            matched.push(unresolved("the reference has no event.id to look the event up by".into()));
            continue;
        };
        if identity.may_search_stream(&reference.stream).is_err() {
            matched.push(unresolved(format!("key `{}` may not search stream `{}`", identity.name, reference.stream)));
            continue;
        }
        let found = splits
            .find(&*index::by_id(&state.schema, event_id), Some(&reference.stream))
            .map_err(internal)?;
        let at_reference = |l: &&Located| splits.partition(l) == reference.partition && l.offset as i64 == reference.offset;
        let best = found.iter().find(at_reference).or_else(|| found.iter().max_by_key(|l| l.timestamp));
        matched.push(match best {
            None => unresolved(format!("no event with event.id `{event_id}` in stream `{}`", reference.stream)),
            Some(located) => {
                let source = splits.source(located).map_err(internal)?;
                let event = serde_json::from_str(&source).unwrap_or(Value::String(source));
                MatchedEvent { reference: reference.clone(), resolved: true, event: Some(event), reason: None }
            }
        });
    }
    Ok(matched)
}
