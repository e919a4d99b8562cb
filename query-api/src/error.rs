//! One error type for every HTTP endpoint: a status and a JSON body
//! `{"error": {"code": ..., "message": ...}}`. Internal details go to the
//! log, not to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// A request parameter is missing, malformed or out of range.
    BadRequest { code: &'static str, message: String },
    /// No key, or not a valid one.
    Unauthorized(String),
    /// A valid key whose role or streams do not allow the request.
    Forbidden(String),
    /// No such endpoint.
    NotFound,
    /// The endpoint exists, the thing named in the path does not (an
    /// alert id never seen).
    NoSuchResource(String),
    /// The endpoint does not take this method.
    MethodNotAllowed(String),
    /// The request conflicts with the current state (acknowledging a
    /// closed alert).
    Conflict { code: &'static str, message: String },
    /// Another request holds what this one needs past the wait; retry.
    Busy(String),
    /// The access record could not be written (Kafka down, spool full): the
    /// answer is withheld rather than given unrecorded.
    AuditUnavailable(String),
    /// The request body is over the limit.
    PayloadTooLarge(String),
    /// The search ran past `api.query_timeout`.
    Timeout(std::time::Duration),
    /// Something failed on our side; the details are logged.
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(rejection.body_text())
        } else {
            ApiError::bad_request("invalid_body", rejection.body_text())
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_request("invalid_parameter", rejection.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request("invalid_parameter", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message),
            ApiError::Unauthorized(message) => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "error": { "code": "unauthorized", "message": message } })),
                )
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"logwarden\""),
                );
                return response;
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message),
            ApiError::AuditUnavailable(reason) => {
                tracing::error!(%reason, "answer withheld: the access record could not be written");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "the access record of this request could not be written; retry later".to_string(),
                )
            }
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint".to_string(),
            ),
            ApiError::NoSuchResource(message) => (StatusCode::NOT_FOUND, "not_found", message),
            ApiError::MethodNotAllowed(message) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message),
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, code, message),
            ApiError::Busy(message) => (StatusCode::SERVICE_UNAVAILABLE, "busy", message),
            ApiError::PayloadTooLarge(message) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            ApiError::Timeout(limit) => (
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!(
                    "the search ran longer than {} (api.query_timeout); narrow the time range or the query",
                    humantime::format_duration(limit)
                ),
            ),
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".to_string(),
                )
            }
        };
        (
            status,
            Json(json!({ "error": { "code": code, "message": message } })),
        )
            .into_response()
    }
}
