//! Open-model arrivals following a piecewise-linear rate curve: arrival *k* (from 0) is due
//! when the integral of the rate reaches *k*, computed in closed form per segment, so the
//! schedule never drifts, however long it runs.

use std::time::Duration;

use super::{Event, Model, Schedule};

/// Arrival times of a rate curve, produced lazily (a long run may have millions).
#[derive(Debug, Clone)]
pub struct ArrivalSchedule {
    points: Vec<(Duration, f64)>,
    pre_allocated: u32,
    max_users: u32,
    seg: usize,
    /// Arrivals before the current segment's start.
    before: f64,
    next: u64,
    done: bool,
}

impl ArrivalSchedule {
    /// Arrivals of `points` (time, rate per second); the run ends at the last point.
    pub fn new(points: &[(Duration, f64)], pre_allocated: u32, max_users: u32) -> ArrivalSchedule {
        ArrivalSchedule {
            points: points.to_vec(),
            pre_allocated,
            max_users,
            seg: 0,
            before: 0.0,
            next: 0,
            done: false,
        }
    }

    /// Offset within segment (t0, a) → (t1, b) at which `m` more arrivals have accumulated, if
    /// it is inside the segment.
    fn solve(a: f64, b: f64, d: f64, m: f64) -> Option<f64> {
        let total = d * (a + b) / 2.0;
        if m > total + 1e-9 || d <= 0.0 {
            return None;
        }
        if m <= 0.0 {
            return Some(0.0);
        }
        // N(x) = a x + (b - a) x² / (2 d) = m, solved in the cancellation-free form.
        let slope = (b - a) / d;
        let disc = (a * a + 2.0 * slope * m).max(0.0);
        let denom = a + disc.sqrt();
        if denom <= 0.0 {
            return None;
        }
        Some((2.0 * m / denom).min(d))
    }
}

impl Schedule for ArrivalSchedule {
    fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        while self.seg + 1 < self.points.len() {
            let (t0, a) = self.points[self.seg];
            let (t1, b) = self.points[self.seg + 1];
            let d = (t1 - t0).as_secs_f64();
            let m = self.next as f64 - self.before;
            match Self::solve(a.max(0.0), b.max(0.0), d, m) {
                // An arrival exactly at a segment's end belongs to the next segment's start
                // (and the last point is the end: nothing is due then).
                Some(x) if x < d => {
                    self.next += 1;
                    return Some(Event::Arrival {
                        at: t0 + surge_record::duration::saturating_secs(x),
                    });
                }
                _ => {
                    self.before += d * (a.max(0.0) + b.max(0.0)) / 2.0;
                    self.seg += 1;
                }
            }
        }
        self.done = true;
        Some(Event::StopAll {
            at: self.points.last().map_or(Duration::ZERO, |p| p.0),
        })
    }

    fn model(&self) -> Model {
        Model::Open {
            pre_allocated: self.pre_allocated,
            max_users: self.max_users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(points: &[(Duration, f64)]) -> Vec<Duration> {
        let mut s = ArrivalSchedule::new(points, 1, 1);
        std::iter::from_fn(|| s.next_event())
            .filter_map(|e| match e {
                Event::Arrival { at } => Some(at),
                _ => None,
            })
            .collect()
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn arrival_table() {
        let table: Vec<(crate::Curve, Vec<Duration>)> = vec![
            // 4/s for 1 s: 0, 250, 500, 750 ms.
            (
                vec![(ms(0), 4.0), (ms(1_000), 4.0)],
                vec![ms(0), ms(250), ms(500), ms(750)],
            ),
            // 0 → 4/s over 1 s: 2 arrivals in all; the 2nd when ∫ = 1: 2x² = 1 → x = 0.7071 s.
            (
                vec![(ms(0), 0.0), (ms(1_000), 4.0)],
                vec![ms(0), Duration::from_secs_f64(0.5f64.sqrt())],
            ),
            // Nothing, then 2/s for 1 s: ∫ = 2, so arrivals 0 (at the start, by definition) and 1
            // (when ∫ reaches 1, half-way through the second second).
            (
                vec![
                    (ms(0), 0.0),
                    (ms(1_000), 0.0),
                    (ms(1_000), 2.0),
                    (ms(2_000), 2.0),
                ],
                vec![ms(0), ms(1_500)],
            ),
        ];
        for (points, want) in table {
            let got = arrivals(&points);
            assert_eq!(got.len(), want.len(), "{points:?}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g.abs_diff(*w) < Duration::from_micros(1),
                    "{points:?}: {got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn a_minute_at_a_constant_rate_is_exact() {
        let a = arrivals(&[(ms(0), 7.3), (ms(60_000), 7.3)]);
        assert_eq!(a.len(), 438); // ⌈7.3 × 60⌉
                                  // Evenly spaced, no drift after 438 steps.
        assert!(a[437].abs_diff(Duration::from_secs_f64(437.0 / 7.3)) < Duration::from_micros(1));
    }

    #[test]
    fn a_ramp_delivers_its_integral() {
        // 0 → 10/s over 60 s, then 10/s for 60 s: 300 + 600 arrivals.
        let a = arrivals(&[(ms(0), 0.0), (ms(60_000), 10.0), (ms(120_000), 10.0)]);
        assert_eq!(a.len(), 900);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        // Arrivals in the first 30 s: ∫0..30 of t/6 = 75.
        assert_eq!(
            a.iter().filter(|t| **t < Duration::from_secs(30)).count(),
            75
        );
    }
}
