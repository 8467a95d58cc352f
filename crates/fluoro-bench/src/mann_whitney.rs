//! The Mann–Whitney U test (two-sided), with the normal approximation, tie correction and
//! continuity correction: whether one sample's timings tend to be larger than the other's,
//! with no assumption about their distribution.

/// The test's statistics for samples `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// Pairs (x from a, y from b) with x > y, ties counting one half.
    pub u_a: f64,
    /// The same with the samples swapped; `u_a + u_b = n_a * n_b`.
    pub u_b: f64,
    /// Two-sided p-value; 1 when a sample is empty or every value is equal.
    pub p_value: f64,
}

/// Runs the test. NaNs sort last (they should not reach here: timings are finite).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> MannWhitney {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return MannWhitney {
            u_a: 0.0,
            u_b: 0.0,
            p_value: 1.0,
        };
    }
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&y| (y, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Average ranks (1-based) over runs of ties; collect Σ(t³ − t) for the variance.
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        let rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_a += rank * pooled[i..j].iter().filter(|p| p.1).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let u_a = rank_sum_a - na * (na + 1.0) / 2.0;
    let u_b = na * nb - u_a;
    let nf = n as f64;
    let variance = na * nb / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let p_value = if variance <= 0.0 || !variance.is_finite() {
        1.0
    } else {
        let distance = ((u_a - na * nb / 2.0).abs() - 0.5).max(0.0);
        erfc(distance / variance.sqrt() / std::f64::consts::SQRT_2).min(1.0)
    };
    MannWhitney { u_a, u_b, p_value }
}

/// The complementary error function, from the Chebyshev fit in Press et al., *Numerical
/// Recipes* §6.2 (relative error below 1.2e-7 everywhere): plenty for a p-value.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn erfc_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (-1.0, 1.842_700_792_949_715),
        ] {
            assert!((erfc(x) - want).abs() < 2e-7 * want.max(1e-3), "erfc({x})");
        }
    }

    #[test]
    fn separated_samples_by_hand() {
        // Every a above every b: U_a = 3·3 = 9, U_b = 0. No ties: σ² = 9·7/12 = 5.25;
        // z = (4.5 − 0.5)/√5.25 = 1.7457, two-sided p = 0.0809.
        let r = mann_whitney(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]);
        assert_eq!((r.u_a, r.u_b), (9.0, 0.0));
        assert!((r.p_value - 0.080_856).abs() < 1e-4, "{r:?}");
    }

    #[test]
    fn ties_by_hand() {
        // a = [1, 2, 2], b = [2, 3]: pooled ranks 1, 3, 3, 3, 5; R_a = 7, U_a = 7 − 6 = 1.
        // Ties: one run of 3 → Σ(t³ − t) = 24; σ² = 6/12 · (6 − 24/20) = 2.4;
        // z = (|1 − 3| − 0.5)/√2.4 = 0.9682; p = 0.3329.
        let r = mann_whitney(&[1.0, 2.0, 2.0], &[2.0, 3.0]);
        assert_eq!(r.u_a, 1.0);
        assert!((r.p_value - 0.332_9).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn identical_and_empty_samples() {
        assert_eq!(mann_whitney(&[1.0, 1.0], &[1.0, 1.0]).p_value, 1.0);
        assert_eq!(mann_whitney(&[], &[1.0]).p_value, 1.0);
    }

    #[test]
    fn large_shift_is_significant() {
        let a: Vec<f64> = (0..50).map(|i| 1.0 + i as f64 * 1e-3).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.1).collect();
        assert!(mann_whitney(&a, &b).p_value < 1e-10);
    }

    proptest! {
        #[test]
        fn u_statistics_add_up_and_swap(
            a in proptest::collection::vec(0u8..20, 1..30),
            b in proptest::collection::vec(0u8..20, 1..30),
        ) {
            let a: Vec<f64> = a.into_iter().map(f64::from).collect();
            let b: Vec<f64> = b.into_iter().map(f64::from).collect();
            let ab = mann_whitney(&a, &b);
            let ba = mann_whitney(&b, &a);
            prop_assert_eq!(ab.u_a + ab.u_b, (a.len() * b.len()) as f64);
            prop_assert_eq!(ab.u_a, ba.u_b);
            prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
            prop_assert!((0.0..=1.0).contains(&ab.p_value));
            // U_a counts pairs a > b, halving ties: check against the brute-force count.
            let brute: f64 = a.iter().flat_map(|x| b.iter().map(move |y| {
                if x > y { 1.0 } else if x == y { 0.5 } else { 0.0 }
            })).sum();
            prop_assert_eq!(ab.u_a, brute);
        }
    }
}
