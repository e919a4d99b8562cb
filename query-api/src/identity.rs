//! [`Identity`]: who the caller is (the key's name, role and streams), as
//! the guard in `auth` established it, and which streams it may search.

use logwarden_config::auth::{ApiKey, Role};

use crate::error::ApiError;

/// The stream of access records: searchable by admins and auditors only,
/// and left out of searches that do not ask for it.
pub use logwarden_event::AUDIT_STREAM;

/// The caller, as established by the guard (`auth::guard`).
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    /// Streams the key is limited to; `None` = all.
    pub streams: Option<Vec<String>>,
}

impl From<&ApiKey> for Identity {
    fn from(key: &ApiKey) -> Self {
        Identity { name: key.name.clone(), role: key.role, streams: key.streams.clone() }
    }
}

impl Identity {
    /// Whether this caller may search `stream`.
    pub fn may_search_stream(&self, stream: &str) -> Result<(), ApiError> {
        if stream == AUDIT_STREAM && !matches!(self.role, Role::Admin | Role::Auditor) {
            return Err(ApiError::Forbidden(format!(
                "key `{}` has role {}; the audit stream is for admin and auditor keys",
                self.name,
                self.role.as_str()
            )));
        }
        if self.streams.as_ref().is_some_and(|allowed| !allowed.iter().any(|s| s == stream)) {
            return Err(ApiError::Forbidden(format!("key `{}` may not search stream `{stream}`", self.name)));
        }
        Ok(())
    }

    /// Whether a search without a stream filter covers `stream`.
    pub fn searches_by_default(&self, stream: &str) -> bool {
        stream != AUDIT_STREAM && self.streams.as_ref().is_none_or(|allowed| allowed.iter().any(|s| s == stream))
    }
}

