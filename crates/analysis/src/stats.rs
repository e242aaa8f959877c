//! The statistics behind baseline checks: a seeded generator (verdicts are reproducible), the
//! normal distribution, an exact bootstrap of quantiles computed from HDR histograms, and z-tests
//! for shares, means and rates. Distributions come from `rand_distr` (draws) and `statrs` (the
//! normal CDF and its inverse); this module owns only what is specific to baseline checks.
//!
//! It reads `record` only (never `engine`, `report` or `cli`).

use rand::SeedableRng as _;
use rand_distr::Distribution as _;
use statrs::distribution::{ContinuousCDF as _, Normal};

use surge_record::Hist;

/// The seeded generator of the bootstrap: Xoshiro256++, portable (the same seed gives the same
/// draws on every platform and rand release), so the same inputs give the same verdict.
pub type Rng = rand::rngs::Xoshiro256PlusPlus;

/// A generator from a seed.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Standard normal cumulative distribution.
pub fn normal_cdf(z: f64) -> f64 {
    standard_normal().cdf(z)
}

/// Two-sided p-value of a z statistic.
pub fn p_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0)
}

/// The z for a two-sided confidence level (0.95 → 1.96).
pub fn z_for(confidence: f64) -> f64 {
    standard_normal().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Two-proportion z-test (pooled): `x1/n1` (baseline) against `x2/n2` (candidate).
/// Returns `(p2 - p1, z)`; z is 0 when both shares are 0 or 1, NaN when a side has no trials.
pub fn two_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let p = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    let z = if se == 0.0 { 0.0 } else { (p2 - p1) / se };
    (p2 - p1, z)
}

/// Welch's z for a difference of means (large samples): `(m2 - m1) / sqrt(s1²/n1 + s2²/n2)`.
pub fn welch_z(m1: f64, s1: f64, n1: u64, m2: f64, s2: f64, n2: u64) -> f64 {
    if n1 < 2 || n2 < 2 {
        return f64::NAN;
    }
    let se = (s1 * s1 / n1 as f64 + s2 * s2 / n2 as f64).sqrt();
    if se == 0.0 {
        if m1 == m2 {
            0.0
        } else {
            f64::INFINITY.copysign(m2 - m1)
        }
    } else {
        (m2 - m1) / se
    }
}

/// z for two Poisson rates `x1/t1` and `x2/t2` (events per second).
pub fn poisson_rates_z(x1: u64, t1: f64, x2: u64, t2: f64) -> f64 {
    if t1 <= 0.0 || t2 <= 0.0 {
        return f64::NAN;
    }
    let se = (x1 as f64 / (t1 * t1) + x2 as f64 / (t2 * t2)).sqrt();
    let d = x2 as f64 / t2 - x1 as f64 / t1;
    if se == 0.0 {
        0.0
    } else {
        d / se
    }
}

/// A histogram's empirical distribution as (value, cumulative count) steps, for fast quantiles.
#[derive(Debug, Clone)]
pub struct Cdf {
    values: Vec<u64>,
    cum: Vec<u64>,
}

impl Cdf {
    /// From an HDR histogram (values are each bucket's highest equivalent value, as HDR reports).
    pub fn of(h: &Hist) -> Cdf {
        let (mut values, mut cum, mut acc) = (Vec::new(), Vec::new(), 0);
        for v in h.0.iter_recorded() {
            acc += v.count_at_value();
            values.push(h.0.highest_equivalent(v.value_iterated_to()));
            cum.push(acc);
        }
        Cdf { values, cum }
    }

    /// Number of values.
    pub fn len(&self) -> u64 {
        self.cum.last().copied().unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of 1-based rank `k` (clamped to 1..=len).
    pub fn at_rank(&self, k: u64) -> u64 {
        let k = k.clamp(1, self.len().max(1));
        let i = self.cum.partition_point(|&c| c < k);
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(0)
    }

    /// The value at quantile `q` (rank ⌈q·n⌉, as HDR).
    pub fn quantile(&self, q: f64) -> u64 {
        self.at_rank((q * self.len() as f64).ceil() as u64)
    }
}

/// The rank of quantile `q` among `n` values (HDR's convention, at least 1).
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

/// One bootstrap replicate of the sample `q`-quantile of `c`.
///
/// A resample of size n from the empirical distribution F is `F⁻¹(U₁) … F⁻¹(Uₙ)` with uniform Uᵢ,
/// so its k-th order statistic is `F⁻¹(U₍ₖ₎)` with `U₍ₖ₎ ~ Beta(k, n + 1 − k)`: one Beta draw
/// replaces resampling n values, exactly.
pub fn resample_quantile(c: &Cdf, q: f64, rng: &mut Rng) -> u64 {
    let n = c.len();
    let k = rank(q, n);
    let u = rand_distr::Beta::new(k as f64, (n + 1 - k) as f64)
        .map_or(k as f64 / n as f64, |b| b.sample(rng));
    c.at_rank((u * n as f64).ceil() as u64)
}

/// Percentile-bootstrap interval of `quantile(candidate) − quantile(baseline)` (µs) at
/// `confidence`, from `iters` replicates. None when a side is empty.
pub fn quantile_diff_interval(
    base: &Cdf,
    cand: &Cdf,
    q: f64,
    confidence: f64,
    iters: usize,
    rng: &mut Rng,
) -> Option<(f64, f64)> {
    if base.is_empty() || cand.is_empty() {
        return None;
    }
    let mut diffs: Vec<f64> = (0..iters.max(10))
        .map(|_| resample_quantile(cand, q, rng) as f64 - resample_quantile(base, q, rng) as f64)
        .collect();
    diffs.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    let at = |p: f64| diffs[((p * (diffs.len() - 1) as f64).round() as usize).min(diffs.len() - 1)];
    Some((at(a), at(1.0 - a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    #[test]
    fn normal_distribution_matches_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((z_for(0.95) - 1.959_964).abs() < 1e-4);
        assert!((z_for(0.99) - 2.575_829).abs() < 1e-4);
        assert!((p_two_sided(1.959_964) - 0.05).abs() < 1e-5);
    }

    #[test]
    fn resampled_quantiles_centre_on_the_quantile_and_repeat_for_a_seed() {
        let mut h = Hist::new();
        for v in 1..=1_000u64 {
            h.record(v * 100);
        }
        let c = Cdf::of(&h);
        let draws = |seed| {
            let mut r = rng(seed);
            (0..2_000)
                .map(|_| resample_quantile(&c, 0.9, &mut r))
                .collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7), "the same seed gives the same replicates");
        let mean = a.iter().sum::<u64>() as f64 / a.len() as f64;
        assert!((mean - 90_000.0).abs() < 1_000.0, "mean replicate {mean}");
    }

    #[test]
    fn two_proportion_test_separates_a_real_change_from_noise() {
        // 1% → 3% over 10,000 attempts each: z ≈ 10.
        let (d, z) = two_proportions(100, 10_000, 300, 10_000);
        assert!((d - 0.02).abs() < 1e-12 && z > 9.0, "{z}");
        // 10 of 1000 → 12 of 1000: well inside the noise.
        let (_, z) = two_proportions(10, 1000, 12, 1000);
        assert!(z.abs() < 1.0);
        assert_eq!(two_proportions(0, 10, 0, 10), (0.0, 0.0));
    }

    #[test]
    fn cdf_quantiles_agree_with_hdr() {
        let mut h = Hist::new();
        for v in 1..=10_000u64 {
            h.record(v * 37 % 5_000 + 100);
        }
        let c = Cdf::of(&h);
        assert_eq!(c.len(), 10_000);
        for q in [0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(c.quantile(q), h.quantile(q), "q={q}");
        }
    }

    #[test]
    fn bootstrap_interval_covers_zero_for_one_distribution_and_not_for_a_shift() {
        let mut a = Hist::new();
        let mut b = Hist::new();
        let mut shifted = Hist::new();
        let mut r = rng(1);
        for _ in 0..5_000 {
            a.record(r.random_range(1_000..101_000));
            b.record(r.random_range(1_000..101_000));
            shifted.record(r.random_range(21_000..121_000));
        }
        let (ca, cb, cs) = (Cdf::of(&a), Cdf::of(&b), Cdf::of(&shifted));
        let (lo, hi) = quantile_diff_interval(&ca, &cb, 0.95, 0.99, 2000, &mut rng(3)).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "same distribution: [{lo}, {hi}]");
        let (lo, _) = quantile_diff_interval(&ca, &cs, 0.95, 0.99, 2000, &mut rng(3)).unwrap();
        assert!(lo > 10_000.0, "shift of 20ms: lower bound {lo}");
    }
}
