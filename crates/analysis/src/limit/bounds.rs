//! Bounds on the sustained rate, from what a search did and what the limiter answered: a lower
//! bound that admitted traffic proves, an upper bound that refusals prove. A point estimate can
//! be wrong in ways its own error does not show (a burst that absorbed the excess, a limiter that
//! counts its refusals); the bounds say what is known whatever the model.
//!
//! Read over the search's steady stretches (one rate, no pause; [`Step`]s):
//! - between the first and the last 429 of a stretch the limiter was full at both ends, so what
//!   it admitted in between is what it refilled: `k ± slack` over the seconds between (slack: one
//!   request for a bucket, a window's count for a window, which may fall on either side);
//! - a stretch held at rate `r` with no 429 for long enough that no burst explains it
//!   ([`quiet_s`]) shows the limiter admits `r`;
//! - a stretch where every request was refused for a second or more shows it does not admit
//!   `r` (it also stops the search from hammering a limiter that counts refusals);
//! - the ramp's first 429 came below the rate it had reached.

use serde::{Deserialize, Serialize};

use super::file::Step;
use super::{Event, Fit, Model, Verdict};

/// A refusal streak this long (seconds, and at least [`PERSIST_MIN`] requests) is persistent:
/// the limiter refuses everything at that rate.
pub const PERSIST_S: f64 = 1.0;
/// Fewest refusals in a row that can be persistent.
pub const PERSIST_MIN: usize = 5;

/// Bounds on the sustained rate, requests per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RateBounds {
    /// The limiter admits at least this (0: nothing proven).
    pub lower_per_s: f64,
    /// It admits no more than this (None: nothing refused yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_per_s: Option<f64>,
    /// At some rate it refused every request for a second or more: a limiter that counts its
    /// refusals (a penalty box: one more request refused costs the future), or a window spent.
    #[serde(default)]
    pub refused_throughout: bool,
}

/// The sustained rate and its relative error a fit and the bounds agree on: the fit's, when it
/// lies within the bounds and is at least as precise; else the bounds' middle and half-width
/// (a fit that a burst, a pause or counted refusals misled says less than what was proven).
pub fn reconcile(fit_rate: f64, fit_error: f64, b: &RateBounds) -> (f64, f64) {
    match (b.middle(), b.relative_half_width()) {
        (Some(mid), Some(w)) => {
            let inside = fit_rate >= b.lower_per_s * 0.999
                && b.upper_per_s.is_some_and(|u| fit_rate <= u * 1.001);
            if inside && fit_error <= w {
                (fit_rate, fit_error)
            } else {
                (mid, w)
            }
        }
        _ => (fit_rate, fit_error),
    }
}

impl RateBounds {
    /// Half the gap between the bounds over their middle (0.05: known to ±5 %); None while
    /// either is missing.
    pub fn relative_half_width(&self) -> Option<f64> {
        let u = self.upper_per_s?;
        (self.lower_per_s > 0.0 && u > 0.0)
            .then(|| (u - self.lower_per_s).abs() / (u + self.lower_per_s))
    }

    /// The middle of the bounds, when both are known.
    pub fn middle(&self) -> Option<f64> {
        let u = self.upper_per_s?;
        (self.lower_per_s > 0.0).then(|| (u + self.lower_per_s) / 2.0)
    }
}

/// How long a stretch at `rate` must go without a 429 before it shows the limiter admits that
/// rate, whatever burst it had: three seconds, twenty requests and twice the burst at the least.
pub fn quiet_s(rate: f64, burst: f64) -> f64 {
    let r = rate.max(1e-3);
    3.0f64.max(20.0 / r).max(2.0 * burst / r)
}

/// One steady stretch of a search: its rate and the events sent in it.
struct Stretch<'a> {
    rate: f64,
    ramp: bool,
    events: Vec<&'a Event>,
}

/// The search's stretches: from each step (or the end of its pause) to the next.
fn stretches<'a>(events: &'a [Event], steps: &[Step]) -> Vec<Stretch<'a>> {
    let mut ev: Vec<&Event> = events
        .iter()
        .filter(|e| e.verdict != Verdict::Other && e.t_s.is_finite())
        .collect();
    ev.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let mut out = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        let start = st.paused_until_s.unwrap_or(st.t_s).max(st.t_s);
        let end = steps.get(i + 1).map_or(f64::INFINITY, |n| n.t_s);
        let inside: Vec<&Event> = ev
            .iter()
            .copied()
            .filter(|e| e.t_s >= start - 1e-9 && e.t_s < end)
            .collect();
        if !inside.is_empty() {
            out.push(Stretch {
                rate: st.rate_per_s,
                ramp: st.growth > 1.0,
                events: inside,
            });
        }
    }
    out
}

/// The longest run of refusals in `ev`: (requests, seconds from its first to its last).
fn longest_streak(ev: &[&Event]) -> (usize, f64) {
    let mut best = (0usize, 0.0f64);
    let mut run: Option<(usize, f64)> = None;
    for e in ev {
        if e.verdict == Verdict::Refused {
            let (n, t0) = run.unwrap_or((0, e.t_s));
            run = Some((n + 1, t0));
            if n + 1 > best.0 {
                best = (n + 1, e.t_s - t0);
            }
        } else {
            run = None;
        }
    }
    best
}

/// A streak of refusals that shows the limiter refuses everything at this rate.
pub fn persistent(ev: &[&Event], rate: f64) -> bool {
    let (n, span) = longest_streak(ev);
    n >= PERSIST_MIN.max((rate * PERSIST_S * 0.8) as usize) && span >= PERSIST_S * 0.8
}

/// The bounds `events` and the search's `steps` prove; `fit` (when one was made) says how much
/// of what was admitted between 429s a burst or a window could have moved.
pub fn bounds(events: &[Event], steps: &[Step], fit: Option<&Fit>) -> RateBounds {
    // Each quiet stretch read at a better lower bound may raise it again (the burst it must
    // outlast shrinks): twice is enough in practice.
    let first = bounds_at(events, steps, fit, 0.0);
    bounds_at(
        events,
        steps,
        fit,
        first.lower_per_s.min(first.upper_per_s.unwrap_or(f64::MAX)),
    )
}

/// The most a limiter whose sustained rate is at least `lower` can have admitted at once: what
/// was admitted before the first 429 beyond `lower` per second since it was last full (at least
/// one request; everything before the first 429 while `lower` is 0).
pub fn burst_bound(events: &[Event], lower: f64) -> f64 {
    let mut ev: Vec<&Event> = events
        .iter()
        .filter(|e| e.verdict != Verdict::Other && e.t_s.is_finite())
        .collect();
    ev.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let Some(first) = ev.iter().position(|e| e.verdict == Verdict::Refused) else {
        return 1.0;
    };
    let times: Vec<f64> = ev.iter().map(|e| e.t_s).collect();
    let observed: Vec<bool> = ev.iter().map(|e| e.verdict == Verdict::Admitted).collect();
    super::fit::burst_before(&times, &observed, first, lower).0
}

fn bounds_at(events: &[Event], steps: &[Step], fit: Option<&Fit>, known: f64) -> RateBounds {
    let burst = burst_bound(events, known);
    // How long whatever a stretch inherited may refuse: a fitted window's length, else a second.
    let settle = fit
        .filter(|f| matches!(f.model, Model::FixedWindow | Model::SlidingWindow))
        .and_then(|f| f.window_s)
        .unwrap_or(1.0)
        .max(1.0);
    let mut lower: f64 = known;
    let mut upper: Option<f64> = None;
    let mut cut = |u: f64| upper = Some(upper.map_or(u, |x: f64| x.min(u)));
    // Refusals sent inside a persistent streak: a limiter that refuses everything may be
    // counting its refusals, and then what it admitted between them says nothing of its rate.
    let mut in_streak: Vec<(f64, f64)> = Vec::new();
    // Per rate held: seconds sent at it since its first 429 (pauses left out). A 429 that comes
    // after longer than any burst explains shows the rate is above the limit: below it, a
    // bucket, a window or a penalty box recovers and refuses no more.
    let mut since_refused: Vec<(f64, f64)> = Vec::new();
    for s in stretches(events, steps) {
        let refused: Vec<usize> = (0..s.events.len())
            .filter(|&i| s.events[i].verdict == Verdict::Refused)
            .collect();
        let (first_t, last_t) = (s.events[0].t_s, s.events[s.events.len() - 1].t_s);
        if s.ramp {
            // The ramp's first 429 came at a rate above the limit.
            if let Some(&i) = refused.first() {
                let t = s.events[i].t_s;
                if let Some(st) = steps.iter().rev().find(|st| st.t_s <= t) {
                    cut(st.rate_at(t));
                }
            }
        } else if refused.is_empty() {
            let span = last_t - first_t;
            if span >= quiet_s(s.rate, burst) {
                let measured = (s.events.len() - 1) as f64 / span;
                lower = lower.max(s.rate.min(measured));
            }
        } else if persistent(&s.events, s.rate) {
            cut(s.rate);
            in_streak.push((first_t, last_t));
        } else {
            let i = match since_refused.iter().position(|(r, _)| *r == s.rate) {
                Some(i) => i,
                None => {
                    since_refused.push((s.rate, f64::NAN));
                    since_refused.len() - 1
                }
            };
            // A 429 well into a stretch, after it was admitted again: whatever the previous
            // stretch left (a spent window, an empty bucket) had cleared, so this rate itself is
            // too much. (Below the limit, a bucket that admitted keeps admitting; a window of
            // the limiter's length never sees more than it allows.)
            let admitted_from = s
                .events
                .iter()
                .find(|e| e.verdict == Verdict::Admitted)
                .map(|e| e.t_s);
            if let Some(a) = admitted_from {
                let late = refused
                    .iter()
                    .any(|&r| s.events[r].t_s > a && s.events[r].t_s - first_t >= settle);
                if late {
                    cut(s.rate + 1.0 / settle);
                }
            }
            let mut from = first_t;
            for &r in &refused {
                let t = s.events[r].t_s;
                let held = since_refused[i].1;
                if held.is_finite() && held + (t - from) >= quiet_s(s.rate, burst) {
                    cut(s.rate);
                }
                since_refused[i].1 = if held.is_finite() {
                    held + (t - from)
                } else {
                    0.0
                };
                from = t;
            }
            if since_refused[i].1.is_finite() {
                since_refused[i].1 += last_t - from;
            }
        }
    }
    let penalty = !in_streak.is_empty();
    let (k, t, slack) = chains(events, fit, &in_streak);
    if t > 0.0 && k > 0.0 {
        lower = lower.max((k - slack).max(0.0) / t);
        if !penalty {
            cut((k + slack) / t);
        }
    }
    // Only a window that explains the decisions (and better than a bucket) counts its count.
    let window = fit.filter(|f| {
        f.model == Model::FixedWindow
            && f.fit_error <= 0.01
            && f.alternatives
                .iter()
                .all(|a| a.ruled_out || a.fit_error >= 3.0 * f.fit_error + 0.01)
    });
    if let Some(f) = window {
        if let Some(w) = f.window_s.filter(|w| *w > 0.0) {
            // The window's count is counted, its length fitted: known to a request a window.
            lower = lower.max((f.burst - 1.0).max(0.0) / w);
        }
    }
    if let Some(u) = upper.filter(|u| *u < lower) {
        // Evidence at odds with itself (a limiter that changed, a model that misread it): say
        // the range both ends allow rather than an empty one.
        return RateBounds {
            lower_per_s: u,
            upper_per_s: Some(lower),
            refused_throughout: penalty,
        };
    }
    RateBounds {
        lower_per_s: lower,
        upper_per_s: upper,
        refused_throughout: penalty,
    }
}

/// Between consecutive 429s the limiter was full at both ends, so it admitted what it refilled;
/// over a chain of such pairs the slack (the part of a request, or of a window, at either end)
/// counts once. Pairs with a silence long enough to refill the whole burst (the limiter may have
/// wasted refill at its cap) or inside a persistent streak break the chain. Returns the requests
/// admitted, the seconds, and the slack summed over the chains.
fn chains(events: &[Event], fit: Option<&Fit>, in_streak: &[(f64, f64)]) -> (f64, f64, f64) {
    let mut ev: Vec<&Event> = events
        .iter()
        .filter(|e| e.verdict != Verdict::Other && e.t_s.is_finite())
        .collect();
    ev.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let slack = match fit.map(|f| f.model) {
        Some(Model::FixedWindow) => fit.map_or(1.0, |f| f.burst.max(1.0)),
        _ => 1.0,
    };
    // A silence this long may have let a bucket fill to its cap; a window wastes what a
    // silence leaves unused at once.
    let full_after = fit.map_or(f64::INFINITY, |f| {
        let slot = 1.0 / f.sustained_rate_per_s.max(1e-9);
        match f.model {
            Model::FixedWindow => 3.0 * slot,
            _ => (0.8 * f.burst * slot).max(5.0 * slot),
        }
    });
    let streaky = |t: f64| in_streak.iter().any(|(a, b)| t >= *a && t <= *b);
    let refusals: Vec<usize> = (0..ev.len())
        .filter(|&i| ev[i].verdict == Verdict::Refused)
        .collect();
    let (mut k, mut t, mut slack_sum, mut chained) = (0.0, 0.0, 0.0, false);
    for w in refusals.windows(2) {
        let (a, b) = (w[0], w[1]);
        let idle = ev[a..=b]
            .windows(2)
            .map(|p| p[1].t_s - p[0].t_s)
            .fold(0.0, f64::max);
        if idle >= full_after || streaky(ev[a].t_s) || streaky(ev[b].t_s) {
            chained = false;
            continue;
        }
        if !chained {
            slack_sum += slack;
            chained = true;
        }
        k += ev[a + 1..b]
            .iter()
            .filter(|e| e.verdict == Verdict::Admitted)
            .count() as f64;
        t += ev[b].t_s - ev[a].t_s;
    }
    (k, t, slack_sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::replay::TokenBucket;

    fn step(t: f64, rate: f64, growth: f64) -> Step {
        Step {
            t_s: t,
            rate_per_s: rate,
            growth,
            paused_until_s: None,
            estimate_per_s: None,
        }
    }

    /// Arrivals at `rate` from `t0` to `t1`.
    fn steady(t0: f64, t1: f64, rate: f64) -> Vec<f64> {
        let n = ((t1 - t0) * rate).round() as usize;
        (0..n).map(|i| t0 + i as f64 / rate).collect()
    }

    fn events(b: TokenBucket, sent: &[f64]) -> Vec<Event> {
        b.replay(sent)
            .iter()
            .zip(sent)
            .map(|(ok, &t)| {
                if *ok {
                    Event::admitted(t, 0.001)
                } else {
                    Event::refused(t, None)
                }
            })
            .collect()
    }

    #[test]
    fn refusals_between_admitted_stretches_bound_a_bucket_on_both_sides() {
        let b = TokenBucket {
            rate: 20.0,
            burst: 10.0,
        };
        let ev = events(b, &steady(0.0, 10.0, 25.0));
        let r = bounds(&ev, &[step(0.0, 25.0, 1.0)], None);
        let u = r.upper_per_s.unwrap();
        assert!(r.lower_per_s <= 20.0 + 1e-9 && u >= 20.0 - 1e-9, "{r:?}");
        assert!(r.relative_half_width().unwrap() < 0.03, "{r:?}");
    }

    #[test]
    fn a_quiet_stretch_raises_the_lower_bound_a_persistent_streak_cuts_the_upper() {
        // Refused once (the limiter empty), held 10/s for 5 s without a 429, then 30/s refused
        // throughout.
        let mut ev = vec![Event::refused(0.0, None)];
        ev.extend((1..=50).map(|i| Event::admitted(f64::from(i) * 0.1, 0.001)));
        ev.extend((0..60).map(|i| Event::refused(5.2 + f64::from(i) / 30.0, None)));
        let steps = [
            step(0.0, 40.0, 1.0),
            step(0.05, 10.0, 1.0),
            step(5.2, 30.0, 1.0),
        ];
        let r = bounds(&ev, &steps, None);
        assert!((r.lower_per_s - 10.0).abs() < 0.3, "{r:?}");
        assert_eq!(r.upper_per_s, Some(30.0));
        // The same 10/s held one second only proves nothing: a burst could explain it.
        let short: Vec<Event> = ev[..11].to_vec();
        assert_eq!(bounds(&short, &steps[..2], None).lower_per_s, 0.0);
        // Nor 5 s of it when what came before the first 429 could be a burst that large.
        let rested: Vec<Event> = ev[1..].to_vec();
        assert_eq!(bounds(&rested, &steps, None).lower_per_s, 0.0);
    }

    #[test]
    fn the_ramps_first_429_is_an_upper_bound() {
        let ev = vec![
            Event::admitted(0.0, 0.001),
            Event::admitted(0.5, 0.001),
            Event::refused(1.0, None),
        ];
        let r = bounds(&ev, &[step(0.0, 2.0, 2.0)], None);
        assert_eq!(r.upper_per_s, Some(4.0));
        assert_eq!(r.lower_per_s, 0.0);
        assert_eq!(r.relative_half_width(), None);
    }
}
