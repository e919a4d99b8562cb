//! Ingest and API keys: configured as SHA-256 hashes, checked in constant
//! time. Shared by every HTTP service (collector ingest, query API).
//!
//! A client presents its key the way its shipper can send it:
//! `Authorization: Bearer KEY`, `Authorization: ApiKey base64(id:KEY)` (or
//! the key alone), or HTTP Basic with the key as the password.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Analyst,
    Auditor,
    Ingest,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "auditor" => Some(Role::Auditor),
            "ingest" => Some(Role::Ingest),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Ingest => "ingest",
        }
    }

    /// Admin and ingest keys may send events.
    pub fn may_ingest(self) -> bool {
        matches!(self, Role::Admin | Role::Ingest)
    }
}

/// One configured key. Only its hash is held; `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey {
    pub name: String,
    pub role: Role,
    /// Streams this key is limited to; `None` = all.
    pub streams: Option<Vec<String>>,
    hash: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("streams", &self.streams)
            .finish()
    }
}

impl ApiKey {
    /// `hash` is `sha256:<64 hex digits>`; `None` when it is not.
    pub fn new(
        name: String,
        role: Role,
        hash: &str,
        streams: Option<Vec<String>>,
    ) -> Option<ApiKey> {
        let hex = hash.strip_prefix("sha256:")?;
        Some(ApiKey {
            name,
            role,
            streams,
            hash: decode_hex32(hex)?,
        })
    }

    pub fn allows_stream(&self, stream: &str) -> bool {
        self.streams
            .as_ref()
            .is_none_or(|streams| streams.iter().any(|s| s == stream))
    }
}

/// The configured keys.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<ApiKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<ApiKey>) -> KeyRing {
        KeyRing { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> &[ApiKey] {
        &self.keys
    }

    /// The key whose hash matches `secret`. Every configured hash is compared,
    /// each in constant time.
    pub fn verify(&self, secret: &str) -> Option<&ApiKey> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            if constant_time_eq(&key.hash, &digest) && found.is_none() {
                found = Some(key);
            }
        }
        found
    }

    /// The key presented in an `Authorization` header value, if valid.
    pub fn authorize(&self, header: &str) -> Option<&ApiKey> {
        presented_secrets(header)
            .iter()
            .find_map(|secret| self.verify(secret))
    }
}

/// `sha256:<hex>` of a key, as written in the config.
pub fn hash_key(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The secrets an `Authorization` header value may carry.
fn presented_secrets(header: &str) -> Vec<String> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or(("", header));
    let rest = rest.trim();
    let decoded = || {
        STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => vec![rest.to_string()],
        "apikey" => {
            let mut secrets = vec![rest.to_string()];
            if let Some(text) = decoded() {
                if let Some((_, key)) = text.split_once(':') {
                    secrets.push(key.to_string());
                }
                secrets.push(text);
            }
            secrets
        }
        "basic" => match decoded().as_deref().and_then(|t| t.split_once(':')) {
            Some((_, password)) => vec![password.to_string()],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(vec![
            ApiKey::new(
                "shipper".into(),
                Role::Ingest,
                &hash_key("s3cret"),
                Some(vec!["auth".into()]),
            )
            .unwrap(),
            ApiKey::new("reader".into(), Role::Analyst, &hash_key("look"), None).unwrap(),
        ])
    }

    #[test]
    fn every_header_form_finds_the_key() {
        let ring = ring();
        let apikey = STANDARD.encode("shipper-id:s3cret");
        let basic = STANDARD.encode("elastic:s3cret");
        for header in [
            "Bearer s3cret",
            &format!("ApiKey {apikey}"),
            "ApiKey s3cret",
            &format!("Basic {basic}"),
        ] {
            let key = ring.authorize(header).unwrap_or_else(|| panic!("{header}"));
            assert_eq!(key.name, "shipper");
            assert!(key.role.may_ingest());
        }
        assert_eq!(ring.authorize("Bearer look").unwrap().role, Role::Analyst);
        assert!(!Role::Analyst.may_ingest());
    }

    #[test]
    fn wrong_or_malformed_credentials_are_refused() {
        let ring = ring();
        for header in [
            "Bearer nope",
            "s3cret",
            "Basic !!!",
            "Basic czNjcmV0",
            "ApiKey",
            "",
            "Bearer ",
        ] {
            assert!(ring.authorize(header).is_none(), "{header}");
        }
    }

    #[test]
    fn stream_limits_and_hash_format() {
        let ring = ring();
        let key = ring.verify("s3cret").unwrap();
        assert!(key.allows_stream("auth") && !key.allows_stream("app"));
        assert!(ApiKey::new("x".into(), Role::Admin, "sha256:abc", None).is_none());
        assert!(ApiKey::new("x".into(), Role::Admin, "md5:00", None).is_none());
        assert!(!format!("{key:?}").contains(&hash_key("s3cret")[7..]));
    }
}
