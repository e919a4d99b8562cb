//! One Kafka partition's indexing state: its active splits (one per stream)
//! and the exactly-once bookkeeping between them.
//!
//! Every split's payload says up to which partition offset it is complete.
//! After a crash those may differ (the crash fell between two split
//! commits): consumption resumes at the smallest, and an event is skipped
//! by the split it belongs to when that split already holds it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use logwarden_event::{DEFAULT_STREAM, fields, is_valid_stream_name};
use serde_json::{Map, Value};

use crate::schema::{LogSchema, parse_time};
use crate::split::ActiveSplit;
use crate::storage::{self, SplitLocation};
use crate::{CommitReason, IndexerError, metrics};

pub struct PartitionIndexer {
    pub partition: i32,
    data_dir: PathBuf,
    schema: LogSchema,
    writer_memory: usize,
    splits: HashMap<String, ActiveSplit>,
    /// Offset of the next message to read.
    pub next_offset: Option<i64>,
    pub last_commit: Instant,
}

impl PartitionIndexer {
    /// Opens the partition's existing splits and works out where to resume.
    pub fn open(data_dir: PathBuf, partition: i32, schema: LogSchema, writer_memory: usize) -> Result<PartitionIndexer, IndexerError> {
        let mut splits = HashMap::new();
        let existing = storage::list_splits(&data_dir).map_err(|e| IndexerError::io(&data_dir, e))?;
        // The newest split of each stream is the active one.
        let mut newest: HashMap<String, SplitLocation> = HashMap::new();
        for location in existing.into_iter().filter(|l| l.partition == partition) {
            newest.insert(location.stream.clone(), location);
        }
        for (stream, location) in newest {
            let split = ActiveSplit::open_or_create(location, &schema, 0, writer_memory)?;
            splits.insert(stream, split);
        }
        let next_offset = splits.values().map(|s| s.committed_next).min();
        Ok(PartitionIndexer {
            partition,
            data_dir,
            schema,
            writer_memory,
            splits,
            next_offset,
            last_commit: Instant::now(),
        })
    }

    /// Indexes the message at `offset`. A payload that is not a JSON event is
    /// indexed anyway, its raw text kept and `parse.error` set.
    pub fn index(&mut self, offset: i64, payload: &[u8]) -> Result<(), IndexerError> {
        let (event, raw) = decode(payload);
        let stream = event
            .get(fields::STREAM)
            .and_then(Value::as_str)
            .filter(|s| is_valid_stream_name(s))
            .unwrap_or(DEFAULT_STREAM)
            .to_string();
        let split = match self.splits.get_mut(&stream) {
            Some(split) => split,
            None => {
                let id = storage::split_id(offset);
                let path = storage::split_path(&self.data_dir, &stream, self.partition, &id);
                let location = SplitLocation { stream: stream.clone(), partition: self.partition, id, path };
                let split = ActiveSplit::open_or_create(location, &self.schema, offset, self.writer_memory)?;
                self.splits.entry(stream.clone()).or_insert(split)
            }
        };
        self.next_offset = Some(offset + 1);
        if offset < split.committed_next {
            metrics::replay_skipped(&stream);
            return Ok(());
        }
        let timestamp = event
            .get(fields::TIMESTAMP)
            .and_then(Value::as_str)
            .and_then(parse_time)
            .unwrap_or_else(Utc::now);
        split.add(self.schema.to_document(&event, &raw, offset as u64, timestamp))?;
        metrics::indexed(&stream);
        Ok(())
    }

    /// Commits every active split with the partition's next offset.
    pub fn commit(&mut self, reason: CommitReason) -> Result<(), IndexerError> {
        let Some(next) = self.next_offset else { return Ok(()) };
        let started = Instant::now();
        let mut docs = 0;
        for split in self.splits.values_mut() {
            if split.committed_next == next && split.pending_docs == 0 {
                continue;
            }
            docs += split.pending_docs;
            split.commit(next)?;
        }
        self.last_commit = Instant::now();
        if docs > 0 {
            metrics::commit(reason, started.elapsed());
            tracing::debug!(partition = self.partition, next, docs, ?reason, "committed splits");
        }
        Ok(())
    }

    pub fn has_pending(&self) -> bool {
        self.splits.values().any(|s| s.pending_docs > 0 || Some(s.committed_next) != self.next_offset)
    }
}

/// Decodes a wire payload; anything else becomes an event that says so.
fn decode(payload: &[u8]) -> (Map<String, Value>, String) {
    let raw = String::from_utf8_lossy(payload).into_owned();
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(map)) if map.contains_key(fields::TIMESTAMP) => (map, raw),
        Ok(_) | Err(_) => {
            let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let mut map = Map::new();
            map.insert(fields::TIMESTAMP.into(), now.clone().into());
            map.insert(fields::INGESTED.into(), now.into());
            map.insert(fields::ORIGINAL.into(), raw.clone().into());
            map.insert(fields::MESSAGE.into(), raw.into());
            map.insert(fields::PARSE_ERROR.into(), "indexer: message is not a JSON event with @timestamp".into());
            let source = Value::Object(map.clone()).to_string();
            metrics::invalid_message();
            (map, source)
        }
    }
}
