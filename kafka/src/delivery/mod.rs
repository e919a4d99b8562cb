//! Delivery of pushed events (syslog, HTTP) and of the query API's audit
//! records: straight to Kafka while it commits, to the on-disk spool when
//! it does not, and from the spool back to Kafka, in order, when it
//! returns. Every transaction carries a position (`exactly`): exactly once.
//!
//! A caller's `deliver` returns only once its events are committed in
//! Kafka or written to the spool (fsynced under the `always` policy).
//! Concurrent callers share transactions (group commit). A record Kafka
//! refuses for good goes to the dead-letter file ([`dead_letter`]) instead
//! of blocking the records behind it.
//!
//! - `handle`: [`Delivery`], what sources call; `drain`: the task that
//!   starts the producer and empties the spool; `exactly`: transactions
//!   with positions, group commit, settling after a crash; `inner`: the
//!   state both share, and [`DeliveryError`]; `dead_letter`: the file of
//!   records Kafka refused for good.

pub mod dead_letter;
mod drain;
pub mod exactly;
mod handle;
mod inner;

pub use exactly::{ExactlyOnce, GroupCommit};
pub use handle::{Delivered, Delivery};
pub use inner::DeliveryError;
