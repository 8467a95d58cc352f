//! Percentile bootstrap intervals for a median, a mean, and a ratio of two medians.
//!
//! Values measured by one worker process are not independent of each other: they share the
//! process's memory layout and the machine's state while it ran (a busy neighbour, a slower
//! core). So the bootstrap resamples whole processes ([`Grouped`]), not single values; treating
//! five values of a process as five independent ones makes the intervals too narrow and calls
//! a difference between two identical statements significant.
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

/// Timings with the processes that measured them: `groups` are the counts of consecutive
/// values that came from one process (they add up to `values.len()`); no groups means every
/// value is a process of its own, as with whole commands.
#[derive(Debug, Clone, Copy)]
pub struct Grouped<'a> {
    pub values: &'a [f64],
    pub groups: &'a [usize],
}

impl<'a> Grouped<'a> {
    /// Values each measured on its own.
    pub fn single(values: &'a [f64]) -> Self {
        Grouped {
            values,
            groups: &[],
        }
    }

    /// The values of each process, in order. Groups past the end of the values are cut short
    /// (and empty ones left out), so that a mismatch cannot index out of bounds.
    pub fn processes(&self) -> Vec<&'a [f64]> {
        if self.groups.is_empty() {
            return self.values.chunks(1).collect();
        }
        let mut out = Vec::with_capacity(self.groups.len());
        let mut start = 0;
        for &size in self.groups {
            let end = (start + size).min(self.values.len());
            if end > start {
                out.push(&self.values[start..end]);
            }
            start = end;
        }
        if start < self.values.len() {
            out.push(&self.values[start..]);
        }
        out
    }

    /// The median of each process's values: one independent value per process, for tests
    /// that assume independence (Mann-Whitney).
    pub fn process_medians(&self) -> Vec<f64> {
        if self.groups.is_empty() {
            return self.values.to_vec();
        }
        self.processes().into_iter().map(median).collect()
    }
}

impl Bootstrap {
    /// The median of `sample` and its interval; `None` when it has no values.
    pub fn median(&self, sample: Grouped<'_>) -> Option<Interval> {
        self.statistic(sample, median_in_place)
    }

    /// The mean of `sample` and its interval; `None` when it has no values.
    pub fn mean(&self, sample: Grouped<'_>) -> Option<Interval> {
        self.statistic(sample, |v| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// `stat` of the values and its interval, from `stat` of resamples of whole processes.
    fn statistic(&self, sample: Grouped<'_>, stat: fn(&mut [f64]) -> f64) -> Option<Interval> {
        if sample.values.is_empty() {
            return None;
        }
        let processes = sample.processes();
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut scratch = Vec::with_capacity(sample.values.len());
        let mut draws: Vec<f64> = (0..self.resamples)
            .map(|_| {
                resample(&processes, &mut scratch, &mut rng);
                stat(&mut scratch)
            })
            .collect();
        scratch.clear();
        scratch.extend_from_slice(sample.values);
        let estimate = stat(&mut scratch);
        Some(self.interval(estimate, &mut draws))
    }

    /// `median(a) / median(b)` and its interval, resampling the processes of `a` and `b`
    /// independently; `None` when either has no values or `b`'s median is not positive.
    pub fn ratio(&self, a: Grouped<'_>, b: Grouped<'_>) -> Option<Interval> {
        let (ma, mb) = (median(a.values), median(b.values));
        if a.values.is_empty() || b.values.is_empty() || mb.is_nan() || mb <= 0.0 {
            return None;
        }
        let (pa, pb) = (a.processes(), b.processes());
        // A different stream than `median`'s, so the two samples' draws are not correlated.
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut scratch_a = Vec::with_capacity(a.values.len());
        let mut scratch_b = Vec::with_capacity(b.values.len());
        let mut ratios: Vec<f64> = (0..self.resamples)
            .filter_map(|_| {
                resample(&pa, &mut scratch_a, &mut rng);
                let ra = median_in_place(&mut scratch_a);
                resample(&pb, &mut scratch_b, &mut rng);
                let rb = median_in_place(&mut scratch_b);
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

/// As many processes as there are, drawn with replacement; their values into `scratch`.
fn resample(processes: &[&[f64]], scratch: &mut Vec<f64>, rng: &mut StdRng) {
    scratch.clear();
    let n = processes.len();
    for _ in 0..n {
        scratch.extend_from_slice(processes[rng.random_range(0..n)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_input_same_interval() {
        let v: Vec<f64> = (0..50).map(|i| 1.0 + (i % 7) as f64 * 0.01).collect();
        let b = Bootstrap::default();
        assert_eq!(b.median(Grouped::single(&v)), b.median(Grouped::single(&v)));
        assert_eq!(
            b.ratio(Grouped::single(&v), Grouped::single(&v)),
            b.ratio(Grouped::single(&v), Grouped::single(&v))
        );
    }

    #[test]
    fn constant_sample_has_a_point_interval() {
        let i = Bootstrap::default()
            .median(Grouped::single(&[2.0; 10]))
            .unwrap();
        assert_eq!((i.estimate, i.low, i.high), (2.0, 2.0, 2.0));
        assert_eq!(i.relative_half_width(), 0.0);
    }

    #[test]
    fn median_interval_of_a_uniform_grid() {
        // 101 evenly spaced values in [0, 1]: the median is 0.5 and its standard error is
        // about 1 / (2 f(m) sqrt(n)) = 0.05, so the 95 % interval is close to 0.5 ± 0.1.
        let v: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        let i = Bootstrap::default().median(Grouped::single(&v)).unwrap();
        assert_eq!(i.estimate, 0.5);
        assert!(i.low > 0.37 && i.low < 0.45, "{i:?}");
        assert!(i.high > 0.55 && i.high < 0.63, "{i:?}");
    }

    #[test]
    fn mean_interval_of_a_uniform_grid() {
        // 100 values 0, 1, ..., 99: mean 49.5, standard error 28.9 / sqrt(100) = 2.89, so the
        // 95 % interval is close to 49.5 ± 5.7.
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let i = Bootstrap::default().mean(Grouped::single(&v)).unwrap();
        assert_eq!(i.estimate, 49.5);
        assert!(i.low > 42.5 && i.low < 45.5, "{i:?}");
        assert!(i.high > 53.5 && i.high < 56.5, "{i:?}");
    }

    #[test]
    fn ratio_of_scaled_samples() {
        let a: Vec<f64> = (0..60).map(|i| 1.0 + (i % 10) as f64 * 0.001).collect();
        let b: Vec<f64> = a.iter().map(|x| x * 2.0).collect();
        let i = Bootstrap::default()
            .ratio(Grouped::single(&b), Grouped::single(&a))
            .unwrap();
        assert!((i.estimate - 2.0).abs() < 1e-12);
        assert!(i.low > 1.99 && i.high < 2.01, "{i:?}");
        assert!(Bootstrap::default()
            .ratio(Grouped::single(&a), Grouped::single(&[]))
            .is_none());
        assert!(Bootstrap::default()
            .ratio(Grouped::single(&a), Grouped::single(&[0.0]))
            .is_none());
    }

    /// Eight processes of five values each: within a process the values barely differ, but
    /// the processes differ by a few percent, as worker processes on a busy machine do.
    fn processes(offset: f64) -> Vec<f64> {
        (0..8)
            .flat_map(|p| {
                let level = 1.0 + offset + [0.0, 0.04, -0.03, 0.06, 0.01, -0.05, 0.02, 0.03][p];
                (0..5).map(move |i| level * (1.0 + i as f64 * 1e-4))
            })
            .collect()
    }

    #[test]
    fn processes_are_resampled_whole() {
        let v = processes(0.0);
        let groups = [5; 8];
        let boot = Bootstrap::default();
        let single = boot.median(Grouped::single(&v)).unwrap();
        let grouped = boot
            .median(Grouped {
                values: &v,
                groups: &groups,
            })
            .unwrap();
        assert_eq!(single.estimate, grouped.estimate);
        // Taken as 40 independent values the interval is far too narrow for 8 processes.
        assert!(
            grouped.relative_half_width() > 1.5 * single.relative_half_width(),
            "{single:?} {grouped:?}"
        );
    }

    #[test]
    fn a_shift_within_the_spread_of_processes_is_not_resolved() {
        // b's processes run 2 % slower than a's, well within the 11 % the processes spread
        // over: the grouped interval holds 1, the one taking values as independent does not.
        let (a, b) = (processes(0.02), processes(0.0));
        let groups = [5; 8];
        let boot = Bootstrap::default();
        let grouped = boot
            .ratio(
                Grouped {
                    values: &a,
                    groups: &groups,
                },
                Grouped {
                    values: &b,
                    groups: &groups,
                },
            )
            .unwrap();
        assert!(grouped.contains(1.0), "{grouped:?}");
        let single = boot
            .ratio(Grouped::single(&a), Grouped::single(&b))
            .unwrap();
        assert!(!single.contains(1.0), "{single:?}");
    }

    #[test]
    fn groups_past_the_values_are_cut_short() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let g = Grouped {
            values: &v,
            groups: &[3, 3, 3],
        };
        assert_eq!(g.processes(), [&v[0..3], &v[3..6], &v[6..7]]);
        assert_eq!(g.process_medians(), [2.0, 5.0, 7.0]);
        let g = Grouped {
            values: &v,
            groups: &[2],
        };
        assert_eq!(g.processes(), [&v[0..2], &v[2..]]);
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
            let m = boot.median(Grouped::single(&a)).unwrap();
            prop_assert!(m.low <= m.estimate && m.estimate <= m.high);
            let m = boot.mean(Grouped::single(&a)).unwrap();
            prop_assert!(m.low <= m.estimate && m.estimate <= m.high);
            let r = boot.ratio(Grouped::single(&a), Grouped::single(&b)).unwrap();
            prop_assert!(r.low <= r.estimate && r.estimate <= r.high);
            prop_assert!(r.low > 0.0);
        }
    }
}
