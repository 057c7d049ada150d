//! Latency histograms: nanosecond resolution (an append without fsync takes microseconds),
//! reported in microseconds. One histogram per thread, merged at the end, so recording never
//! contends.

use std::time::Duration;

use anyhow::{Result, anyhow};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Three significant figures: quantiles within 0.1 % of the true value.
const SIGNIFICANT_FIGURES: u8 = 3;

pub struct Latency(Histogram<u64>);

/// Quantiles in microseconds. Each is the top of its histogram bucket, so p50 ≤ p99 ≤ p999 ≤ max.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    pub fn new() -> Self {
        // Auto-resizing: the range grows to whatever is recorded.
        Self(Histogram::new(SIGNIFICANT_FIGURES).expect("3 significant figures are supported"))
    }

    pub fn record(&mut self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        // `record` grows the histogram; saturating is the fallback should growing fail.
        if self.0.record(nanos).is_err() {
            self.0.saturating_record(nanos);
        }
    }

    pub fn merge(&mut self, other: &Latency) -> Result<()> {
        self.0
            .add(&other.0)
            .map_err(|e| anyhow!("merging latency histograms: {e:?}"))
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn summary(&self) -> LatencySummary {
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        LatencySummary {
            p50: us(self.0.value_at_quantile(0.5)),
            p99: us(self.0.value_at_quantile(0.99)),
            p999: us(self.0.value_at_quantile(0.999)),
            max: us(self.0.max()),
            mean: self.0.mean() / 1_000.0,
        }
    }
}

/// Quantiles in milliseconds (rounded to the microsecond), for the broker benchmarks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    pub fn ms_summary(&self) -> LatencyMs {
        let ms = |nanos: f64| (nanos / 1_000.0).round() / 1_000.0;
        let q = |quantile: f64| ms(self.0.value_at_quantile(quantile) as f64);
        LatencyMs {
            p50: q(0.5),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: ms(self.0.max() as f64),
            mean: ms(self.0.mean()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_ordered_and_in_microseconds() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for i in 1..=1000u64 {
            a.record(Duration::from_micros(i));
            b.record(Duration::from_nanos(500 * i));
        }
        a.merge(&b).unwrap();
        let s = a.summary();
        assert_eq!(a.count(), 2000);
        assert!(s.p50 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        assert!((s.max - 1000.0).abs() < 1.0, "max {}", s.max);
        assert!(s.mean > 300.0 && s.mean < 450.0, "mean {}", s.mean);
    }

    #[test]
    fn millisecond_quantiles_are_ordered() {
        let mut a = Latency::new();
        for i in 1..=10_000u64 {
            a.record(Duration::from_micros(i));
        }
        let s = a.ms_summary();
        assert!(s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        assert!((s.max - 10.0).abs() < 0.02, "max {}", s.max);
        assert!((s.p95 - 9.5).abs() < 0.02, "p95 {}", s.p95);
    }

    #[test]
    fn an_empty_histogram_reports_zeros() {
        let s = Latency::new().summary();
        assert_eq!((s.p50, s.max, s.mean), (0.0, 0.0, 0.0));
    }
}
