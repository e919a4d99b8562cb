//! The bounded on-disk spool: encoded events wait here, in order, while
//! Kafka cannot take them.
//!
//! Append-only segment files (`<seq>.seg`) of length + CRC framed records.
//! The drainer hands the oldest sealed segment to Kafka in one transaction
//! that also commits the segment's number, and deletes it only once that
//! committed: a crash in between leaves a segment whose number is
//! committed, deleted unsent at the next start (see `delivery::exactly`).

mod segment;
mod store;

pub use segment::{Record, SegmentContents, decode_segment, encode_record};
pub use store::{SealedSegment, Spool, SpoolError};
