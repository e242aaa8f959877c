//! Reproducible draws without a shared lock: each draw derives from the seed and a per-state counter
//! (SplitMix64), so the same seed and the same request order give the same latencies, faults and outcomes.

use super::config::Dist;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Duration;

/// A seeded stream of independent draws; `Sync`, one atomic increment per draw.
#[derive(Debug)]
pub struct Draws {
    seed: u64,
    counter: AtomicU64,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The standard normal quantile of 0.99.
const Z99: f64 = 2.326_347_874;

impl Draws {
    pub fn new(seed: u64) -> Draws {
        Draws {
            seed: splitmix(seed),
            counter: AtomicU64::new(0),
        }
    }

    /// A 64-bit draw.
    pub fn next_u64(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        splitmix(self.seed ^ splitmix(n))
    }

    /// Uniform in [0, 1).
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box-Muller).
    pub fn normal(&self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A draw from the log-normal with the given median and p99 (constant when p99 <= median).
    pub fn duration(&self, d: Dist) -> Duration {
        if d.median_ms <= 0.0 {
            return Duration::ZERO;
        }
        if d.p99_ms <= d.median_ms {
            return Duration::from_secs_f64(d.median_ms / 1000.0);
        }
        let sigma = (d.p99_ms / d.median_ms).ln() / Z99;
        let ms = d.median_ms * (sigma * self.normal()).exp();
        Duration::from_secs_f64(ms.min(3_600_000.0) / 1000.0)
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
