//! `GET /api/v1/whoami`: the caller's key name, role and streams, and what
//! that role may do, so the web UI shows only what the key may use (every
//! endpoint still checks for itself).

use axum::Json;
use axum::extract::Extension;
use logwarden_config::auth::Role;
use serde_json::{Value, json};

use crate::identity::Identity;

pub async fn whoami(Extension(identity): Extension<Identity>) -> Json<Value> {
    let role = identity.role;
    let reads = matches!(role, Role::Admin | Role::Analyst | Role::Auditor);
    Json(json!({
        "name": identity.name,
        "role": role.as_str(),
        "streams": identity.streams,
        "may": {
            "search": reads,
            "alerts": reads,
            "triage": matches!(role, Role::Admin | Role::Analyst),
            "rules": reads,
            "compliance": matches!(role, Role::Admin | Role::Auditor),
            "export": matches!(role, Role::Admin | Role::Auditor),
            "status": reads,
            "audit_stream": matches!(role, Role::Admin | Role::Auditor),
        },
    }))
}
