//! The bounded on-disk spool: encoded events wait here, in order, while
//! Kafka cannot take them.
//!
//! Append-only segment files (`<seq>.seg`) of length + CRC framed records.
//! The drainer hands the oldest sealed segment to Kafka and deletes it only
//! once every record of it was acknowledged, so a crash re-sends a segment
//! (at-least-once) and never loses one.

mod segment;
mod store;

pub use segment::{Record, SegmentContents, decode_segment, encode_record};
pub use store::{SealedSegment, Spool, SpoolError};
