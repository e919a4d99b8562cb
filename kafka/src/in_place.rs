//! Records whose payload librdkafka reads where it is instead of copying it.
//!
//! rust-rdkafka's `send` always passes `RD_KAFKA_MSG_F_COPY`: librdkafka
//! allocates memory for every payload and copies it there. In the
//! collector's profile that copy was 9.75 % of all samples (BENCHMARKS.md,
//! "Where the CPU goes on 2 cores"). A file source's payloads already sit
//! back to back in one buffer per chunk of lines; [`produce`] hands
//! librdkafka a range of that buffer without the flag, and the record's
//! delivery opaque ([`Held`]) keeps the buffer alive until librdkafka has
//! reported the record delivered or failed, after which it never reads the
//! payload again.
//!
//! The producers of file sources ([`Transactional`](crate::transaction::Transactional),
//! [`AtLeastOnce`](crate::at_least_once::AtLeastOnce)) send every record
//! through [`produce`]: the events of a chunk in place, the rest (positions,
//! pushed events) copied as before.

use std::ffi::{CStr, CString, c_void};
use std::sync::Arc;

use rdkafka::bindings::{self as rdsys, rd_kafka_vtype_t::*};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::IntoOpaque;

use crate::metrics;

/// The delivery opaque of a record: the buffer its payload is in when
/// librdkafka reads it in place, released with the delivery report.
#[derive(Default)]
pub struct Held(Option<Arc<Vec<u8>>>);

impl IntoOpaque for Held {
    fn into_ptr(self) -> *mut c_void {
        self.0.map_or(std::ptr::null_mut(), |buffer| Arc::into_raw(buffer).cast_mut().cast())
    }

    unsafe fn from_ptr(ptr: *mut c_void) -> Self {
        if ptr.is_null() {
            Held(None)
        } else {
            // SAFETY: a non-null opaque is one `into_ptr` made from an
            // `Arc<Vec<u8>>`, given back exactly once (by the delivery
            // report, or by `produce` when librdkafka did not take it).
            Held(Some(unsafe { Arc::from_raw(ptr.cast::<Vec<u8>>().cast_const()) }))
        }
    }
}

/// A record's payload.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    /// Copied by librdkafka when the record is enqueued.
    Copied(&'a [u8]),
    /// `buffer[start..end]`, read where it is until the delivery report.
    InPlace { buffer: &'a Arc<Vec<u8>>, start: usize, end: usize },
}

impl Payload<'_> {
    pub fn bytes(&self) -> &[u8] {
        match *self {
            Payload::Copied(bytes) => bytes,
            Payload::InPlace { buffer, start, end } => &buffer[start..end],
        }
    }
}

/// Topic names as C strings, made once per topic instead of once per
/// record (rust-rdkafka's `send` allocates one for every record).
#[derive(Default)]
pub(crate) struct TopicNames(Vec<(String, CString)>);

impl TopicNames {
    pub(crate) fn get(&mut self, topic: &str) -> Result<&CStr, KafkaError> {
        let index = match self.0.iter().position(|(name, _)| name == topic) {
            Some(index) => index,
            None => {
                let name = CString::new(topic)
                    .map_err(|_| KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic))?;
                self.0.push((topic.to_string(), name));
                self.0.len() - 1
            }
        };
        Ok(&self.0[index].1)
    }
}

/// Enqueues one record, waiting while librdkafka's queue is full
/// (backpressure, counted); any other refusal is returned.
pub(crate) fn produce<C>(
    producer: &ThreadedProducer<C>,
    topic: &CStr,
    partition: Option<i32>,
    key: &[u8],
    payload: Option<Payload<'_>>,
) -> Result<(), KafkaError>
where
    C: ProducerContext<DeliveryOpaque = Held> + 'static,
{
    let (flags, buffer) = match payload {
        Some(Payload::Copied(_)) => (rdsys::RD_KAFKA_MSG_F_COPY, None),
        Some(Payload::InPlace { buffer, .. }) => (0, Some(buffer)),
        None => (0, None),
    };
    let (payload_ptr, payload_len) = payload
        .as_ref()
        .map(Payload::bytes)
        .map_or((std::ptr::null_mut(), 0), |b| (b.as_ptr().cast_mut().cast::<c_void>(), b.len()));
    loop {
        let opaque = Held(buffer.cloned()).into_ptr();
        // SAFETY: the arguments are rust-rdkafka's `BaseProducer::send`,
        // with `flags` in place of its `RD_KAFKA_MSG_F_COPY`. Without the
        // flag librdkafka reads `payload_ptr` until the record's delivery
        // report; the buffer stays alive that long because `opaque` holds a
        // reference to it, released only when the report hands the opaque
        // back (rust-rdkafka's delivery callback, `Held::from_ptr`), or
        // just below when the record was not enqueued. Nothing can change
        // the buffer while it is shared (`Arc<Vec<u8>>` gives no `&mut`
        // then). The key is always copied by librdkafka.
        let code = unsafe {
            rdsys::rd_kafka_producev(
                producer.client().native_ptr(),
                RD_KAFKA_VTYPE_TOPIC,
                topic.as_ptr(),
                RD_KAFKA_VTYPE_PARTITION,
                partition.unwrap_or(-1),
                RD_KAFKA_VTYPE_MSGFLAGS,
                flags,
                RD_KAFKA_VTYPE_VALUE,
                payload_ptr,
                payload_len,
                RD_KAFKA_VTYPE_KEY,
                key.as_ptr().cast_mut().cast::<c_void>(),
                key.len(),
                RD_KAFKA_VTYPE_OPAQUE,
                opaque,
                RD_KAFKA_VTYPE_END,
            )
        };
        let code = RDKafkaErrorCode::from(code);
        if code == RDKafkaErrorCode::NoError {
            return Ok(());
        }
        // SAFETY: librdkafka did not take the record, so the opaque was not
        // handed to it and is given back here, once.
        drop(unsafe { Held::from_ptr(opaque) });
        if code != RDKafkaErrorCode::QueueFull {
            return Err(KafkaError::MessageProduction(code));
        }
        metrics::backpressure();
        crate::producer::queue_full_pause();
    }
}
