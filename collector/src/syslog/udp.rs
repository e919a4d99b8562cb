//! Syslog over UDP: one datagram, one message.

use std::sync::Arc;

use logwarden_config::SyslogListener;
use logwarden_event::Event;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::message::to_event;
use crate::parse::Parsers;
use crate::metrics;

/// Largest UDP payload.
const DATAGRAM: usize = 65_535;

pub async fn serve(
    socket: Arc<UdpSocket>,
    config: SyslogListener,
    parsers: Parsers,
    events: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; DATAGRAM];
    let mut backlog_full = false;
    loop {
        let (len, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(error) => {
                    tracing::warn!(%error, listen = %config.addr, "syslog udp receive failed");
                    continue;
                }
            },
        };
        let datagram = trim(&buf[..len]);
        if datagram.is_empty() {
            continue;
        }
        let keep = datagram.len().min(config.max_message_bytes);
        let event = to_event(
            &parsers,
            &datagram[..keep],
            keep < datagram.len(),
            config.max_message_bytes,
            peer,
            config.stream.as_deref(),
        );
        // UDP has no backpressure: when delivery falls behind, count the
        // drop instead of letting the kernel drop silently.
        match events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::dropped("syslog_udp", "backlog_full", 1);
                if !backlog_full {
                    tracing::error!(listen = %config.addr, "syslog udp messages dropped: delivery is behind (backlog full)");
                }
                backlog_full = true;
                continue;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
        backlog_full = false;
    }
}

/// Drops the LF, CRLF or NUL some senders end datagrams with.
fn trim(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !matches!(b, b'\n' | b'\r' | 0))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}
