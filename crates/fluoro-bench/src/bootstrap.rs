//! Percentile bootstrap intervals for a median, a mean, and a ratio of two medians.
//!
//! The generator is ChaCha (`rand`'s `StdRng`) seeded with a fixed number, so the same timings
//! always give the same interval: reports and tests are reproducible.

use crate::stats::{median, median_in_place, quantile_sorted};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How intervals are drawn: resamples, confidence level and seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    pub resamples: usize,
    /// Two-sided confidence level, e.g. 0.95.
    pub level: f64,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            resamples: 2000,
            level: 0.95,
            seed: 0x666c_756f_726f,
        }
    }
}

/// A point estimate with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Half the interval's width relative to the estimate (0.01 for "± 1 %").
    pub fn relative_half_width(&self) -> f64 {
        if self.estimate == 0.0 {
            return if self.high == self.low {
                0.0
            } else {
                f64::INFINITY
            };
        }
        ((self.high - self.low) / 2.0 / self.estimate).abs()
    }

    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

impl Bootstrap {
    /// The median of `values` and its interval; `None` when `values` is empty.
    pub fn median(&self, values: &[f64]) -> Option<Interval> {
        self.statistic(values, median_in_place)
    }

    /// The mean of `values` and its interval; `None` when `values` is empty.
    pub fn mean(&self, values: &[f64]) -> Option<Interval> {
        self.statistic(values, |v| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// `stat` of `values` and its interval, from `stat` of resamples.
    fn statistic(&self, values: &[f64], stat: fn(&mut [f64]) -> f64) -> Option<Interval> {
        if values.is_empty() {
            return None;
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut scratch = vec![0.0; values.len()];
        let mut draws: Vec<f64> = (0..self.resamples)
            .map(|_| {
                resample(values, &mut scratch, &mut rng);
                stat(&mut scratch)
            })
            .collect();
        scratch.copy_from_slice(values);
        let estimate = stat(&mut scratch);
        Some(self.interval(estimate, &mut draws))
    }

    /// `median(a) / median(b)` and its interval, resampling `a` and `b` independently;
    /// `None` when either is empty or `b`'s median is not positive.
    pub fn ratio(&self, a: &[f64], b: &[f64]) -> Option<Interval> {
        let (ma, mb) = (median(a), median(b));
        if a.is_empty() || b.is_empty() || mb.is_nan() || mb <= 0.0 {
            return None;
        }
        // A different stream than `median`'s, so the two samples' draws are not correlated.
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut scratch_a = vec![0.0; a.len()];
        let mut scratch_b = vec![0.0; b.len()];
        let mut ratios: Vec<f64> = (0..self.resamples)
            .filter_map(|_| {
                let ra = resampled_median(a, &mut scratch_a, &mut rng);
                let rb = resampled_median(b, &mut scratch_b, &mut rng);
                (rb > 0.0).then(|| ra / rb)
            })
            .collect();
        Some(self.interval(ma / mb, &mut ratios))
    }

    /// The percentile interval of `draws`, widened if needed so that it holds `estimate`.
    fn interval(&self, estimate: f64, draws: &mut [f64]) -> Interval {
        draws.sort_by(f64::total_cmp);
        let tail = (1.0 - self.level.clamp(0.0, 1.0)) / 2.0;
        let (low, high) = if draws.is_empty() {
            (estimate, estimate)
        } else {
            (
                quantile_sorted(draws, tail),
                quantile_sorted(draws, 1.0 - tail),
            )
        };
        Interval {
            estimate,
            low: low.min(estimate),
            high: high.max(estimate),
        }
    }
}

fn resample(values: &[f64], scratch: &mut [f64], rng: &mut StdRng) {
    let n = values.len();
    for slot in scratch.iter_mut() {
        *slot = values[rng.random_range(0..n)];
    }
}

fn resampled_median(values: &[f64], scratch: &mut [f64], rng: &mut StdRng) -> f64 {
    resample(values, scratch, rng);
    median_in_place(scratch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_input_same_interval() {
        let v: Vec<f64> = (0..50).map(|i| 1.0 + (i % 7) as f64 * 0.01).collect();
        let b = Bootstrap::default();
        assert_eq!(b.median(&v), b.median(&v));
        assert_eq!(b.ratio(&v, &v), b.ratio(&v, &v));
    }

    #[test]
    fn constant_sample_has_a_point_interval() {
        let i = Bootstrap::default().median(&[2.0; 10]).unwrap();
        assert_eq!((i.estimate, i.low, i.high), (2.0, 2.0, 2.0));
        assert_eq!(i.relative_half_width(), 0.0);
    }

    #[test]
    fn median_interval_of_a_uniform_grid() {
        // 101 evenly spaced values in [0, 1]: the median is 0.5 and its standard error is
        // about 1 / (2 f(m) sqrt(n)) = 0.05, so the 95 % interval is close to 0.5 ± 0.1.
        let v: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        let i = Bootstrap::default().median(&v).unwrap();
        assert_eq!(i.estimate, 0.5);
        assert!(i.low > 0.37 && i.low < 0.45, "{i:?}");
        assert!(i.high > 0.55 && i.high < 0.63, "{i:?}");
    }

    #[test]
    fn mean_interval_of_a_uniform_grid() {
        // 100 values 0, 1, ..., 99: mean 49.5, standard error 28.9 / sqrt(100) = 2.89, so the
        // 95 % interval is close to 49.5 ± 5.7.
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let i = Bootstrap::default().mean(&v).unwrap();
        assert_eq!(i.estimate, 49.5);
        assert!(i.low > 42.5 && i.low < 45.5, "{i:?}");
        assert!(i.high > 53.5 && i.high < 56.5, "{i:?}");
    }

    #[test]
    fn ratio_of_scaled_samples() {
        let a: Vec<f64> = (0..60).map(|i| 1.0 + (i % 10) as f64 * 0.001).collect();
        let b: Vec<f64> = a.iter().map(|x| x * 2.0).collect();
        let i = Bootstrap::default().ratio(&b, &a).unwrap();
        assert!((i.estimate - 2.0).abs() < 1e-12);
        assert!(i.low > 1.99 && i.high < 2.01, "{i:?}");
        assert!(Bootstrap::default().ratio(&a, &[]).is_none());
        assert!(Bootstrap::default().ratio(&a, &[0.0]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn intervals_hold_their_estimate(
            a in proptest::collection::vec(0.001f64..10.0, 1..40),
            b in proptest::collection::vec(0.001f64..10.0, 1..40),
            seed in any::<u64>(),
        ) {
            let boot = Bootstrap { resamples: 200, seed, ..Bootstrap::default() };
            let m = boot.median(&a).unwrap();
            prop_assert!(m.low <= m.estimate && m.estimate <= m.high);
            let m = boot.mean(&a).unwrap();
            prop_assert!(m.low <= m.estimate && m.estimate <= m.high);
            let r = boot.ratio(&a, &b).unwrap();
            prop_assert!(r.low <= r.estimate && r.estimate <= r.high);
            prop_assert!(r.low > 0.0);
        }
    }
}
