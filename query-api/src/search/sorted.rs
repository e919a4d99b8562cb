//! Sorting hits across splits, with a `search_after` cursor.
//!
//! Every hit has a key: the sort field's value, then the stream, partition
//! and Kafka offset of the event. The last three identify an event uniquely,
//! so the order is total and stable between requests: a page that starts
//! after a cursor neither repeats nor skips a hit, however many events share
//! a timestamp.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use logwarden_store::schema::OFFSET;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// What a sort field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    Date,
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    pub field: String,
    pub kind: SortKind,
    pub descending: bool,
}

/// Where a page starts: the sort values of the last hit of the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort field's value (epoch microseconds for a date); `None` when
    /// the hit had no value.
    pub value: Option<i64>,
    pub stream: String,
    pub partition: i32,
    pub offset: u64,
}

impl Cursor {
    /// `VALUE:STREAM:PARTITION:OFFSET`, the form used in a query string
    /// (`-` for a missing value).
    pub fn parse(text: &str) -> Result<Cursor, String> {
        let bad = || {
            format!(
                "search_after `{text}` is not VALUE:STREAM:PARTITION:OFFSET as returned in `next`"
            )
        };
        let mut parts = text.splitn(4, ':');
        let (Some(value), Some(stream), Some(partition), Some(offset)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let value = match value {
            "-" => None,
            v => Some(v.parse().map_err(|_| bad())?),
        };
        Ok(Cursor {
            value,
            stream: stream.to_string(),
            partition: partition.parse().map_err(|_| bad())?,
            offset: offset.parse().map_err(|_| bad())?,
        })
    }

    pub fn to_text(&self) -> String {
        let value = self.value.map_or("-".to_string(), |v| v.to_string());
        format!("{value}:{}:{}:{}", self.stream, self.partition, self.offset)
    }
}

/// A value made comparable as an unsigned integer; missing sorts lowest.
fn sortable(value: Option<i64>) -> u64 {
    value.map_or(0, |v| (v as u64 ^ (1 << 63)).max(1))
}

/// A hit's place in the order of one request: larger comes first.
pub type Rank = (u64, u32, u64);

/// Collects the top `limit` hits of one split in sort order, after `after`.
#[derive(Debug, Clone)]
pub struct SortedTop {
    pub spec: SortSpec,
    pub limit: usize,
    /// The split's (stream, partition) position among all the request's
    /// splits (tie-breaker within the request).
    pub split_rank: u32,
    /// How the split's (stream, partition) compares with the cursor's.
    pub after: Option<(Cursor, Ordering)>,
}

/// A collected hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rank: Rank,
    pub value: Option<i64>,
    pub offset: u64,
    pub address: DocAddress,
}

impl SortedTop {
    fn rank(&self, value: Option<i64>, offset: u64) -> Rank {
        let key = (sortable(value), self.split_rank, offset);
        if self.spec.descending {
            key
        } else {
            (u64::MAX - key.0, u32::MAX - key.1, u64::MAX - key.2)
        }
    }

    /// Whether a hit comes after the cursor in the requested order.
    fn is_after_cursor(&self, value: Option<i64>, offset: u64) -> bool {
        let Some((cursor, split_vs_cursor)) = &self.after else {
            return true;
        };
        let order = sortable(value)
            .cmp(&sortable(cursor.value))
            .then(*split_vs_cursor)
            .then(offset.cmp(&cursor.offset));
        if self.spec.descending {
            order == Ordering::Less
        } else {
            order == Ordering::Greater
        }
    }
}

enum Values {
    Date(Column<tantivy::DateTime>),
    Number(Column<u64>),
}

impl Values {
    fn get(&self, doc: DocId) -> Option<i64> {
        match self {
            Values::Date(column) => column.first(doc).map(|d| d.into_timestamp_micros()),
            Values::Number(column) => column.first(doc).map(|n| n.min(i64::MAX as u64) as i64),
        }
    }
}

type Candidate = (Rank, Option<i64>, u64, DocId);

pub struct SortedTopSegment {
    top: SortedTop,
    segment: SegmentOrdinal,
    values: Values,
    offsets: Column<u64>,
    /// The best hits so far, lowest rank on top: (rank, value, offset, doc).
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl Collector for SortedTop {
    type Fruit = Vec<Hit>;
    type Child = SortedTopSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SortedTopSegment> {
        let fast = reader.fast_fields();
        let values = match self.spec.kind {
            SortKind::Date => Values::Date(fast.date(&self.spec.field)?),
            SortKind::Number => Values::Number(fast.u64(&self.spec.field)?),
        };
        Ok(SortedTopSegment {
            top: self.clone(),
            segment,
            values,
            offsets: fast.u64(OFFSET)?,
            heap: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Hit>>) -> tantivy::Result<Vec<Hit>> {
        Ok(merge_top(fruits.into_iter().flatten(), self.limit))
    }
}

/// The first `limit` hits of `hits` in rank order.
pub fn merge_top(hits: impl Iterator<Item = Hit>, limit: usize) -> Vec<Hit> {
    let mut all: Vec<Hit> = hits.collect();
    all.sort_unstable_by_key(|hit| Reverse(hit.rank));
    all.truncate(limit);
    all
}

impl SegmentCollector for SortedTopSegment {
    type Fruit = Vec<Hit>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.top.limit == 0 {
            return;
        }
        let value = self.values.get(doc);
        let offset = self.offsets.first(doc).unwrap_or_default();
        if !self.top.is_after_cursor(value, offset) {
            return;
        }
        let rank = self.top.rank(value, offset);
        if self.heap.len() < self.top.limit {
            self.heap.push(Reverse((rank, value, offset, doc)));
        } else if let Some(Reverse(lowest)) = self.heap.peek()
            && rank > lowest.0
        {
            self.heap.pop();
            self.heap.push(Reverse((rank, value, offset, doc)));
        }
    }

    fn harvest(self) -> Vec<Hit> {
        let segment = self.segment;
        self.heap
            .into_iter()
            .map(|Reverse((rank, value, offset, doc))| Hit {
                rank,
                value,
                offset,
                address: DocAddress::new(segment, doc),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_named() {
        let cursor = Cursor {
            value: Some(1_764_000_000_000_000),
            stream: "auth".into(),
            partition: 1,
            offset: 42,
        };
        assert_eq!(Cursor::parse(&cursor.to_text()), Ok(cursor));
        let missing = Cursor {
            value: None,
            stream: "app".into(),
            partition: 0,
            offset: 0,
        };
        assert_eq!(Cursor::parse(&missing.to_text()), Ok(missing));
        for bad in ["", "1:auth:1", "x:auth:1:2", "1:auth:p1:2"] {
            assert!(
                Cursor::parse(bad).unwrap_err().contains("search_after"),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_values_sort_lowest_and_negative_dates_below_positive() {
        assert!(sortable(None) < sortable(Some(i64::MIN)));
        assert!(sortable(Some(-1)) < sortable(Some(0)));
        assert!(sortable(Some(0)) < sortable(Some(1)));
    }
}
