//! The TLS acceptor of `tls://` syslog listeners, from `collector.tls`.

use std::sync::Arc;

use logwarden_config::TlsFiles;
use tokio_rustls::TlsAcceptor;

pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, logwarden_config::ConfigError> {
    Ok(TlsAcceptor::from(Arc::new(files.server_config("collector.tls")?)))
}
