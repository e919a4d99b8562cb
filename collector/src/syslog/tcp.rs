//! Syslog over TCP and TLS: a bounded number of connections, each read
//! through the RFC 6587 decoder until EOF, an error or the idle timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use logwarden_config::SyslogListener;
use logwarden_event::Event;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::framing::Decoder;
use super::message::to_event;
use crate::metrics;

pub async fn serve(
    listener: TcpListener,
    config: SyslogListener,
    tls: Option<TlsAcceptor>,
    events: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) {
    let transport = config.transport.as_str();
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let config = Arc::new(config);
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, listen = %config.addr, "syslog accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::connection_refused(transport);
            tracing::warn!(%peer, transport, max_connections = config.max_connections,
                "syslog connection refused: too many open connections");
            drop(stream);
            continue;
        };
        let (config, events, shutdown, tls) = (
            config.clone(),
            events.clone(),
            shutdown.clone(),
            tls.clone(),
        );
        connections.spawn(async move {
            metrics::connections_open(transport, 1.0);
            match tls {
                None => read_messages(stream, peer, &config, &events, &shutdown).await,
                Some(acceptor) => {
                    match tokio::time::timeout(config.idle_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            read_messages(stream, peer, &config, &events, &shutdown).await
                        }
                        Ok(Err(error)) => {
                            tracing::warn!(%peer, %error, "syslog tls handshake failed")
                        }
                        Err(_) => tracing::warn!(%peer, "syslog tls handshake timed out"),
                    }
                }
            }
            metrics::connections_open(transport, -1.0);
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
}

async fn read_messages<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    config: &SyslogListener,
    events: &mpsc::Sender<Event>,
    shutdown: &CancellationToken,
) {
    let mut decoder = Decoder::new(config.max_message_bytes);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let stream_name = config.stream.as_deref();
    loop {
        while let Some(frame) = decoder.decode(&mut buf) {
            let event = to_event(
                &frame.bytes,
                frame.truncated,
                config.max_message_bytes,
                peer,
                stream_name,
            );
            if events.send(event).await.is_err() {
                return;
            }
        }
        buf.reserve(16 * 1024);
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            read = tokio::time::timeout(config.idle_timeout, stream.read_buf(&mut buf)) => read,
        };
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "syslog connection read failed");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, timeout = ?config.idle_timeout, "syslog connection idle; closing");
                break;
            }
        }
    }
    while let Some(frame) = decoder.decode(&mut buf) {
        let event = to_event(
            &frame.bytes,
            frame.truncated,
            config.max_message_bytes,
            peer,
            stream_name,
        );
        if events.send(event).await.is_err() {
            return;
        }
    }
    if let Some(frame) = decoder.finish(&mut buf) {
        let _ = events
            .send(to_event(
                &frame.bytes,
                frame.truncated,
                config.max_message_bytes,
                peer,
                stream_name,
            ))
            .await;
    }
}
