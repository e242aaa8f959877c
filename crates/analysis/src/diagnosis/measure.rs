//! The limit a run measured, read from its timeline: the sustained rate while the server kept
//! refusing (requests admitted per second, by when they started, between the first and the last
//! second with a 429, neither included), the burst it admitted before the first 429 beyond that
//! rate, and how sure either is. A fixed window named by the `inin-ratelimit-*` headers is taken
//! from them. When the run cannot tell, [`NoAdvice`] says why and what run would.

use serde::{Deserialize, Serialize};

use super::limits::HeaderLimit;
use crate::limit::advice::{Basis, MAX_RATE_ERROR};
use crate::limit::Model;
use surge_record::result::{RunResult, Second};
use surge_record::Outcome;

/// Seconds of throttled traffic (after the onset second, before the last) the rate is read from
/// at the least: fewer cannot separate a burst from the sustained rate.
pub const MIN_STRETCH_S: u32 = 8;
/// Share of those seconds that must hold a 429: below it the client did not keep the limiter
/// busy, and what it admitted is a floor, not the rate.
pub const MIN_SATURATION: f64 = 0.8;
/// A rate error a longer run should bring the estimate to (its margin: [`MIN_MARGIN`]).
///
/// [`MIN_MARGIN`]: crate::limit::advice::MIN_MARGIN
const TARGET_RATE_ERROR: f64 = 0.025;

/// A limit measured from a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredLimit {
    /// The model.
    pub model: Model,
    /// Where it was read.
    pub basis: Basis,
    /// Sustained requests per second, over every token the run used (per token for headers).
    pub rate_per_s: f64,
    /// Relative standard error of the rate.
    pub rate_error: f64,
    /// Requests a rested limiter admits at once (window: its limit).
    pub burst: f64,
    /// The burst's standard error, requests.
    pub burst_error: f64,
    /// The window, seconds (fixed window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// The limit counts per token (the headers say so); a rate read from the run's traffic is
    /// that of all its tokens together.
    pub per_token: bool,
    /// First second (by start) the rate was read from.
    pub from_s: u32,
    /// Last second, inclusive.
    pub to_s: u32,
    /// Requests admitted in those seconds.
    pub admitted: u64,
    /// Share of those seconds that held a 429.
    pub saturation: f64,
    /// Requests started before the first 429.
    pub admitted_before_onset: f64,
}

impl MeasuredLimit {
    /// Seconds the rate was read over.
    pub fn seconds(&self) -> u32 {
        self.to_s + 1 - self.from_s
    }
}

/// Why a run gives no pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoAdviceReason {
    /// Nothing was recorded.
    NoTraffic,
    /// No 429: the limit is above what was sent.
    NotThrottled,
    /// Throttled for too few seconds to separate the burst from the sustained rate.
    TooShort,
    /// Throttled, but in too few of the seconds: the client did not keep the limiter busy.
    Unsaturated,
    /// Throttled long enough, but the rate varied too much to pace near it.
    TooRough,
    /// Nothing was admitted while throttled.
    NothingAdmitted,
    /// The 429s asked to wait far longer than a bucket refilling at the measured rate would: a
    /// window, or a penalty, that this run cannot size.
    LongRetryAfter,
}

/// No pace, why, and what run would give one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoAdvice {
    /// Why.
    pub reason: NoAdviceReason,
    /// Seconds from the first second with a 429 to the last, both included (0: none).
    pub throttled_s: u32,
    /// Seconds a run should stay throttled to give a pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_s: Option<u32>,
    /// The rate's relative error the run got, when it read one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_error: Option<f64>,
}

fn n(s: &Second, o: Outcome) -> u64 {
    s.by_outcome.get(&o).copied().unwrap_or(0)
}

/// The limit of `r`, or why it cannot be read. `first_429_s` is the onset's exact time.
pub fn measure(
    r: &RunResult,
    header: Option<&HeaderLimit>,
    tokens: u32,
) -> Result<MeasuredLimit, NoAdvice> {
    let tl = &r.timeline;
    let throttled: Vec<u32> = tl
        .iter()
        .filter(|s| n(s, Outcome::Throttled) > 0)
        .map(|s| s.t)
        .collect();
    let (Some(&t0), Some(&t1)) = (throttled.first(), throttled.last()) else {
        return Err(NoAdvice {
            reason: if r.totals.requests == 0 {
                NoAdviceReason::NoTraffic
            } else {
                NoAdviceReason::NotThrottled
            },
            throttled_s: 0,
            needed_s: None,
            rate_error: None,
        });
    };
    let at = r.totals.first_429_s.unwrap_or(f64::from(t0));
    let started_in = |s: &Second| s.started;
    let before: f64 = tl.iter().filter(|s| s.t < t0).map(started_in).sum::<u64>() as f64
        + tl.iter().find(|s| s.t == t0).map_or(0.0, |s| {
            s.started as f64 * (at - f64::from(t0)).clamp(0.0, 1.0)
        });
    if let Some(m) = from_headers(header, tokens, t0, t1, before) {
        return Ok(m);
    }
    let throttled_s = t1 + 1 - t0;
    if throttled_s < MIN_STRETCH_S + 2 {
        return Err(NoAdvice {
            reason: NoAdviceReason::TooShort,
            throttled_s,
            needed_s: Some(MIN_STRETCH_S + 2),
            rate_error: None,
        });
    }
    // By start: admitted = started − refused (a 429 answers in milliseconds, so in the second
    // its request started; over the stretch the sum is right whatever the latency).
    let secs: Vec<(u64, bool)> = ((t0 + 1)..t1)
        .map(|t| match tl.iter().find(|s| s.t == t) {
            Some(s) => {
                let thr = n(s, Outcome::Throttled);
                (s.started.saturating_sub(thr), thr > 0)
            }
            None => (0, false),
        })
        .collect();
    let admitted: u64 = secs.iter().map(|s| s.0).sum();
    let saturation = secs.iter().filter(|s| s.1).count() as f64 / secs.len() as f64;
    let seconds = secs.len() as f64;
    let rate = admitted as f64 / seconds;
    let rate_error = block_error(&secs.iter().map(|s| s.0).collect::<Vec<_>>(), admitted);
    let no = |reason, needed| NoAdvice {
        reason,
        throttled_s,
        needed_s: needed,
        rate_error: Some(rate_error),
    };
    if admitted == 0 {
        return Err(no(NoAdviceReason::NothingAdmitted, None));
    }
    if saturation < MIN_SATURATION {
        return Err(no(NoAdviceReason::Unsaturated, None));
    }
    if rate_error > MAX_RATE_ERROR {
        let needed = seconds * (rate_error / TARGET_RATE_ERROR).powi(2) + 2.0;
        return Err(no(
            NoAdviceReason::TooRough,
            Some(needed.ceil().min(3600.0) as u32),
        ));
    }
    let ra = super::limits::retry_after_seen(r);
    if ra.count > 0 && f64::from(ra.median_s) >= 5.0 / rate + 3.0 {
        return Err(no(NoAdviceReason::LongRetryAfter, None));
    }
    let (burst, span) = burst_before(r, t0, at, rate);
    Ok(MeasuredLimit {
        model: if queued(r, t0) {
            Model::Queue
        } else {
            Model::TokenBucket
        },
        basis: Basis::ThrottledStretch,
        rate_per_s: rate,
        rate_error,
        burst,
        burst_error: rate * rate_error * span + 1.0,
        window_s: None,
        per_token: false,
        from_s: t0 + 1,
        to_s: t1 - 1,
        admitted,
        saturation,
        admitted_before_onset: before,
    })
}

/// The burst: requests started before the first 429 (at `at`, in second `t0`) beyond `rate`,
/// since the second that maximises the excess (the limiter is full when the load stays under its
/// rate, and wastes its refill then), at least 1; and the seconds it was read over.
fn burst_before(r: &RunResult, t0: u32, at: f64, rate: f64) -> (f64, f64) {
    let mut started = r.timeline.iter().find(|s| s.t == t0).map_or(0.0, |s| {
        s.started as f64 * (at - f64::from(t0)).clamp(0.0, 1.0)
    });
    let first = at - f64::from(t0);
    let mut best = ((started - rate * first).max(1.0), first);
    for s in r.timeline.iter().rev().filter(|s| s.t < t0) {
        started += s.started as f64;
        let span = at - f64::from(s.t);
        if started - rate * span > best.0 {
            best = (started - rate * span, span);
        }
    }
    best
}

/// A fixed window named by the headers, when the 429s came where they said: the count reached
/// the allowance. Per token; `tokens` of them.
fn from_headers(
    h: Option<&HeaderLimit>,
    tokens: u32,
    t0: u32,
    t1: u32,
    before: f64,
) -> Option<MeasuredLimit> {
    let h = h.filter(|h| h.allowed > 0 && h.count_max >= h.allowed)?;
    let w = f64::from(h.window_s);
    Some(MeasuredLimit {
        model: Model::FixedWindow,
        basis: Basis::Headers,
        rate_per_s: f64::from(h.allowed) * f64::from(tokens.max(1)) / w,
        rate_error: 0.5 / w,
        burst: f64::from(h.allowed) * f64::from(tokens.max(1)),
        burst_error: 0.0,
        window_s: Some(w),
        per_token: true,
        from_s: t0,
        to_s: t1,
        admitted: h.count_max.into(),
        saturation: 1.0,
        admitted_before_onset: before,
    })
}

/// Relative standard error of the total of `per_second` counts: batch means over about four
/// blocks (at least 3 s each, so a request counted a second early or late moves little), never
/// below one request in `total`.
fn block_error(per_second: &[u64], total: u64) -> f64 {
    if total == 0 {
        return 1.0;
    }
    let floor = 1.0 / total as f64;
    let len = (per_second.len() / 4).max(3);
    let blocks: Vec<f64> = per_second
        .chunks(len)
        .filter(|c| c.len() == len)
        .map(|c| c.iter().sum::<u64>() as f64 / len as f64)
        .collect();
    if blocks.len() < 3 {
        return (1.0 / (total as f64).sqrt()).max(floor);
    }
    let k = blocks.len() as f64;
    let mean = blocks.iter().sum::<f64>() / k;
    if mean <= 0.0 {
        return 1.0;
    }
    let var = blocks.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (k - 1.0);
    (var.sqrt() / k.sqrt() / mean).max(floor)
}

/// True when the 2xx latency at least doubled (by half a second or more) between the run's
/// first seconds and the seconds before the first 429: requests waited in line.
fn queued(r: &RunResult, t0: u32) -> bool {
    let p50 = |s: &Second| s.latency.get(&Outcome::Success).map(|q| q.p50 as f64 / 1e6);
    let before: Vec<f64> = r
        .timeline
        .iter()
        .filter(|s| s.t < t0)
        .filter_map(p50)
        .collect();
    if before.len() < 4 {
        return false;
    }
    let k = (before.len() / 4).max(2);
    let early = before[..k].iter().sum::<f64>() / k as f64;
    let late = before[before.len() - k..].iter().sum::<f64>() / k as f64;
    late >= 2.0 * early && late - early >= 0.5
}
