//! A certificate and key in PEM files (`collector.tls`, `api.tls`) loaded
//! into a TLS server configuration: the syslog `tls://` listeners and the
//! query API's HTTPS share it. Errors name the key of the file at fault.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ConfigError;

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The server configuration for this certificate chain and key;
    /// `section` (`collector.tls`, `api.tls`) names them in errors.
    pub fn server_config(&self, section: &str) -> Result<ServerConfig, ConfigError> {
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| ConfigError::invalid(format!("{section}.cert"), format!("reading certificates from {}: {e}", self.cert.display())))?;
        if certs.is_empty() {
            return Err(ConfigError::invalid(format!("{section}.cert"), format!("no certificate in {}", self.cert.display())));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| ConfigError::invalid(format!("{section}.key"), format!("reading the private key from {}: {e}", self.key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::invalid(section, format!("tls protocol versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ConfigError::invalid(section, format!("certificate and key do not match: {e}")))
    }
}
