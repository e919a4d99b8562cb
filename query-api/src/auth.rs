//! Who may call what, and the audit record of every call.
//!
//! Every endpoint but the probes (`/healthz`, `/readyz`), `/metrics` and the
//! OpenAPI document needs a key from `[[auth.keys]]` (stored as SHA-256
//! hashes, compared in constant time; keys are never logged). A missing or
//! unknown key gets a 401, a role that may not get a 403. Every call that
//! reaches this guard, allowed or not, is recorded in the `audit` stream
//! before its answer leaves.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use logwarden_config::auth::Role;

use crate::audit::{AuditEntry, AuditResults};
use crate::identity::Identity;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tls::ClientAddr;

/// What an endpoint requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permission {
    /// Search and read events (alerts and rules too): admin, analyst, auditor.
    Search,
    /// Change an alert's status: admin, analyst.
    Triage,
    /// Compliance reports: admin, auditor.
    Compliance,
    /// Any valid key (unknown paths: a 404 only after authentication).
    Authenticated,
}

fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/api/v1/openapi.json") || crate::ui::is_ui_path(path)
}

fn permission(path: &str) -> Permission {
    let alert = path.strip_prefix("/api/v1/alerts").filter(|rest| rest.is_empty() || rest.starts_with('/'));
    if let Some(rest) = alert {
        if rest.ends_with("/acknowledge") || rest.ends_with("/close") {
            Permission::Triage
        } else {
            Permission::Search
        }
    } else if path.starts_with("/api/v1/compliance/") || path == "/api/v1/exports" || path.starts_with("/api/v1/exports/") {
        Permission::Compliance
    } else if matches!(path, "/api/v1/search" | "/api/v1/rules" | "/api/v1/status" | "/_search") || path.ends_with("/_search") {
        Permission::Search
    } else {
        Permission::Authenticated
    }
}

fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::Search => matches!(role, Role::Admin | Role::Analyst | Role::Auditor),
        Permission::Triage => matches!(role, Role::Admin | Role::Analyst),
        Permission::Compliance => matches!(role, Role::Admin | Role::Auditor),
        Permission::Authenticated => true,
    }
}

/// The caller's identity, or why it is refused (with who it is, when the
/// key was valid but its role may not).
fn authenticate(state: &AppState, request: &Request) -> Result<Identity, (ApiError, Option<Identity>)> {
    let header = request.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        let message = "an API key is required: Authorization: Bearer KEY (or ApiKey, or Basic with the key as password)";
        (ApiError::Unauthorized(message.into()), None)
    })?;
    let key = header
        .to_str()
        .ok()
        .and_then(|value| state.keys.authorize(value))
        .ok_or_else(|| (ApiError::Unauthorized("the API key is not valid".into()), None))?;
    let path = request.uri().path();
    let needed = permission(path);
    if !allows(key.role, needed) {
        let refused = ApiError::Forbidden(format!("key `{}` has role {}, which may not call {path}", key.name, key.role.as_str()));
        return Err((refused, Some(Identity::from(key))));
    }
    Ok(Identity::from(key))
}

/// Authenticates, authorizes and audits every non-public request.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if is_public(&path) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().to_string();
    let query = request.uri().query().map(str::to_string);
    let reason = crate::audit::reason(request.headers());
    let (response, identity) = match authenticate(&state, &request) {
        Ok(identity) => {
            request.extensions_mut().insert(identity.clone());
            (next.run(request).await, Some(identity))
        }
        Err((refused, identity)) => {
            crate::metrics::refused(&refused);
            (refused.into_response(), identity)
        }
    };
    let entry = AuditEntry {
        identity,
        client,
        method,
        path,
        query,
        status: response.status().as_u16(),
        took: started.elapsed(),
        results: response.extensions().get::<AuditResults>().cloned(),
        reason,
    };
    match state.audit.record(entry).await {
        Ok(()) => response,
        Err(e) if response.status().is_success() => ApiError::AuditUnavailable(e).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot record a refused request in the audit stream");
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AUDIT_STREAM;

    #[test]
    fn roles_and_paths() {
        for role in [Role::Admin, Role::Analyst, Role::Auditor] {
            assert!(allows(role, permission("/api/v1/search")));
            assert!(allows(role, permission("/logwarden-auth/_search")));
        }
        assert!(!allows(Role::Ingest, permission("/api/v1/search")));
        assert!(!allows(Role::Ingest, permission("/_search")));
        assert!(is_public("/healthz") && !is_public("/api/v1/search"));
        let alert = "/api/v1/alerts/0123456789abcdef0123456789abcdef";
        for role in [Role::Admin, Role::Analyst, Role::Auditor] {
            assert!(allows(role, permission("/api/v1/alerts")) && allows(role, permission(alert)));
        }
        for role in [Role::Admin, Role::Analyst] {
            assert!(allows(role, permission(&format!("{alert}/acknowledge"))) && allows(role, permission(&format!("{alert}/close"))));
        }
        for role in [Role::Auditor, Role::Ingest] {
            assert!(!allows(role, permission(&format!("{alert}/acknowledge"))) && !allows(role, permission(&format!("{alert}/close"))));
        }
        assert!(!allows(Role::Ingest, permission("/api/v1/alerts")) && !allows(Role::Ingest, permission(alert)));
        for role in [Role::Admin, Role::Analyst, Role::Auditor] {
            assert!(allows(role, permission("/api/v1/rules")));
        }
        assert!(!allows(Role::Ingest, permission("/api/v1/rules")));
        assert_eq!(permission("/api/v1/alertsx"), Permission::Authenticated);
        for role in [Role::Admin, Role::Analyst, Role::Auditor] {
            assert!(allows(role, permission("/api/v1/status")));
        }
        assert!(!allows(Role::Ingest, permission("/api/v1/status")));
        assert!(allows(Role::Ingest, permission("/api/v1/whoami")));
        assert!(is_public("/") && is_public("/assets/app.js") && is_public("/search") && !is_public("/api/v1/whoami"));
        for (role, may) in [(Role::Admin, true), (Role::Auditor, true), (Role::Analyst, false), (Role::Ingest, false)] {
            assert_eq!(allows(role, permission("/api/v1/compliance/report")), may, "{role:?}");
            assert_eq!(allows(role, permission("/api/v1/exports")), may, "{role:?}");
            assert_eq!(allows(role, permission("/api/v1/exports/verify")), may, "{role:?}");
            assert_eq!(allows(role, permission("/api/v1/compliance/review")), may, "{role:?}");
            assert_eq!(allows(role, permission("/api/v1/compliance/review/signoff")), may, "{role:?}");
        }
        let analyst = Identity { name: "a".into(), role: Role::Analyst, streams: Some(vec!["auth".into()]) };
        assert!(analyst.may_search_stream("auth").is_ok());
        assert!(analyst.may_search_stream("access").is_err());
        assert!(analyst.may_search_stream(AUDIT_STREAM).is_err());
        assert!(!analyst.searches_by_default("access") && analyst.searches_by_default("auth"));
        let auditor = Identity { name: "b".into(), role: Role::Auditor, streams: None };
        assert!(auditor.may_search_stream(AUDIT_STREAM).is_ok());
        assert!(!auditor.searches_by_default(AUDIT_STREAM));
    }
}
