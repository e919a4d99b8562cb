//! Runs a checked search over the splits: prunes those whose time range
//! cannot match (by their metadata before opening them, then by their doc
//! values), searches the rest in parallel, and merges counts, sorted hits
//! and aggregations.

use std::collections::BTreeSet;

use logwarden_store::schema::LogSchema;
use rayon::prelude::*;
use serde_json::Value;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::collector::Count;
use tantivy::schema::Value as _;
use tantivy::TantivyDocument;

use super::catalog::{OpenSplit, SplitCatalog, TimeFilter};
use super::split_histogram;
use super::request::SearchRequest;
use super::sorted::{Cursor, Hit, SortedTop};

pub struct SearchResult {
    /// Exact number of matching events.
    pub total: u64,
    /// The page: each stored event with its sort cursor.
    pub hits: Vec<(Value, Cursor)>,
    pub aggregations: Option<Value>,
    pub splits_total: usize,
    pub splits_searched: usize,
}

/// Why a search failed.
pub enum EngineError {
    /// The request asked for something the data cannot give (e.g. an
    /// aggregation over its limits): an error code and a message.
    Request(&'static str, String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for EngineError {
    fn from(e: anyhow::Error) -> Self {
        EngineError::Internal(e)
    }
}

impl From<tantivy::TantivyError> for EngineError {
    fn from(e: tantivy::TantivyError) -> Self {
        EngineError::Internal(e.into())
    }
}

/// Whether an open split's events can fall in `time` (its doc values'
/// range: a late split's metadata does not tell).
fn overlaps(split: &OpenSplit, time: TimeFilter) -> bool {
    if time.is_unbounded() {
        return true;
    }
    match split.events {
        None => false, // no events
        Some((min, max)) => time.overlaps(min, max),
    }
}

pub fn execute(
    catalog: &SplitCatalog,
    schema: &LogSchema,
    request: &SearchRequest,
) -> Result<SearchResult, EngineError> {
    let time = TimeFilter {
        from: request.from,
        to: request.to,
    };
    let selection = catalog.select(|stream| request.admits_stream(stream), time)?;
    let splits_total = selection.total;
    let splits: Vec<OpenSplit> = selection
        .open
        .into_iter()
        .filter(|s| overlaps(s, time))
        .collect();
    // Tie-breaker: the position of each split's (stream, partition).
    let pairs: Vec<(String, i32)> = splits
        .iter()
        .map(|s| (s.location.stream.clone(), s.location.partition))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let per_split = splits
        .par_iter()
        .enumerate()
        .map(|(index, split)| {
            let pair = (split.location.stream.clone(), split.location.partition);
            let top = SortedTop {
                spec: request.sort.clone(),
                limit: request.limit,
                split_rank: pairs.binary_search(&pair).unwrap_or_default() as u32,
                after: request.after.as_ref().map(|c| {
                    let order = (pair.0.as_str(), pair.1).cmp(&(c.stream.as_str(), c.partition));
                    (c.clone(), order)
                }),
            };
            let histograms = request.aggs.as_ref().and_then(|a| a.countable());
            let Some(histograms) = histograms else {
                let aggs = request.aggs.as_ref().map(|a| a.collector());
                let (count, hits, aggs) = split.searcher.search(&request.query, &(Count, top, aggs))?;
                return Ok((index, count as u64, hits, aggs));
            };
            // A split whose events fall in one bucket of every histogram:
            // its hit count is the bucket's count, no column is read.
            if let Some(bucket) = split_histogram::one_bucket(histograms, &split.searcher) {
                let (count, hits) = split.searcher.search(&request.query, &(Count, top))?;
                return Ok((index, count as u64, hits, Some(bucket.results(count as u64)?)));
            }
            // Every event in the time range: the date column read in bulk.
            let scanned = request
                .match_all
                .then(|| split_histogram::scan(histograms, &split.searcher, time))
                .flatten();
            if let Some((matched, aggs)) = scanned {
                if request.limit == 0 {
                    return Ok((index, matched, Vec::new(), Some(aggs)));
                }
                let (count, hits) = split.searcher.search(&request.query, &(Count, top))?;
                return Ok((index, count as u64, hits, Some(aggs)));
            }
            let aggs = request.aggs.as_ref().map(|a| a.collector());
            let (count, hits, aggs) = split.searcher.search(&request.query, &(Count, top, aggs))?;
            Ok::<_, tantivy::TantivyError>((index, count as u64, hits, aggs))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            tantivy::TantivyError::SchemaError(e) => EngineError::Request("invalid_query", e),
            // The compiler refuses unknown fields first; this keeps a field
            // it missed a 400 naming it, not a 500.
            tantivy::TantivyError::FieldNotFound(name) => {
                EngineError::Request("invalid_query", format!("field `{name}` does not exist"))
            }
            tantivy::TantivyError::AggregationError(e) => {
                EngineError::Request("invalid_aggregation", format!("aggregation: {e}"))
            }
            other => EngineError::Internal(other.into()),
        })?;
    let mut total = 0;
    let mut merged_aggs: Option<IntermediateAggregationResults> = None;
    let mut tagged: Vec<(usize, Hit)> = Vec::new();
    for (index, count, hits, aggs) in per_split {
        total += count;
        tagged.extend(hits.into_iter().map(|h| (index, h)));
        if let Some(aggs) = aggs {
            match &mut merged_aggs {
                Some(merged) => merged.merge_fruits(aggs)?,
                None => merged_aggs = Some(aggs),
            }
        }
    }
    // Merge the splits' pages: the rank decides (it is unique per event).
    tagged.sort_unstable_by_key(|(_, hit)| std::cmp::Reverse(hit.rank));
    tagged.truncate(request.limit);
    let mut page = Vec::with_capacity(tagged.len());
    for (index, hit) in tagged {
        let split = &splits[index];
        let doc: TantivyDocument = split.searcher.doc(hit.address)?;
        let text = doc
            .get_first(schema.source)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        let event = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
        let cursor = Cursor {
            value: hit.value,
            stream: split.location.stream.clone(),
            partition: split.location.partition,
            offset: hit.offset,
        };
        page.push((event, cursor));
    }
    let aggregations = match (&request.aggs, merged_aggs) {
        (Some(request), Some(merged)) => Some(
            request
                .finish(merged)
                .map_err(|e| EngineError::Request("invalid_aggregation", e))?,
        ),
        (Some(request), None) => Some(
            request
                .finish(IntermediateAggregationResults::default())
                .map_err(|e| EngineError::Request("invalid_aggregation", e))?,
        ),
        _ => None,
    };
    Ok(SearchResult {
        total,
        hits: page,
        aggregations,
        splits_total,
        splits_searched: splits.len(),
    })
}
