//! The Ed25519 key that signs manifests.
//!
//! The private key is a PKCS#8 PEM file (mode 0600), created on first start
//! when missing; the public key is written beside it as `<key>.pub.pem`
//! (SubjectPublicKeyInfo PEM, readable by `openssl pkey -pubin`) for
//! auditors to pin.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Signs manifests and deletion records.
pub struct ManifestSigner {
    key: SigningKey,
    key_id: String,
}

impl ManifestSigner {
    /// Loads the key at `path`, or creates it (and its public half) if the
    /// file does not exist.
    pub fn load_or_create(path: &Path) -> Result<ManifestSigner, StoreError> {
        let key = match std::fs::read_to_string(path) {
            Ok(pem) => SigningKey::from_pkcs8_pem(&pem).map_err(|e| StoreError::Key {
                path: path.to_path_buf(),
                message: format!("not an Ed25519 PKCS#8 PEM private key: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match create(path)? {
                Some(key) => key,
                // Another process created it first: use theirs.
                None => return ManifestSigner::load_or_create(path),
            },
            Err(e) => return Err(StoreError::io(path, e)),
        };
        let public = public_key_path(path);
        if !public.exists() {
            write_public(&key.verifying_key(), &public)?;
        }
        Ok(ManifestSigner {
            key_id: key_id(&key.verifying_key()),
            key,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, message: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.key.sign(message).to_bytes())
    }

    pub fn verifier(&self) -> ManifestVerifier {
        ManifestVerifier {
            key: self.key.verifying_key(),
            key_id: self.key_id.clone(),
        }
    }
}

/// Checks signatures with a public key.
#[derive(Clone)]
pub struct ManifestVerifier {
    key: VerifyingKey,
    key_id: String,
}

impl ManifestVerifier {
    pub fn load(path: &Path) -> Result<ManifestVerifier, StoreError> {
        let pem = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
        let key = VerifyingKey::from_public_key_pem(&pem).map_err(|e| StoreError::Key {
            path: path.to_path_buf(),
            message: format!("not an Ed25519 public key PEM: {e}"),
        })?;
        Ok(ManifestVerifier {
            key_id: key_id(&key),
            key,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        use base64::Engine;
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }
}

/// `<key>.pub.pem` beside the private key.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".pub.pem");
    private.with_file_name(name)
}

/// First 16 hex digits of the SHA-256 of the raw public key.
fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("{digest:x}")[..16].to_string()
}

/// Creates the key at `path`; `None` when another process created it
/// first. The file appears complete or not at all (written aside, then
/// linked into place, which fails if the name exists).
fn create(path: &Path) -> Result<Option<SigningKey>, StoreError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = SigningKey::from_bytes(&secret);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| StoreError::Key {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    let tmp = crate::storage::unique_tmp(path);
    write_private(&tmp, pem.as_bytes())?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    }
    write_public(&key.verifying_key(), &public_key_path(path))?;
    tracing::warn!(path = %path.display(), key_id = %key_id(&key.verifying_key()), "created a new manifest signing key; back it up and pin its public key");
    Ok(Some(key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io(path, e))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e))?;
    }
    Ok(())
}

fn write_public(key: &VerifyingKey, path: &Path) -> Result<(), StoreError> {
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| StoreError::Key {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::storage::write_atomically(path, pem.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_verifies_its_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("signing.pem");
        let signer = ManifestSigner::load_or_create(&path).unwrap();
        let again = ManifestSigner::load_or_create(&path).unwrap();
        assert_eq!(signer.key_id(), again.key_id());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let verifier = ManifestVerifier::load(&public_key_path(&path)).unwrap();
        let signature = signer.sign(b"manifest");
        assert!(verifier.verify(b"manifest", &signature));
        assert!(!verifier.verify(b"manifesT", &signature));
        assert!(!verifier.verify(b"manifest", "not base64!"));
        std::fs::write(&path, "garbage").unwrap();
        let err = ManifestSigner::load_or_create(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("signing.pem") && err.contains("PKCS#8"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod race_tests {
    use super::*;

    #[test]
    fn processes_starting_together_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("signing.pem");
        let ids: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        ManifestSigner::load_or_create(&path)
                            .unwrap()
                            .key_id()
                            .to_string()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        let public = ManifestVerifier::load(&public_key_path(&path)).unwrap();
        assert_eq!(public.key_id(), ids[0]);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }
}
