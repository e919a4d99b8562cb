//! Kafka wire format: one JSON object per message, keyed by the event's
//! source (see [`key`]).

use std::borrow::Cow;

use crate::Event;

pub mod decimal;
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

/// Bytes of a tailed file whose lines share one key: the unit in which
/// a file's lines spread over partitions.
pub const KEY_CHUNK_BYTES: u64 = 64 * 1024;

/// The message key. It spreads events over partitions evenly, because
/// partitions are as many as the indexer's cores and one indexer
/// consumer per partition does the work: a partition holding most of the
/// events leaves the other cores idle. The key is, in order:
///
/// - a tailed file line: `FILE/host.name#CHUNK`, `FILE` being the file's
///   identity (the `FILE` part of the collector's `event.id`,
///   `FILE:OFFSET`: device and inode, or `log.file.path` when the event
///   has no such id), and `CHUNK` the line's byte offset (`log.offset`)
///   divided by [`KEY_CHUNK_BYTES`]. Every 64 KiB of a file take a new
///   key, so one busy file spreads over every partition instead of
///   pinning one (keyed by the file, the bench's four files fell 64 % /
///   36 % or 90 % / 10 % over two partitions). Lines of one chunk stay in
///   order in one partition; across chunks, a file's order is what its
///   events carry: `log.file.path` and `log.offset` (and `event.id`).
///   A file gathering many hosts' lines (a syslog relay) keys each
///   host's lines apart;
/// - a pushed event (syslog, HTTP ingest): its sender, `log.source.address`
///   (`ip:port`: one sender or connection);
/// - otherwise `host.name`.
///
/// Nothing downstream needs a file's lines in partition order: the
/// indexer places an event by its own timestamp and partition offset,
/// exactly once per partition whatever the key; detection matches events
/// one at a time, and correlations re-key their hits by their group-by
/// values and reorder them by event time (`detect/src/reorder.rs`).
pub fn key(event: &Event) -> Cow<'_, str> {
    if let Some(path) = event.log_file_path.as_deref() {
        let id_file = event.id.as_deref().and_then(|id| id.rsplit_once(':')).map(|(file, _)| file);
        let file = id_file.filter(|f| !f.is_empty()).unwrap_or(path);
        let mut key = String::with_capacity(file.len() + 32);
        key.push_str(file);
        if let Some(host) = event.host_name.as_deref() {
            key.push('/');
            key.push_str(host);
        }
        if let Some(offset) = event.log_offset {
            key.push('#');
            key.push_str(decimal::Decimal::new(offset / KEY_CHUNK_BYTES).as_str());
        }
        return Cow::Owned(key);
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
    fn the_key_is_a_chunk_of_the_source_file_or_the_sender() {
        let line = |id: Option<&str>, path: Option<&str>, offset: Option<u64>| {
            let mut e = Event::new("x", Utc::now());
            e.host_name = Some("web01".into());
            e.id = id.map(str::to_string);
            e.log_file_path = path.map(str::to_string);
            e.log_offset = offset;
            e
        };
        let auth = line(Some("803:1a2b:4096"), Some("/var/log/auth.log"), Some(4096));
        let auth_same_chunk = line(Some("803:1a2b:8192"), Some("/var/log/auth.log"), Some(8192));
        let auth_next_chunk =
            line(Some("803:1a2b:65536"), Some("/var/log/auth.log"), Some(KEY_CHUNK_BYTES));
        let syslog = line(Some("803:1a2c:0"), Some("/var/log/syslog"), Some(0));
        assert_eq!(key(&auth), "803:1a2b/web01#0");
        assert_eq!(key(&auth), key(&auth_same_chunk), "one chunk, one partition, in order");
        assert_eq!(key(&auth_next_chunk), "803:1a2b/web01#1", "the next chunk may go elsewhere");
        assert_ne!(key(&auth), key(&syslog), "a host's files spread");
        let mut relayed = auth.clone();
        relayed.host_name = Some("db01".into());
        assert_ne!(key(&auth), key(&relayed), "a relay file's hosts spread");
        assert_eq!(key(&line(None, Some("/var/log/auth.log"), None)), "/var/log/auth.log/web01");
        let mut pushed = line(Some("doc-1"), None, Some(7));
        pushed.log_source_address = Some("10.0.0.5:514".into());
        assert_eq!(key(&pushed), "10.0.0.5:514");
        assert_eq!(key(&line(None, None, None)), "web01");
    }

    #[test]
    fn one_file_spreads_over_partitions_evenly() {
        // 4 MiB of one file in 150-byte lines over two partitions, with
        // the producer's partitioner (murmur2 for Java clients, CRC32 for
        // librdkafka's default): the keys' hashes, not the partitioner, are
        // what matters, so a plain hash of the key stands for it here.
        use std::hash::{Hash, Hasher};
        let mut counts = [0u64; 2];
        let mut e = Event::new("x", Utc::now());
        e.log_file_path = Some("/var/log/nginx/access.log".into());
        for line in 0..(4 << 20) / 150 {
            e.log_offset = Some(line * 150);
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            key(&e).hash(&mut hasher);
            counts[(hasher.finish() % 2) as usize] += 1;
        }
        let share = counts[0].max(counts[1]) as f64 / (counts[0] + counts[1]) as f64;
        assert!(share < 0.75, "64 chunks, largest partition share {share}");
    }
}
