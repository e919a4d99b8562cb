//! Search side of the bench: counting what is searchable, freshness markers,
//! and query latency under concurrent clients.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::process::check_interrupted;
use crate::stats::{Distribution, distribution};

pub struct SearchClient {
    http: reqwest::blocking::Client,
    base: String,
}

impl SearchClient {
    /// A client of the query API at `addr`, authenticated with `key` (the
    /// admin key of the data dir, see [`admin_key`]).
    pub fn new(addr: &str, key: Option<&str>) -> anyhow::Result<SearchClient> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(key) = key {
            let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).context("admin key")?;
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        Ok(SearchClient {
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .default_headers(headers)
                .build()
                .context("http client")?,
            base: format!("http://{addr}"),
        })
    }

    pub fn search(&self, q: &str, limit: usize) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1/search", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[("q", q), ("limit", &limit.to_string())])
            .send()
            .with_context(|| format!("GET {url}?q={q}"))?;
        let status = response.status();
        let body: Value = response.json().context("search response is not JSON")?;
        if !status.is_success() {
            bail!("search `{q}` answered {status}: {body}");
        }
        Ok(body)
    }

    /// Events searchable now.
    pub fn count(&self) -> anyhow::Result<u64> {
        self.search("*", 1)?["total"]
            .as_u64()
            .context("search response without total")
    }

    /// Polls until `count` events are searchable, calling `alive` with the
    /// number searchable after each poll; returns when the first event was
    /// seen and when all were.
    pub fn wait_for_count(
        &self,
        count: u64,
        timeout: Duration,
        mut alive: impl FnMut(u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<(Instant, Instant)> {
        let started = Instant::now();
        let mut first = None;
        let mut last_report = Instant::now();
        loop {
            check_interrupted()?;
            let total = self.count()?;
            let now = Instant::now();
            if total > 0 && first.is_none() {
                first = Some(now);
            }
            if total >= count {
                return Ok((first.unwrap_or(now), now));
            }
            alive(total)?;
            if started.elapsed() > timeout {
                bail!("{total} of {count} events searchable after {timeout:?}");
            }
            if last_report.elapsed() >= Duration::from_secs(5) {
                eprintln!("bench:   {total}/{count} events searchable");
                last_report = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One request, untimed: the status and the events it matched (the
    /// response's `total`), so a query whose window holds nothing shows.
    fn probe(&self, path_and_query: &str, body: Option<&Value>) -> anyhow::Result<(u16, Option<u64>)> {
        let response = self.send(path_and_query, body)?;
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        Ok((status, body.get("total").and_then(Value::as_u64)))
    }

    /// One request (`POST` with `body`, else `GET`); the status and the
    /// time it took.
    fn timed(&self, path_and_query: &str, body: Option<&Value>) -> anyhow::Result<(u16, Duration)> {
        let started = Instant::now();
        let response = self.send(path_and_query, body)?;
        let status = response.status().as_u16();
        // The body is part of the latency a client sees.
        response.bytes().with_context(|| format!("reading {}{path_and_query}", self.base))?;
        Ok((status, started.elapsed()))
    }

    /// `POST` with `body`, else `GET`.
    fn send(&self, path_and_query: &str, body: Option<&Value>) -> anyhow::Result<reqwest::blocking::Response> {
        let url = format!("{}{path_and_query}", self.base);
        let request = match body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url),
        };
        request.send().with_context(|| url)
    }
}

/// A line written to a tailed file with a unique token, to be found by search.
pub struct Markers {
    file: std::fs::File,
    /// Word shared by every marker of this run: one search finds them all.
    tag: String,
    written: Vec<Instant>,
    seen: HashMap<usize, Instant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub markers_written: usize,
    pub markers_found: usize,
    /// Line written (and flushed) to first returned by a search.
    pub latency: Option<Distribution>,
    pub poll_interval_ms: u64,
    /// The slowest markers, slowest first: when in its round each was
    /// written, so a slow tail shows whether it came at the start, at
    /// the end or throughout the load.
    pub slowest: Vec<Marker>,
    /// Every marker found, for pooling rounds.
    #[serde(skip)]
    pub markers: Vec<Marker>,
}

/// A marker found: its round, when it was written (seconds after the
/// round's first marker) and its latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Marker {
    pub round: usize,
    pub written_s: f64,
    pub latency_ms: f64,
}

/// How many of the slowest markers the report names.
const SLOWEST: usize = 5;

fn slowest(markers: &[Marker]) -> Vec<Marker> {
    let mut sorted = markers.to_vec();
    sorted.sort_by(|a, b| b.latency_ms.total_cmp(&a.latency_ms));
    sorted.truncate(SLOWEST);
    sorted
}

impl Freshness {
    /// The freshness of the markers found of `markers_written`: their
    /// latencies' distribution and the slowest of them.
    fn of(markers: Vec<Marker>, markers_written: usize, poll_interval_ms: u64) -> Freshness {
        let latencies: Vec<f64> = markers.iter().map(|m| m.latency_ms).collect();
        Freshness {
            markers_written,
            markers_found: markers.len(),
            latency: distribution(&latencies),
            poll_interval_ms,
            slowest: slowest(&markers),
            markers,
        }
    }

    /// The markers of every round as one sample (their latencies pooled:
    /// a p99 over all of them rather than each round's largest few).
    pub fn pooled(rounds: &[&Freshness]) -> Freshness {
        let markers: Vec<Marker> = rounds
            .iter()
            .enumerate()
            .flat_map(|(round, f)| f.markers.iter().map(move |m| Marker { round, ..*m }))
            .collect();
        Freshness::of(
            markers,
            rounds.iter().map(|f| f.markers_written).sum(),
            rounds.first().map_or(0, |f| f.poll_interval_ms),
        )
    }
}

impl Markers {
    pub fn create(path: &Path) -> anyhow::Result<Markers> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        Ok(Markers {
            file,
            tag: format!("lwfresh{:x}", nanos),
            written: Vec::new(),
            seen: HashMap::new(),
        })
    }

    pub fn written(&self) -> usize {
        self.written.len()
    }

    pub fn outstanding(&self) -> usize {
        self.written.len() - self.seen.len()
    }

    /// Appends one syslog line stamped now, holding the run's tag and the
    /// marker's own number.
    pub fn write(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let n = self.written.len();
        let line = format!(
            "{} benchprobe logwarden-bench[{}]: freshness probe {} {}n{n}\n",
            now.format("%b %e %H:%M:%S"),
            std::process::id(),
            self.tag,
            self.tag
        );
        self.file
            .write_all(line.as_bytes())
            .context("writing a marker line")?;
        self.file.flush()?;
        self.written.push(Instant::now());
        Ok(())
    }

    /// One search for every marker; records the ones seen for the first time.
    pub fn poll(&mut self, client: &SearchClient) -> anyhow::Result<()> {
        if self.outstanding() == 0 {
            return Ok(());
        }
        let body = client.search(&self.tag, self.written.len().max(1))?;
        let now = Instant::now();
        let prefix = format!("{}n", self.tag);
        for hit in body["hits"].as_array().into_iter().flatten() {
            let message = hit["message"].as_str().unwrap_or_default();
            let number = message
                .split_whitespace()
                .find_map(|word| word.strip_prefix(&prefix))
                .and_then(|n| n.parse::<usize>().ok());
            if let Some(n) = number {
                if n < self.written.len() {
                    self.seen.entry(n).or_insert(now);
                }
            }
        }
        Ok(())
    }

    pub fn result(&self, poll_interval: Duration) -> Freshness {
        let markers: Vec<Marker> = self
            .seen
            .iter()
            .map(|(&n, &seen)| Marker {
                round: 0,
                written_s: (self.written[n] - self.written[0]).as_secs_f64(),
                latency_ms: (seen - self.written[n]).as_secs_f64() * 1000.0,
            })
            .collect();
        Freshness::of(markers, self.written.len(), poll_interval.as_millis() as u64)
    }
}

/// A request the bench times; `path_and_query` is relative to the API root.
#[derive(Debug, Clone, Serialize)]
pub struct BenchQuery {
    pub name: &'static str,
    pub path_and_query: String,
    /// A JSON body: the request is a `POST`.
    pub body: Option<Value>,
}

/// The admin key a pipeline created in its data dir on first start.
pub fn admin_key(data_dir: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join("admin.key")).ok().map(|k| k.trim().to_string())
}

/// The queries of the query API issue. A query the API does not serve yet
/// (400/404/405/501) is reported as unsupported: adding one is one line.
/// "The last hour" and "a day" end at `newest`, the corpus's newest event:
/// the corpus ends hours before it was generated at some sizes, and an hour
/// before the clock then held no event to find.
pub fn queries(newest: DateTime<Utc>) -> Vec<BenchQuery> {
    let hour_ago = (newest - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let day_ago = (newest - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let search = |q: &str, from: &str| format!("/api/v1/search?q={}&from={}&limit=100", encode(q), encode(from));
    vec![
        BenchQuery { name: "term over the last hour", path_and_query: search("host.name:web01", &hour_ago), body: None },
        BenchQuery { name: "full text over a day", path_and_query: search("\"failed password\"", &day_ago), body: None },
        BenchQuery {
            name: "date histogram over everything",
            path_and_query: "/api/v1/search".to_string(),
            body: Some(serde_json::json!({
                "limit": 0,
                "aggs": {"per_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}
            })),
        },
        // Buckets shorter than a split's window: every split's column is
        // read (the hourly one counts a window split from its hits).
        BenchQuery {
            name: "date histogram over everything, 30 min",
            path_and_query: "/api/v1/search".to_string(),
            body: Some(serde_json::json!({
                "limit": 0,
                "aggs": {"per_half_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "30m"}}}
            })),
        },
    ]
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryLatency {
    pub name: &'static str,
    pub path_and_query: String,
    /// `ok`, `unsupported` (the API answered 400/404/405/501) or `error`.
    pub status: String,
    pub http_status: u16,
    pub latency: Option<Distribution>,
    /// The events the query matched (its response's `total`).
    pub matched: Option<u64>,
    pub clients: usize,
}

/// Runs each query `repeats` times from each of `clients` threads at once.
pub fn query_latency(
    addr: &str,
    key: Option<&str>,
    queries: &[BenchQuery],
    clients: usize,
    repeats: usize,
) -> anyhow::Result<Vec<QueryLatency>> {
    let mut results = Vec::new();
    for query in queries {
        check_interrupted()?;
        let probe = SearchClient::new(addr, key)?;
        let (status, matched) = probe.probe(&query.path_and_query, query.body.as_ref())?;
        if matches!(status, 400 | 404 | 405 | 501) || status >= 300 {
            let kind = if matches!(status, 400 | 404 | 405 | 501) {
                "unsupported"
            } else {
                "error"
            };
            eprintln!("bench:   {}: {kind} (HTTP {status})", query.name);
            results.push(QueryLatency {
                name: query.name,
                path_and_query: query.path_and_query.clone(),
                status: kind.to_string(),
                http_status: status,
                latency: None,
                matched: None,
                clients,
            });
            continue;
        }
        let samples = std::thread::scope(|scope| -> anyhow::Result<Vec<f64>> {
            let handles: Vec<_> = (0..clients.max(1))
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<Vec<f64>> {
                        let client = SearchClient::new(addr, key)?;
                        let mut samples = Vec::with_capacity(repeats);
                        for _ in 0..repeats {
                            let (status, took) = client.timed(&query.path_and_query, query.body.as_ref())?;
                            if status != 200 {
                                bail!("{} answered HTTP {status} under load", query.name);
                            }
                            samples.push(took.as_secs_f64() * 1000.0);
                        }
                        Ok(samples)
                    })
                })
                .collect();
            let mut all = Vec::new();
            for handle in handles {
                let samples = handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("search client thread panicked"))??;
                all.extend(samples);
            }
            Ok(all)
        })?;
        results.push(QueryLatency {
            name: query.name,
            path_and_query: query.path_and_query.clone(),
            status: "ok".to_string(),
            http_status: 200,
            latency: distribution(&samples),
            matched,
            clients,
        });
    }
    Ok(results)
}

/// Sum and count of a Prometheus summary/histogram across its labels, from
/// `/metrics` text: the mean, in the metric's unit.
pub fn metric_mean(metrics: &str, name: &str) -> Option<f64> {
    let count = metric_total(metrics, &format!("{name}_count"))?;
    (count > 0.0).then(|| metric_total(metrics, &format!("{name}_sum")).map(|sum| sum / count))?
}

/// The sum of every series of metric `name` (all label sets); `None` when
/// the text has none.
pub fn metric_total(metrics: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// The Prometheus text of a component.
pub fn fetch_metrics(addr: &str) -> anyhow::Result<String> {
    let url = format!("http://{addr}/metrics");
    reqwest::blocking::get(&url)
        .and_then(|r| r.text())
        .with_context(|| format!("GET {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_a_summary_across_labels() {
        let text = "# TYPE x summary\nlogwarden_indexer_commit_seconds{reason=\"timeout\",quantile=\"0.5\"} 0.2\nlogwarden_indexer_commit_seconds_sum{reason=\"timeout\"} 3\nlogwarden_indexer_commit_seconds_count{reason=\"timeout\"} 10\nlogwarden_indexer_commit_seconds_sum{reason=\"drained\"} 1\nlogwarden_indexer_commit_seconds_count{reason=\"drained\"} 10\n";
        let mean = metric_mean(text, "logwarden_indexer_commit_seconds").unwrap();
        assert!((mean - 0.2).abs() < 1e-9);
        assert!(metric_mean(text, "nope").is_none());
    }

    #[test]
    fn total_of_a_gauge_across_labels_and_not_of_longer_names() {
        let text = "lag{partition=\"0\"} 3\nlag{partition=\"1\"} 4\nlag_other 100\n";
        assert_eq!(metric_total(text, "lag"), Some(7.0));
        assert_eq!(metric_total(text, "lag_other"), Some(100.0));
        assert_eq!(metric_total(text, "la"), None);
    }

    #[test]
    fn rounds_of_markers_pool_into_one_distribution() {
        let round = |latencies_ms: Vec<f64>, written: usize| {
            let markers = latencies_ms
                .iter()
                .enumerate()
                .map(|(i, &latency_ms)| Marker { round: 0, written_s: i as f64, latency_ms })
                .collect();
            Freshness::of(markers, written, 100)
        };
        let (a, b) = (round(vec![100.0, 300.0], 3), round(vec![200.0, 2500.0, 400.0, 50.0, 60.0, 70.0], 7));
        let pooled = Freshness::pooled(&[&a, &b]);
        assert_eq!((pooled.markers_written, pooled.markers_found), (10, 8));
        let latency = pooled.latency.unwrap();
        assert_eq!((latency.count, latency.p50_ms, latency.max_ms), (8, 100.0, 2500.0));
        // The slowest five of both rounds, each named by its round and
        // when in it the marker was written.
        let slowest: Vec<(usize, f64, f64)> = pooled.slowest.iter().map(|m| (m.round, m.written_s, m.latency_ms)).collect();
        assert_eq!(slowest, [(1, 1.0, 2500.0), (1, 2.0, 400.0), (0, 1.0, 300.0), (1, 0.0, 200.0), (0, 0.0, 100.0)]);
        assert!(Freshness::pooled(&[]).latency.is_none());
    }

    #[test]
    fn percent_encodes_queries() {
        assert_eq!(encode("a:b [x TO *]"), "a%3Ab%20%5Bx%20TO%20%2A%5D");
    }
}
