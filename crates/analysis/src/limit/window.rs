//! A fixed window's length and count, read from what was admitted, not from Retry-After: whole
//! seconds rounded up say little about a window of one second. Each candidate length from a
//! second to an hour is tried two ways (a window that opens at the first request after the last
//! one closed, as in-memory and Redis counters do; and windows on a clock grid, their phase read
//! from where admissions resumed after refusals); its count is what the full windows (those that
//! refused) admitted; the events are replayed through it; the length whose replay mispredicts
//! least wins (on a tie, the shorter, whose pace is the more careful).

use super::replay::{mismatch_from, FixedWindow};

/// Window lengths tried, seconds: the common quotas from a second to an hour.
pub const CANDIDATES_S: [f64; 22] = [
    1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 12.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0,
    300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
];

/// Phases tried on a grid per length, beside those read from where admissions resumed.
const PHASE_STEPS: u32 = 20;

/// Where a window of a fitted length starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// At the first request after the previous window closed.
    Rolling,
    /// On a grid: windows start at this offset (seconds from the first request) plus multiples
    /// of the length.
    Grid(f64),
}

/// A fitted window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFit {
    /// Requests admitted per window.
    pub limit: f64,
    /// Its length, seconds.
    pub window: f64,
    /// Where windows start.
    pub phase: Phase,
    /// Full windows (ones that refused) the count was read from.
    pub full_windows: usize,
    /// Its replay's error ([`mismatch_from`]).
    pub error: f64,
    /// The best error of another length: near `error`, the length is not settled.
    pub other_length_error: f64,
}

impl WindowFit {
    /// The decision for each arrival (times non-decreasing).
    pub fn replay(&self, times: &[f64]) -> Vec<bool> {
        match self.phase {
            Phase::Rolling => FixedWindow {
                limit: self.limit,
                window: self.window,
            }
            .replay(times),
            Phase::Grid(p) => grid_replay(self.limit, self.window, p, times),
        }
    }
}

/// The index of the grid window `t` falls in.
fn slot(t: f64, window: f64, phase: f64) -> i64 {
    ((t - phase) / window).floor() as i64
}

fn grid_replay(limit: f64, window: f64, phase: f64, times: &[f64]) -> Vec<bool> {
    let mut cur = i64::MIN;
    let mut count = 0.0;
    times
        .iter()
        .map(|&t| {
            let s = slot(t, window, phase);
            if s != cur {
                cur = s;
                count = 0.0;
            }
            if count + 1.0 <= limit + 1e-9 {
                count += 1.0;
                true
            } else {
                false
            }
        })
        .collect()
}

/// The window each request fell in, for `phase`.
fn windows_of(times: &[f64], window: f64, phase: Phase) -> Vec<i64> {
    match phase {
        Phase::Grid(p) => times.iter().map(|&t| slot(t, window, p)).collect(),
        Phase::Rolling => {
            let (mut start, mut k) = (f64::NEG_INFINITY, -1i64);
            times
                .iter()
                .map(|&t| {
                    if t >= start + window {
                        start = t;
                        k += 1;
                    }
                    k
                })
                .collect()
        }
    }
}

/// The count of a window of `window` s at `phase`: the most any full window admitted; and how
/// many full windows there were. None when no window refused.
fn count(times: &[f64], observed: &[bool], window: f64, phase: Phase) -> Option<(f64, usize)> {
    let w = windows_of(times, window, phase);
    let mut counts: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let mut j = i;
        let (mut admitted, mut refused) = (0u64, false);
        while j < w.len() && w[j] == w[i] {
            admitted += u64::from(observed[j]);
            refused |= !observed[j];
            j += 1;
        }
        if refused {
            counts.push(admitted);
        }
        i = j;
    }
    let most = counts.iter().copied().max().unwrap_or(0);
    (most > 0).then_some((most as f64, counts.len()))
}

/// The window that explains the decisions best from the first refusal (`first`) on, among the
/// candidate lengths up to `span` × 2 (and `hint`, a length the headers or Retry-After suggest).
pub fn fit_window(
    times: &[f64],
    observed: &[bool],
    first: usize,
    hint: Option<f64>,
) -> Option<WindowFit> {
    let span = times.last().copied().unwrap_or(0.0) - times.first().copied().unwrap_or(0.0);
    // Where admissions resumed after refusals: a window boundary lies just before each.
    let reopens: Vec<f64> = (1..times.len())
        .filter(|&i| observed[i] && !observed[i - 1])
        .take(12)
        .map(|i| (times[i] + times[i - 1]) / 2.0)
        .collect();
    // The hint first: where the counts cannot tell lengths apart (the client paused while the
    // window was spent), what the server said decides.
    let mut lengths: Vec<f64> = hint
        .filter(|h| *h > 0.0 && h.is_finite())
        .into_iter()
        .collect();
    lengths.extend(
        CANDIDATES_S
            .iter()
            .copied()
            .filter(|w| *w <= (2.0 * span).max(1.0)),
    );
    let mut best: Option<WindowFit> = None;
    // The best error of each length tried.
    let mut per_length: Vec<(f64, f64)> = Vec::new();
    for &w in &lengths {
        let mut phases = vec![Phase::Rolling];
        phases.extend(reopens.iter().map(|&r| Phase::Grid(r.rem_euclid(w))));
        // Where admissions resumed after a pause, the boundary may lie anywhere in the pause:
        // a grid of phases as well.
        phases.extend(
            (0..PHASE_STEPS).map(|k| Phase::Grid(w * f64::from(k) / f64::from(PHASE_STEPS))),
        );
        for phase in phases {
            let Some((limit, full_windows)) = count(times, observed, w, phase) else {
                continue;
            };
            let mut f = WindowFit {
                limit,
                window: w,
                phase,
                full_windows,
                error: 0.0,
                other_length_error: f64::INFINITY,
            };
            f.error = mismatch_from(&f.replay(times), observed, first);
            per_length.push((w, f.error));
            let better = match &best {
                None => true,
                // Clearly fewer mistakes; on a tie the one tried first.
                Some(b) => f.error + 1e-9 < b.error,
            };
            if better {
                best = Some(f);
            }
        }
    }
    best.map(|mut b| {
        b.other_length_error = per_length
            .iter()
            .filter(|(w, _)| (w / b.window - 1.0).abs() > 0.05)
            .map(|(_, e)| *e)
            .fold(f64::INFINITY, f64::min);
        b
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(rate: f64, secs: f64) -> Vec<f64> {
        (0..(rate * secs) as usize)
            .map(|i| i as f64 / rate)
            .collect()
    }

    #[test]
    fn a_one_second_window_is_read_from_the_counts_not_from_retry_after() {
        // 30 per second on a grid offset by 0.37 s, offered 40/s for 10 s; Retry-After (rounded
        // up, 6 s here as a limiter might say) is not given to the fit.
        let t = steady(40.0, 10.0);
        let obs = grid_replay(30.0, 1.0, 0.37, &t);
        let first = obs.iter().position(|a| !a).unwrap();
        let f = fit_window(&t, &obs, first, Some(6.0)).unwrap();
        assert_eq!((f.limit, f.window), (30.0, 1.0), "{f:?}");
        assert!(f.error < 1e-9 && f.full_windows >= 8, "{f:?}");
    }

    #[test]
    fn a_rolling_window_of_ten_seconds_and_one_of_a_minute() {
        for (limit, window, rate, secs) in [(100.0, 10.0, 15.0, 40.0), (300.0, 60.0, 8.0, 130.0)] {
            let t = steady(rate, secs);
            let obs = FixedWindow { limit, window }.replay(&t);
            let first = obs.iter().position(|a| !a).unwrap();
            let f = fit_window(&t, &obs, first, None).unwrap();
            assert_eq!((f.limit, f.window), (limit, window), "{f:?}");
            assert_eq!(f.phase, Phase::Rolling);
        }
    }
}

/// A fitted sliding window: at most `limit` requests in any `window` seconds (a log of them,
/// as Redis sorted sets and the `limits` moving window keep, or HAProxy's rate counter); with
/// `counted`, refused requests enter the log too (a penalty: refused forever while sending
/// above the limit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlidingFit {
    /// Requests admitted in any window.
    pub limit: f64,
    /// The window, seconds.
    pub window: f64,
    /// Refused requests count.
    pub counted: bool,
    /// Its replay's error ([`mismatch_from`]).
    pub error: f64,
}

impl SlidingFit {
    /// The decision for each arrival (times non-decreasing).
    pub fn replay(&self, times: &[f64]) -> Vec<bool> {
        let mut log: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
        times
            .iter()
            .map(|&t| {
                while log.front().is_some_and(|&f| f <= t - self.window) {
                    log.pop_front();
                }
                let ok = (log.len() as f64) < self.limit - 1e-9;
                if ok || self.counted {
                    log.push_back(t);
                }
                ok
            })
            .collect()
    }
}

/// The count a sliding window of `window` s shows: the most requests in the log when one was
/// admitted (admitted ones only, or every request when `counted`), plus the one admitted.
fn sliding_count(times: &[f64], observed: &[bool], window: f64, counted: bool) -> f64 {
    let mut log: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut most = 0usize;
    for (&t, &ok) in times.iter().zip(observed) {
        while log.front().is_some_and(|&f| f <= t - window) {
            log.pop_front();
        }
        if ok {
            most = most.max(log.len() + 1);
        }
        if ok || counted {
            log.push_back(t);
        }
    }
    most as f64
}

/// The sliding window that explains the decisions best from the first refusal on, among the
/// candidate lengths up to `span` × 2, refusals counted or not.
pub fn fit_sliding(times: &[f64], observed: &[bool], first: usize) -> Option<SlidingFit> {
    let span = times.last().copied().unwrap_or(0.0) - times.first().copied().unwrap_or(0.0);
    let mut best: Option<SlidingFit> = None;
    for &w in CANDIDATES_S.iter().filter(|w| **w <= (2.0 * span).max(1.0)) {
        for counted in [false, true] {
            let limit = sliding_count(times, observed, w, counted);
            if limit < 1.0 {
                continue;
            }
            let mut f = SlidingFit {
                limit,
                window: w,
                counted,
                error: 0.0,
            };
            f.error = mismatch_from(&f.replay(times), observed, first);
            if best.is_none_or(|b| f.error + 1e-9 < b.error) {
                best = Some(f);
            }
        }
    }
    best
}

#[cfg(test)]
mod sliding_tests {
    use super::*;

    #[test]
    fn a_penalty_log_is_told_from_a_plain_one() {
        // 25 per second, offered 20/s for 5 s, then 30/s for 3 s, then 15/s for 5 s.
        let mut t: Vec<f64> = (0..100).map(|i| f64::from(i) / 20.0).collect();
        t.extend((0..90).map(|i| 5.0 + f64::from(i) / 30.0));
        t.extend((0..75).map(|i| 8.0 + f64::from(i) / 15.0));
        for counted in [true, false] {
            let truth = SlidingFit {
                limit: 25.0,
                window: 1.0,
                counted,
                error: 0.0,
            };
            let obs = truth.replay(&t);
            let first = obs.iter().position(|a| !a).unwrap();
            let f = fit_sliding(&t, &obs, first).unwrap();
            assert_eq!(
                (f.limit, f.window, f.counted),
                (25.0, 1.0, counted),
                "{f:?}"
            );
        }
    }
}
