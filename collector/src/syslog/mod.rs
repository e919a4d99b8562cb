//! The syslog source: UDP, TCP and TLS listeners.
//!
//! - `framing`: RFC 6587 octet counting and newline framing, per message.
//! - `message`: one message to an event (parse, sender address, oversize flag).
//! - `udp`, `tcp`: the listeners; `tls`: the rustls acceptor from PEM files.
//! - `forward`: batches a listener's events into the delivery (Kafka or spool).

mod forward;
mod framing;
mod message;
mod tcp;
pub mod tls;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use logwarden_config::{SyslogListener, SyslogTransport, TlsFiles};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use framing::{Decoder, Frame};
pub use message::to_event;

use crate::delivery::Delivery;
use crate::parse::Parsers;

/// Events buffered between a listener and its delivery; a full channel
/// pauses TCP reads.
const CHANNEL: usize = 10_000;

enum Socket {
    Udp(Arc<UdpSocket>),
    Tcp(TcpListener),
}

/// A listener bound to its address, not yet serving.
pub struct BoundSyslog {
    socket: Socket,
    config: SyslogListener,
    local: SocketAddr,
}

impl BoundSyslog {
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn transport(&self) -> SyslogTransport {
        self.config.transport
    }
}

pub async fn bind(config: &SyslogListener) -> anyhow::Result<BoundSyslog> {
    let what = || {
        format!(
            "binding syslog {}://{}",
            config.transport.as_str(),
            config.addr
        )
    };
    let (socket, local) = match config.transport {
        SyslogTransport::Udp => {
            let socket = UdpSocket::bind(config.addr).await.with_context(what)?;
            let local = socket.local_addr()?;
            (Socket::Udp(Arc::new(socket)), local)
        }
        SyslogTransport::Tcp | SyslogTransport::Tls => {
            let listener = TcpListener::bind(config.addr).await.with_context(what)?;
            let local = listener.local_addr()?;
            (Socket::Tcp(listener), local)
        }
    };
    Ok(BoundSyslog {
        socket,
        config: config.clone(),
        local,
    })
}

/// Serves the listener until `shutdown`, then delivers what it still holds.
pub fn spawn(
    bound: BoundSyslog,
    tls: Option<&TlsFiles>,
    parsers: Parsers,
    delivery: Delivery,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let config = bound.config;
    let source = match config.transport {
        SyslogTransport::Udp => "syslog_udp",
        SyslogTransport::Tcp => "syslog_tcp",
        SyslogTransport::Tls => "syslog_tls",
    };
    let reader = match bound.socket {
        Socket::Udp(socket) => tokio::spawn(udp::serve(socket, config, parsers, tx, shutdown.clone())),
        Socket::Tcp(listener) => {
            let acceptor = match config.transport {
                SyslogTransport::Tls => Some(tls::acceptor(
                    tls.context("tls:// listener without collector.tls")?,
                )?),
                _ => None,
            };
            tokio::spawn(tcp::serve(listener, config, parsers, acceptor, tx, shutdown.clone()))
        }
    };
    let can_wait = source != "syslog_udp";
    let forwarder = tokio::spawn(forward::forward(rx, delivery, source, can_wait, shutdown));
    Ok(tokio::spawn(async move {
        let _ = reader.await;
        let _ = forwarder.await;
    }))
}
