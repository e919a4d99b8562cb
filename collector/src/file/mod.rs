//! File source: tails the files matching the configured globs and sends each
//! line (or multiline event) to Kafka in a transaction that also carries
//! the file's position past it: exactly once.
//!
//! - `tailer`: reading one file into lines; truncation, partial and long lines.
//! - `multiline`: joining continuation lines into the event they follow.
//! - `checkpoint`: file positions (inode and fingerprint of the first bytes),
//!   committed, in the open transaction, claimed by files and copies.
//! - `parse_pool`: parsing and encoding a read's lines on several threads,
//!   handed back in order.
//! - `source`: the loop: discover, read, send, commit (or rewind).

mod checkpoint;
mod multiline;
mod parse_pool;
pub(crate) mod source;
mod tailer;

pub use checkpoint::{Checkpoint, Claim, FileId, Fingerprint, Positions, Prefix};
pub use multiline::{Joiner, Record};
pub use source::FileSource;
pub use tailer::{Chunk, Line, TailedFile};
