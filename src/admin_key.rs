//! Secure by default: with no `[[auth.keys]]` configured, the HTTP services
//! would refuse every request. On first start an admin key is created in
//! `DATA_DIR/admin.key` (mode 0600) and printed once; later starts read it.
//! Requests without a key still get a 401.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use logwarden_config::Config;
use logwarden_config::auth::{ApiKey, KeyRing, Role, hash_key};
use rand::RngCore;

pub fn path(config: &Config) -> PathBuf {
    config.data_dir.join("admin.key")
}

/// Adds the admin key to `config.auth` when no key is configured; returns
/// the file holding it, or `None` when the keys come from the config.
pub fn ensure(config: &mut Config) -> anyhow::Result<Option<PathBuf>> {
    if !config.auth.is_empty() {
        return Ok(None);
    }
    let path = path(config);
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path)?,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if secret.len() < 32 {
        anyhow::bail!("{} holds no usable key (expected at least 32 characters); delete it to create a new one", path.display());
    }
    let key = ApiKey::new("admin".into(), Role::Admin, &hash_key(&secret), None).expect("hash_key gives a valid hash");
    config.auth = KeyRing::new(vec![key]);
    Ok(Some(path))
}

fn create(path: &Path) -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = std::iter::once("lw_".to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect();
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
        let mut config = logwarden_config::RawConfig::default().validate().unwrap();
        config.data_dir = dir.path().to_path_buf();
        ensure(&mut config).unwrap();
        let secret = std::fs::read_to_string(path(&config)).unwrap();
        assert!(config.auth.verify(&secret).is_some_and(|k| k.role == Role::Admin));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path(&config)).unwrap().permissions().mode() & 0o777, 0o600);
        let mut again = logwarden_config::RawConfig::default().validate().unwrap();
        again.data_dir = dir.path().to_path_buf();
        ensure(&mut again).unwrap();
        assert!(again.auth.verify(&secret).is_some());
        assert!(again.auth.verify("lw_wrong").is_none());
    }
}
