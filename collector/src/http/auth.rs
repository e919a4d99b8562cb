//! Who may ingest: a valid key whose role is admin or ingest, into a
//! stream the key allows and logwarden does not reserve for itself.

use axum::http::{HeaderMap, header};
use logwarden_config::auth::{ApiKey, KeyRing};

use super::error::ApiError;

pub fn authorize_ingest<'a>(
    headers: &HeaderMap,
    keys: &'a KeyRing,
) -> Result<&'a ApiKey, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "an ingest key is required (Authorization: Bearer, ApiKey or Basic)",
        ))?;
    let key = header
        .to_str()
        .ok()
        .and_then(|value| keys.authorize(value))
        .ok_or(ApiError::Unauthorized("invalid ingest key"))?;
    if !key.role.may_ingest() {
        tracing::warn!(key = %key.name, role = key.role.as_str(), "http ingest refused: role may not ingest");
        return Err(ApiError::Forbidden(format!(
            "key `{}` has role {} which may not ingest",
            key.name,
            key.role.as_str()
        )));
    }
    Ok(key)
}

/// Whether `key` may write events to `stream`; the error names the stream
/// and why. Reserved streams (`audit`, `alerts`) are written by logwarden
/// alone, whatever the key.
pub fn may_write(key: &ApiKey, stream: &str) -> Result<(), String> {
    if logwarden_event::is_reserved_stream(stream) {
        return Err(format!(
            "stream `{stream}` is reserved: logwarden writes it itself (reserved streams: {}), no ingest key may",
            logwarden_event::RESERVED_STREAMS.join(", ")
        ));
    }
    if !key.allows_stream(stream) {
        return Err(format!("key `{}` may not write to stream `{stream}`", key.name));
    }
    Ok(())
}
