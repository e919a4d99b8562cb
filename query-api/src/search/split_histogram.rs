//! Date histograms answered from a split's hit count.
//!
//! A window split spans one window (an hour by default), so with buckets as
//! long as the window or longer, every event of the split falls in one
//! bucket: that bucket's count is the number of hits, which the search
//! counts anyway, and the date column need not be read. Whether a split's
//! events fall in one bucket is decided from the column's min and max
//! (stored in its header) with the arithmetic tantivy's histogram uses, so
//! the bucket keys merge with the ones tantivy computes for other splits.

use logwarden_store::schema::to_tantivy;
use tantivy::Searcher;
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateBucketResult,
    IntermediateHistogramBucketEntry,
};
use tantivy::columnar::Cardinality;

use super::catalog::TimeFilter;

/// Most buckets one segment's scan counts in a dense array; a wider spread
/// is left to tantivy.
const MAX_SCAN_BUCKETS: i64 = 10_000;
/// Values decoded per bulk read of the column.
const SCAN_BLOCK: usize = 4096;

/// A top-level date histogram without sub-aggregations or bounds on the
/// values: a split whose values fall in one of its buckets can be counted.
#[derive(Debug, Clone, PartialEq)]
pub struct CountableHistogram {
    pub name: String,
    pub field: String,
    /// In nanoseconds, as tantivy normalizes a date histogram's interval.
    pub interval_ns: f64,
    pub offset_ns: f64,
}

impl CountableHistogram {
    /// `interval_secs` and `offset_secs` as the request gives them to
    /// tantivy (`"{n}s"`, parsed into milliseconds, then scaled to ns).
    pub fn new(name: &str, field: &str, interval_secs: i64, offset_secs: i64) -> CountableHistogram {
        CountableHistogram {
            name: name.to_string(),
            field: field.to_string(),
            interval_ns: (interval_secs * 1000) as f64 * 1_000_000.0,
            offset_ns: (offset_secs * 1000) as f64 * 1_000_000.0,
        }
    }

    /// The bucket position tantivy gives a value (nanoseconds).
    fn position(&self, nanos: i64) -> f64 {
        ((nanos as f64 - self.offset_ns) / self.interval_ns).floor()
    }

    /// The key of the one bucket every value of the split falls in, if
    /// there is one: every live document has exactly one value.
    fn one_bucket(&self, searcher: &Searcher) -> Option<f64> {
        let mut position = None;
        for segment in searcher.segment_readers() {
            if segment.num_docs() == 0 {
                continue;
            }
            let column = segment.fast_fields().date(&self.field).ok()?;
            if column.get_cardinality() != Cardinality::Full {
                return None;
            }
            let low = self.position(column.min_value().into_timestamp_nanos());
            let high = self.position(column.max_value().into_timestamp_nanos());
            // The position is monotonic in the value: equal ends, one bucket.
            if low != high || position.is_some_and(|p| p != low) {
                return None;
            }
            position = Some(low);
        }
        // A split without live documents: any bucket, it gets no count.
        Some(position.unwrap_or(0.0) * self.interval_ns + self.offset_ns)
    }
}

/// A split's histograms and hit count, for a request whose hits are every
/// event in `time`: the date column is read in blocks and counted into
/// dense buckets, keyed as tantivy keys them. `None` when a segment has
/// deleted documents, a document without a value, or too many buckets.
pub fn scan(
    histograms: &[CountableHistogram],
    searcher: &Searcher,
    time: TimeFilter,
) -> Option<(u64, IntermediateAggregationResults)> {
    // Bounds at the precision the range query compares (microseconds).
    let low = time.from.map_or(i64::MIN, |t| to_tantivy(t).into_timestamp_nanos());
    let high = time.to.map_or(i64::MAX, |t| to_tantivy(t).into_timestamp_nanos());
    let mut hits = None;
    let mut results = IntermediateAggregationResults::default();
    for histogram in histograms {
        let (count, buckets) = histogram.scan(searcher, low, high)?;
        hits = Some(count);
        results
            .push(
                histogram.name.clone(),
                IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                    is_date_agg: true,
                    buckets,
                }),
            )
            .ok()?;
    }
    Some((hits?, results))
}

impl CountableHistogram {
    /// Events with a value in `[low, high)` (ns) and their buckets, sorted by key.
    fn scan(&self, searcher: &Searcher, low: i64, high: i64) -> Option<(u64, Vec<IntermediateHistogramBucketEntry>)> {
        let mut counts: std::collections::BTreeMap<i64, u64> = Default::default();
        let mut hits = 0;
        let mut block = vec![tantivy::DateTime::MIN; SCAN_BLOCK];
        for segment in searcher.segment_readers() {
            let docs = segment.max_doc();
            if docs == 0 {
                continue;
            }
            if segment.has_deletes() {
                return None;
            }
            let column = segment.fast_fields().date(&self.field).ok()?;
            if column.get_cardinality() != Cardinality::Full {
                return None;
            }
            let (min, max) = (
                column.min_value().into_timestamp_nanos(),
                column.max_value().into_timestamp_nanos(),
            );
            let first = self.position(min) as i64;
            let last = self.position(max) as i64;
            if last - first >= MAX_SCAN_BUCKETS {
                return None;
            }
            let grid = Grid::new(self, min, max, first, last);
            let mut dense = vec![0u64; grid.starts.len()];
            let mut start = 0u32;
            while start < docs {
                let len = (docs - start).min(SCAN_BLOCK as u32) as usize;
                column.values.get_range(u64::from(start), &mut block[..len]);
                for value in &block[..len] {
                    let nanos = value.into_timestamp_nanos();
                    if nanos >= low && nanos < high {
                        dense[grid.slot(nanos)] += 1;
                    }
                }
                start += len as u32;
            }
            for (slot, &count) in dense.iter().enumerate() {
                if count > 0 {
                    hits += count;
                    *counts.entry(first + slot as i64).or_default() += count;
                }
            }
        }
        let buckets = counts
            .into_iter()
            .map(|(position, doc_count)| IntermediateHistogramBucketEntry {
                key: position as f64 * self.interval_ns + self.offset_ns,
                doc_count,
                sub_aggregation: IntermediateAggregationResults::default(),
            })
            .collect();
        Some((hits, buckets))
    }
}

/// A segment's buckets as the values where each starts, so a value finds
/// its bucket with integer comparisons: the same bucket tantivy's
/// floating-point arithmetic gives it (computed per bucket, not per value).
struct Grid {
    /// `starts[k]`: the smallest value of `[min, max]` in bucket `first + k`.
    starts: Vec<i64>,
    /// Where bucket `first` would start, and buckets per nanosecond, for
    /// a first guess.
    origin: i64,
    per_ns: f64,
}

impl Grid {
    fn new(histogram: &CountableHistogram, min: i64, max: i64, first: i64, last: i64) -> Grid {
        let mut starts = vec![min];
        for target in first + 1..=last {
            // The position is monotonic in the value: binary search.
            let (mut lo, mut hi) = (*starts.last().expect("one start"), max);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if histogram.position(mid) as i64 >= target {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            starts.push(lo);
        }
        Grid {
            starts,
            origin: (first as f64 * histogram.interval_ns + histogram.offset_ns) as i64,
            per_ns: 1.0 / histogram.interval_ns,
        }
    }

    /// The bucket (index into `starts`) of a value within `[min, max]`.
    fn slot(&self, value: i64) -> usize {
        let guess = (value.saturating_sub(self.origin) as f64 * self.per_ns) as i64;
        let mut slot = guess.clamp(0, self.starts.len() as i64 - 1) as usize;
        while slot > 0 && value < self.starts[slot] {
            slot -= 1;
        }
        while slot + 1 < self.starts.len() && value >= self.starts[slot + 1] {
            slot += 1;
        }
        slot
    }
}

/// The bucket of each histogram a split's hits all fall in.
pub struct OneBucket(Vec<(String, f64)>);

/// When every histogram of `histograms` puts all of the split's events in
/// one bucket, those buckets.
pub fn one_bucket(histograms: &[CountableHistogram], searcher: &Searcher) -> Option<OneBucket> {
    histograms
        .iter()
        .map(|h| h.one_bucket(searcher).map(|key| (h.name.clone(), key)))
        .collect::<Option<Vec<_>>>()
        .map(OneBucket)
}

impl OneBucket {
    /// The split's intermediate result, as tantivy would have computed it
    /// for `hits` matching events (no bucket when there are none).
    pub fn results(self, hits: u64) -> tantivy::Result<IntermediateAggregationResults> {
        let mut results = IntermediateAggregationResults::default();
        for (name, key) in self.0 {
            let buckets = if hits == 0 {
                Vec::new()
            } else {
                vec![IntermediateHistogramBucketEntry {
                    key,
                    doc_count: hits,
                    sub_aggregation: IntermediateAggregationResults::default(),
                }]
            };
            results.push(
                name,
                IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                    is_date_agg: true,
                    buckets,
                }),
            )?;
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_puts_values_in_the_buckets_tantivys_arithmetic_does() {
        // Hourly at +09:00 (offset 15 h) and every 7 s: values around
        // bucket starts, where f64 rounding of nanoseconds decides.
        for (interval, offset) in [(3600, 54_000), (7, 0), (86_400, 0)] {
            let histogram = CountableHistogram::new("h", "@timestamp", interval, offset);
            let min = 1_795_478_400_000_000_000i64 - 3_000_000_000_000;
            let max = min + 30 * interval * 1_000_000_000;
            let (first, last) = (histogram.position(min) as i64, histogram.position(max) as i64);
            let grid = Grid::new(&histogram, min, max, first, last);
            assert_eq!(grid.starts.len() as i64, last - first + 1);
            let mut values = vec![min, max];
            for &start in &grid.starts[1..] {
                for delta in [-1000, -257, -256, -1, 0, 1, 255, 256, 1000] {
                    values.push((start + delta).clamp(min, max));
                }
            }
            for step in 0..1000 {
                values.push(min + (max - min) / 1000 * step);
            }
            for value in values {
                assert_eq!(
                    grid.slot(value) as i64,
                    histogram.position(value) as i64 - first,
                    "{value} at {interval}s"
                );
            }
        }
    }
}
