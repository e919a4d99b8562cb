//! The TLS acceptor of `tls://` listeners, from PEM files.

use std::sync::Arc;

use anyhow::Context;
use logwarden_config::TlsFiles;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "reading certificates from {} (collector.tls.cert)",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "no certificate in {} (collector.tls.cert)",
            files.cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "reading the private key from {} (collector.tls.key)",
            files.key.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("tls protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("collector.tls: certificate and key do not match")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
