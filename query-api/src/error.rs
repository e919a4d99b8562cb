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
    /// No such endpoint.
    NotFound,
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

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request("invalid_parameter", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint".to_string(),
            ),
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
