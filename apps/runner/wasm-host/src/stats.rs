//! The host's own figures: how long instantiation takes per request (a histogram of
//! microseconds, lock-free: every request records one sample).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets of 1 µs from 0 to 4095 µs, the last one for everything slower.
const BUCKETS: usize = 4096;

/// A histogram of durations in whole microseconds.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, duration: Duration) {
        let micros = usize::try_from(duration.as_micros()).unwrap_or(usize::MAX);
        self.buckets[micros.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0.5: the median) in µs; `None` before the first sample. Durations of
    /// 4095 µs and more count as 4095.
    pub fn quantile_micros(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (micros, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(micros as u64);
            }
        }
        Some(BUCKETS as u64 - 1)
    }

    /// `n=… p50=…µs p99=…µs`, for a log line.
    pub fn summary(&self) -> String {
        match (self.quantile_micros(0.5), self.quantile_micros(0.99)) {
            (Some(p50), Some(p99)) => format!("n={} p50={p50}us p99={p99}us", self.count()),
            _ => "n=0".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let histogram = Histogram::default();
        assert_eq!(histogram.quantile_micros(0.5), None);
        for micros in [3, 5, 5, 7, 100] {
            histogram.record(Duration::from_micros(micros));
        }
        histogram.record(Duration::from_secs(1));
        assert_eq!(histogram.count(), 6);
        assert_eq!(histogram.quantile_micros(0.5), Some(5));
        assert_eq!(histogram.quantile_micros(1.0), Some(4095));
        assert_eq!(histogram.summary(), "n=6 p50=5us p99=4095us");
    }
}
