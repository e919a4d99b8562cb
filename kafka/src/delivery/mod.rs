//! Delivery of pushed events (syslog, HTTP): straight to Kafka while it
//! acknowledges, to the on-disk spool when it does not, and from the spool
//! back to Kafka, in order, when it returns.
//!
//! A caller's `deliver` returns only once its events are acknowledged by
//! Kafka or written to the spool (fsynced under the `always` policy). A
//! record Kafka refuses for good goes to the dead-letter file
//! ([`dead_letter`]) instead of blocking the records behind it.

//!
//! Opened with [`Delivery::open_exactly_once`], deliveries and drains are
//! Kafka transactions that carry positions (`exactly`): exactly once.
//!
//! - `handle`: [`Delivery`], what sources call; `drain`: the task that
//!   empties the spool; `exactly`: transactions with positions, settling
//!   after a crash; `inner`: the state both share, and
//!   [`DeliveryError`]; `produce`: a batch handed to the producer;
//!   `dead_letter`: the file of records Kafka refused for good.

pub mod dead_letter;
mod drain;
pub mod exactly;
mod handle;
mod inner;
mod produce;

pub use exactly::ExactlyOnce;
pub use handle::{Delivered, Delivery};
pub use inner::DeliveryError;
