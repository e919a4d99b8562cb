//! [`ApiError`]: every HTTP error as a status and `{"error":{"code","message"}}`.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::delivery::DeliveryError;

#[derive(Debug)]
pub enum ApiError {
    Unauthorized(&'static str),
    Forbidden(String),
    BadRequest {
        code: &'static str,
        message: String,
    },
    TooLarge,
    NotFound,
    /// The memory budget is spent: retry shortly (429).
    Busy(String),
    /// The body did not arrive within `collector.http.body_timeout` (408).
    SlowBody(std::time::Duration),
    /// Kafka unavailable and the spool full (or failing): retry later.
    Unavailable {
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn from_body(rejection: BytesRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::bad_request("invalid_body", rejection.body_text())
        }
    }

    pub fn from_delivery(error: DeliveryError) -> ApiError {
        if error.is_spool_full() {
            ApiError::Unavailable {
                code: "spool_full",
                message: "kafka is unavailable and the collector's spool is full; retry later"
                    .into(),
            }
        } else {
            tracing::error!(%error, "http ingest: events could not be delivered");
            ApiError::Unavailable {
                code: "unavailable",
                message: "events could not be stored; retry later".into(),
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message) = match self {
            ApiError::Unauthorized(message) => ("unauthorized", message.to_string()),
            ApiError::Forbidden(message) => ("forbidden", message),
            ApiError::BadRequest { code, message } => (code, message),
            ApiError::TooLarge => (
                "body_too_large",
                "the request body is larger than collector.http.max_body_bytes".into(),
            ),
            ApiError::NotFound => ("not_found", "no such endpoint".into()),
            ApiError::Busy(message) => ("memory_budget_exhausted", message),
            ApiError::SlowBody(timeout) => (
                "body_timeout",
                format!("the request body did not arrive within collector.http.body_timeout ({})", humantime::format_duration(timeout)),
            ),
            ApiError::Unavailable { code, message } => (code, message),
        };
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"logwarden\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
