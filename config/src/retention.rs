//! Retention classes per stream and the regulation presets they cite.
//!
//! A preset states what a law or standard requires of the logs it covers.
//! A stream citing a preset with a retention shorter than the preset's floor
//! is refused at start, naming the key and the law.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ConfigError;
use crate::raw::RawStream;

const DAY: u64 = 24 * 60 * 60;
/// A year as humantime reads `1y` (365.25 days), so `retention = "1y"`
/// satisfies a one-year floor and `365d` does not.
const YEAR: u64 = 31_557_600;

/// What a regulation requires of a stream's retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    /// The law or standard, as an auditor would cite it.
    pub citation: &'static str,
    /// The shortest retention allowed.
    pub min_retention: Option<Duration>,
    /// The shortest hot (immediately searchable) period allowed.
    pub min_hot: Option<Duration>,
    /// The retention must be finite (an upper bound: keep no longer than needed).
    pub requires_expiry: bool,
}

const fn years(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n * YEAR))
}

pub const PRESETS: &[Preset] = &[
    Preset {
        name: "kr-pipa-access",
        citation: "개인정보의 안전성 확보조치 기준 제8조① (access records, 1 year)",
        min_retention: years(1),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "kr-pipa-access-large",
        citation: "개인정보의 안전성 확보조치 기준 제8조① (≥ 50,000 data subjects, unique-identifying or sensitive data: 2 years)",
        min_retention: years(2),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "kr-pipa-privilege",
        citation: "개인정보의 안전성 확보조치 기준 제5조③ (access-right changes, 3 years)",
        min_retention: years(3),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "kr-credit-info",
        citation: "신용정보법 제20조 (credit information processing records, 3 years)",
        min_retention: years(3),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "pci-dss-10.5.1",
        citation: "PCI DSS v4.0 requirement 10.5.1 (12 months, the last 3 months immediately available)",
        min_retention: years(1),
        min_hot: Some(Duration::from_secs(90 * DAY)),
        requires_expiry: false,
    },
    Preset {
        name: "hipaa",
        citation: "HIPAA 45 CFR 164.316(b)(2)(i) (documentation, 6 years)",
        min_retention: years(6),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "sox",
        citation: "Sarbanes-Oxley Act section 802 / 17 CFR 210.2-06 (audit records, 7 years)",
        min_retention: years(7),
        min_hot: None,
        requires_expiry: false,
    },
    Preset {
        name: "gdpr",
        citation: "GDPR Art. 5(1)(e) (storage limitation: personal data kept no longer than necessary)",
        min_retention: None,
        min_hot: None,
        requires_expiry: true,
    },
];

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// A stream's retention class, checked against the presets it cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPolicy {
    /// `None`: kept forever.
    pub retention: Option<Duration>,
    pub hot: Option<Duration>,
    pub presets: Vec<&'static Preset>,
    pub legal_hold: bool,
    pub legal_hold_reason: Option<String>,
    /// Since when the hold is in force (`legal_hold_since`).
    pub legal_hold_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl StreamPolicy {
    /// The policy of a stream with no `[streams.NAME]` table: kept forever.
    pub fn keep_forever() -> StreamPolicy {
        StreamPolicy {
            retention: None,
            hot: None,
            presets: Vec::new(),
            legal_hold: false,
            legal_hold_reason: None,
            legal_hold_since: None,
        }
    }
}

pub(crate) fn validate_streams(
    raw: BTreeMap<String, RawStream>,
) -> Result<BTreeMap<String, StreamPolicy>, ConfigError> {
    raw.into_iter()
        .map(|(name, stream)| {
            let policy = validate_stream(&name, stream)?;
            Ok((name, policy))
        })
        .collect()
}

fn validate_stream(name: &str, raw: RawStream) -> Result<StreamPolicy, ConfigError> {
    let key = format!("streams.{name}");
    if !logwarden_event::is_valid_stream_name(name) {
        return Err(ConfigError::invalid(
            &key,
            "a stream name is lowercase letters, digits, '_' or '-'",
        ));
    }
    if raw.retention.is_some_and(|r| r < Duration::from_secs(DAY)) {
        return Err(ConfigError::invalid(
            format!("{key}.retention"),
            "must be at least 1 day",
        ));
    }
    if let (Some(hot), Some(retention)) = (raw.hot, raw.retention) {
        if hot > retention {
            return Err(ConfigError::invalid(
                format!("{key}.hot"),
                "cannot be longer than the retention",
            ));
        }
    }
    let mut presets = Vec::new();
    for (i, preset_name) in raw.presets.iter().enumerate() {
        let Some(preset) = preset(preset_name) else {
            let known: Vec<_> = PRESETS.iter().map(|p| p.name).collect();
            return Err(ConfigError::invalid(
                format!("{key}.presets[{i}]"),
                format!(
                    "unknown preset `{preset_name}`; known: {}",
                    known.join(", ")
                ),
            ));
        };
        check_preset(&key, &raw, preset)?;
        presets.push(preset);
    }
    let legal_hold_since = match raw.legal_hold_since.as_deref() {
        None => None,
        Some(_) if !raw.legal_hold => {
            return Err(ConfigError::invalid(
                format!("{key}.legal_hold_since"),
                "is set but legal_hold is not: set legal_hold = true, or remove the date",
            ));
        }
        Some(text) => Some(parse_since(text).ok_or_else(|| {
            ConfigError::invalid(
                format!("{key}.legal_hold_since"),
                format!("`{text}` is not a date (2026-11-01) or an RFC 3339 time"),
            )
        })?),
    };
    Ok(StreamPolicy {
        retention: raw.retention,
        hot: raw.hot,
        presets,
        legal_hold: raw.legal_hold,
        legal_hold_reason: raw.legal_hold_reason,
        legal_hold_since,
    })
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.to_utc());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn check_preset(key: &str, raw: &RawStream, preset: &Preset) -> Result<(), ConfigError> {
    if let (Some(min), Some(retention)) = (preset.min_retention, raw.retention) {
        if retention < min {
            return Err(ConfigError::invalid(
                format!("{key}.retention"),
                format!(
                    "{} is shorter than the {} that preset `{}` requires: {}",
                    humantime::format_duration(retention),
                    humantime::format_duration(min),
                    preset.name,
                    preset.citation
                ),
            ));
        }
    }
    if let Some(min_hot) = preset.min_hot {
        if raw.hot.is_some_and(|hot| hot < min_hot) {
            return Err(ConfigError::invalid(
                format!("{key}.hot"),
                format!(
                    "must be at least {} for preset `{}`: {}",
                    humantime::format_duration(min_hot),
                    preset.name,
                    preset.citation
                ),
            ));
        }
    }
    if preset.requires_expiry && raw.retention.is_none() {
        return Err(ConfigError::invalid(
            format!("{key}.retention"),
            format!(
                "must be set: preset `{}` forbids keeping logs forever: {}",
                preset.name, preset.citation
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::RawConfig;

    fn err(text: &str) -> String {
        RawConfig::from_toml(text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_retention_shorter_than_the_law_is_refused_naming_key_and_law() {
        let e = err("[streams.access]\nretention = \"180d\"\npresets = [\"kr-pipa-access\"]\n");
        assert!(e.contains("streams.access.retention"), "{e}");
        assert!(e.contains("제8조"), "{e}");
        let e = err(
            "[streams.payments]\nretention = \"2y\"\npresets = [\"pci-dss-10.5.1\", \"sox\"]\n",
        );
        assert!(e.contains("sox") && e.contains("Sarbanes-Oxley"), "{e}");
        // 365 days is a day short of a leap year: refused; "1y" passes.
        assert!(
            err("[streams.a]\nretention = \"365d\"\npresets = [\"kr-pipa-access\"]\n")
                .contains("retention")
        );
    }

    #[test]
    fn presets_are_satisfied_by_long_enough_retention() {
        let config = RawConfig::from_toml(
            "[streams.access]\nretention = \"1y\"\npresets = [\"kr-pipa-access\"]\n\
             [streams.payments]\nretention = \"7y\"\nhot = \"90d\"\npresets = [\"pci-dss-10.5.1\", \"sox\"]\n\
             [streams.web]\nretention = \"30d\"\npresets = [\"gdpr\"]\nlegal_hold = true\n",
        )
        .unwrap()
        .validate()
        .unwrap();
        let payments = config.stream_policy("payments");
        assert_eq!(payments.presets.len(), 2);
        assert!(config.stream_policy("web").legal_hold);
        assert_eq!(config.stream_policy("other").retention, None);
    }

    #[test]
    fn a_legal_hold_start_date_is_read_and_needs_the_hold() {
        let config = RawConfig::from_toml(
            "[streams.web]\nretention = \"30d\"\nlegal_hold = true\nlegal_hold_since = \"2026-11-01\"\n",
        )
        .unwrap()
        .validate()
        .unwrap();
        let since = config.stream_policy("web").legal_hold_since.unwrap();
        assert_eq!(since.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        let e = err("[streams.web]\nlegal_hold_since = \"2026-11-01\"\n");
        assert!(e.contains("streams.web.legal_hold_since") && e.contains("legal_hold = true"), "{e}");
        let e = err("[streams.web]\nlegal_hold = true\nlegal_hold_since = \"last week\"\n");
        assert!(e.contains("streams.web.legal_hold_since"), "{e}");
    }

    #[test]
    fn other_stream_mistakes_name_their_key() {
        let cases = [
            ("[streams.a]\npresets = [\"gdpr\"]\n", "streams.a.retention"),
            (
                "[streams.a]\npresets = [\"nope\"]\n",
                "streams.a.presets[0]",
            ),
            (
                "[streams.a]\nretention = \"1y\"\nhot = \"30d\"\npresets = [\"pci-dss-10.5.1\"]\n",
                "streams.a.hot",
            ),
            (
                "[streams.a]\nretention = \"10d\"\nhot = \"30d\"\n",
                "streams.a.hot",
            ),
            ("[streams.a]\nretention = \"1h\"\n", "streams.a.retention"),
            ("[streams.A]\nretention = \"10d\"\n", "streams.A"),
        ];
        for (text, key) in cases {
            let e = err(text);
            assert!(e.contains(key), "{text:?} gave {e}");
        }
    }
}
