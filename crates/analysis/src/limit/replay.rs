//! The limiter models as pure replays: given when requests arrived, which would each model admit?
//! Used to score a fit (how many of the server's decisions the model gets wrong) and tested as
//! tables.

/// A token bucket / GCRA of `rate` per second holding `burst` requests, full at the first arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    /// Requests per second.
    pub rate: f64,
    /// Requests admitted at once from rested (at least 1).
    pub burst: f64,
}

impl TokenBucket {
    /// The decision for each arrival time (non-decreasing), `true` = admitted.
    pub fn replay(&self, arrivals: &[f64]) -> Vec<bool> {
        let interval = 1.0 / self.rate.max(1e-9);
        let tolerance = (self.burst.max(1.0) - 1.0) * interval;
        // Theoretical arrival time: the bucket is full while it is at or before now.
        let mut tat = f64::NEG_INFINITY;
        arrivals
            .iter()
            .map(|&t| {
                let due = tat.max(t);
                // A hair of slack: an arrival exactly on its slot is admitted.
                if due - t <= tolerance + 1e-9 {
                    tat = due + interval;
                    true
                } else {
                    false
                }
            })
            .collect()
    }
}

/// `limit` requests per window of `window` seconds; a window opens at the first arrival after the
/// previous one closed; refused requests do not count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedWindow {
    /// Requests admitted per window.
    pub limit: f64,
    /// Window length, seconds.
    pub window: f64,
}

impl FixedWindow {
    /// The decision for each arrival time (non-decreasing), `true` = admitted.
    pub fn replay(&self, arrivals: &[f64]) -> Vec<bool> {
        let mut start = f64::NEG_INFINITY;
        let mut count = 0.0;
        arrivals
            .iter()
            .map(|&t| {
                if t >= start + self.window {
                    start = t;
                    count = 0.0;
                }
                if count + 1.0 <= self.limit + 1e-9 {
                    count += 1.0;
                    true
                } else {
                    false
                }
            })
            .collect()
    }
}

/// How far a model's decisions are from the server's: the mean gap, over the requests, between
/// the model's running count of admissions and the server's, as a share of all the server
/// admitted (0: the same count at every request). A model right up to the phase of its slots
/// (one admission a request early or late) stays near 1 / admitted; a wrong model drifts away.
pub fn mismatch(predicted: &[bool], observed: &[bool]) -> f64 {
    let n = predicted.len().min(observed.len());
    let total = observed[..n].iter().filter(|o| **o).count();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let (mut p, mut o, mut gap) = (0i64, 0i64, 0u64);
    for i in 0..n {
        p += i64::from(predicted[i]);
        o += i64::from(observed[i]);
        gap += (p - o).unsigned_abs();
    }
    gap as f64 / n as f64 / total as f64
}

/// [`mismatch`] over the decisions from `from` on (counts start there): where models differ.
/// Before the first 429 every model fitted to it admits all; scoring that stretch would only
/// dilute the difference.
pub fn mismatch_from(predicted: &[bool], observed: &[bool], from: usize) -> f64 {
    let from = from.min(predicted.len()).min(observed.len());
    mismatch(&predicted[from..], &observed[from..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(dt: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 * dt).collect()
    }

    fn admitted(d: &[bool]) -> usize {
        d.iter().filter(|a| **a).count()
    }

    #[test]
    fn token_bucket_admits_the_burst_then_the_rate() {
        // (rate, burst, arrivals) → admitted
        let table: &[(f64, f64, Vec<f64>, usize)] = &[
            // 100 at once: the burst.
            (10.0, 5.0, vec![0.0; 100], 5),
            // 50/s for 10 s against 10/s + 5: 5 at once, then one per 0.1 s from 0.1 s to 9.9 s
            // (the slot at 10 s comes after the last arrival, at 9.98 s).
            (10.0, 5.0, every(0.02, 500), 5 + 99),
            // Under the rate: everything.
            (10.0, 1.0, every(0.1, 50), 50),
            // Burst 1 is evenly spaced: 20/s offered, 10/s admitted.
            (10.0, 1.0, every(0.05, 200), 100),
        ];
        for (rate, burst, arr, want) in table {
            let d = TokenBucket {
                rate: *rate,
                burst: *burst,
            }
            .replay(arr);
            assert_eq!(admitted(&d), *want, "rate {rate} burst {burst}");
        }
        // A rested bucket refills: 5 at once, a pause of a second, 5 again.
        let mut arr = vec![0.0; 8];
        arr.extend(vec![1.0; 8]);
        let d = TokenBucket {
            rate: 5.0,
            burst: 5.0,
        }
        .replay(&arr);
        assert_eq!(admitted(&d[..8]), 5);
        assert_eq!(admitted(&d[8..]), 5);
    }

    #[test]
    fn fixed_window_admits_the_limit_per_window_from_the_first_arrival() {
        // 10/s for 150 s against 300 per 60 s: windows open at 0, 60, 120.
        let arr = every(0.1, 1500);
        let d = FixedWindow {
            limit: 300.0,
            window: 60.0,
        }
        .replay(&arr);
        assert_eq!(admitted(&d), 900);
        assert!(d[..300].iter().all(|a| *a) && !d[300] && d[600]);
        // A window opens at the first arrival after the last one closed, not on a grid.
        let arr = [0.0, 0.5, 1.0, 70.0, 70.5, 71.0];
        let d = FixedWindow {
            limit: 2.0,
            window: 60.0,
        }
        .replay(&arr);
        assert_eq!(d, vec![true, true, false, true, true, false]);
    }

    #[test]
    fn mismatch_is_the_mean_gap_of_the_running_counts() {
        // Running counts 1,1,2,3 against 1,2,3,3: gaps 0,1,1,0 → 0.5 of 3 admitted.
        let m = mismatch(&[true, false, true, true], &[true, true, true, false]);
        assert!((m - 0.5 / 3.0).abs() < 1e-12, "{m}");
        // One admission a request late costs one over the requests, over the admitted.
        let m = mismatch(&[false, true, true, true], &[true, false, true, true]);
        assert!((m - 0.25 / 3.0).abs() < 1e-12, "{m}");
        assert_eq!(mismatch(&[], &[]), 0.0);
    }
}
