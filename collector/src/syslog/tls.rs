//! TLS acceptors from PEM files: `tls://` syslog listeners, and the query
//! API when `api.tls` is set.

use std::sync::Arc;

use anyhow::Context;
use logwarden_config::TlsFiles;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    acceptor_for(files, "collector.tls")
}

/// An acceptor for the certificate and key of config section `section`
/// (named in errors).
pub fn acceptor_for(files: &TlsFiles, section: &str) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "reading certificates from {} ({section}.cert)",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "no certificate in {} ({section}.cert)",
            files.cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "reading the private key from {} ({section}.key)",
            files.key.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("tls protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| format!("{section}: certificate and key do not match"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
