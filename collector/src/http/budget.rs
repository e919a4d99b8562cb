//! The memory budget of HTTP ingest (`collector.http.memory_budget`).
//!
//! Before a request's body is read, the request reserves what handling it
//! may cost: [`COST_PER_BODY_BYTE`] times its declared length, or times
//! `collector.http.max_body_bytes` when the length is not known up front
//! (chunked or compressed bodies). When the budget is spent the request is
//! answered at once with 429 and `Retry-After`, which every shipper retries,
//! instead of growing the process until the kernel kills it. The
//! reservation is released when the answer is built; after a large one the
//! allocator is asked to hand its free pages back to the system.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// What one byte of body may cost while it is handled: the body itself,
/// the events and Kafka records built from it (a chunk at a time), and the
/// per-item answer of `_bulk`.
pub const COST_PER_BODY_BYTE: usize = 4;

/// Reservations at least this large trim the allocator when released.
const TRIM_AFTER_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct MemoryBudget {
    /// One permit per KiB.
    permits: Arc<Semaphore>,
    total_bytes: usize,
    max_body_bytes: usize,
}

impl MemoryBudget {
    pub fn new(total_bytes: usize, max_body_bytes: usize) -> MemoryBudget {
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total_bytes / 1024)),
            total_bytes,
            max_body_bytes,
        }
    }

    /// Reserves the cost of a request with these headers: 413 when it
    /// declares a body over the limit, 429 when the budget is spent.
    pub fn reserve(&self, headers: &HeaderMap) -> Result<Reservation, ApiError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let compressed = headers.contains_key(header::CONTENT_ENCODING);
        let body_bytes = match declared {
            Some(length) if length > self.max_body_bytes && !compressed => return Err(ApiError::TooLarge),
            Some(length) if !compressed => length,
            _ => self.max_body_bytes,
        };
        let bytes = body_bytes.saturating_mul(COST_PER_BODY_BYTE).max(1024);
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        match self.permits.clone().try_acquire_many_owned(kib) {
            Ok(permit) => Ok(Reservation { _permit: permit, bytes }),
            Err(_) => {
                crate::metrics::http_budget_refused();
                Err(ApiError::Busy(format!(
                    "HTTP ingest is using its memory budget (collector.http.memory_budget = {} bytes) for other requests; retry shortly",
                    self.total_bytes
                )))
            }
        }
    }

    /// The largest body this collector reads.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

/// A request's share of the budget, given back on drop.
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes >= TRIM_AFTER_BYTES {
            // glibc keeps freed memory in per-thread arenas; a large request
            // would otherwise stay in the process's RSS after it is done.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn_blocking(trim_allocator);
            }
        }
    }
}

#[cfg(target_env = "gnu")]
fn trim_allocator() {
    // SAFETY: malloc_trim only returns free pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(target_env = "gnu"))]
fn trim_allocator() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(length: usize, gzip: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, length.to_string().parse().unwrap());
        if gzip {
            headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        }
        headers
    }

    #[test]
    fn requests_share_the_budget_and_give_it_back() {
        let budget = MemoryBudget::new(40 * 1024 * 1024, 10 * 1024 * 1024);
        let first = budget.reserve(&headers(5 * 1024 * 1024, false)).unwrap();
        // Unknown decompressed size: the whole body limit is reserved.
        let err = budget.reserve(&headers(1024, true)).err().unwrap();
        assert!(matches!(err, ApiError::Busy(ref m) if m.contains("collector.http.memory_budget")), "{err:?}");
        drop(first);
        let second = budget.reserve(&headers(1024, true)).unwrap();
        drop(second);
        assert!(matches!(budget.reserve(&headers(11 * 1024 * 1024, false)), Err(ApiError::TooLarge)));
    }
}
