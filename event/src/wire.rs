//! Kafka wire format: one JSON object per message, keyed by the event's
//! source (see [`key`]).

use std::borrow::Cow;

use crate::Event;

mod json_writer;

/// Encodes an event as a Kafka message payload.
pub fn encode(event: &Event) -> Vec<u8> {
    // Serializing a struct of strings, numbers and a JSON map cannot fail.
    serde_json::to_vec(event).expect("event serializes to JSON")
}

/// Appends the encoded event to `buf` (reuses the caller's allocation):
/// the bytes of [`encode`], written without serde's per-field machinery.
pub fn encode_into(event: &Event, buf: &mut Vec<u8>) {
    json_writer::write_event(event, buf);
}

/// The message key: the event's source, so one source's events stay in
/// one partition, in order, while a host's sources spread over partitions
/// (keyed by `host.name`, one busy host pinned one partition and one
/// indexer core). The source is, in order:
///
/// - a tailed file line: the file and the host the line names,
///   `FILE/host.name`, `FILE` being the file's identity (the `FILE` part
///   of the collector's `event.id`, `FILE:OFFSET`: device and inode) or
///   its `log.file.path` when the event has no such id. A file that
///   gathers many hosts' lines (a syslog relay, JSON app logs) spreads by
///   host, each host's lines in order;
/// - a pushed event (syslog, HTTP ingest): its sender, `log.source.address`
///   (`ip:port`: one sender or connection);
/// - otherwise `host.name`.
///
/// Correlations need events of one group together, not of one source:
/// the detector re-keys its hits by their group-by values itself.
pub fn key(event: &Event) -> Cow<'_, str> {
    if let Some(path) = event.log_file_path.as_deref() {
        let id_file = event.id.as_deref().and_then(|id| id.rsplit_once(':')).map(|(file, _)| file);
        let file = id_file.filter(|f| !f.is_empty()).unwrap_or(path);
        return match event.host_name.as_deref() {
            Some(host) => Cow::Owned(format!("{file}/{host}")),
            None => Cow::Borrowed(file),
        };
    }
    Cow::Borrowed(event.log_source_address.as_deref().or(event.host_name.as_deref()).unwrap_or(""))
}

/// Decodes a payload produced by [`encode`] (or by another tool writing the
/// same format).
pub fn decode(payload: &[u8]) -> Result<Event, serde_json::Error> {
    serde_json::from_slice(payload)
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn the_key_is_the_source_file_or_sender_not_the_host() {
        let line = |id: Option<&str>, path: Option<&str>| {
            let mut e = Event::new("x", Utc::now());
            e.host_name = Some("web01".into());
            e.id = id.map(str::to_string);
            e.log_file_path = path.map(str::to_string);
            e
        };
        let auth = line(Some("803:1a2b:4096"), Some("/var/log/auth.log"));
        let auth_later = line(Some("803:1a2b:8192"), Some("/var/log/auth.log"));
        let syslog = line(Some("803:1a2c:0"), Some("/var/log/syslog"));
        assert_eq!(key(&auth), "803:1a2b/web01");
        assert_eq!(key(&auth), key(&auth_later), "one file, one partition, in order");
        assert_ne!(key(&auth), key(&syslog), "a host's files spread");
        let mut relayed = auth.clone();
        relayed.host_name = Some("db01".into());
        assert_ne!(key(&auth), key(&relayed), "a relay file's hosts spread");
        assert_eq!(key(&line(None, Some("/var/log/auth.log"))), "/var/log/auth.log/web01");
        let mut pushed = line(Some("doc-1"), None);
        pushed.log_source_address = Some("10.0.0.5:514".into());
        assert_eq!(key(&pushed), "10.0.0.5:514");
        assert_eq!(key(&line(None, None)), "web01");
    }
}
