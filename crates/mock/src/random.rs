//! Reproducible draws without a shared lock: draw number n (one atomic increment) seeds a portable
//! Xoshiro256++ from the stream's seed and n, so the same seed and the same request order give the same
//! latencies, faults and outcomes, whichever task asks. Distributions come from `rand_distr`.

use super::config::Dist;
use rand::{Rng as _, SeedableRng as _};
use rand_distr::Distribution as _;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Duration;

type Gen = rand::rngs::Xoshiro256PlusPlus;

/// A seeded stream of independent draws; `Sync`, one atomic increment per draw.
#[derive(Debug)]
pub struct Draws {
    seed: u64,
    counter: AtomicU64,
}

/// The standard normal quantile of 0.99.
const Z99: f64 = 2.326_347_874;

impl Draws {
    pub fn new(seed: u64) -> Draws {
        Draws {
            seed: Gen::seed_from_u64(seed).next_u64(),
            counter: AtomicU64::new(0),
        }
    }

    /// The generator of the next draw, seeded from the stream's seed and the draw's number (a
    /// bijection of the number, mixed by `seed_from_u64`, so no two draws share a state).
    fn next_gen(&self) -> Gen {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Gen::seed_from_u64(self.seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    /// A 64-bit draw.
    pub fn next_u64(&self) -> u64 {
        self.next_gen().next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&self) -> f64 {
        rand::RngExt::random(&mut self.next_gen())
    }

    /// A draw from the log-normal with the given median and p99 (constant when p99 <= median).
    pub fn duration(&self, d: Dist) -> Duration {
        if d.median_ms <= 0.0 {
            return Duration::ZERO;
        }
        if d.p99_ms <= d.median_ms {
            return surge_record::duration::saturating_secs(d.median_ms / 1000.0);
        }
        let sigma = (d.p99_ms / d.median_ms).ln() / Z99;
        let ms = match rand_distr::LogNormal::new(d.median_ms.ln(), sigma) {
            Ok(l) => l.sample(&mut self.next_gen()),
            Err(_) => d.median_ms,
        };
        surge_record::duration::saturating_secs(ms.min(3_600_000.0) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_hits_median_and_p99_and_is_reproducible() {
        let d = Draws::new(42);
        let mut v: Vec<f64> = (0..20_000)
            .map(|_| d.duration(Dist::new(100.0, 1000.0)).as_secs_f64() * 1e3)
            .collect();
        v.sort_by(f64::total_cmp);
        let med = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((90.0..110.0).contains(&med), "median {med}");
        assert!((850.0..1150.0).contains(&p99), "p99 {p99}");
        let a = Draws::new(7);
        let b = Draws::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_eq!(d.duration(Dist::new(5.0, 5.0)), Duration::from_millis(5));
        assert_eq!(d.duration(Dist::new(0.0, 0.0)), Duration::ZERO);
    }
}
