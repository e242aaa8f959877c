//! `[on_429]`: what the client does when the server throttles. `none` is JMeter's behaviour
//! (a 429 is a failed sample); `retry_after` waits the header's time and retries; `backoff`
//! waits an exponential, fully jittered time; `pace` is a client-side token bucket shared by
//! every user (the "stay under the limit" answer), optionally combined with a retry policy.

use std::time::Duration;

use serde::Serialize;

use super::build::Checker;
use super::spec::{RawOn429, RawRate};

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

/// Client-side pacing: at most `per_second` requests a second from all users together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pace {
    /// The rate.
    pub per_second: f64,
    /// Indices of the paced requests (None: all).
    pub steps: Option<Vec<usize>>,
}

/// `[on_429]`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// The policy's name as written (`none`, `retry_after`, `backoff`, `pace`, `pace+retry_after` …).
    pub name: String,
    /// Retry behaviour.
    pub retry: Retry,
    /// Attempts in all, the first included.
    pub max_attempts: u16,
    /// Retry 503 as well as 429.
    pub also_503: bool,
    /// Client-side pacing.
    pub pace: Option<Pace>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "none".into(),
            retry: Retry::None,
            max_attempts: 1,
            also_503: false,
            pace: None,
        }
    }
}

impl Policy {
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
pub const MAX_PACE_PER_S: f64 = 1_000_000.0;

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
    let slowest = 1.0 / crate::duration::MAX.as_secs_f64();
    if v.is_finite() && v >= slowest && v <= MAX_PACE_PER_S {
        Ok(v)
    } else {
        Err(format!(
            "must be between one request per 720h and {MAX_PACE_PER_S}/s, got {v}/s"
        ))
    }
}

/// Checks `[on_429]` against the request labels.
pub(super) fn build_policy(
    c: &mut Checker<'_>,
    raw: Option<RawOn429>,
    labels: &[String],
) -> Policy {
    let Some(r) = raw else {
        return Policy::default();
    };
    let name = r.policy.clone().unwrap_or_else(|| "none".into());
    let kinds = ["none", "retry_after", "backoff", "pace"];
    if !kinds.contains(&name.as_str()) {
        c.err(
            "on_429.policy",
            format!("{name:?} is not one of: {}", kinds.join(", ")),
        );
    }
    let retry_name = if name == "pace" {
        r.retry.clone().unwrap_or_else(|| "none".into())
    } else {
        name.clone()
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
    let dur = |c: &mut Checker<'_>, f: &str, v: &Option<super::spec::RawDuration>, d: Duration| {
        c.duration(&format!("on_429.{f}"), v.as_ref(), d)
    };
    let cap = dur(c, "cap", &r.cap, Duration::from_secs(60));
    let retry = match retry_name.as_str() {
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
    };
    let stray = |c: &mut Checker<'_>, field: &str, set: bool, applies: &str| {
        if set {
            c.err(
                &format!("on_429.{field}"),
                format!("applies only to {applies}"),
            );
        }
    };
    let is_ra = matches!(retry, Retry::RetryAfter { .. });
    let is_bo = matches!(retry, Retry::Backoff { .. });
    stray(c, "fallback", r.fallback.is_some() && !is_ra, "retry_after");
    stray(
        c,
        "give_up_above",
        r.give_up_above.is_some() && !is_ra,
        "retry_after",
    );
    stray(c, "base", r.base.is_some() && !is_bo, "backoff");
    stray(
        c,
        "cap",
        r.cap.is_some() && !(is_ra || is_bo),
        "retry_after and backoff",
    );
    stray(c, "rate", r.rate.is_some() && name != "pace", "pace");
    stray(c, "labels", r.labels.is_some() && name != "pace", "pace");
    let max_attempts = match r.max_attempts {
        _ if matches!(retry, Retry::None) => {
            stray(
                c,
                "max_attempts",
                r.max_attempts.is_some(),
                "policies that retry",
            );
            1
        }
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
    let pace = if name == "pace" {
        let per_second = match &r.rate {
            Some(rate) => parse_rate(rate).unwrap_or_else(|e| {
                c.err("on_429.rate", e);
                1.0
            }),
            None => {
                c.err(
                    "on_429.rate",
                    "is required for policy = \"pace\": requests per second, or \"270/m\"",
                );
                1.0
            }
        };
        let steps = r.labels.as_ref().map(|ls| {
            ls.iter()
                .filter_map(|l| match labels.iter().position(|x| x == l) {
                    Some(i) => Some(i),
                    None => {
                        c.err("on_429.labels", format!("no [[request]] is named {l:?}"));
                        None
                    }
                })
                .collect()
        });
        Some(Pace { per_second, steps })
    } else {
        None
    };
    let full_name = if name == "pace" && retry_name != "none" {
        format!("pace+{retry_name}")
    } else {
        name
    };
    Policy {
        name: full_name,
        retry,
        max_attempts,
        also_503: r.also_503.unwrap_or(false),
        pace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ra(fallback: u64, cap: u64, give_up: Option<u64>, attempts: u16) -> Policy {
        Policy {
            name: "retry_after".into(),
            retry: Retry::RetryAfter {
                fallback: Duration::from_secs(fallback),
                cap: Duration::from_secs(cap),
                give_up_above: give_up.map(Duration::from_secs),
            },
            max_attempts: attempts,
            also_503: false,
            pace: None,
        }
    }

    #[test]
    fn retry_after_waits_table() {
        let p = ra(3, 60, Some(180), 3);
        let s = Duration::from_secs;
        // (attempt, Retry-After ms) → wait
        let table: &[(u16, Option<u32>, Option<Duration>)] = &[
            (1, Some(2_000), Some(s(2))),
            (1, Some(1_500), Some(Duration::from_millis(1_500))),
            (1, None, Some(s(3))),          // missing → fallback
            (1, Some(0), Some(s(3))),       // 0 (or a past HTTP-date) → fallback
            (2, Some(90_000), Some(s(60))), // clamped to the cap
            (2, Some(200_000), None),       // above give_up_above
            (3, Some(2_000), None),         // max attempts reached
        ];
        for (attempt, hdr, want) in table {
            assert_eq!(
                p.wait(*attempt, *hdr, 0.5),
                *want,
                "attempt {attempt}, Retry-After {hdr:?}"
            );
        }
        assert!(p.retries(429) && !p.retries(503) && !p.retries(500));
    }

    #[test]
    fn backoff_is_exponential_with_full_jitter_and_capped() {
        let p = Policy {
            name: "backoff".into(),
            retry: Retry::Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(10),
            },
            max_attempts: 10,
            also_503: true,
            pace: None,
        };
        assert_eq!(p.wait(1, None, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(p.wait(3, Some(100), 1.0), Some(Duration::from_secs(4)));
        assert_eq!(p.wait(6, None, 1.0), Some(Duration::from_secs(10)));
        assert_eq!(p.wait(3, None, 0.25), Some(Duration::from_secs(1)));
        assert_eq!(p.wait(3, None, 0.0), Some(Duration::ZERO));
        assert_eq!(p.wait(10, None, 0.5), None);
        assert!(p.retries(503));
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate(&RawRate::PerSecond(4.5)), Ok(4.5));
        assert_eq!(parse_rate(&RawRate::Text("270/m".into())), Ok(4.5));
        assert_eq!(parse_rate(&RawRate::Text("7200/h".into())), Ok(2.0));
        assert!(parse_rate(&RawRate::Text("fast".into())).is_err());
        assert!(parse_rate(&RawRate::PerSecond(0.0)).is_err());
        assert!(parse_rate(&RawRate::Text("3/d".into())).is_err());
    }
}
