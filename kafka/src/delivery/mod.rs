//! Delivery of pushed events (syslog, HTTP): straight to Kafka while it
//! acknowledges, to the on-disk spool when it does not, and from the spool
//! back to Kafka, in order, when it returns.
//!
//! A caller's `deliver` returns only once its events are acknowledged by
//! Kafka or written to the spool (fsynced under the `always` policy). A
//! record Kafka refuses for good goes to the dead-letter file
//! ([`dead_letter`]) instead of blocking the records behind it.

//!
//! - `handle`: [`Delivery`], what sources call; `drain`: the task that
//!   empties the spool; `inner`: the state both share, and
//!   [`DeliveryError`]; `produce`: a batch handed to the producer;
//!   `dead_letter`: the file of records Kafka refused for good.

pub mod dead_letter;
mod drain;
mod handle;
mod inner;
mod produce;

pub use handle::{Delivered, Delivery};
pub use inner::DeliveryError;
