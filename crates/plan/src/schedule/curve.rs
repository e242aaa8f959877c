//! Closed-model users following a piecewise-linear curve (stepping, spike, stages): a user
//! starts when the curve rises past a whole number and stops (last started, first stopped) when
//! it falls below one.

use std::time::Duration;

use super::{Event, Model, Schedule};

/// The events of a user curve, computed once.
#[derive(Debug, Clone)]
pub struct CurveSchedule {
    events: std::vec::IntoIter<Event>,
}

fn lerp_time(t0: Duration, t1: Duration, frac: f64) -> Duration {
    let span = (t1 - t0).as_nanos() as f64;
    t0 + Duration::from_nanos((span * frac.clamp(0.0, 1.0)).round() as u64)
}

impl CurveSchedule {
    /// The events of `points` (time, users); the run ends at the last point.
    pub fn new(points: &[(Duration, f64)]) -> CurveSchedule {
        let mut events = Vec::new();
        let mut level: u32 = points.first().map_or(0, |p| p.1.max(0.0).floor() as u32);
        for u in 0..level {
            events.push(Event::StartUser {
                at: Duration::ZERO,
                user: u,
            });
        }
        for w in points.windows(2) {
            let ((t0, a), (t1, b)) = (w[0], w[1]);
            let (a, b) = (a.max(0.0), b.max(0.0));
            let target = b.floor() as u32;
            // Rising: user k-1 starts when the curve reaches k.
            while level < target {
                let k = f64::from(level + 1);
                let frac = if b > a { (k - a) / (b - a) } else { 0.0 };
                events.push(Event::StartUser {
                    at: lerp_time(t0, t1, frac),
                    user: level,
                });
                level += 1;
            }
            // Falling: user k-1 stops when the curve drops below k.
            while level > target {
                let k = f64::from(level);
                let frac = if a > b { (a - k) / (a - b) } else { 0.0 };
                level -= 1;
                events.push(Event::StopUser {
                    at: lerp_time(t0, t1, frac),
                    user: level,
                });
            }
        }
        let end = points.last().map_or(Duration::ZERO, |p| p.0);
        events.push(Event::StopAll { at: end });
        events.sort_by_key(|e| e.at());
        CurveSchedule {
            events: events.into_iter(),
        }
    }
}

impl Schedule for CurveSchedule {
    fn next_event(&mut self) -> Option<Event> {
        self.events.next()
    }

    fn model(&self) -> Model {
        Model::Closed { loops: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    fn all(points: &[(Duration, f64)]) -> Vec<Event> {
        let mut c = CurveSchedule::new(points);
        std::iter::from_fn(|| c.next_event()).collect()
    }

    #[test]
    fn curve_table() {
        use Event::*;
        let table: Vec<(crate::Curve, Vec<Event>)> = vec![
            // Linear ramp 0 → 4 users over 4 s, then down to 2 over 2 s.
            (
                vec![(s(0), 0.0), (s(4), 4.0), (s(6), 2.0)],
                vec![
                    StartUser { at: s(1), user: 0 },
                    StartUser { at: s(2), user: 1 },
                    StartUser { at: s(3), user: 2 },
                    StartUser { at: s(4), user: 3 },
                    // users = ⌊curve⌋: user 3 stops as soon as the curve falls below 4.
                    StopUser { at: s(4), user: 3 },
                    StopUser { at: s(5), user: 2 },
                    StopAll { at: s(6) },
                ],
            ),
            // Steps: 2 users at once at 0, +2 at 10 s, end at 20 s.
            (
                vec![(s(0), 2.0), (s(10), 2.0), (s(10), 4.0), (s(20), 4.0)],
                vec![
                    StartUser { at: s(0), user: 0 },
                    StartUser { at: s(0), user: 1 },
                    StartUser { at: s(10), user: 2 },
                    StartUser { at: s(10), user: 3 },
                    StopAll { at: s(20) },
                ],
            ),
            // A spike: 1 → 3 at 5 s for 2 s, then back to 1, end at 10 s.
            (
                vec![
                    (s(0), 1.0),
                    (s(5), 1.0),
                    (s(5), 3.0),
                    (s(7), 3.0),
                    (s(7), 1.0),
                    (s(10), 1.0),
                ],
                vec![
                    StartUser { at: s(0), user: 0 },
                    StartUser { at: s(5), user: 1 },
                    StartUser { at: s(5), user: 2 },
                    StopUser { at: s(7), user: 2 },
                    StopUser { at: s(7), user: 1 },
                    StopAll { at: s(10) },
                ],
            ),
            // Half-users: 0 → 1.5 over 3 s starts one user at 2 s.
            (
                vec![(s(0), 0.0), (s(3), 1.5)],
                vec![StartUser { at: s(2), user: 0 }, StopAll { at: s(3) }],
            ),
        ];
        for (points, want) in table {
            assert_eq!(all(&points), want, "{points:?}");
        }
    }
}
