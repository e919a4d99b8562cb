//! A consumer's fetched messages read in batches: [`FetchQueue`], a
//! librdkafka queue of the consumer's own that each assigned partition's
//! messages are routed to, read with `rd_kafka_consume_batch_queue`.
//!
//! rust-rdkafka's `BaseConsumer::poll` hands over one message per call:
//! a poll of librdkafka's queue (its lock, the application-poll bookkeeping
//! and a clock read), an event wrapped in an `Arc`, the consumer position
//! updated under the partition's lock, then the event destroyed. In a
//! profile of the indexer that hand-over was ~15 % of its consumer threads.
//! A batch pays the bookkeeping once and the position once per partition.
//!
//! The consumer's own queue keeps everything else (rebalances, errors,
//! commit results): the worker still polls it, which is where the
//! rebalance callback runs, and routes each partition there, before
//! `assign`, so none of its messages reach the consumer's queue (routing
//! set by the application survives later assignments: librdkafka's
//! `RD_KAFKA_Q_F_FWD_APP`).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A queue of a consumer's own, its partitions' messages routed to it.
///
/// It must be dropped before the consumer it was made from (declare it
/// after the consumer), and every [`FetchBatch`] read from it before it.
pub struct FetchQueue {
    client: NonNull<rdsys::rd_kafka_t>,
    queue: NonNull<rdsys::rd_kafka_queue_t>,
}

// SAFETY: librdkafka's queue and client handles may be used from any
// thread; the queue is only read by one thread at a time (`&mut` batch).
unsafe impl Send for FetchQueue {}
unsafe impl Sync for FetchQueue {}

impl FetchQueue {
    /// A new queue for the consumer whose native client is `client`
    /// (`consumer.client().native_ptr()`).
    ///
    /// # Safety
    /// `client` must be a live consumer's handle that outlives the queue.
    pub unsafe fn new(client: *mut rdsys::rd_kafka_t) -> Result<FetchQueue, KafkaError> {
        let client = NonNull::new(client)
            .ok_or_else(|| KafkaError::ClientCreation("no consumer handle for the fetch queue".into()))?;
        // SAFETY: `client` is live (the caller's contract).
        let queue = NonNull::new(unsafe { rdsys::rd_kafka_queue_new(client.as_ptr()) })
            .ok_or_else(|| KafkaError::ClientCreation("librdkafka made no fetch queue".into()))?;
        Ok(FetchQueue { client, queue })
    }

    /// Routes `topic`'s `partition` here: call it before the partition is
    /// assigned (in the rebalance callback, before `assign`), so its
    /// messages never reach the consumer's own queue. Once routed, it
    /// stays routed for the consumer's life.
    pub fn route(&self, topic: &CStr, partition: i32) -> Result<(), KafkaError> {
        // SAFETY: the client is live (`new`'s contract); the partition's
        // queue handle is destroyed right after the routing is set, which
        // lives on in the partition's own queue.
        unsafe {
            let partition_queue =
                rdsys::rd_kafka_queue_get_partition(self.client.as_ptr(), topic.as_ptr(), partition);
            if partition_queue.is_null() {
                return Err(KafkaError::Subscription(format!(
                    "no queue for partition {partition} of {}",
                    topic.to_string_lossy()
                )));
            }
            rdsys::rd_kafka_queue_forward(partition_queue, self.queue.as_ptr());
            rdsys::rd_kafka_queue_destroy(partition_queue);
        }
        Ok(())
    }

    /// Reads what is queued into `batch` (emptied first), up to its
    /// capacity, without waiting; when nothing is, waits up to `wait` for
    /// one message, then takes what else came with it. Messages of one
    /// partition come in offset order.
    pub fn read(&self, batch: &mut FetchBatch, wait: Duration) -> Result<usize, KafkaError> {
        batch.clear();
        self.consume(batch, 0, batch.capacity)?;
        if batch.messages.is_empty() && !wait.is_zero() {
            let wait_ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
            // One message: librdkafka waits for the whole batch to fill (or
            // the timeout), which at a trickle would hold each event `wait`.
            self.consume(batch, wait_ms, 1)?;
            if !batch.messages.is_empty() {
                self.consume(batch, 0, batch.capacity)?;
            }
        }
        Ok(batch.messages.len())
    }

    /// Appends up to `wanted` more messages (at most the batch's capacity).
    fn consume(&self, batch: &mut FetchBatch, timeout_ms: i32, wanted: usize) -> Result<(), KafkaError> {
        let room = batch.capacity - batch.messages.len();
        let wanted = wanted.min(room);
        if wanted == 0 {
            return Ok(());
        }
        batch.messages.reserve(wanted);
        let filled = batch.messages.len();
        // SAFETY: the queue is live; librdkafka writes at most `wanted`
        // message pointers into the reserved, uninitialised tail, and
        // returns how many (or -1 on error, writing none).
        let read = unsafe {
            let tail = batch.messages.as_mut_ptr().add(filled).cast::<*mut rdsys::rd_kafka_message_t>();
            rdsys::rd_kafka_consume_batch_queue(self.queue.as_ptr(), timeout_ms, tail, wanted)
        };
        let read = usize::try_from(read).map_err(|_| {
            // SAFETY: librdkafka's thread-local last error.
            let code = unsafe { rdsys::rd_kafka_last_error() };
            KafkaError::MessageConsumption(RDKafkaErrorCode::from(code))
        })?;
        // SAFETY: librdkafka initialised `read` (≤ `wanted`) pointers past `filled`.
        unsafe { batch.messages.set_len(filled + read) };
        Ok(())
    }
}

impl Drop for FetchQueue {
    fn drop(&mut self) {
        // SAFETY: the handle is ours; the consumer is still live (`new`'s
        // contract). Partitions routed here stop being read; what they
        // still fetch is dropped with the queue.
        unsafe { rdsys::rd_kafka_queue_destroy(self.queue.as_ptr()) };
    }
}

/// Messages read from a [`FetchQueue`], each destroyed (its fetch buffer
/// released to librdkafka) when the batch is cleared or dropped.
pub struct FetchBatch {
    messages: Vec<NonNull<rdsys::rd_kafka_message_t>>,
    capacity: usize,
}

// SAFETY: the messages are owned by the batch; librdkafka's messages may be
// read and destroyed from any thread.
unsafe impl Send for FetchBatch {}

impl FetchBatch {
    /// A batch of at most `capacity` messages.
    pub fn with_capacity(capacity: usize) -> FetchBatch {
        let capacity = capacity.max(1);
        FetchBatch { messages: Vec::with_capacity(capacity), capacity }
    }

    /// The messages, in the order read.
    pub fn iter(&self) -> impl Iterator<Item = Fetched<'_>> {
        self.messages.iter().map(|&message| Fetched { message, batch: PhantomData })
    }

    /// The number of messages held.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Destroys every message held.
    pub fn clear(&mut self) {
        for message in self.messages.drain(..) {
            // SAFETY: each pointer came from librdkafka once and is
            // destroyed once, here.
            unsafe { rdsys::rd_kafka_message_destroy(message.as_ptr()) };
        }
    }
}

impl Drop for FetchBatch {
    fn drop(&mut self) {
        self.clear();
    }
}

/// One message of a batch: a fetched record, or a partition's consumer
/// error (its end, with `enable.partition.eof`).
#[derive(Clone, Copy)]
pub struct Fetched<'a> {
    message: NonNull<rdsys::rd_kafka_message_t>,
    batch: PhantomData<&'a FetchBatch>,
}

impl<'a> Fetched<'a> {
    fn raw(&self) -> &'a rdsys::rd_kafka_message_t {
        // SAFETY: the message lives until its batch is cleared, which
        // takes `&mut` of the batch this borrows.
        unsafe { self.message.as_ref() }
    }

    /// The consumer error this message stands for (`PartitionEOF` at a
    /// partition's end), or `None` for a record.
    pub fn error(&self) -> Option<RDKafkaErrorCode> {
        let err = self.raw().err;
        (err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| RDKafkaErrorCode::from(err))
    }

    pub fn partition(&self) -> i32 {
        self.raw().partition
    }

    pub fn offset(&self) -> i64 {
        self.raw().offset
    }

    /// The record's value (empty when it has none).
    pub fn payload(&self) -> &'a [u8] {
        bytes(self.raw().payload, self.raw().len)
    }

    pub fn key(&self) -> Option<&'a [u8]> {
        let raw = self.raw();
        (!raw.key.is_null()).then(|| bytes(raw.key, raw.key_len))
    }

    /// The record's timestamp in milliseconds, when it has one.
    pub fn timestamp_ms(&self) -> Option<i64> {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a live message; `kind` is written by librdkafka.
        let millis = unsafe { rdsys::rd_kafka_message_timestamp(self.message.as_ptr(), &mut kind) };
        (kind != rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && millis >= 0).then_some(millis)
    }
}

fn bytes<'a>(data: *mut std::ffi::c_void, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: librdkafka's `len` bytes at `data`, alive with the message.
    unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
}
