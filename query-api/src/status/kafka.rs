//! Consumer group lag and dead-letter counts, from Kafka's committed
//! offsets and watermarks. Blocking (librdkafka requests with timeouts).

use logwarden_config::ClientKind;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::report::{DeadLetters, GroupLag, KafkaStatus, PartitionLag, StatusSources};

/// The longest tail checked for being commit markers only.
const MAX_MARKER_TAIL: i64 = 16;

/// Of `tails` (partition, committed offset), those with no record to
/// deliver from the committed offset on (only transaction markers).
fn markers_only(sources: &StatusSources, tails: &[(i32, i64)]) -> std::collections::HashSet<i32> {
    let starts: Vec<(i32, Offset)> = tails.iter().map(|(p, committed)| (*p, Offset::Offset(*committed))).collect();
    let base = logwarden_kafka::client_config(&sources.kafka, ClientKind::Consumer);
    match logwarden_kafka::committed::read_committed(&base, &sources.topic, &starts, sources.kafka_timeout, |_| {}) {
        Ok(read) => read.partitions.iter().filter(|p| p.at_end && p.messages == 0).map(|p| p.partition).collect(),
        Err(error) => {
            tracing::debug!(%error, "status probe");
            std::collections::HashSet::new()
        }
    }
}

pub struct KafkaRead {
    pub status: KafkaStatus,
    pub groups: Vec<GroupLag>,
    pub dead_letters: Vec<DeadLetters>,
}

/// A consumer that never subscribes: it reads metadata, watermarks and
/// `group`'s committed offsets without joining the group.
fn consumer(sources: &StatusSources, group: &str) -> Result<BaseConsumer, String> {
    logwarden_kafka::client_config(&sources.kafka, ClientKind::Admin)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| format!("kafka client: {e}"))
}

/// Partitions of `topic`; `None` when the topic does not exist.
fn partitions(consumer: &BaseConsumer, topic: &str, sources: &StatusSources) -> Result<Option<Vec<i32>>, String> {
    let metadata = consumer
        .fetch_metadata(Some(topic), sources.kafka_timeout)
        .map_err(|e| format!("kafka metadata of {topic}: {e}"))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if found.error().is_some() || found.partitions().is_empty() {
        return Ok(None);
    }
    let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    ids.sort_unstable();
    Ok(Some(ids))
}

pub fn read(sources: &StatusSources, problems: &mut Vec<String>) -> KafkaRead {
    let mut status = KafkaStatus { brokers: sources.kafka.brokers.clone(), topic: sources.topic.clone(), reachable: false, error: None };
    let mut read = KafkaRead { status: status.clone(), groups: Vec::new(), dead_letters: Vec::new() };
    let probe = match consumer(sources, &sources.groups[0]) {
        Ok(c) => c,
        Err(e) => {
            status.error = Some(e.clone());
            problems.push(e);
            read.status = status;
            return read;
        }
    };
    let events = match partitions(&probe, &sources.topic, sources) {
        Ok(p) => p,
        Err(e) => {
            status.error = Some(format!("kafka not reachable at {}: {e}", sources.kafka.brokers));
            problems.push(status.error.clone().unwrap_or_default());
            read.status = status;
            return read;
        }
    };
    status.reachable = true;
    read.status = status;
    match events {
        Some(ids) => {
            for group in &sources.groups {
                match group_lag(sources, group, &ids) {
                    Ok(lag) => read.groups.push(lag),
                    Err(e) => problems.push(format!("lag of group {group}: {e}")),
                }
            }
        }
        None => problems.push(format!("topic {} does not exist yet", sources.topic)),
    }
    for topic in &sources.dead_letter_topics {
        let messages = match partitions(&probe, topic, sources) {
            Ok(Some(ids)) => {
                let mut sum = 0;
                for id in ids {
                    match probe.fetch_watermarks(topic, id, sources.kafka_timeout) {
                        Ok((low, high)) => sum += (high - low).max(0),
                        Err(e) => problems.push(format!("watermarks of {topic} [{id}]: {e}")),
                    }
                }
                Some(sum)
            }
            Ok(None) => None,
            Err(e) => {
                problems.push(e);
                None
            }
        };
        read.dead_letters.push(DeadLetters { topic: topic.clone(), messages });
    }
    read
}

fn group_lag(sources: &StatusSources, group: &str, ids: &[i32]) -> Result<GroupLag, String> {
    let consumer = consumer(sources, group)?;
    let mut wanted = TopicPartitionList::new();
    for id in ids {
        wanted.add_partition(&sources.topic, *id);
    }
    let committed = consumer
        .committed_offsets(wanted, sources.kafka_timeout)
        .map_err(|e| format!("committed offsets: {e}"))?;
    let mut partitions = Vec::with_capacity(ids.len());
    for id in ids {
        let (low, high) = consumer
            .fetch_watermarks(&sources.topic, *id, sources.kafka_timeout)
            .map_err(|e| format!("watermarks of partition {id}: {e}"))?;
        let committed = committed
            .find_partition(&sources.topic, *id)
            .and_then(|e| match e.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            });
        let lag = (high - committed.unwrap_or(low).max(low)).max(0);
        partitions.push(PartitionLag { partition: *id, committed, low_watermark: low, high_watermark: high, lag });
    }
    // A transactional producer ends each transaction with a commit marker
    // that takes an offset but is never delivered: a group that read
    // everything stays that many offsets behind the end. Such a tail is
    // not lag.
    let tails: Vec<(i32, i64)> = partitions
        .iter()
        .filter(|p| p.lag > 0 && p.lag <= MAX_MARKER_TAIL)
        .filter_map(|p| p.committed.map(|c| (p.partition, c)))
        .collect();
    if !tails.is_empty() {
        let markers_only = markers_only(sources, &tails);
        for p in partitions.iter_mut().filter(|p| markers_only.contains(&p.partition)) {
            p.lag = 0;
        }
    }
    Ok(GroupLag {
        group: group.to_string(),
        topic: sources.topic.clone(),
        total_lag: partitions.iter().map(|p| p.lag).sum(),
        partitions,
    })
}
