//! Batches a listener's events and delivers them. TCP events are retried
//! while the spool is full (the channel fills and connections stop being
//! read: backpressure); UDP cannot push back, so they are counted as dropped.

use logwarden_event::Event;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::delivery::Delivery;
use crate::encode::encode_record;
use crate::metrics;
use crate::spool::Record;

const BATCH: usize = 1000;
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs until every sender of `events` is gone.
pub async fn forward(
    mut events: mpsc::Receiver<Event>,
    delivery: Delivery,
    source: &'static str,
    can_wait: bool,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while events.recv_many(&mut batch, BATCH).await > 0 {
        metrics::received(source, batch.len() as u64);
        let records: Vec<Record> = batch
            .drain(..)
            .map(|mut event| encode_record(&mut event))
            .collect();
        loop {
            match delivery.deliver(records.clone()).await {
                Ok(_) => break,
                Err(error) if !can_wait => {
                    metrics::dropped(
                        source,
                        if error.is_spool_full() {
                            "spool_full"
                        } else {
                            "spool_error"
                        },
                        records.len() as u64,
                    );
                    tracing::error!(source, events = records.len(), %error, "syslog messages dropped: kafka unavailable and spool refused them");
                    break;
                }
                Err(error) => {
                    if shutdown.is_cancelled() {
                        metrics::dropped(source, "shutdown", records.len() as u64);
                        tracing::error!(source, events = records.len(), %error, "shutting down with syslog messages neither in kafka nor in the spool; they are lost");
                        break;
                    }
                    tracing::debug!(source, %error, "cannot deliver syslog messages; retrying (connections paused)");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        }
    }
}
