use std::time::Duration;

use chrono::{DateTime, Utc};
use logwarden_compliance::render::{Format, Lang};
use serde::Deserialize;

use crate::error::ApiError;

/// The last full verify may be this old unless `verify_max_age` says otherwise.
pub const DEFAULT_VERIFY_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// RFC 3339; default now.
    pub at: Option<String>,
    /// RFC 3339; default all history.
    pub from: Option<String>,
    /// json (default), csv or html.
    pub format: Option<String>,
    /// ko or en (default) for html.
    pub lang: Option<String>,
    /// e.g. `7d` (default).
    pub verify_max_age: Option<String>,
}

pub struct ReportRequest {
    pub at: DateTime<Utc>,
    pub from: Option<DateTime<Utc>>,
    pub format: Format,
    pub lang: Lang,
    pub verify_max_age: Duration,
}

fn time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("`{name}` is not an RFC 3339 time: {e}"),
            )
        })
}

impl ReportParams {
    pub fn check(self, now: DateTime<Utc>) -> Result<ReportRequest, ApiError> {
        let format = match self.format.as_deref() {
            None => Format::Json,
            Some("pdf") => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "`format` pdf is printed by the command line (logwarden compliance report --format pdf); the API serves json, csv or html",
                ));
            }
            Some(text) => Format::parse(text).ok_or_else(|| {
                ApiError::bad_request("invalid_parameter", "`format` is json, csv or html")
            })?,
        };
        let lang = match self.lang.as_deref() {
            None => Lang::En,
            Some(text) => Lang::parse(text)
                .ok_or_else(|| ApiError::bad_request("invalid_parameter", "`lang` is ko or en"))?,
        };
        let verify_max_age = match self.verify_max_age.as_deref() {
            None => DEFAULT_VERIFY_MAX_AGE,
            Some(text) => humantime::parse_duration(text).map_err(|e| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("`verify_max_age` is a duration like 7d: {e}"),
                )
            })?,
        };
        let at = self
            .at
            .as_deref()
            .map(|t| time("at", t))
            .transpose()?
            .unwrap_or(now);
        let from = self.from.as_deref().map(|t| time("from", t)).transpose()?;
        if from.is_some_and(|f| f > at) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "`from` is after `at`",
            ));
        }
        Ok(ReportRequest {
            at,
            from,
            format,
            lang,
            verify_max_age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let now = Utc::now();
        let ok = ReportParams {
            format: Some("html".into()),
            lang: Some("ko".into()),
            ..Default::default()
        }
        .check(now)
        .unwrap();
        assert_eq!((ok.format, ok.lang, ok.at), (Format::Html, Lang::Ko, now));
        for bad in [
            ReportParams {
                format: Some("pdf".into()),
                ..Default::default()
            },
            ReportParams {
                lang: Some("fr".into()),
                ..Default::default()
            },
            ReportParams {
                at: Some("yesterday".into()),
                ..Default::default()
            },
            ReportParams {
                verify_max_age: Some("soon".into()),
                ..Default::default()
            },
            ReportParams {
                at: Some("2026-01-01T00:00:00Z".into()),
                from: Some("2026-02-01T00:00:00Z".into()),
                ..Default::default()
            },
        ] {
            assert!(bad.check(now).is_err());
        }
    }
}
