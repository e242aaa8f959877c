//! `[on_429]`: what the client does when the server throttles. `none` is JMeter's behaviour
//! (a 429 is a failed sample); `retry_after` waits the header's time and retries; `backoff`
//! waits an exponential, fully jittered time; `pace` is a client-side limit shaped like the
//! server's (a token bucket of a rate and a burst, or a fixed window; for all users or per token,
//! or read from a result's or `surge probe`'s recommendation with `rate = "from:FILE"`),
//! optionally combined with a retry policy; `adaptive` finds the pace while it runs (AIMD per
//! token, honouring Retry-After and the `inin-ratelimit-*` headers) and retries after
//! Retry-After.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::build::Checker;
use super::spec::{RawOn429, RawRate};
use surge_record::pace::{read_recommended, PaceShape};

/// How a throttled request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Retry {
    /// Never: the 429 is final.
    None,
    /// Wait the Retry-After time (clamped to `cap`), or `fallback` when it is missing or 0.
    RetryAfter {
        /// Wait when the header is missing, 0 or unusable (seconds).
        #[serde(with = "super::plan::secs")]
        fallback: Duration,
        /// Longest wait.
        #[serde(with = "super::plan::secs")]
        cap: Duration,
        /// Give up at once above this Retry-After.
        #[serde(with = "super::plan::opt_secs")]
        give_up_above: Option<Duration>,
    },
    /// Exponential backoff with full jitter: uniform in `[0, min(cap, base × 2^(n-1))]`.
    Backoff {
        /// First wait's upper bound.
        #[serde(with = "super::plan::secs")]
        base: Duration,
        /// Longest wait.
        #[serde(with = "super::plan::secs")]
        cap: Duration,
    },
}

/// Client-side pacing: a token bucket of `per_second` and `burst`, or with `window` at most `burst`
/// requests per window; one for all users together, or one per token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pace {
    /// The sustained rate, requests per second (a window's: `burst / window`).
    pub per_second: f64,
    /// Requests that may go at once (1: evenly spaced), or the window's count.
    pub burst: u32,
    /// A fixed window opening at the first request, instead of a bucket.
    #[serde(with = "super::plan::opt_secs")]
    pub window: Option<Duration>,
    /// One pacer per token (user `u` uses token `u mod tokens`).
    pub per_token: bool,
    /// At most this many paced requests in flight at once (per token when `per_token`); with
    /// it, `per_second` 0 means no rate bound.
    pub max_in_flight: Option<u32>,
    /// Indices of the paced requests (None: all).
    pub steps: Option<Vec<usize>>,
    /// The file the pace was read from (`rate = "from:FILE"`, `--pace-from FILE`).
    pub from: Option<PathBuf>,
}

impl Pace {
    /// A pace of the shape a file recommends.
    pub fn from_shape(shape: &PaceShape, from: &Path, steps: Option<Vec<usize>>) -> Pace {
        Pace {
            per_second: shape.rate_per_s,
            burst: shape.burst.max(1),
            // Checked by `PaceShape::check` when read; saturating so no shape can panic here.
            window: shape.window_s.map(surge_record::duration::saturating_secs),
            per_token: shape.per_token,
            max_in_flight: shape.max_in_flight,
            steps,
            from: Some(from.to_path_buf()),
        }
    }
}

/// The adaptive policy's knobs: AIMD per token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adaptive {
    /// The rate to start from, requests per second per token; it doubles each second of 2xx
    /// answers until the first 429 (or headers near exhaustion).
    pub start_rate: f64,
    /// After that, each second of 2xx answers adds this share of the rate at the last 429.
    pub increase: f64,
    /// A 429 multiplies the rate by this.
    pub decrease: f64,
    /// Indices of the requests it gates (None: all).
    pub steps: Option<Vec<usize>>,
}

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            start_rate: 1.0,
            increase: 0.05,
            decrease: 0.5,
            steps: None,
        }
    }
}

/// `[on_429]`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// The policy's name as written (`none`, `retry_after`, `backoff`, `pace`, `pace+retry_after`,
    /// `adaptive` …).
    pub name: String,
    /// Retry behaviour.
    pub retry: Retry,
    /// Attempts in all, the first included.
    pub max_attempts: u16,
    /// Retry 503 as well as 429.
    pub also_503: bool,
    /// Client-side pacing.
    pub pace: Option<Pace>,
    /// Adaptive pacing (`policy = "adaptive"`).
    pub adaptive: Option<Adaptive>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "none".into(),
            retry: Retry::None,
            max_attempts: 1,
            also_503: false,
            pace: None,
            adaptive: None,
        }
    }
}

impl Policy {
    /// This policy paced by a recommended `shape` read from `from` (`--pace-from`): the pace
    /// replaces any pace or adaptive policy; a retry policy stays as the pace's safety net, and
    /// one that did not retry gets `retry_after` (10 attempts) in case a 429 still comes.
    pub fn paced_from(mut self, shape: &PaceShape, from: &Path) -> Policy {
        let steps = self
            .pace
            .as_ref()
            .and_then(|p| p.steps.clone())
            .or(self.adaptive.take().and_then(|a| a.steps));
        if matches!(self.retry, Retry::None) {
            self.retry = Retry::RetryAfter {
                fallback: Duration::from_secs(3),
                cap: Duration::from_secs(60),
                give_up_above: None,
            };
            self.max_attempts = 10;
        }
        let retry_name = match self.retry {
            Retry::None => "none",
            Retry::RetryAfter { .. } => "retry_after",
            Retry::Backoff { .. } => "backoff",
        };
        self.name = format!("pace+{retry_name}");
        self.pace = Some(Pace::from_shape(shape, from, steps));
        self
    }

    /// Does `status` call for a retry under this policy?
    pub fn retries(&self, status: u16) -> bool {
        !matches!(self.retry, Retry::None) && (status == 429 || (self.also_503 && status == 503))
    }

    /// How long to wait before attempt `attempt + 1` after a throttled attempt `attempt`, or
    /// None to give up. `jitter` is a uniform draw in [0, 1).
    pub fn wait(&self, attempt: u16, retry_after_ms: Option<u32>, jitter: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match self.retry {
            Retry::None => None,
            Retry::RetryAfter {
                fallback,
                cap,
                give_up_above,
            } => {
                let ra = retry_after_ms.map(|ms| Duration::from_millis(u64::from(ms)));
                if let (Some(ra), Some(limit)) = (ra, give_up_above) {
                    if ra > limit {
                        return None;
                    }
                }
                Some(ra.filter(|d| !d.is_zero()).unwrap_or(fallback).min(cap))
            }
            Retry::Backoff { base, cap } => {
                let exp = base.saturating_mul(1u32 << u32::from(attempt.saturating_sub(1)).min(30));
                Some(exp.min(cap).mul_f64(jitter.clamp(0.0, 1.0)))
            }
        }
    }
}

/// The fastest client-side pace surge takes, per second (one request per microsecond).
pub use surge_record::pace::MAX_PACE_PER_S;

/// Parses `4.5`, `"4.5/s"`, `"270/m"`, `"10000/h"` into requests per second.
pub fn parse_rate(r: &RawRate) -> Result<f64, String> {
    let v = match r {
        RawRate::PerSecond(v) => *v,
        RawRate::Text(t) => {
            let (n, unit) = t.split_once('/').unwrap_or((t.as_str(), "s"));
            let n: f64 = n.trim().parse().map_err(|_| {
                format!("{t:?} is not a rate; write e.g. 4.5, \"4.5/s\", \"270/m\"")
            })?;
            let per = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                u => return Err(format!("unknown rate unit {u:?}; use /s, /m or /h")),
            };
            n / per
        }
    };
    let slowest = 1.0 / surge_record::duration::MAX.as_secs_f64();
    if v.is_finite() && v >= slowest && v <= MAX_PACE_PER_S {
        Ok(v)
    } else {
        Err(format!(
            "must be between one request per 720h and {MAX_PACE_PER_S}/s, got {v}/s"
        ))
    }
}

/// The policies `[on_429] policy` may name.
const POLICIES: [&str; 5] = ["none", "retry_after", "backoff", "pace", "adaptive"];

/// Checks `[on_429]` against the request labels; `base_dir` locates `rate = "from:FILE"`.
pub(super) fn build_policy(
    c: &mut Checker<'_>,
    raw: Option<RawOn429>,
    labels: &[String],
    base_dir: &Path,
) -> Policy {
    let Some(r) = raw else {
        return Policy::default();
    };
    let name = r.policy.clone().unwrap_or_else(|| "none".into());
    if !POLICIES.contains(&name.as_str()) {
        c.err(
            "on_429.policy",
            format!("{name:?} is not one of: {}", POLICIES.join(", ")),
        );
    }
    let retry_name = match name.as_str() {
        "pace" => r.retry.clone().unwrap_or_else(|| "none".into()),
        // Adaptive honours Retry-After: it waits it out, and so do the token's other users.
        "adaptive" => "retry_after".into(),
        _ => name.clone(),
    };
    if name != "pace" && r.retry.is_some() {
        c.err(
            "on_429.retry",
            "applies only to policy = \"pace\" (the retry policy combined with pacing)",
        );
    }
    if !["none", "retry_after", "backoff"].contains(&retry_name.as_str()) && name == "pace" {
        c.err(
            "on_429.retry",
            format!("{retry_name:?} is not one of: none, retry_after, backoff"),
        );
    }
    let retry = build_retry(c, &r, &retry_name);
    stray_fields(c, &r, &name, &retry);
    let max_attempts = match r.max_attempts {
        _ if matches!(retry, Retry::None) => {
            if r.max_attempts.is_some() {
                c.err("on_429.max_attempts", "applies only to policies that retry");
            }
            1
        }
        None if name == "adaptive" => 10,
        None => 5,
        Some(n) if (1..=100).contains(&n) => n as u16,
        Some(n) => {
            c.err(
                "on_429.max_attempts",
                format!("must be between 1 and 100, got {n}"),
            );
            5
        }
    };
    let steps = (name == "pace" || name == "adaptive")
        .then(|| build_steps(c, r.labels.as_deref(), labels))
        .flatten();
    let pace = (name == "pace").then(|| build_pace(c, &r, steps.clone(), base_dir));
    let adaptive = (name == "adaptive").then(|| Adaptive {
        steps: steps.clone(),
        ..build_adaptive(c, &r)
    });
    let full_name = if name == "pace" && retry_name != "none" {
        format!("pace+{retry_name}")
    } else {
        name.clone()
    };
    Policy {
        name: full_name,
        retry,
        max_attempts,
        also_503: r.also_503.unwrap_or(false),
        pace,
        adaptive,
    }
}

fn build_retry(c: &mut Checker<'_>, r: &RawOn429, retry_name: &str) -> Retry {
    let dur = |c: &mut Checker<'_>, f: &str, v: &Option<super::spec::RawDuration>, d: Duration| {
        c.duration(&format!("on_429.{f}"), v.as_ref(), d)
    };
    let cap = dur(c, "cap", &r.cap, Duration::from_secs(60));
    match retry_name {
        "retry_after" => Retry::RetryAfter {
            fallback: dur(c, "fallback", &r.fallback, Duration::from_secs(3)),
            cap,
            give_up_above: r
                .give_up_above
                .as_ref()
                .map(|g| c.duration("on_429.give_up_above", Some(g), Duration::ZERO)),
        },
        "backoff" => {
            let base = dur(c, "base", &r.base, Duration::from_secs(1));
            if base.is_zero() {
                c.err("on_429.base", "must be longer than 0s");
            }
            Retry::Backoff { base, cap }
        }
        _ => Retry::None,
    }
}

/// Fields written for a policy they do not belong to.
fn stray_fields(c: &mut Checker<'_>, r: &RawOn429, name: &str, retry: &Retry) {
    let is_ra = matches!(retry, Retry::RetryAfter { .. });
    let is_bo = matches!(retry, Retry::Backoff { .. });
    let (pace, adaptive) = (name == "pace", name == "adaptive");
    let checks: [(&str, bool, bool, &str); 12] = [
        (
            "fallback",
            r.fallback.is_some(),
            is_ra,
            "retry_after and adaptive",
        ),
        (
            "give_up_above",
            r.give_up_above.is_some(),
            is_ra,
            "retry_after and adaptive",
        ),
        ("base", r.base.is_some(), is_bo, "backoff"),
        (
            "cap",
            r.cap.is_some(),
            is_ra || is_bo,
            "retry_after, backoff and adaptive",
        ),
        (
            "rate",
            r.rate.is_some(),
            pace || adaptive,
            "pace and adaptive",
        ),
        (
            "labels",
            r.labels.is_some(),
            pace || adaptive,
            "pace and adaptive",
        ),
        ("burst", r.burst.is_some(), pace, "pace"),
        ("window", r.window.is_some(), pace, "pace"),
        ("per_token", r.per_token.is_some(), pace, "pace"),
        ("max_in_flight", r.max_in_flight.is_some(), pace, "pace"),
        ("increase", r.increase.is_some(), adaptive, "adaptive"),
        ("decrease", r.decrease.is_some(), adaptive, "adaptive"),
    ];
    for (field, set, applies, to) in checks {
        if set && !applies {
            c.err(&format!("on_429.{field}"), format!("applies only to {to}"));
        }
    }
}

fn build_steps(
    c: &mut Checker<'_>,
    want: Option<&[String]>,
    labels: &[String],
) -> Option<Vec<usize>> {
    want.map(|ls| {
        ls.iter()
            .filter_map(|l| match labels.iter().position(|x| x == l) {
                Some(i) => Some(i),
                None => {
                    c.err("on_429.labels", format!("no [[request]] is named {l:?}"));
                    None
                }
            })
            .collect()
    })
}

/// `rate`, `burst`, `window`, `per_token`; or `rate = "from:FILE"`, which brings them all.
fn build_pace(
    c: &mut Checker<'_>,
    r: &RawOn429,
    steps: Option<Vec<usize>>,
    base_dir: &Path,
) -> Pace {
    if let Some(RawRate::Text(t)) = &r.rate {
        if let Some(file) = t.strip_prefix("from:") {
            for (f, set) in [
                ("burst", r.burst.is_some()),
                ("window", r.window.is_some()),
                ("per_token", r.per_token.is_some()),
                ("max_in_flight", r.max_in_flight.is_some()),
            ] {
                if set {
                    c.err(
                        &format!("on_429.{f}"),
                        "comes from the file on_429.rate names; leave it out",
                    );
                }
            }
            let path = base_dir.join(file.trim());
            return match read_recommended(&path) {
                Ok(shape) => Pace::from_shape(&shape, &path, steps),
                Err(e) => {
                    c.err("on_429.rate", e.to_string());
                    Pace::from_shape(&FALLBACK, &path, steps)
                }
            };
        }
    }
    let max_in_flight = r.max_in_flight.and_then(|n| {
        if (1..=1_000_000).contains(&n) {
            Some(n as u32)
        } else {
            c.err(
                "on_429.max_in_flight",
                format!("must be between 1 and 1000000, got {n}"),
            );
            None
        }
    });
    let per_second = match &r.rate {
        Some(rate) => parse_rate(rate).unwrap_or_else(|e| {
            c.err("on_429.rate", e);
            1.0
        }),
        // A bound on requests in flight alone: no rate.
        None if r.max_in_flight.is_some() => 0.0,
        None => {
            c.err(
                "on_429.rate",
                "is required for policy = \"pace\" (unless max_in_flight is given): requests per second, \"270/m\", or \"from:result.json\"",
            );
            1.0
        }
    };
    let window = r
        .window
        .as_ref()
        .map(|w| c.duration("on_429.window", Some(w), Duration::from_secs(60)));
    if window.is_some_and(|w| w.is_zero()) {
        c.err("on_429.window", "must be longer than 0s");
    }
    let burst = match (r.burst, window) {
        (Some(b), _) if !(1..=1_000_000).contains(&b) => {
            c.err(
                "on_429.burst",
                format!("must be between 1 and 1000000, got {b}"),
            );
            1
        }
        (Some(_), Some(_)) => {
            c.err(
                "on_429.burst",
                "a window's count is rate × window; leave burst out with window",
            );
            1
        }
        (Some(b), None) => b as u32,
        // A window admits its whole count at once.
        (None, Some(w)) => (per_second * w.as_secs_f64()).floor().max(1.0) as u32,
        (None, None) => 1,
    };
    Pace {
        per_second,
        burst,
        window,
        per_token: r.per_token.unwrap_or(false),
        max_in_flight,
        steps,
        from: None,
    }
}

/// What a broken `from:` stands in with, so checking goes on to report every problem.
const FALLBACK: PaceShape = PaceShape {
    rate_per_s: 1.0,
    burst: 1,
    window_s: None,
    per_token: false,
    max_in_flight: None,
};

fn build_adaptive(c: &mut Checker<'_>, r: &RawOn429) -> Adaptive {
    let d = Adaptive::default();
    let start_rate = match &r.rate {
        Some(RawRate::Text(t)) if t.starts_with("from:") => {
            c.err(
                "on_429.rate",
                "from: applies to policy = \"pace\"; adaptive starts from a rate",
            );
            d.start_rate
        }
        Some(rate) => parse_rate(rate).unwrap_or_else(|e| {
            c.err("on_429.rate", e);
            d.start_rate
        }),
        None => d.start_rate,
    };
    let share = |c: &mut Checker<'_>, f: &str, v: Option<f64>, def: f64| match v {
        None => def,
        Some(x) if x > 0.0 && x < 1.0 => x,
        Some(x) => {
            c.err(
                &format!("on_429.{f}"),
                format!("must be between 0 and 1 (exclusive), got {x}"),
            );
            def
        }
    };
    Adaptive {
        start_rate,
        increase: share(c, "increase", r.increase, d.increase),
        decrease: share(c, "decrease", r.decrease, d.decrease),
        steps: None,
    }
}

#[cfg(test)]
mod tests;
