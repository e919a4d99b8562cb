//! One syslog message to an event: parsed by the configured [`Parsers`]
//! (chain, pattern files, syslog time zone, routes), the sender recorded,
//! oversize flagged.

use std::net::SocketAddr;

use chrono::Utc;
use logwarden_event::Event;

use crate::parse::{LineContext, Parsers};

/// Builds the event of one message received from `peer`. A message that
/// names no host gets the sender's IP as `host.name`.
pub fn to_event(
    parsers: &Parsers,
    bytes: &[u8],
    truncated: bool,
    max: usize,
    peer: SocketAddr,
    stream: Option<&str>,
) -> Event {
    let text = String::from_utf8_lossy(bytes);
    let ip = peer.ip().to_canonical().to_string();
    let ctx = LineContext {
        ingested: Utc::now(),
        host_name: &ip,
        file_path: None,
        stream,
    };
    let mut event = parsers.parse(&text, &ctx);
    event.log_source_address =
        Some(SocketAddr::new(peer.ip().to_canonical(), peer.port()).to_string());
    if truncated {
        let cut = format!("message longer than {max} bytes; truncated");
        event.parse_error = Some(match event.parse_error.take() {
            Some(previous) => format!("{cut}; {previous}"),
            None => cut,
        });
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "[::ffff:192.0.2.7]:40000".parse().unwrap()
    }

    #[test]
    fn fields_come_from_the_message_and_the_sender_is_recorded() {
        let event = to_event(
            Parsers::shared_default(),
            b"<38>Jan  2 03:04:05 web01 sshd[7]: Accepted password",
            false,
            1024,
            peer(),
            None,
        );
        assert_eq!(event.host_name.as_deref(), Some("web01"));
        assert_eq!(event.process_name.as_deref(), Some("sshd"));
        assert_eq!(event.process_pid, Some(7));
        assert_eq!(event.message, "Accepted password");
        assert_eq!(event.log_source_address.as_deref(), Some("192.0.2.7:40000"));
        assert_eq!(event.stream, "auth");
        assert_eq!(event.parse_error, None);
    }

    #[test]
    fn a_message_without_host_is_named_after_its_sender() {
        let event = to_event(Parsers::shared_default(), b"plain text \xff", true, 12, peer(), Some("network"));
        assert_eq!(event.host_name.as_deref(), Some("192.0.2.7"));
        assert_eq!(event.stream, "network");
        assert!(event.original.starts_with("plain text "));
        assert!(
            event
                .parse_error
                .unwrap()
                .starts_with("message longer than 12 bytes; truncated")
        );
    }
}
