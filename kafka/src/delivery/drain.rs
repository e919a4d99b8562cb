//! The drainer: starts the transactional producer (creating the
//! checkpoints topic first), then sends the oldest spool segment to Kafka in
//! a transaction and deletes it once that committed; retries while Kafka is
//! down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::inner::Inner;
use crate::metrics;
use crate::spool::SealedSegment;

const RETRY: Duration = Duration::from_secs(1);
/// How long creating the checkpoints topic may take.
const TOPIC_WAIT: Duration = Duration::from_secs(5);

pub(super) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let inner = &inner;
    let mut failing = false;
    let mut topic_ready = false;
    while !shutdown.is_cancelled() {
        if inner.fenced.load(Ordering::Acquire) {
            return;
        }
        if inner.exactly.txn.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            if !topic_ready {
                // Created compacted, unless it exists. Tried before each
                // start until it worked, but never in the start's way: the
                // start waits for Kafka, and a broker may create the topic.
                let topic = &inner.exactly.identity.checkpoints_topic;
                let ensured = tokio::select! {
                    ensured = tokio::time::timeout(TOPIC_WAIT, crate::transaction::ensure_checkpoints_topic(&inner.kafka, topic)) => ensured,
                    _ = shutdown.cancelled() => return,
                };
                match ensured {
                    Ok(Ok(())) => topic_ready = true,
                    Ok(Err(error)) => tracing::warn!(%error, topic, "cannot create the checkpoints topic"),
                    Err(_) => tracing::warn!(topic, "cannot create the checkpoints topic: no answer within {TOPIC_WAIT:?}"),
                }
            }
            let (starting, stop) = (inner.clone(), shutdown.clone());
            match tokio::task::spawn_blocking(move || super::exactly::start(&starting, &stop)).await {
                Ok(Ok(())) => {}
                Ok(Err(error @ crate::transaction::TxnError::Fenced { .. })) => {
                    super::exactly::fenced(inner, error);
                    return;
                }
                Ok(Err(error)) => {
                    if !shutdown.is_cancelled() {
                        tracing::warn!(%error, "cannot start the kafka transactional producer yet; retrying");
                    }
                    sleep_or_shutdown(RETRY, &shutdown).await;
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, "the kafka transactional producer's start failed");
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

/// Sends the segment in one transaction; `Ok(count)` once committed.
async fn send_segment(shared: &Arc<Inner>, segment: &SealedSegment) -> Result<usize, String> {
    let (inner, segment) = (shared.clone(), segment.clone());
    tokio::task::spawn_blocking(move || super::exactly::send_segment(&inner, &segment))
        .await
        .map_err(|e| e.to_string())?
}

async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = shutdown.cancelled() => {}
    }
}
