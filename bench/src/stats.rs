//! Percentiles of measured durations.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentiles of `samples` (milliseconds); `None` when empty.
pub fn distribution(samples: &[f64]) -> Option<Distribution> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[index.clamp(1, sorted.len()) - 1]
    };
    Some(Distribution {
        count: sorted.len(),
        p50_ms: rank(50.0),
        p99_ms: rank(99.0),
        max_ms: sorted[sorted.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let d = distribution(&samples).unwrap();
        assert_eq!(
            (d.p50_ms, d.p99_ms, d.max_ms, d.count),
            (50.0, 99.0, 100.0, 100)
        );
        assert_eq!(distribution(&[7.0]).unwrap().p99_ms, 7.0);
        assert!(distribution(&[]).is_none());
    }
}
