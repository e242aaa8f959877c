//! Fitting the limiter models to requests as the limiter answered them: each model's parameters
//! are estimated from the events, the events are replayed through it ([`super::replay`]), and the
//! model with the fewest mispredicted decisions is named.
//!
//! The sustained rate is read between 429s, never across the first one: a 429 says the limiter was
//! empty at that moment, so between two 429s a token bucket admitted exactly what it refilled
//! (rate × time, ± 1), whatever the client sent; the burst is what was admitted before the first
//! 429 beyond that rate. So a short run cannot pass its burst off as capacity.

use super::concurrency::fit_concurrency;
use super::replay::{mismatch_from, TokenBucket};
use super::window::{fit_sliding, fit_window, WindowFit};
use super::{Alternative, Estimate, Event, Evidence, Fit, Model, Verdict};

/// Admitted requests' latency must at least double, and by half a slot or more, before the first
/// 429 for the queue model.
const QUEUE_LATENCY_FACTOR: f64 = 2.0;
/// Retry-After floors of a few seconds are common whatever the limiter: a bucket is ruled out only
/// by waits this much longer than five of its slots.
const RETRY_AFTER_SLACK_S: f64 = 3.0;

/// Fits the models to `events` (any order).
pub fn fit(events: &[Event]) -> Estimate {
    let mut ev: Vec<Event> = events
        .iter()
        .copied()
        .filter(|e| e.verdict != Verdict::Other && e.t_s.is_finite())
        .collect();
    if ev.is_empty() {
        return Estimate::NoData;
    }
    ev.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    let t0 = ev[0].t_s;
    let times: Vec<f64> = ev.iter().map(|e| e.t_s - t0).collect();
    let observed: Vec<bool> = ev.iter().map(|e| e.verdict == Verdict::Admitted).collect();
    let refusals: Vec<usize> = (0..ev.len()).filter(|&i| !observed[i]).collect();
    let seconds = times.last().copied().unwrap_or(0.0);
    let admitted = observed.iter().filter(|a| **a).count() as u64;
    let Some(&first) = refusals.first() else {
        return Estimate::NotReached {
            admitted,
            peak_rate_per_s: peak_rate(&times),
            seconds,
        };
    };
    let tb = token_bucket(&times, &observed, &refusals);
    let evidence = evidence(&ev, &times, &observed, &refusals, &tb);
    let mut fits: Vec<Alternative> = Vec::new();
    let tb_pred = TokenBucket {
        rate: tb.rate,
        burst: tb.burst,
    }
    .replay(&times);
    fits.push(Alternative {
        model: Model::TokenBucket,
        sustained_rate_per_s: tb.rate,
        fit_error: mismatch_from(&tb_pred, &observed, first),
        ruled_out: false,
    });
    // What the headers or the first Retry-After suggest is only one candidate length among many.
    let hint = window_hint(&ev, &times, first);
    let fw = fit_window(&times, &observed, first, hint);
    let mut evidence = evidence;
    if let Some(w) = fw {
        evidence.full_windows = u32::try_from(w.full_windows).unwrap_or(u32::MAX);
        evidence.other_window_error = w
            .other_length_error
            .is_finite()
            .then_some(w.other_length_error);
        fits.push(Alternative {
            model: Model::FixedWindow,
            sustained_rate_per_s: w.limit / w.window,
            fit_error: w.error,
            ruled_out: false,
        });
    }
    let sliding = fit_sliding(&times, &observed, first);
    if let Some(w) = sliding {
        fits.push(Alternative {
            model: Model::SlidingWindow,
            sustained_rate_per_s: w.limit / w.window,
            fit_error: w.error,
            ruled_out: false,
        });
    }
    let conc = fit_concurrency(&ev, &observed, first);
    if let Some(c) = conc {
        fits.push(Alternative {
            model: Model::Concurrency,
            sustained_rate_per_s: c.rate(),
            fit_error: c.error,
            ruled_out: false,
        });
    }
    let (before, at_onset) = latencies(&ev, &observed, first);
    let queued = at_onset >= QUEUE_LATENCY_FACTOR * before && at_onset - before >= 0.5 / tb.rate;
    // Fewest wrong decisions first; on a tie the token bucket (fewer parameters). A bucket that
    // refills a request every 1/R s does not send clients away for much longer: Retry-After values
    // far beyond that rule it out even where the counts cannot tell (the client stopped sending).
    let ra = median(
        &ev.iter()
            .filter_map(|e| e.retry_after_s)
            .collect::<Vec<_>>(),
    );
    let bucket_ruled_out = fw.is_some() && ra >= 5.0 / tb.rate + RETRY_AFTER_SLACK_S;
    for f in &mut fits {
        f.ruled_out = bucket_ruled_out && f.model == Model::TokenBucket;
    }
    fits.sort_by(|a, b| {
        a.ruled_out
            .cmp(&b.ruled_out)
            .then(a.fit_error.total_cmp(&b.fit_error))
    });
    let best = fits.remove(0);
    let (model, burst, window_s, rate_error) = match (best.model, fw) {
        (Model::FixedWindow, Some(w)) => (
            Model::FixedWindow,
            w.limit,
            Some(w.window),
            window_rate_error(w),
        ),
        (Model::SlidingWindow, _) => {
            let w = sliding.map_or((1.0, 1.0), |w| (w.limit, w.window));
            (Model::SlidingWindow, w.0, Some(w.1), 1.0 / w.0.max(1.0))
        }
        (Model::Concurrency, _) => (
            Model::Concurrency,
            f64::from(conc.map_or(1, |c| c.max_in_flight)),
            None,
            tb.rate_error,
        ),
        _ if queued => (Model::Queue, tb.burst, None, tb.rate_error),
        _ => (Model::TokenBucket, tb.burst, None, tb.rate_error),
    };
    if model == Model::Queue {
        // The queue's admissions are the token bucket's; the bucket stays among the others.
        fits.insert(0, best.clone());
    }
    Estimate::Limit(Fit {
        model,
        sustained_rate_per_s: best.sustained_rate_per_s,
        rate_error,
        burst,
        window_s,
        refusals_counted: model == Model::SlidingWindow && sliding.is_some_and(|w| w.counted),
        max_in_flight: conc
            .filter(|_| model == Model::Concurrency)
            .map(|c| c.max_in_flight),
        fit_error: best.fit_error,
        alternatives: fits,
        latency_before_s: before,
        latency_at_onset_s: at_onset,
        evidence,
    })
}

/// The token bucket's estimates.
#[derive(Debug, Clone, Copy)]
struct TbEstimate {
    rate: f64,
    burst: f64,
    rate_error: f64,
    /// Admitted between 429s, in the pairs the rate was read from.
    admitted_between: u64,
}

/// Between consecutive 429s: the requests admitted, the time between them, and the longest
/// stretch in between with no request at all (when the bucket could refill unseen).
fn pairs(times: &[f64], observed: &[bool], refusals: &[usize]) -> Vec<(u64, f64, f64)> {
    refusals
        .windows(2)
        .map(|w| {
            let k = observed[w[0] + 1..w[1]].iter().filter(|a| **a).count() as u64;
            let idle = times[w[0]..=w[1]]
                .windows(2)
                .map(|t| t[1] - t[0])
                .fold(0.0, f64::max);
            (k, times[w[1]] - times[w[0]], idle)
        })
        .collect()
}

fn token_bucket(times: &[f64], observed: &[bool], refusals: &[usize]) -> TbEstimate {
    let first = refusals[0];
    let before = observed[..first].iter().filter(|a| **a).count() as f64;
    let t_first = times[first];
    // (rate, admitted, burst) from the pairs given.
    let read = |ps: &[(u64, f64, f64)]| {
        let (k, dt) = ps.iter().fold((0u64, 0.0), |(k, d), p| (k + p.0, d + p.1));
        (dt > 0.0 && k > 0).then(|| {
            let rate = k as f64 / dt;
            (rate, k, burst_before(times, observed, first, rate).0)
        })
    };
    let all = pairs(times, observed, refusals);
    let Some((rate, k, burst)) = read(&all) else {
        // One 429, or none admitted between 429s: only the rate before the first 429 is known,
        // and it holds the burst; no evidence for the sustained rate.
        return TbEstimate {
            rate: before.max(1.0) / t_first.max(1.0),
            burst: 1.0,
            rate_error: 1.0,
            admitted_between: 0,
        };
    };
    // A pair with a long silence inside may have let the bucket fill up (it then admitted less
    // than it refilled): such pairs are left out once the burst is known, when enough remain.
    let full_after = (0.8 * burst / rate).max(5.0 / rate);
    let kept: Vec<(u64, f64, f64)> = all.iter().copied().filter(|p| p.2 < full_after).collect();
    let (rate, k, burst, used) = match read(&kept) {
        Some((r, kk, b)) if kept.len() < all.len() && kk >= 10 => (r, kk, b, kept),
        _ => (rate, k, burst, all),
    };
    let used: Vec<(u64, f64)> = used.iter().map(|p| (p.0, p.1)).collect();
    TbEstimate {
        rate,
        burst,
        rate_error: block_error(&used, k),
        admitted_between: k,
    }
}

/// The burst: what the limiter admitted before its first 429 (at `first`) beyond `rate`, since
/// the last moment it was full. A bucket offered less than its rate stays full and wastes its
/// refill, so the excess is read from the moment that maximises it, not from the first request:
/// `max over t of admitted(t..first) − rate × (t_first − t)`, at least 1. Returns the burst and
/// the seconds it was read over (the rate's error weighs on it over that span only).
pub(crate) fn burst_before(
    times: &[f64],
    observed: &[bool],
    first: usize,
    rate: f64,
) -> (f64, f64) {
    let t_first = times[first];
    let mut admitted_since = 0.0;
    let mut best: (f64, f64) = (1.0, 0.0);
    for i in (0..first).rev() {
        if observed[i] {
            admitted_since += 1.0;
        }
        let excess = admitted_since - rate * (t_first - times[i]);
        if excess > best.0 {
            best = (excess, t_first - times[i]);
        }
    }
    best
}

/// Relative standard error of a rate read from `pairs` (admitted, seconds): batch means over
/// blocks of consecutive pairs, never below one request in `k`.
fn block_error(pairs: &[(u64, f64)], k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let floor = 1.0 / k as f64;
    let per_block = (k / 8).max(5);
    let mut blocks: Vec<f64> = Vec::new();
    let (mut bk, mut bt) = (0u64, 0.0);
    for &(pk, pt) in pairs {
        bk += pk;
        bt += pt;
        if bk >= per_block && bt > 0.0 {
            blocks.push(bk as f64 / bt);
            bk = 0;
            bt = 0.0;
        }
    }
    if blocks.len() < 3 {
        // Too few blocks to read a spread from: as if the admissions were a Poisson count.
        return (1.0 / (k as f64).sqrt()).max(floor);
    }
    let n = blocks.len() as f64;
    let mean = blocks.iter().sum::<f64>() / n;
    let var = blocks.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (n - 1.0);
    ((var.sqrt() / n.sqrt()) / mean).max(floor)
}

/// The window length the first 429 suggests, when the first window opened at the first request:
/// it closes when the 429's Retry-After (or the `inin-ratelimit-reset` of the answers before it)
/// says. None when neither was sent.
fn window_hint(ev: &[Event], times: &[f64], first: usize) -> Option<f64> {
    // Each header bounds the end: reset whole seconds, rounded up, from when it was sent.
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    for (e, t) in ev[..first].iter().zip(times) {
        if let Some(h) = e.headers.filter(|h| h.allowed > 0) {
            let r = f64::from(h.reset);
            lo = lo.max(t + r - 1.0);
            hi = hi.min(t + r);
        }
    }
    let end = if hi.is_finite() {
        (lo.max(hi - 1.0) + hi) / 2.0
    } else {
        let ra = ev[first].retry_after_s?;
        // Retry-After is whole seconds rounded up: the window closed within its last second.
        times[first] + (ra - 0.5).max(0.0)
    };
    (end > 0.0).then_some(end)
}

/// A fixed window's rate error: its count is counted (to a request); its length is one of the
/// candidates once two full windows confirm it, else known to half a second or so.
fn window_rate_error(w: WindowFit) -> f64 {
    let length = if w.full_windows >= 2 {
        0.0
    } else {
        0.5 / w.window
    };
    length.max(1.0 / w.limit.max(1.0))
}

/// Median latency of admitted requests early on, and around the first 429.
fn latencies(ev: &[Event], observed: &[bool], first: usize) -> (f64, f64) {
    let before: Vec<f64> = (0..first)
        .filter(|&i| observed[i])
        .map(|i| ev[i].latency_s)
        .collect();
    let after: Vec<f64> = (first..ev.len())
        .filter(|&i| observed[i])
        .take(10)
        .map(|i| ev[i].latency_s)
        .collect();
    let n = (before.len() / 5).max(3).min(before.len());
    let early = median(&before[..n]);
    let mut late: Vec<f64> = before[before.len() - n..].to_vec();
    late.extend(after);
    (early, median(&late))
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Most requests in any one-second span.
fn peak_rate(times: &[f64]) -> f64 {
    let mut best = 0usize;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= 1.0 {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best as f64
}

fn evidence(
    ev: &[Event],
    times: &[f64],
    observed: &[bool],
    refusals: &[usize],
    tb: &TbEstimate,
) -> Evidence {
    let first = refusals[0];
    let last = *refusals.last().unwrap_or(&first);
    let ra: Vec<f64> = ev.iter().filter_map(|e| e.retry_after_s).collect();
    let mut allowed: std::collections::BTreeMap<u32, u64> = Default::default();
    for h in ev
        .iter()
        .filter_map(|e| e.headers)
        .filter(|h| h.allowed > 0)
    {
        *allowed.entry(h.allowed).or_default() += 1;
    }
    Evidence {
        requests: ev.len() as u64,
        admitted: observed.iter().filter(|a| **a).count() as u64,
        refused: refusals.len() as u64,
        seconds: times.last().copied().unwrap_or(0.0),
        throttled_s: times[last] - times[first],
        admitted_while_throttled: tb.admitted_between,
        first_429_s: Some(times[first]),
        admitted_before_429: observed[..first].iter().filter(|a| **a).count() as u64,
        burst_span_s: burst_before(times, observed, first, tb.rate).1,
        retry_after_s: (!ra.is_empty()).then(|| {
            (
                ra.iter().copied().fold(f64::INFINITY, f64::min),
                ra.iter().copied().fold(0.0, f64::max),
            )
        }),
        header_allowed: allowed.iter().max_by_key(|(_, n)| **n).map(|(a, _)| *a),
        full_windows: 0,
        other_window_error: None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
