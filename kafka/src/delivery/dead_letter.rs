//! Records Kafka refuses for good (larger than the topic accepts, invalid):
//! sending them again would fail forever and hold back every record behind
//! them. They are kept whole, with the reason, in `dead-letter.ndjson`
//! beside the spool's segments, counted in
//! `logwarden_collector_dead_lettered_total` and logged as errors naming
//! the file, and the records behind them go on.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::producer::Rejected;
use crate::metrics;

/// The file dead letters are appended to, in the spool's folder.
pub fn path(spool_dir: &Path) -> PathBuf {
    spool_dir.join("dead-letter.ndjson")
}

/// Appends the records to the dead-letter file (fsynced) and reports them.
pub fn keep(spool_dir: &Path, topic: &str, rejected: &[Rejected]) -> std::io::Result<()> {
    if rejected.is_empty() {
        return Ok(());
    }
    let file_path = path(spool_dir);
    let mut out = Vec::new();
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    for record in rejected {
        let line = json!({
            "@timestamp": at,
            "topic": topic,
            "reason": record.reason,
            "bytes": record.payload.len(),
            "key": String::from_utf8_lossy(&record.key),
            "payload": String::from_utf8_lossy(&record.payload),
        });
        serde_json::to_writer(&mut out, &line).expect("a JSON value serializes");
        out.push(b'\n');
    }
    // A collector with only file sources has no spool: the folder may not
    // exist yet.
    std::fs::create_dir_all(spool_dir)?;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&file_path)?;
    file.write_all(&out)?;
    file.sync_data()?;
    for record in rejected {
        metrics::dead_lettered(topic);
        tracing::error!(
            topic,
            bytes = record.payload.len(),
            reason = %record.reason,
            file = %file_path.display(),
            "kafka refused a record for good; kept in the dead-letter file, the records behind it go on"
        );
    }
    Ok(())
}
