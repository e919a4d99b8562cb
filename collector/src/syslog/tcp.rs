//! Syslog over TCP and TLS: a bounded number of connections, each read
//! through the RFC 6587 decoder until EOF, an error, the idle timeout, or
//! a message not completed within the frame timeout (a slow sender).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

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
use crate::parse::Parsers;
use crate::metrics;

pub async fn serve(
    listener: TcpListener,
    config: SyslogListener,
    parsers: Parsers,
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
        let (config, parsers, events, shutdown, tls) = (
            config.clone(),
            parsers.clone(),
            events.clone(),
            shutdown.clone(),
            tls.clone(),
        );
        connections.spawn(async move {
            metrics::connections_open(transport, 1.0);
            match tls {
                None => read_messages(stream, peer, &config, &parsers, &events, &shutdown).await,
                Some(acceptor) => {
                    let handshake = config.idle_timeout.min(config.frame_timeout);
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            read_messages(stream, peer, &config, &parsers, &events, &shutdown).await
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
    parsers: &Parsers,
    events: &mpsc::Sender<Event>,
    shutdown: &CancellationToken,
) {
    let mut decoder = Decoder::new(config.max_message_bytes);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let stream_name = config.stream.as_deref();
    // When the first byte of the message now being received arrived.
    let mut frame_started: Option<Instant> = None;
    loop {
        while let Some(frame) = decoder.decode(&mut buf) {
            let event = to_event(
                parsers,
                &frame.bytes,
                frame.truncated,
                config.max_message_bytes,
                peer,
                stream_name,
            );
            if events.send(event).await.is_err() {
                return;
            }
            frame_started = None;
        }
        // Silence is bounded by idle_timeout; a message begun must also be
        // finished within frame_timeout, however slowly its bytes trickle.
        let deadline = match (buf.is_empty(), frame_started) {
            (true, _) => Instant::now() + config.idle_timeout,
            (false, Some(started)) => (started + config.frame_timeout).min(Instant::now() + config.idle_timeout),
            (false, None) => {
                let now = Instant::now();
                frame_started = Some(now);
                (now + config.frame_timeout).min(now + config.idle_timeout)
            }
        };
        buf.reserve(16 * 1024);
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            read = tokio::time::timeout_at(deadline.into(), stream.read_buf(&mut buf)) => read,
        };
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {
                if frame_started.is_none() {
                    frame_started = Some(Instant::now());
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "syslog connection read failed");
                break;
            }
            Err(_) if buf.is_empty() => {
                tracing::debug!(%peer, timeout = ?config.idle_timeout, "syslog connection idle; closing");
                break;
            }
            Err(_) => {
                metrics::slow_sender(config.transport.as_str());
                tracing::warn!(%peer, timeout = ?config.frame_timeout, pending_bytes = buf.len(),
                    "syslog message not completed in time; closing the connection (what arrived is kept as an event)");
                break;
            }
        }
    }
    while let Some(frame) = decoder.decode(&mut buf) {
        let event = to_event(
            parsers,
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
                parsers,
                &frame.bytes,
                frame.truncated,
                config.max_message_bytes,
                peer,
                stream_name,
            ))
            .await;
    }
}
