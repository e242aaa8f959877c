//! The limits a server named, read from a result: in its `inin-ratelimit-*` headers, in its 429
//! bodies (`limit` {namespace, key}), and the Retry-After values its 429s carried.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use surge_record::result::RunResult;

/// A limit the server named in its `inin-ratelimit-*` headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderLimit {
    /// `inin-ratelimit-allowed` (the value seen in most seconds).
    pub allowed: u32,
    /// Every distinct `allowed` value seen, ascending.
    pub allowed_values: Vec<u32>,
    /// Highest `inin-ratelimit-count` seen.
    pub count_max: u32,
    /// Largest per-second `inin-ratelimit-reset` seen, seconds.
    pub reset_max_s: u32,
    /// The window the limit counts over, seconds. The headers do not say it: it is 60 (Genesys
    /// documents its limits per minute) unless a reset longer than a minute was seen.
    pub window_s: u32,
    /// True when `window_s` was assumed (no reset longer than a minute was seen).
    pub window_assumed: bool,
    /// `allowed / window_s`: requests per second per token.
    pub per_token_rate: f64,
    /// Responses that carried the headers.
    pub responses: u64,
}

impl HeaderLimit {
    /// Share of the allowance the count reached (0 when nothing is allowed).
    pub fn used(&self) -> f64 {
        if self.allowed == 0 {
            0.0
        } else {
            f64::from(self.count_max) / f64::from(self.allowed)
        }
    }
}

/// One limit named in 429 bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyLimit {
    /// `namespace/key` as the body named it.
    pub key: String,
    /// 429s that named it.
    pub count: u64,
}

/// What the 429 bodies named.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BodyLimits {
    /// Limits named, most 429s first (ties by key).
    pub named: Vec<BodyLimit>,
    /// 429s whose body named none.
    pub unnamed: u64,
    /// A named limit is a HYPOTHESIS model of the built-in mock, not a documented limit.
    pub hypothesis: bool,
}

impl BodyLimits {
    /// The limit most 429 bodies named.
    pub fn top(&self) -> Option<&BodyLimit> {
        self.named.first()
    }
}

/// The Retry-After values the 429s carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryAfterSeen {
    /// 429s that carried a usable value.
    pub count: u64,
    /// 429s that carried none.
    pub without: u64,
    /// Smallest value, seconds.
    pub min_s: u32,
    /// Median value, seconds.
    pub median_s: u32,
    /// Largest value, seconds.
    pub max_s: u32,
    /// Every value (whole seconds, rounded up) → 429s that carried it.
    pub values: BTreeMap<u32, u64>,
}

/// The limit named in rate-limit headers, when any response carried them.
pub fn header_limit(r: &RunResult) -> Option<HeaderLimit> {
    let mut by_allowed: BTreeMap<u32, u32> = BTreeMap::new();
    let (mut count_max, mut reset_max_s, mut responses) = (0, 0, 0);
    for rl in r
        .timeline
        .iter()
        .filter_map(|s| s.rate_limit)
        .filter(|l| l.responses > 0)
    {
        responses += rl.responses;
        if rl.allowed > 0 {
            *by_allowed.entry(rl.allowed).or_default() += 1;
        }
        count_max = count_max.max(rl.count_max);
        if rl.reset_min != u32::MAX {
            reset_max_s = reset_max_s.max(rl.reset_min);
        }
    }
    // The mode; on a tie, the smaller (the binding) limit.
    let allowed = by_allowed
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(a, _)| *a)?;
    let window_assumed = reset_max_s <= 60;
    let window_s = if window_assumed {
        60
    } else {
        reset_max_s.div_ceil(60) * 60
    };
    Some(HeaderLimit {
        allowed,
        allowed_values: by_allowed.keys().copied().collect(),
        count_max,
        reset_max_s,
        window_s,
        window_assumed,
        per_token_rate: f64::from(allowed) / f64::from(window_s),
        responses,
    })
}

/// What the 429 bodies named, of `throttled` 429s.
pub fn body_limits(r: &RunResult, throttled: u64) -> BodyLimits {
    let by = &r.totals.throttled_by_limit;
    let mut named: Vec<BodyLimit> = by
        .iter()
        .map(|(k, n)| BodyLimit {
            key: k.clone(),
            count: *n,
        })
        .collect();
    named.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    let total: u64 = by.values().sum();
    BodyLimits {
        hypothesis: named.iter().any(|l| l.key.contains("HYPOTHESIS")),
        named,
        unnamed: throttled.saturating_sub(total),
    }
}

/// The Retry-After values of the run.
pub fn retry_after_seen(r: &RunResult) -> RetryAfterSeen {
    let t = &r.totals;
    let count: u64 = t.retry_after.values().sum();
    let (mut min_s, mut max_s, mut median_s) = (0, 0, 0);
    if count > 0 {
        min_s = *t.retry_after.keys().next().unwrap_or(&0);
        max_s = *t.retry_after.keys().next_back().unwrap_or(&0);
        let half = count.div_ceil(2);
        let mut seen = 0;
        for (v, c) in &t.retry_after {
            seen += c;
            if seen >= half {
                median_s = *v;
                break;
            }
        }
    }
    RetryAfterSeen {
        count,
        without: t.throttled_without_retry_after,
        min_s,
        median_s,
        max_s,
        values: t.retry_after.clone(),
    }
}
