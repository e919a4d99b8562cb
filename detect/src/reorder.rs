//! The reorder buffer in front of the correlation windows.
//!
//! Hits of one group come from several event partitions, so they arrive
//! out of order. The buffer holds them until the watermark (the newest
//! event time seen, minus the allowed lateness) passes them, then releases
//! them in event-time order, ties broken by their Kafka position, so the
//! order and therefore the alerts do not depend on how partitions
//! interleaved. A hit older than what was already released is late: it is
//! counted and handed on at once, never dropped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

/// Where an entry sorts among entries of the same second.
pub type Tiebreak = (i32, i64, String);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry<T> {
    ts: i64,
    tiebreak: Tiebreak,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, &self.tiebreak) == (other.ts, &other.tiebreak)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, &self.tiebreak).cmp(&(other.ts, &other.tiebreak))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct Reorder<T> {
    lateness: i64,
    capacity: usize,
    max_ts: Option<i64>,
    released: Option<i64>,
    entries: Vec<Entry<T>>,
    #[serde(skip)]
    heap: Option<BinaryHeap<Reverse<Entry<T>>>>,
}

/// What [`Reorder::push`] did with an entry.
pub enum Pushed<T> {
    Held,
    /// Older than what was already released: process it now.
    Late(T),
}

impl<T: Clone> Reorder<T> {
    pub fn new(lateness_secs: i64, capacity: usize) -> Self {
        Reorder { lateness: lateness_secs, capacity, max_ts: None, released: None, entries: Vec::new(), heap: Some(BinaryHeap::new()) }
    }

    /// The same buffer with new limits (after a configuration change).
    pub fn with_limits(mut self, lateness_secs: i64, capacity: usize) -> Self {
        self.lateness = lateness_secs;
        self.capacity = capacity;
        self
    }

    fn heap(&mut self) -> &mut BinaryHeap<Reverse<Entry<T>>> {
        let entries = std::mem::take(&mut self.entries);
        self.heap.get_or_insert_with(|| entries.into_iter().map(Reverse).collect())
    }

    pub fn push(&mut self, ts: i64, tiebreak: Tiebreak, item: T) -> Pushed<T> {
        if self.released.is_some_and(|released| ts < released) {
            return Pushed::Late(item);
        }
        self.max_ts = Some(self.max_ts.map_or(ts, |max| max.max(ts)));
        self.heap().push(Reverse(Entry { ts, tiebreak, item }));
        Pushed::Held
    }

    /// Entries the watermark has passed, and the oldest beyond capacity,
    /// in event-time order.
    pub fn ready(&mut self) -> Vec<T> {
        let watermark = self.max_ts.map(|max| max.saturating_sub(self.lateness));
        self.release(|len, ts, capacity| len > capacity || watermark.is_some_and(|w| ts <= w))
    }

    /// Everything held, in event-time order (the input went quiet).
    pub fn drain(&mut self) -> Vec<T> {
        self.release(|_, _, _| true)
    }

    fn release(&mut self, mut take: impl FnMut(usize, i64, usize) -> bool) -> Vec<T> {
        let capacity = self.capacity;
        let mut out = Vec::new();
        let mut released = self.released;
        let heap = self.heap();
        while let Some(Reverse(top)) = heap.peek() {
            if !take(heap.len(), top.ts, capacity) {
                break;
            }
            let Reverse(entry) = heap.pop().expect("peeked");
            released = Some(released.map_or(entry.ts, |r: i64| r.max(entry.ts)));
            out.push(entry.item);
        }
        self.released = released;
        out
    }

    pub fn len(&mut self) -> usize {
        self.heap().len()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// A copy for a checkpoint (entries in a plain list).
    pub fn snapshot(&mut self) -> Reorder<T> {
        let entries = self.heap().iter().map(|Reverse(e)| e.clone()).collect();
        Reorder { lateness: self.lateness, capacity: self.capacity, max_ts: self.max_ts, released: self.released, entries, heap: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb(offset: i64) -> Tiebreak {
        (0, offset, String::new())
    }

    #[test]
    fn releases_in_event_time_order_once_the_watermark_passes() {
        let mut buffer = Reorder::new(10, 1000);
        for (ts, name) in [(105, "b"), (100, "a"), (112, "c"), (111, "x")] {
            assert!(matches!(buffer.push(ts, tb(ts), name), Pushed::Held));
        }
        // watermark = 112 - 10 = 102: only "a" (100) is ready.
        assert_eq!(buffer.ready(), vec!["a"]);
        assert!(matches!(buffer.push(130, tb(130), "d"), Pushed::Held));
        // watermark 120: b, x, c in time order.
        assert_eq!(buffer.ready(), vec!["b", "x", "c"]);
        // 101 is older than what was released (112): late, handed back.
        assert!(matches!(buffer.push(101, tb(101), "late"), Pushed::Late("late")));
        assert_eq!(buffer.drain(), vec!["d"]);
    }

    #[test]
    fn ties_are_broken_by_position_and_capacity_bounds_the_buffer() {
        let mut buffer = Reorder::new(3600, 2);
        buffer.push(100, (1, 7, String::new()), "p1o7");
        buffer.push(100, (0, 9, String::new()), "p0o9");
        buffer.push(100, (1, 2, String::new()), "p1o2");
        assert_eq!(buffer.ready(), vec!["p0o9"], "over capacity: the oldest goes");
        assert_eq!(buffer.drain(), vec!["p1o2", "p1o7"]);
    }

    #[test]
    fn a_snapshot_round_trips() {
        let mut buffer = Reorder::new(10, 100);
        buffer.push(100, tb(1), "a".to_string());
        buffer.push(50, tb(2), "b".to_string());
        let text = serde_json::to_string(&buffer.snapshot()).unwrap();
        let mut back: Reorder<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.drain(), vec!["b".to_string(), "a".to_string()]);
    }
}
