//! File source: tails the files matching the configured globs and sends each
//! line to Kafka, moving a file's checkpoint only past acknowledged lines.

mod checkpoint;
mod multiline;
pub(crate) mod source;
mod tailer;

pub use checkpoint::{Checkpoint, CheckpointStore, FileId, Fingerprint};
pub use multiline::{Joiner, Record};
pub use source::FileSource;
pub use tailer::{Chunk, Line, TailedFile};
