//! Point estimates over a sample of timings: median, MAD, mean and standard deviation.

/// The median of `values` (the mean of the two middle values for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    median_in_place(&mut sorted)
}

/// The median, reordering `values` in the process (used by the bootstrap to avoid allocating).
pub fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        // The largest of the lower half is the other middle value.
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + upper) / 2.0
    }
}

/// The median absolute deviation from the median (unscaled); NaN when empty.
pub fn mad(values: &[f64]) -> f64 {
    let m = median(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median_in_place(&mut deviations)
}

/// The mean and the sample standard deviation (n − 1); the deviation is 0 for one value.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (ss / (n - 1) as f64).sqrt())
}

/// The `q` quantile (0 ≤ q ≤ 1) of sorted values, interpolating linearly between order
/// statistics (the usual "type 7" definition, NumPy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_by_hand() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn mad_by_hand() {
        // median 3; deviations 2 1 0 1 2 → 1
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 5.0]), 1.0);
        // median 2; deviations 1 1 0 0 4 98 → 1
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 6.0, 100.0]), 1.0);
    }

    #[test]
    fn mean_std_by_hand() {
        let (mean, std) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(mean, 5.0);
        // sum of squares 32, n − 1 = 7
        assert!((std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[3.0]), (3.0, 0.0));
    }

    #[test]
    fn quantiles_interpolate() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        assert_eq!(quantile_sorted(&s, 1.0), 4.0);
        assert_eq!(quantile_sorted(&s, 0.5), 2.5);
        assert!((quantile_sorted(&s, 0.25) - 1.75).abs() < 1e-12);
    }

    proptest::proptest! {
        #[test]
        fn median_lies_between_min_and_max(v in proptest::collection::vec(-1e6f64..1e6, 1..60)) {
            let m = median(&v);
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            proptest::prop_assert!(lo <= m && m <= hi);
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            proptest::prop_assert!((quantile_sorted(&sorted, 0.5) - m).abs() <= 1e-9 * (1.0 + m.abs()));
        }
    }
}
