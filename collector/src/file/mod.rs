//! File source: tails the files matching the configured globs and sends each
//! line (or multiline event) to Kafka, moving a file's checkpoint only past
//! acknowledged lines.
//!
//! - `tailer`: reading one file into lines; truncation, partial and long lines.
//! - `multiline`: joining continuation lines into the event they follow.
//! - `checkpoint`: the atomic checkpoint file, keyed by inode, with fingerprints.
//! - `source`: the loop: discover, read, send, settle, save.

mod checkpoint;
mod multiline;
pub(crate) mod source;
mod tailer;

pub use checkpoint::{Checkpoint, CheckpointStore, FileId, Fingerprint};
pub use multiline::{Joiner, Record};
pub use source::FileSource;
pub use tailer::{Chunk, Line, TailedFile};
