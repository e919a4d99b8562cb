//! One alert to one hook over HTTP, with retries.
//!
//! 2xx is delivered. 5xx, 429, connection errors and timeouts are retried
//! with exponential backoff (500 ms, doubling, at most 60 s; a `Retry-After`
//! on 429/503 is honoured up to 5 min) until `retry_for` has passed since
//! the first attempt; other statuses fail at once. The caller dead-letters
//! a failure. Shutdown stops a retrying delivery at once.

use std::time::Duration;

use chrono::Utc;
use logwarden_config::detect::HookConfig;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::metrics;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// How much of a refusing receiver's answer goes into the reason.
const REASON_BODY_CHARS: usize = 300;

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered { attempts: u32 },
    Failed(Failure),
    /// Shutdown came first: the alert is neither delivered nor failed.
    Cancelled,
}

/// Why a hook did not take an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub reason: String,
    /// The last HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub attempts: u32,
}

/// What one attempt says.
#[derive(Debug)]
enum Attempt {
    Delivered,
    Retry { reason: String, status: Option<u16>, after: Option<Duration> },
    Refused { reason: String, status: Option<u16> },
}

/// The headers of every request to `hook`: `Content-Type: application/json`
/// and the hook's own (their values marked sensitive, never logged).
pub fn headers(hook: &HookConfig) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &hook.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header `{name}`: {e}"))?;
        let mut value = HeaderValue::from_str(value.expose())
            .map_err(|_| format!("header `{name}`: the value is not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// Sends `body` to `hook` until it is taken, refused for good, retries run
/// out, or `shutdown`.
pub async fn deliver(
    client: &reqwest::Client,
    hook: &HookConfig,
    headers: &HeaderMap,
    body: &[u8],
    shutdown: &CancellationToken,
) -> Outcome {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Outcome::Cancelled,
            attempt = attempt(client, hook, headers, body) => attempt,
        };
        let (reason, status, after) = match attempt {
            Attempt::Delivered => return Outcome::Delivered { attempts },
            Attempt::Refused { reason, status } => return Outcome::Failed(Failure { reason, status, attempts }),
            Attempt::Retry { reason, status, after } => (reason, status, after),
        };
        let elapsed = started.elapsed();
        if elapsed >= hook.retry_for {
            let reason = format!(
                "retries exhausted after {attempts} attempts over {}: {reason}",
                humantime::format_duration(Duration::from_secs(elapsed.as_secs()))
            );
            return Outcome::Failed(Failure { reason, status, attempts });
        }
        // The last retry happens when the retry time runs out.
        let delay = after.unwrap_or_else(|| backoff(attempts)).min(hook.retry_for - elapsed);
        metrics::retried(&hook.name);
        tracing::warn!(hook = %hook.name, attempts, status, %reason, retry_in = ?delay, "hook delivery failed; retrying");
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Outcome::Cancelled,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

async fn attempt(client: &reqwest::Client, hook: &HookConfig, headers: &HeaderMap, body: &[u8]) -> Attempt {
    let request = client
        .post(&hook.url)
        .headers(headers.clone())
        .timeout(hook.timeout)
        .body(body.to_vec());
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_builder() => return Attempt::Refused { reason: error_chain(&e), status: None },
        Err(e) => return Attempt::Retry { reason: error_chain(&e), status: None, after: None },
    };
    let status = response.status();
    if status.is_success() {
        return Attempt::Delivered;
    }
    let after = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
        .then(|| response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after))
        .flatten();
    let text = response.text().await.unwrap_or_default();
    let mut reason = format!("HTTP {status}");
    let text = super::payload::cut(text.trim(), REASON_BODY_CHARS);
    if !text.is_empty() {
        reason.push_str(&format!(": {text}"));
    }
    let status_code = Some(status.as_u16());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Attempt::Retry { reason, status: status_code, after }
    } else {
        Attempt::Refused { reason, status: status_code }
    }
}

/// The wait before retry number `retry` (1 = the first retry).
pub fn backoff(retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// A `Retry-After` value (seconds, or an HTTP date) as a wait, at most 5 min.
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// An error with its causes (`error sending request: connection refused`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=10).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
        assert_eq!(backoff(1000), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = (Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(80) && wait <= Duration::from_secs(90), "{wait:?}");
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn headers_carry_json_and_the_hook_secrets() {
        let mut hook = HookConfig::alertmanager("http://127.0.0.1:9/hook").unwrap();
        hook.headers = vec![("Authorization".into(), logwarden_config::kafka::Secret::new("Bearer t".into()))];
        let headers = headers(&hook).unwrap();
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(headers["authorization"], "Bearer t");
        assert!(headers["authorization"].is_sensitive());
        hook.headers = vec![("X".into(), logwarden_config::kafka::Secret::new("a\nb".into()))];
        assert!(super::headers(&hook).unwrap_err().contains("`x`"));
    }
}
