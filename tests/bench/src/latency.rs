//! Latencies of a run and their percentiles, from an HDR histogram
//! (microsecond resolution, three significant digits, up to an hour).

use std::time::Duration;

use hdrhistogram::Histogram;

/// The longest latency recorded exactly; longer ones count as this.
const LATENCY_MAX: Duration = Duration::from_secs(3_600);

/// The latencies of a run.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// No latencies yet.
    pub fn new() -> Self {
        let max_us = u64::try_from(LATENCY_MAX.as_micros()).unwrap_or(u64::MAX);
        let histogram =
            Histogram::new_with_bounds(1, max_us, 3).expect("the bounds are valid constants");
        Self { histogram }
    }

    /// Counts one latency (below 1 µs as 1 µs, above an hour as an hour).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(us.max(1));
    }

    /// Adds another run's latencies (another client's, say).
    pub fn merge(&mut self, other: &Latencies) {
        self.histogram.add(&other.histogram).expect("histograms of the same bounds");
    }

    /// How many latencies were counted.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The `quantile` (0.0..=1.0) in milliseconds, to 0.01 ms; 0 when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        let us = self.histogram.value_at_quantile(quantile) as f64;
        (us / 10.0).round() / 100.0
    }
}

impl FromIterator<Duration> for Latencies {
    fn from_iter<I: IntoIterator<Item = Duration>>(iter: I) -> Self {
        let mut latencies = Latencies::new();
        for latency in iter {
            latencies.record(latency);
        }
        latencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand_milliseconds_are_their_ranks() {
        let latencies: Latencies = (1..=1_000).map(Duration::from_millis).collect();
        assert_eq!(latencies.count(), 1_000);
        for (quantile, ms) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let got = latencies.quantile_ms(quantile);
            // Three significant digits: within 0.1 %.
            assert!((got - ms).abs() <= ms * 0.001 + 0.01, "p{quantile}: {got} ms, not {ms}");
        }
    }

    #[test]
    fn merged_runs_count_as_one() {
        let mut fast: Latencies = (0..100).map(|_| Duration::from_millis(1)).collect();
        let slow: Latencies = (0..100).map(|_| Duration::from_millis(100)).collect();
        fast.merge(&slow);
        assert_eq!(fast.count(), 200);
        assert!((fast.quantile_ms(0.25) - 1.0).abs() < 0.01);
        assert!((fast.quantile_ms(0.99) - 100.0).abs() < 0.1);
    }

    #[test]
    fn no_latencies_give_zero_and_extremes_are_clamped() {
        assert_eq!(Latencies::new().quantile_ms(0.5), 0.0);
        let mut odd = Latencies::new();
        odd.record(Duration::ZERO);
        odd.record(Duration::from_secs(7_200));
        assert_eq!(odd.count(), 2);
        assert!(odd.quantile_ms(1.0) >= 3_599_000.0);
    }
}
