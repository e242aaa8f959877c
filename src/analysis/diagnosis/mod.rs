//! The "429 diagnosis" as facts: when throttling began, at what load, which limits the server
//! named (in headers, in 429 bodies), the Retry-After values, what it still admitted while
//! throttling, and the pace that follows. Numbers only, serializable, computed once from a
//! [`RunResult`] alone (so it works offline on any saved result). The sentences are written from
//! these facts by `report::diagnosis`, for the terminal, `report.html` and `surge report` alike;
//! this module writes no text.
//!
//! ```
//! # use surge::analysis::diagnosis::diagnose;
//! # fn show(result: &surge::record::RunResult) {
//! let d = diagnose(result);
//! if let Some(o) = &d.onset {
//!     println!("first 429 at {} s, {} req/s", o.at_s, o.request_rate);
//! }
//! # }
//! ```

pub mod limits;

use serde::{Deserialize, Serialize};

pub use self::limits::{BodyLimit, BodyLimits, HeaderLimit, RetryAfterSeen};
use crate::analysis::figures::Share;
use crate::record::result::{RunResult, Second};
use crate::record::Outcome;

/// Seconds before (and including) the onset second over which the onset request rate is read.
pub const ONSET_WINDOW_S: u32 = 5;
/// Share of a named limit the recommendation leaves unused, as headroom for clock skew and
/// bursts between the client's and the server's windows.
pub const HEADROOM: f64 = 0.05;
/// A throttled span shorter than this gives only a rough capacity figure.
pub const SHORT_SPAN_S: f64 = 3.0;

/// What the run shows about throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing was recorded.
    NoTraffic,
    /// Responses, but no 429.
    NotThrottled,
    /// At least one 429.
    Throttled,
}

/// When the first 429 came, and the load at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onset {
    /// Seconds from the start to the first 429's response.
    pub at_s: f64,
    /// The timeline second that holds it.
    pub second: u32,
    /// Attempts started per second over the onset window (up to [`ONSET_WINDOW_S`] seconds
    /// ending with the onset second).
    pub request_rate: f64,
    /// Length of that window, seconds.
    pub window_s: u32,
    /// Users active in the onset second.
    pub concurrency: u32,
    /// Responses completed in the seconds before the onset second.
    pub responses_before: u64,
}

/// The 2xx rate the server sustained while it was throttling: the effective capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// 2xx responses over the throttled span.
    pub ok: u64,
    /// 2xx responses per second over the throttled span.
    pub ok_per_s: f64,
    /// Start of the span (the onset second), seconds.
    pub from_s: f64,
    /// End of the span (end of the last second with a 429, or the run's end), seconds.
    pub to_s: f64,
}

impl Capacity {
    /// Length of the span, seconds.
    pub fn span_s(&self) -> f64 {
        self.to_s - self.from_s
    }
}

/// Where the recommended pace comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The limit named in the rate-limit headers.
    Headers,
    /// The measured effective capacity (no header named a rate).
    Measured,
}

/// A concrete pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Pace at or below this many requests per second (all tokens together).
    pub pace_per_s: f64,
    /// Where the figure comes from.
    pub basis: Basis,
    /// The share of the named limit left unused ([`HEADROOM`] for [`Basis::Headers`], 0 else).
    pub headroom: f64,
    /// The pace per token, for [`Basis::Headers`].
    pub per_token_pace: Option<f64>,
    /// Tokens needed to send the onset rate within the named per-token limit, when more than
    /// the run used.
    pub tokens_needed: Option<u32>,
}

/// Which limits the server named, in one word: the one fact every phrasing of "limit named" reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitNamed {
    /// Neither headers nor 429 bodies named a limit.
    Nowhere,
    /// Only `inin-ratelimit-*` headers (with a rate).
    Headers,
    /// Only 429 bodies (a name, no rate).
    Bodies,
    /// Both.
    Both,
}

/// The whole diagnosis: numbers a test can hold and a phrasing can only read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// Attempts recorded.
    pub requests: u64,
    /// 429 responses.
    pub throttled: u64,
    /// The first 429, when there was one.
    pub onset: Option<Onset>,
    /// 429s among the responses completed before the onset second.
    pub before_onset: Option<Share>,
    /// 429s among the responses completed from the onset second on.
    pub from_onset: Option<Share>,
    /// Seconds that held at least one 429.
    pub throttled_seconds: u32,
    /// Highest attempts started in one second.
    pub peak_rate: f64,
    /// Most users active at once.
    pub peak_users: u32,
    /// Retry-After values, when any 429 came.
    pub retry_after: Option<RetryAfterSeen>,
    /// The limit named in rate-limit headers, when the server sent them.
    pub header_limit: Option<HeaderLimit>,
    /// The limits named in 429 bodies.
    pub body_limits: BodyLimits,
    /// Tokens the run spread its users over (OAuth client credentials: the plan's `tokens`; a
    /// fixed bearer token: 1; no auth: none).
    pub tokens_used: Option<u32>,
    /// The effective capacity while throttled.
    pub capacity: Option<Capacity>,
    /// What to do; None when the data gives no safe pace.
    pub recommendation: Option<Recommendation>,
    /// How the main transaction's time moved (when the plan has transactions): a queue behind
    /// the API shows as completion time rising while the 2xx stay fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<crate::analysis::transactions::CompletionTrend>,
}

impl Diagnosis {
    /// Where a limit was named.
    pub fn limit_named(&self) -> LimitNamed {
        match (
            self.header_limit.is_some(),
            !self.body_limits.named.is_empty(),
        ) {
            (false, false) => LimitNamed::Nowhere,
            (true, false) => LimitNamed::Headers,
            (false, true) => LimitNamed::Bodies,
            (true, true) => LimitNamed::Both,
        }
    }
}

fn n(s: &Second, o: Outcome) -> u64 {
    s.by_outcome.get(&o).copied().unwrap_or(0)
}

/// Rounds down to two significant digits (4.75 → 4.7, 123 → 120), so "≤ X" stays true.
pub fn floor_2sig(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 0.0;
    }
    let mag = 10f64.powf(v.log10().floor() - 1.0);
    // A tiny epsilon keeps exact values (4.7 / 0.1 = 46.999…) from dropping a step.
    let x = ((v / mag) + 1e-9).floor() * mag;
    (x * 1e6).round() / 1e6
}

fn tokens_used(r: &RunResult) -> Option<u32> {
    match r.plan.auth.kind {
        crate::record::meta::AuthKind::None => None,
        _ => Some(r.plan.auth.tokens.max(1)),
    }
}

/// 429s among the responses of `rows`; None when there were no responses.
fn share_429<'a>(rows: impl Iterator<Item = &'a Second>) -> Option<Share> {
    let (mut thr, mut all) = (0u64, 0u64);
    for s in rows {
        thr += n(s, Outcome::Throttled);
        all += s.completed;
    }
    (all > 0).then_some(Share::new(thr, all))
}

fn onset(r: &RunResult) -> Onset {
    let tl = &r.timeline;
    let first_row = tl
        .iter()
        .find(|s| n(s, Outcome::Throttled) > 0)
        .map(|s| s.t);
    let at_s = r
        .totals
        .first_429_s
        .unwrap_or_else(|| f64::from(first_row.unwrap_or(0)));
    let t0 = first_row.unwrap_or(at_s.floor() as u32);
    let lo = t0.saturating_sub(ONSET_WINDOW_S - 1);
    let window_s = t0 - lo + 1;
    let started: u64 = tl
        .iter()
        .filter(|s| s.t >= lo && s.t <= t0)
        .map(|s| s.started)
        .sum();
    Onset {
        at_s,
        second: t0,
        request_rate: started as f64 / f64::from(window_s),
        window_s,
        concurrency: tl.iter().find(|s| s.t == t0).map_or(0, |s| s.active_users),
        responses_before: tl.iter().filter(|s| s.t < t0).map(|s| s.completed).sum(),
    }
}

/// The throttled span: the onset second to the end of the last second with a 429.
fn capacity(r: &RunResult, t0: u32) -> Capacity {
    let tl = &r.timeline;
    let t1 = tl
        .iter()
        .filter(|s| n(s, Outcome::Throttled) > 0)
        .map(|s| s.t)
        .max()
        .unwrap_or(t0);
    let from_s = f64::from(t0);
    let run_end = r.duration_s.max(from_s);
    let to_s = (f64::from(t1) + 1.0).min(run_end.max(from_s + 1e-3));
    let ok: u64 = tl
        .iter()
        .filter(|s| s.t >= t0 && s.t <= t1)
        .map(|s| n(s, Outcome::Success))
        .sum();
    Capacity {
        ok,
        ok_per_s: ok as f64 / (to_s - from_s).max(1e-3),
        from_s,
        to_s,
    }
}

fn recommend(
    limit: Option<&HeaderLimit>,
    tokens: Option<u32>,
    onset: &Onset,
    capacity: &Capacity,
) -> Option<Recommendation> {
    match limit {
        Some(l) => {
            let per_token = l.per_token_rate * (1.0 - HEADROOM);
            let pace = floor_2sig(per_token * f64::from(tokens.unwrap_or(1)));
            let need = (onset.request_rate / per_token.max(1e-9)).ceil().max(1.0) as u32;
            Some(Recommendation {
                pace_per_s: pace,
                basis: Basis::Headers,
                headroom: HEADROOM,
                per_token_pace: Some(floor_2sig(per_token)),
                tokens_needed: (need > tokens.unwrap_or(1)).then_some(need),
            })
        }
        None if capacity.ok_per_s > 0.0 => Some(Recommendation {
            pace_per_s: floor_2sig(capacity.ok_per_s),
            basis: Basis::Measured,
            headroom: 0.0,
            per_token_pace: None,
            tokens_needed: None,
        }),
        None => None,
    }
}

/// Computes the diagnosis of a run.
pub fn diagnose(r: &RunResult) -> Diagnosis {
    let tl = &r.timeline;
    let throttled = r.outcome_count(Outcome::Throttled);
    let mut d = Diagnosis {
        verdict: Verdict::NoTraffic,
        requests: r.totals.requests,
        throttled,
        onset: None,
        before_onset: None,
        from_onset: None,
        throttled_seconds: tl.iter().filter(|s| n(s, Outcome::Throttled) > 0).count() as u32,
        peak_rate: tl.iter().map(|s| s.started).max().unwrap_or(0) as f64,
        peak_users: tl.iter().map(|s| s.active_users).max().unwrap_or(0),
        retry_after: None,
        header_limit: limits::header_limit(r),
        body_limits: limits::body_limits(r, throttled),
        tokens_used: tokens_used(r),
        capacity: None,
        recommendation: None,
        completion: crate::analysis::transactions::completion_trend(r),
    };
    if d.requests == 0 {
        return d;
    }
    if throttled == 0 {
        d.verdict = Verdict::NotThrottled;
        return d;
    }
    d.verdict = Verdict::Throttled;
    let o = onset(r);
    d.before_onset = share_429(tl.iter().filter(|s| s.t < o.second));
    d.from_onset = share_429(tl.iter().filter(|s| s.t >= o.second));
    let c = capacity(r, o.second);
    d.recommendation = recommend(d.header_limit.as_ref(), d.tokens_used, &o, &c);
    d.retry_after = Some(limits::retry_after_seen(r));
    d.onset = Some(o);
    d.capacity = Some(c);
    d
}

#[cfg(test)]
pub(crate) mod tests;
