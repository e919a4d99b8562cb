//! Secure by default: with no `[[auth.keys]]` in the config, the HTTP
//! services would refuse every request. On first start an admin key is
//! created in `DATA_DIR/admin.key` (mode 0600) and printed once; later
//! starts read it. Requests without a key still get a 401. Keys made with
//! `logwarden keys create` (`DATA_DIR/api-keys.toml`) are added beside it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use logwarden_config::RawConfig;
use logwarden_config::auth::{Role, hash_key};
use logwarden_config::raw::RawAuthKey;
use rand::RngCore;

/// The name the created admin key goes by (in 403s, the audit, `keys list`).
pub const NAME: &str = "admin";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.key")
}

/// Adds the admin key to `raw.auth` when the config names no key; returns
/// the file holding it, or `None` when the keys come from the config.
pub fn ensure(raw: &mut RawConfig, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !raw.auth.keys.is_empty() {
        return Ok(None);
    }
    let path = path(data_dir);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path)?,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if secret.len() < 32 {
        anyhow::bail!("{} holds no usable key (expected at least 32 characters); delete it to create a new one", path.display());
    }
    raw.auth.keys.push(RawAuthKey {
        name: NAME.into(),
        role: Role::Admin.as_str().into(),
        hash: hash_key(&secret),
        streams: None,
    });
    Ok(Some(path))
}

/// A new random key: `lw_` and 48 hex digits (192 bits).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    std::iter::once("lw_".to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect()
}

fn create(path: &Path) -> anyhow::Result<String> {
    let secret = new_secret();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file,
        // Another process of this data dir created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(100));
            return Ok(std::fs::read_to_string(path)?.trim().to_string());
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(secret.as_bytes()).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))?;
    println!("logwarden: no [[auth.keys]] configured: created an admin API key, shown this once and kept in {} (mode 0600):", path.display());
    println!("logwarden: admin key: {secret}");
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = RawConfig::default();
        assert_eq!(ensure(&mut raw, dir.path()).unwrap(), Some(path(dir.path())));
        let config = raw.validate().unwrap();
        let secret = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(config.auth.verify(&secret).is_some_and(|k| k.role == Role::Admin));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().permissions().mode() & 0o777, 0o600);
        let mut again = RawConfig::default();
        ensure(&mut again, dir.path()).unwrap();
        let again = again.validate().unwrap();
        assert!(again.auth.verify(&secret).is_some());
        assert!(again.auth.verify("lw_wrong").is_none());
    }

    #[test]
    fn configured_keys_make_no_admin_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = RawConfig::default();
        raw.auth.keys.push(RawAuthKey { name: "ops".into(), role: "admin".into(), hash: hash_key("k"), streams: None });
        assert_eq!(ensure(&mut raw, dir.path()).unwrap(), None);
        assert!(!path(dir.path()).exists());
    }
}
