//! `[index]`: what the indexer indexes beyond the ECS fields, and what
//! the query API parses queries against (both build the same schema from
//! it).

use serde::Deserialize;

use crate::ConfigError;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndex {
    /// Free fields (`fields.NAME`) indexed: names, `prefix.*` or `*`
    /// (every free field); absent: the default list
    /// (`logwarden_event::fields::INDEXED_FREE_FIELDS`).
    pub free_fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexConfig {
    /// Free field patterns indexed, checked: `name`, `prefix.*` or `*`.
    pub free_fields: Vec<String>,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig { free_fields: default_free_fields() }
    }
}

fn default_free_fields() -> Vec<String> {
    logwarden_event::fields::INDEXED_FREE_FIELDS.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn validate(raw: RawIndex) -> Result<IndexConfig, ConfigError> {
    let Some(patterns) = raw.free_fields else {
        return Ok(IndexConfig::default());
    };
    for pattern in &patterns {
        check_pattern(pattern).map_err(|why| {
            ConfigError::invalid("index.free_fields", format!("pattern `{pattern}` {why}"))
        })?;
    }
    Ok(IndexConfig { free_fields: patterns })
}

/// A pattern is `*`, a dotted name, or a dotted name followed by `.*`.
fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern == "*" {
        return Ok(());
    }
    let name = pattern.strip_suffix(".*").unwrap_or(pattern);
    if name.is_empty() {
        return Err("is empty: use a name, `prefix.*` or `*`");
    }
    if name.contains('*') {
        return Err("has a `*` other than a whole `*` or a trailing `.*` (e.g. `user.*`)");
    }
    if name.split('.').any(str::is_empty) {
        return Err("has an empty part between dots");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has a space or control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(toml: &str) -> Result<IndexConfig, ConfigError> {
        validate(toml::from_str::<RawIndex>(toml).unwrap())
    }

    #[test]
    fn absent_means_the_default_list() {
        let config = parsed("").unwrap();
        assert!(config.free_fields.iter().any(|p| p == "user.*"));
        assert_eq!(config.free_fields.len(), logwarden_event::fields::INDEXED_FREE_FIELDS.len());
    }

    #[test]
    fn names_prefixes_and_everything_are_accepted() {
        let config = parsed(r#"free_fields = ["user.*", "trace.id", "tty", "*"]"#).unwrap();
        assert_eq!(config.free_fields, ["user.*", "trace.id", "tty", "*"]);
        assert!(parsed("free_fields = []").unwrap().free_fields.is_empty());
    }

    #[test]
    fn a_bad_pattern_is_refused_naming_the_key_and_the_pattern() {
        for (pattern, why) in [
            ("user*", "has a `*`"),
            ("*.name", "has a `*`"),
            ("", "is empty"),
            (".*", "is empty"),
            ("user..name", "empty part"),
            ("user.", "empty part"),
            ("user name", "space"),
        ] {
            let error = parsed(&format!("free_fields = [{pattern:?}]")).unwrap_err().to_string();
            assert!(error.contains("`index.free_fields`"), "{error}");
            assert!(error.contains(&format!("pattern `{pattern}`")) && error.contains(why), "{error}");
        }
    }
}
