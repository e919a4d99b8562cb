//! `logwarden keys create|list|revoke`: API keys without computing SHA-256
//! by hand.
//!
//! Keys live in `DATA_DIR/api-keys.toml`, as `[[auth.keys]]` entries (name,
//! role, streams, SHA-256 hash; never the key), mode 0600. Every process on
//! that data dir reads them at start, beside the config's `[[auth.keys]]` and
//! the created `admin.key`; `keys create` also prints the entry, for a config
//! on another machine. A running process keeps the keys it started with:
//! restart it after `create` or `revoke` (no SIGHUP reload yet).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use logwarden_config::RawConfig;
use logwarden_config::auth::{Role, hash_key};
use logwarden_config::raw::RawAuthKey;

use crate::admin_key;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key: prints it once, keeps its hash in DATA_DIR/api-keys.toml
    /// and prints the `[[auth.keys]]` entry for a config.
    Create(CreateArgs),
    /// List the keys a process on this data dir (and config) accepts: names,
    /// roles, streams and hash prefixes, never the keys.
    List(StoreArgs),
    /// Remove a key from DATA_DIR/api-keys.toml (or delete the created
    /// admin.key); running processes accept it until restarted.
    Revoke(RevokeArgs),
}

/// Where the keys are: the data dir (flag, `LOGWARDEN_DATA_DIR`, the
/// config's `data_dir`, or `data`) and the config whose keys to list.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Data directory of the processes that should accept the key.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file: its `data_dir` and its `[[auth.keys]]`.
    #[arg(long, short, env = "LOGWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the key (letters, digits, '.', '_', '-'): shown in 403s and audit records.
    #[arg(long)]
    pub name: String,
    #[arg(long, value_parser = ["admin", "analyst", "auditor", "ingest"])]
    pub role: String,
    /// Limit the key to these streams (comma-separated), for search and ingest.
    #[arg(long, value_delimiter = ',', value_name = "STREAM,...")]
    pub streams: Option<Vec<String>>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn execute(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => create(args),
        KeysCommand::List(args) => list(args),
        KeysCommand::Revoke(args) => revoke(args),
    }
}

/// The file `keys create` writes under a data dir.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("api-keys.toml")
}

/// The keys kept under `data_dir` (none when the file does not exist).
pub fn read_store(data_dir: &Path) -> anyhow::Result<Vec<RawAuthKey>> {
    let path = store_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let raw = RawConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?;
    Ok(raw.auth.keys)
}

/// Adds the data dir's keys to `raw.auth`, refusing a name the config uses.
pub fn merge_store(raw: &mut RawConfig, data_dir: &Path) -> anyhow::Result<()> {
    for key in read_store(data_dir)? {
        if raw.auth.keys.iter().any(|k| k.name == key.name) {
            anyhow::bail!(
                "key name `{}` is both in {} and in the config's [[auth.keys]] (or is the created admin key): revoke one",
                key.name,
                store_path(data_dir).display()
            );
        }
        raw.auth.keys.push(key);
    }
    Ok(())
}

fn write_store(data_dir: &Path, keys: &[RawAuthKey]) -> anyhow::Result<()> {
    let path = store_path(data_dir);
    let mut text = String::from("# API keys made by `logwarden keys` (SHA-256 hashes, never the keys).\n# Read at start by every logwarden process on this data dir.\n");
    for key in keys {
        text.push('\n');
        text.push_str(&entry(key));
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let tmp = path.with_extension("toml.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))
}

/// The `[[auth.keys]]` entry of `key`, as a config holds it. Names and
/// streams are checked to need no TOML escaping.
fn entry(key: &RawAuthKey) -> String {
    let mut text = format!("[[auth.keys]]\nname = \"{}\"\nrole = \"{}\"\nhash = \"{}\"\n", key.name, key.role, key.hash);
    if let Some(streams) = &key.streams {
        let list: Vec<String> = streams.iter().map(|s| format!("\"{s}\"")).collect();
        text.push_str(&format!("streams = [{}]\n", list.join(", ")));
    }
    text
}

/// The data dir and the config's own keys.
fn locate(args: &StoreArgs) -> anyhow::Result<(PathBuf, Vec<RawAuthKey>)> {
    let mut raw = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
            RawConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => RawConfig::default(),
    };
    raw.apply_env(|name| std::env::var(name).ok());
    let data_dir = args.data_dir.clone().or(raw.data_dir).unwrap_or_else(|| PathBuf::from("data"));
    Ok((data_dir, raw.auth.keys))
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        anyhow::bail!("--name `{name}`: use 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if name == admin_key::NAME {
        anyhow::bail!("--name `{name}` is the created admin key's; pick another name");
    }
    Ok(())
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let role = Role::parse(&args.role).context("--role: use admin, analyst, auditor or ingest")?;
    if let Some(streams) = &args.streams {
        if let Some(bad) = streams.iter().find(|s| !logwarden_event::is_valid_stream_name(s)) {
            anyhow::bail!("--streams: `{bad}` must be lowercase letters, digits, '_' or '-'");
        }
    }
    let (data_dir, configured) = locate(&args.store)?;
    let mut keys = read_store(&data_dir)?;
    if keys.iter().chain(&configured).any(|k| k.name == args.name) {
        anyhow::bail!("a key named `{}` exists already (`logwarden keys list`); revoke it first or pick another name", args.name);
    }
    let secret = admin_key::new_secret();
    let key = RawAuthKey { name: args.name, role: role.as_str().into(), hash: hash_key(&secret), streams: args.streams };
    keys.push(key.clone());
    write_store(&data_dir, &keys)?;
    let path = store_path(&data_dir);
    eprintln!(
        "logwarden: created key `{}` (role {}); it is shown this once, only its hash is kept in {}:",
        key.name,
        key.role,
        path.display()
    );
    println!("{secret}");
    eprintln!("logwarden: processes on {} accept it from their next start (restart running ones); for a config elsewhere, add:", data_dir.display());
    print!("{}", entry(&key));
    if role.may_ingest() {
        eprintln!("logwarden: ingest with: curl -H 'Authorization: Bearer KEY' --data-binary @events.ndjson http://INGEST_ADDR/api/v1/ingest/STREAM");
    }
    Ok(())
}

fn list(args: StoreArgs) -> anyhow::Result<()> {
    let (data_dir, configured) = locate(&args)?;
    let mut rows: Vec<(RawAuthKey, String)> = Vec::new();
    let config = args.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    rows.extend(configured.iter().cloned().map(|k| (k, config.clone())));
    let admin = admin_key::path(&data_dir);
    if configured.is_empty() {
        if let Ok(secret) = std::fs::read_to_string(&admin) {
            let key = RawAuthKey { name: admin_key::NAME.into(), role: "admin".into(), hash: hash_key(secret.trim()), streams: None };
            rows.push((key, admin.display().to_string()));
        }
    }
    let store = store_path(&data_dir).display().to_string();
    rows.extend(read_store(&data_dir)?.into_iter().map(|k| (k, store.clone())));
    if rows.is_empty() {
        eprintln!("logwarden: no keys for {} (the first start creates {})", data_dir.display(), admin.display());
        return Ok(());
    }
    println!("{:<20} {:<8} {:<20} {:<16} FROM", "NAME", "ROLE", "STREAMS", "HASH");
    for (key, from) in rows {
        let streams = key.streams.as_ref().map_or("*".to_string(), |s| s.join(","));
        let prefix: String = key.hash.chars().take("sha256:".len() + 8).collect();
        println!("{:<20} {:<8} {:<20} {:<16} {from}", key.name, key.role, streams, format!("{prefix}…"));
    }
    Ok(())
}

fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let (data_dir, configured) = locate(&args.store)?;
    let mut keys = read_store(&data_dir)?;
    let before = keys.len();
    keys.retain(|k| k.name != args.name);
    let restart = "processes already running accept it until they are restarted";
    if keys.len() < before {
        write_store(&data_dir, &keys)?;
        println!("logwarden: revoked key `{}` ({}); {restart}", args.name, store_path(&data_dir).display());
        return Ok(());
    }
    if configured.iter().any(|k| k.name == args.name) {
        let config = args.store.config.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        anyhow::bail!("key `{}` is in {config}: delete its [[auth.keys]] entry there, then restart", args.name);
    }
    let admin = admin_key::path(&data_dir);
    if args.name == admin_key::NAME && admin.exists() {
        std::fs::remove_file(&admin).with_context(|| format!("deleting {}", admin.display()))?;
        println!("logwarden: revoked the admin key (deleted {}); {restart}, and the next start without [[auth.keys]] creates a new one", admin.display());
        return Ok(());
    }
    anyhow::bail!("no key named `{}` for {} (`logwarden keys list` shows them)", args.name, data_dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_args(dir: &Path) -> StoreArgs {
        StoreArgs { data_dir: Some(dir.to_path_buf()), config: None }
    }

    #[test]
    fn created_keys_are_accepted_then_revoked() {
        let dir = tempfile::tempdir().unwrap();
        create(CreateArgs { name: "fb".into(), role: "ingest".into(), streams: Some(vec!["auth".into()]), store: store_args(dir.path()) }).unwrap();
        let keys = read_store(dir.path()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].hash.starts_with("sha256:") && keys[0].streams == Some(vec!["auth".to_string()]));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(store_path(dir.path())).unwrap().permissions().mode() & 0o777, 0o600);

        // Merged beside the created admin key, the file validates as a config.
        let mut raw = RawConfig::default();
        admin_key::ensure(&mut raw, dir.path()).unwrap();
        merge_store(&mut raw, dir.path()).unwrap();
        let config = raw.validate().unwrap();
        assert_eq!(config.auth.keys().iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["admin", "fb"]);

        let again = create(CreateArgs { name: "fb".into(), role: "admin".into(), streams: None, store: store_args(dir.path()) });
        assert!(again.unwrap_err().to_string().contains("exists already"));
        let admin = create(CreateArgs { name: "admin".into(), role: "admin".into(), streams: None, store: store_args(dir.path()) });
        assert!(admin.is_err());

        revoke(RevokeArgs { name: "fb".into(), store: store_args(dir.path()) }).unwrap();
        assert!(read_store(dir.path()).unwrap().is_empty());
        let missing = revoke(RevokeArgs { name: "fb".into(), store: store_args(dir.path()) });
        assert!(missing.unwrap_err().to_string().contains("no key named `fb`"));
        revoke(RevokeArgs { name: "admin".into(), store: store_args(dir.path()) }).unwrap();
        assert!(!admin_key::path(dir.path()).exists());
    }

    #[test]
    fn a_name_in_both_the_config_and_the_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_store(dir.path(), &[RawAuthKey { name: "ops".into(), role: "admin".into(), hash: hash_key("a"), streams: None }]).unwrap();
        let mut raw = RawConfig::default();
        raw.auth.keys.push(RawAuthKey { name: "ops".into(), role: "analyst".into(), hash: hash_key("b"), streams: None });
        let err = merge_store(&mut raw, dir.path()).unwrap_err().to_string();
        assert!(err.contains("`ops`") && err.contains("api-keys.toml"), "{err}");
    }
}
