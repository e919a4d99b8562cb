//! `/api/v1/compliance/review`: the monthly access review (the same as
//! `logwarden compliance review --config`), a finding's 소명 state, and
//! the reviewer's sign-off; each recorded in the `audit` stream.
//!
//! A change takes the month's lock (in process, then `flock` across
//! replicas), re-reads the month's states, checks the change, records it
//! in the `audit` stream and only then writes it: an unrecorded change
//! does not happen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use logwarden_compliance::render::{Format, Lang, render_review};
use logwarden_compliance::review::{
    self, Finding, Month, MonthState, Refused, ReviewOptions, ReviewStore, SignOff, State as FindingStateKind, StateChange,
};
use logwarden_config::review::ReviewConfig;
use serde::Deserialize;
use serde_json::json;

use crate::audit::AuditChange;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;
use crate::tls::ClientAddr;

/// How long a change waits for another replica's change of the same month.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the review handlers share: `[compliance.review]` and the
/// in-process lock of changes.
pub struct ReviewState {
    pub config: ReviewConfig,
    lock: tokio::sync::Mutex<()>,
}

impl ReviewState {
    pub fn new(config: ReviewConfig) -> ReviewState {
        ReviewState { config, lock: tokio::sync::Mutex::new(()) }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewParams {
    /// `YYYY-MM`, required.
    pub month: Option<String>,
    /// IANA zone; default `compliance.review.timezone`.
    pub tz: Option<String>,
    /// json (default), csv or html.
    pub format: Option<String>,
    /// ko or en (default) for html.
    pub lang: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_parameter", message)
}

fn month_of(text: Option<&str>, tz: Option<&str>, config: &ReviewConfig) -> Result<Month, ApiError> {
    let tz = match tz {
        Some(name) => review::zone(name).ok_or_else(|| bad(format!("`tz` `{name}` is not an IANA time zone like Asia/Seoul")))?,
        None => config.timezone,
    };
    let text = text.ok_or_else(|| bad("`month` is required, like 2026-11"))?;
    Month::parse(text, tz).ok_or_else(|| bad(format!("`month` `{text}` is not a month like 2026-11")))
}

fn options(state: &AppState, month: Month) -> ReviewOptions {
    ReviewOptions {
        data_dir: state.data_dir.clone(),
        config: state.review.config.clone(),
        month,
        policies: Some(state.compliance.clone()),
        public_key: None,
        now: Utc::now(),
    }
}

fn internal(e: logwarden_compliance::ComplianceError, what: &'static str) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context(what))
}

/// `GET /api/v1/compliance/review?month=2026-11`: builds the review (a
/// full verify: on the blocking pool without the search timeout), records
/// it in the `audit` stream, answers in the format asked.
pub async fn get_review(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    params: Result<Query<ReviewParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let format = match params.format.as_deref() {
        None => Format::Json,
        Some("pdf") => {
            return Err(bad("`format` pdf is printed by the command line (logwarden compliance review --format pdf); the API serves json, csv or html"));
        }
        Some(text) => Format::parse(text).ok_or_else(|| bad("`format` is json, csv or html"))?,
    };
    let lang = match params.lang.as_deref() {
        None => Lang::En,
        Some(text) => Lang::parse(text).ok_or_else(|| bad("`lang` is ko or en"))?,
    };
    let month = month_of(params.month.as_deref(), params.tz.as_deref(), &state.review.config)?;
    let options = options(&state, month);
    let built = tokio::task::spawn_blocking(move || review::build(&options))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| internal(e, "building the access review"))?;
    let digest = {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(serde_json::to_string(&built).expect("serializes").as_bytes()))
    };
    let change = AuditChange {
        identity: identity.clone(),
        client,
        action: "compliance-review",
        message: format!(
            "{} generated the access review of {}: {} findings, {} pending, integrity {}",
            identity.name, built.month, built.summary.findings, built.summary.pending, built.integrity.status
        ),
        fields: vec![
            ("review.month", built.month.clone()),
            ("review.timezone", built.timezone.clone()),
            ("review.status", built.status.to_string()),
            ("review.findings", built.summary.findings.to_string()),
            ("review.pending", built.summary.pending.to_string()),
            ("review.integrity", built.integrity.status.to_string()),
            ("review.findings.sha256", built.findings_sha256.clone()),
            ("review.report.sha256", digest),
        ],
    };
    state.audit.record_change(change).await.map_err(ApiError::AuditUnavailable)?;
    let body = render_review(&built, format, lang);
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// The body of `POST /api/v1/compliance/review/findings/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    /// pending, explained or escalated.
    pub state: String,
    pub comment: String,
}

/// The body of `POST /api/v1/compliance/review/signoff`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffBody {
    pub month: String,
    #[serde(default)]
    pub comment: String,
}

/// The month's findings (no integrity check), off the executor.
async fn month_findings(state: &Arc<AppState>, month: Month) -> Result<Vec<Finding>, ApiError> {
    let options = options(state, month);
    tokio::task::spawn_blocking(move || review::findings(&options).map(|(_, f)| f))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| internal(e, "reading the access records"))
}

/// Takes the month's locks: in process, then across replicas.
async fn lock_month<'a>(state: &'a AppState, month: &str) -> Result<(tokio::sync::MutexGuard<'a, ()>, std::fs::File), ApiError> {
    let local = state.review.lock.lock().await;
    let store = ReviewStore::new(&state.data_dir);
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match store.try_lock(month).map_err(|e| internal(e, "locking the review"))? {
            Some(file) => return Ok((local, file)),
            None if started.elapsed() < LOCK_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            None => return Err(ApiError::Busy(format!("the review of {month} is being changed by another request; retry"))),
        }
    }
}

fn conflict(refused: Refused) -> ApiError {
    let code = match refused {
        Refused::SignedOff(_) | Refused::AlreadySignedOff(_) => "signed_off",
        Refused::Pending(_) => "findings_pending",
        Refused::MonthNotOver(_) => "month_not_over",
    };
    ApiError::Conflict { code, message: refused.to_string() }
}

/// `POST /api/v1/compliance/review/findings/{id}`: sets a finding's 소명
/// state with a comment; the history is kept and the change audited.
pub async fn set_finding(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    Path(id): Path<String>,
    body: Result<Json<FindingBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    if !review::is_finding_id(&id) {
        return Err(bad(format!("`{id}` is not a finding id (YYYY-MM- and 16 hex digits, as in the review)")));
    }
    let Json(body) = body?;
    let to = FindingStateKind::parse(&body.state).ok_or_else(|| bad("`state` is pending, explained or escalated"))?;
    logwarden_compliance::review::store::check_comment(&body.comment).map_err(bad)?;
    let month_name = &id[..7];
    let month = month_of(Some(month_name), None, &state.review.config)?;
    let findings = month_findings(&state, month).await?;
    let finding = findings
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ApiError::NoSuchResource(format!("no finding {id} in the access review of {month_name}")))?;
    let store = ReviewStore::new(&state.data_dir);
    let _locks = lock_month(&state, month_name).await?;
    let mut month_state: MonthState = store.read(month_name).map_err(|e| internal(e, "reading the review"))?;
    let change = StateChange { state: to, by: identity.name.clone(), at: Utc::now(), comment: body.comment.clone() };
    let from = month_state.change(&id, change).map_err(conflict)?;
    let record = AuditChange {
        identity: identity.clone(),
        client,
        action: "compliance-review-finding",
        message: format!("{} set finding {id} ({}) of the {month_name} access review from {from} to {to}", identity.name, finding.check),
        fields: vec![
            ("review.month", month_name.to_string()),
            ("review.finding.id", id.clone()),
            ("review.finding.check", finding.check.to_string()),
            ("review.finding.account", finding.account.clone().unwrap_or_default()),
            ("review.finding.state.from", from.to_string()),
            ("review.finding.state.to", to.to_string()),
            ("review.finding.comment", body.comment.clone()),
        ],
    };
    state.audit.record_change(record).await.map_err(ApiError::AuditUnavailable)?;
    store.write(&month_state).map_err(|e| internal(e, "writing the review"))?;
    let now = &month_state.findings[&id];
    Ok(Json(json!({
        "id": id,
        "month": month_name,
        "check": finding.check,
        "state": now.state,
        "previous_state": from,
        "history": now.history,
    }))
    .into_response())
}

/// `POST /api/v1/compliance/review/signoff`: the reviewer signs the
/// month off once it is over and no finding is pending; audited.
pub async fn sign_off(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    body: Result<Json<SignOffBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    if body.comment.len() > review::store::MAX_COMMENT_BYTES {
        return Err(bad(format!("`comment` is longer than {} bytes", review::store::MAX_COMMENT_BYTES)));
    }
    let month = month_of(Some(&body.month), None, &state.review.config)?;
    let name = month.name();
    let now = Utc::now();
    if now < month.end() {
        return Err(conflict(Refused::MonthNotOver(name)));
    }
    let mut findings = month_findings(&state, month).await?;
    let store = ReviewStore::new(&state.data_dir);
    let _locks = lock_month(&state, &name).await?;
    let mut month_state = store.read(&name).map_err(|e| internal(e, "reading the review"))?;
    if month_state.signoff.is_some() {
        return Err(conflict(Refused::AlreadySignedOff(name)));
    }
    for f in &mut findings {
        f.state = month_state.state_of(&f.id);
    }
    let count = |s: FindingStateKind| findings.iter().filter(|f| f.state == s).count() as u64;
    let pending = count(FindingStateKind::Pending);
    if pending > 0 {
        return Err(conflict(Refused::Pending(pending)));
    }
    let signoff = SignOff {
        by: identity.name.clone(),
        at: now,
        comment: body.comment.clone(),
        findings: findings.len() as u64,
        explained: count(FindingStateKind::Explained),
        escalated: count(FindingStateKind::Escalated),
        findings_sha256: review::findings_digest(&findings),
    };
    let record = AuditChange {
        identity: identity.clone(),
        client,
        action: "compliance-review-signoff",
        message: format!(
            "{} signed off the {name} access review: {} findings ({} explained, {} escalated)",
            identity.name, signoff.findings, signoff.explained, signoff.escalated
        ),
        fields: vec![
            ("review.month", name.clone()),
            ("review.findings", signoff.findings.to_string()),
            ("review.explained", signoff.explained.to_string()),
            ("review.escalated", signoff.escalated.to_string()),
            ("review.findings.sha256", signoff.findings_sha256.clone()),
            ("review.signoff.comment", signoff.comment.clone()),
        ],
    };
    state.audit.record_change(record).await.map_err(ApiError::AuditUnavailable)?;
    month_state.signoff = Some(signoff.clone());
    store.write(&month_state).map_err(|e| internal(e, "writing the review"))?;
    Ok(Json(json!({ "month": name, "signoff": signoff })).into_response())
}
