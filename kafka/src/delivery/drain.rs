//! The drainer: sends the oldest spool segment to Kafka and deletes it once
//! every record of it was acknowledged; retries while Kafka is down.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use super::inner::Inner;
use super::produce::produce;
use crate::metrics;
use crate::spool::{SealedSegment, decode_segment};

const RETRY: Duration = Duration::from_secs(1);

pub(super) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let inner = &inner;
    let mut failing = false;
    while !shutdown.is_cancelled() {
        if inner.fenced.load(Ordering::Acquire) {
            return;
        }
        if let Some(exactly) = &inner.exactly
            && exactly.txn.lock().unwrap_or_else(|e| e.into_inner()).is_none()
        {
            let (starting, stop) = (inner.clone(), shutdown.clone());
            match tokio::task::spawn_blocking(move || super::exactly::start(&starting, &stop)).await {
                Ok(Ok(())) => {}
                Ok(Err(error @ crate::transaction::TxnError::Fenced { .. })) => {
                    super::exactly::fenced(inner, error);
                    return;
                }
                Ok(Err(error)) => {
                    if !shutdown.is_cancelled() {
                        tracing::warn!(%error, "cannot start the push producer yet; retrying");
                    }
                    sleep_or_shutdown(RETRY, &shutdown).await;
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, "the push producer's start failed");
                    sleep_or_shutdown(RETRY, &shutdown).await;
                    continue;
                }
            }
        }
        let spool_inner = inner.clone();
        let oldest = tokio::task::spawn_blocking(move || {
            spool_inner
                .spool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .oldest()
        })
        .await
        .ok()
        .flatten();
        let Some(segment) = oldest else {
            if inner.kafka_down.swap(false, Ordering::AcqRel) {
                tracing::warn!("spool drained; pushed events go straight to kafka again");
            }
            tokio::select! {
                _ = inner.wake.notified() => {}
                _ = shutdown.cancelled() => {}
            }
            continue;
        };
        match send_segment(inner, &segment).await {
            Ok(count) => {
                // Tests make the crash between Kafka's commit and the
                // spool's cleanup happen here, deterministically: the
                // variable names a file whose existence arms it.
                if count > 0
                    && std::env::var_os("LOGWARDEN_TEST_CRASH_AFTER_SPOOL_COMMIT")
                        .is_some_and(|armed| std::path::Path::new(&armed).exists())
                {
                    tracing::error!(segment = %segment.path.display(), "LOGWARDEN_TEST_CRASH_AFTER_SPOOL_COMMIT: aborting after the commit, before the segment is deleted");
                    std::process::abort();
                }
                if failing {
                    tracing::warn!("kafka acknowledges again; draining the spool");
                    failing = false;
                }
                metrics::drained(count as u64);
                let spool_inner = inner.clone();
                let removed = tokio::task::spawn_blocking(move || {
                    let mut spool = spool_inner.spool.lock().unwrap_or_else(|e| e.into_inner());
                    let removed = spool.remove(segment.seq);
                    spool_inner
                        .spooled_bytes
                        .store(spool.used_bytes(), Ordering::Release);
                    metrics::spool_bytes(spool.used_bytes());
                    removed
                })
                .await;
                match removed {
                    Ok(Ok(())) => {
                        if inner.full_reported.swap(false, Ordering::AcqRel) {
                            tracing::warn!("spool has room again; accepting pushed events");
                        }
                    }
                    _ => {
                        tracing::error!(
                            "cannot delete a drained spool segment; its events may be sent again"
                        );
                        sleep_or_shutdown(RETRY, &shutdown).await;
                    }
                }
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, segment = %segment.path.display(), "cannot drain the spool to kafka yet; retrying");
                    failing = true;
                }
                sleep_or_shutdown(RETRY, &shutdown).await;
            }
        }
    }
}

/// Sends every record of the segment; `Ok(count)` once all are acknowledged.
async fn send_segment(shared: &Arc<Inner>, segment: &SealedSegment) -> Result<usize, String> {
    if shared.exactly.is_some() {
        let (inner, segment) = (shared.clone(), segment.clone());
        return tokio::task::spawn_blocking(move || super::exactly::send_segment(&inner, &segment))
            .await
            .map_err(|e| e.to_string())?;
    }
    let inner = shared.clone();
    let path = segment.path.clone();
    let (count, batch, producer) = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let contents = decode_segment(&bytes);
        if contents.unreadable_bytes > 0 {
            metrics::spool_unreadable(contents.unreadable_bytes as u64);
            tracing::error!(segment = %path.display(), bytes = contents.unreadable_bytes, records = contents.records.len(),
                "spool segment ends in unreadable bytes (torn write or corruption); the readable records are sent");
        }
        let deadline = Instant::now() + inner.kafka_timeout;
        let producer = inner.producer();
        let batch = produce(&producer, &inner.topic, &contents.records, deadline);
        Ok::<_, String>((contents.records.len(), batch, producer))
    })
    .await
    .map_err(|e| e.to_string())??;
    let bound = shared.kafka_timeout * 2 + Duration::from_secs(5);
    let result = match tokio::time::timeout(bound, batch.settled()).await {
        Ok(Ok(())) => match shared.dead_letter(batch.take_rejected()).await {
            Ok(()) => Ok(count),
            Err(error) => Err(error.to_string()),
        },
        Ok(Err(error)) => Err(error),
        Err(_) => Err("no delivery report from kafka".to_string()),
    };
    if result.is_err() {
        shared.replace_if_fatal(&producer);
    }
    result
}

async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = shutdown.cancelled() => {}
    }
}
