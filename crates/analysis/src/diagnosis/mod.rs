//! The "429 diagnosis" as facts: when throttling began, at what load, which limits the server
//! named (in headers, in 429 bodies: [`limits`]), the Retry-After values, the limit the run
//! measured (its sustained rate read between 429s, its burst, how sure: [`measure`]), and the pace
//! that keeps under it with a stated margin, or why there is none and what run would tell
//! ([`crate::limit::advice`]). Numbers only, serializable, computed once from a
//! [`RunResult`] alone (so it works offline on any saved result), and stored in `result.json`
//! under `diagnosis`. The sentences are written from these facts by `report::diagnosis`, for the
//! terminal, `report.html`, `surge report` and `surge check` alike; this module writes no text.
//!
//! A new fact (e.g. the completion-time trend of transactions) is a field of [`Diagnosis`],
//! computed in its own file beside `limits.rs` and `measure.rs`, and phrased in one place in
//! `report::diagnosis` (its bullet list).
//!
//! ```
//! # use surge_analysis::diagnosis::diagnose;
//! # fn show(result: &surge_record::RunResult) {
//! let d = diagnose(result);
//! if let Some(o) = &d.onset {
//!     println!("first 429 at {} s, {} req/s", o.at_s, o.request_rate);
//! }
//! # }
//! ```

pub mod limits;
pub mod measure;

use serde::{Deserialize, Serialize};

pub use self::limits::{BodyLimit, BodyLimits, HeaderLimit, RetryAfterSeen};
pub use self::measure::{MeasuredLimit, NoAdvice, NoAdviceReason};
use crate::figures::Share;
use crate::limit::advice::{self, Advice, Measured};
use surge_record::result::{RunResult, Second};
use surge_record::Outcome;

/// Seconds before (and including) the onset second over which the onset request rate is read.
pub const ONSET_WINDOW_S: u32 = 5;

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
    /// Requests as callers saw them (retries counted once): the batch a pace is advised for.
    pub batch_requests: u64,
    /// The limit the run measured, when it could.
    pub measured: Option<MeasuredLimit>,
    /// The pace to re-run with, and why (`recommended_rate_per_s`, its burst or window, the
    /// margin, the basis), when the evidence supports one.
    pub advice: Option<Advice>,
    /// Why there is no pace, and what run would give one, when there is none.
    pub no_advice: Option<NoAdvice>,
    /// How the main transaction's time moved (when the plan has transactions): a queue behind
    /// the API shows as completion time rising while the 2xx stay fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<crate::transactions::CompletionTrend>,
    /// Why the plan's transactions give no trend, when they give none: too few succeeded
    /// (before the first 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_unread: Option<crate::transactions::TooFewEnds>,
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

fn tokens_used(r: &RunResult) -> Option<u32> {
    match r.plan.auth.kind {
        surge_record::meta::AuthKind::None => None,
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

/// The pace for what the run measured, or why there is none.
fn advise(
    d: &Diagnosis,
    m: Result<MeasuredLimit, NoAdvice>,
) -> (Option<MeasuredLimit>, Result<Advice, NoAdvice>) {
    let m = match m {
        Ok(m) => m,
        Err(no) => return (None, Err(no)),
    };
    let tokens = d.tokens_used.unwrap_or(1);
    let measured = Measured {
        model: m.model,
        rate_per_s: m.rate_per_s,
        rate_error: m.rate_error,
        burst: m.burst,
        burst_error: m.burst_error,
        window_s: m.window_s,
        per_token: m.per_token,
        tokens,
        penalty: false,
    };
    let a = advice::advise(&measured, m.basis, Some((d.batch_requests, tokens))).map_err(|_| {
        NoAdvice {
            reason: NoAdviceReason::TooRough,
            throttled_s: d.throttled_seconds,
            needed_s: None,
            rate_error: Some(m.rate_error),
        }
    });
    (Some(m), a)
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
        batch_requests: r.totals.finals().map_or(r.totals.requests, |f| f.requests),
        measured: None,
        advice: None,
        no_advice: None,
        completion: None,
        completion_unread: None,
    };
    match crate::transactions::completion_trend(r) {
        Ok(t) => d.completion = Some(t),
        Err(why) => d.completion_unread = why,
    }
    let m = measure::measure(r, d.header_limit.as_ref(), d.tokens_used.unwrap_or(1));
    let (measured, advice) = advise(&d, m);
    d.measured = measured;
    match advice {
        Ok(a) => d.advice = Some(a),
        Err(no) => d.no_advice = Some(no),
    }
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
    d.retry_after = Some(limits::retry_after_seen(r));
    d.onset = Some(o);
    d
}

#[cfg(test)]
pub(crate) mod tests;
