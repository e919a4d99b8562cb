//! Counting what a topic holds as a `read_committed` consumer sees it.
//!
//! A transactional producer ends each transaction with a commit (or abort)
//! marker that takes an offset but is never delivered, and aborted records
//! are never delivered either: offsets and watermarks alone cannot tell how
//! many messages a topic holds, or whether a consumer group that is a few
//! offsets behind the end has anything left to read. [`read_committed`]
//! reads partitions to their end and counts what is delivered; the status
//! report and the tests both ask it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;

use crate::KafkaClientError;

/// The reader's context: reaching a partition's end is what it looks for,
/// and a broker it cannot reach is the caller's to report, not an error
/// to log.
struct Quiet;

impl rdkafka::client::ClientContext for Quiet {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "committed reader");
    }
}

impl rdkafka::consumer::ConsumerContext for Quiet {}

/// What one partition delivered from its start offset to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRead {
    pub partition: i32,
    /// Messages delivered (transaction markers and aborted records are not).
    pub messages: u64,
    /// The offset after the last message delivered; `None` when none was.
    pub next_offset: Option<i64>,
    /// The partition's end was reached (with nothing delivered after it).
    pub at_end: bool,
}

/// The result of [`read_committed`]: per partition, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedRead {
    pub partitions: Vec<PartitionRead>,
    /// The last error the consumer reported while reading, if any.
    pub last_error: Option<String>,
}

impl CommittedRead {
    /// Messages delivered over every partition.
    pub fn messages(&self) -> u64 {
        self.partitions.iter().map(|p| p.messages).sum()
    }

    /// Every partition was read to its end (false when the time ran out).
    pub fn complete(&self) -> bool {
        self.partitions.iter().all(|p| p.at_end)
    }
}

/// The partitions of `topic`, sorted; empty when the topic does not exist
/// (or has no partitions yet).
pub fn topic_partitions(base: &ClientConfig, topic: &str, timeout: Duration) -> Result<Vec<i32>, KafkaClientError> {
    let consumer: BaseConsumer = base.create()?;
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut ids: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Reads each `(partition, offset)` of `topic` to its end as a
/// `read_committed` consumer that joins no group, calling `visit` with
/// every message delivered. Stops when every partition is at its end at
/// once, or when `timeout` has passed (then [`CommittedRead::complete`] is
/// false and the counts are what was read so far). `base` carries the
/// brokers and security settings; group, offsets and isolation are set here.
pub fn read_committed(
    base: &ClientConfig,
    topic: &str,
    starts: &[(i32, Offset)],
    timeout: Duration,
    mut visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<CommittedRead, KafkaClientError> {
    let mut config = base.clone();
    let reader: BaseConsumer<Quiet> = config
        .set("group.id", "logwarden-committed-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create_with_context(Quiet)?;
    let mut assignment = TopicPartitionList::new();
    for (partition, offset) in starts {
        assignment.add_partition_offset(topic, *partition, *offset)?;
    }
    reader.assign(&assignment)?;
    let mut read: Vec<PartitionRead> = starts
        .iter()
        .map(|(partition, _)| PartitionRead { partition: *partition, messages: 0, next_offset: None, at_end: false })
        .collect();
    let mut at_end = HashSet::new();
    let mut last_error = None;
    let deadline = Instant::now() + timeout;
    while at_end.len() < starts.len() && Instant::now() < deadline {
        match reader.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                if let Some(p) = read.iter_mut().find(|p| p.partition == message.partition()) {
                    p.messages += 1;
                    p.next_offset = Some(message.offset() + 1);
                }
                visit(&message);
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            // librdkafka retries on its own; the error is kept to say why
            // a read that runs out of time did not end.
            Some(Err(e)) => last_error = Some(e.to_string()),
            None => {}
        }
    }
    for p in &mut read {
        p.at_end = at_end.contains(&p.partition);
    }
    Ok(CommittedRead { partitions: read, last_error })
}

/// Reads every partition of `topic` from its beginning to its end (see
/// [`read_committed`]); an empty read when the topic does not exist.
pub fn read_topic_committed(
    base: &ClientConfig,
    topic: &str,
    timeout: Duration,
    visit: impl FnMut(&BorrowedMessage<'_>),
) -> Result<CommittedRead, KafkaClientError> {
    let partitions = topic_partitions(base, topic, timeout)?;
    let starts: Vec<(i32, Offset)> = partitions.into_iter().map(|p| (p, Offset::Beginning)).collect();
    read_committed(base, topic, &starts, timeout, visit)
}
