//! The "429 diagnosis": when throttling began, at what load, which limit the server named, what
//! it still admitted while throttling, and what pace to use instead. Computed from a
//! [`RunResult`] alone, so it works offline on any saved result; it says plainly what the data
//! cannot tell.
//!
//! ```
//! # use surge::analysis::diagnosis::diagnose;
//! # fn show(result: &surge::record::RunResult) {
//! let d = diagnose(result);
//! for line in &d.lines {
//!     println!("{line}");
//! }
//! # }
//! ```

use serde::Serialize;

use crate::record::result::{RunResult, Second};
use crate::record::Outcome;

/// Seconds before (and including) the onset second over which the onset request rate is read.
pub const ONSET_WINDOW_S: u32 = 5;
/// Share of a named limit the recommendation leaves unused, as headroom for clock skew and
/// bursts between the client's and the server's windows.
pub const HEADROOM: f64 = 0.05;

/// What the run shows about throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// The Retry-After values the 429s carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// A limit the server named in its `inin-ratelimit-*` headers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedLimit {
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
    /// `allowed / window_s`: requests per second per token.
    pub per_token_rate: f64,
    /// Responses that carried the headers.
    pub responses: u64,
}

/// The 2xx rate the server sustained while it was throttling: the effective capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// 2xx responses per second over the throttled span.
    pub ok_per_s: f64,
    /// Start of the span (the onset second), seconds.
    pub from_s: f64,
    /// End of the span (end of the last second with a 429, or the run's end), seconds.
    pub to_s: f64,
}

/// Where the recommended pace comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The limit named in the rate-limit headers.
    Headers,
    /// The measured effective capacity (the server named no limit).
    Measured,
}

/// A concrete pace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Pace at or below this many requests per second (all tokens together).
    pub pace_per_s: f64,
    /// Where the figure comes from.
    pub basis: Basis,
    /// Tokens needed to send the onset rate within the named per-token limit, when more than
    /// the run used.
    pub tokens_needed: Option<u32>,
    /// One sentence.
    pub text: String,
}

/// The whole diagnosis: figures (serializable) and the sentences written from them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// Attempts recorded.
    pub requests: u64,
    /// 429 responses.
    pub throttled: u64,
    /// The first 429, when there was one.
    pub onset: Option<Onset>,
    /// Share of 429s among responses before the onset second.
    pub share_429_before: Option<f64>,
    /// Share of 429s among responses from the onset second on.
    pub share_429_after: Option<f64>,
    /// Seconds that held at least one 429.
    pub throttled_seconds: u32,
    /// Highest attempts started in one second.
    pub peak_rate: f64,
    /// Most users active at once.
    pub peak_users: u32,
    /// Retry-After values, when any 429 came.
    pub retry_after: Option<RetryAfterSeen>,
    /// The limit named in rate-limit headers, when the server sent them.
    pub limit: Option<NamedLimit>,
    /// Tokens the run spread its users over (OAuth client credentials: the plan's `tokens`; a
    /// fixed bearer token: 1; no auth: none).
    pub tokens_used: Option<u32>,
    /// The effective capacity while throttled.
    pub capacity: Option<Capacity>,
    /// What to do.
    pub recommendation: Option<Recommendation>,
    /// The diagnosis in sentences, for the HTML report.
    pub lines: Vec<String>,
    /// The diagnosis in two lines, for the terminal.
    pub headline: [String; 2],
}

/// What the 429 bodies named (`limit` {namespace, key}), most first.
fn body_limits_sentence(r: &RunResult, throttled: u64) -> String {
    let by = &r.totals.throttled_by_limit;
    if by.is_empty() {
        return "No 429 body named its limit (no `limit` key in the bodies, or the result predates \
                surge recording it); read one 429 by hand to see which limit the server counts."
            .into();
    }
    let mut v: Vec<(&String, &u64)> = by.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let named: u64 = by.values().sum();
    let list: Vec<String> = v.iter().map(|(k, n)| format!("`{k}` × {n}")).collect();
    let hypothesis = if v.iter().any(|(k, _)| k.contains("HYPOTHESIS")) {
        " (a HYPOTHESIS model of the built-in mock, not a documented Genesys limit)"
    } else {
        ""
    };
    format!(
        "The 429 bodies named their limit: {}{hypothesis}{}.",
        list.join(", "),
        if named < throttled {
            format!("; {} 429s named none", throttled - named)
        } else {
            String::new()
        }
    )
}

/// The limit most 429 bodies named, for the headline.
fn top_body_limit(r: &RunResult) -> Option<String> {
    r.totals
        .throttled_by_limit
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| k.clone())
}

fn n(s: &Second, o: Outcome) -> u64 {
    s.by_outcome.get(&o).copied().unwrap_or(0)
}

/// Formats a rate with at most three significant digits ("4.7", "0.47", "123").
pub fn fmt_rate(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
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

fn pct(x: f64) -> String {
    let p = 100.0 * x;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn tokens_used(r: &RunResult) -> Option<u32> {
    match r.plan.auth.kind {
        crate::record::meta::AuthKind::None => None,
        _ => Some(r.plan.auth.tokens.max(1)),
    }
}

fn retry_after_seen(r: &RunResult) -> RetryAfterSeen {
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
    }
}

fn named_limit(r: &RunResult) -> Option<NamedLimit> {
    let mut by_allowed: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
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
    let window_s = if reset_max_s <= 60 {
        60
    } else {
        reset_max_s.div_ceil(60) * 60
    };
    Some(NamedLimit {
        allowed,
        allowed_values: by_allowed.keys().copied().collect(),
        count_max,
        reset_max_s,
        window_s,
        per_token_rate: f64::from(allowed) / f64::from(window_s),
        responses,
    })
}

fn window_text(w: u32) -> String {
    if w == 60 {
        "minute".into()
    } else if w % 60 == 0 {
        format!("{} minutes", w / 60)
    } else {
        format!("{w} s")
    }
}

/// Computes the diagnosis of a run.
pub fn diagnose(r: &RunResult) -> Diagnosis {
    let tl = &r.timeline;
    let requests = r.totals.requests;
    let throttled = r.outcome_count(Outcome::Throttled);
    let peak_rate = tl.iter().map(|s| s.started).max().unwrap_or(0) as f64;
    let peak_users = tl.iter().map(|s| s.active_users).max().unwrap_or(0);
    let limit = named_limit(r);
    let tokens = tokens_used(r);
    let mut d = Diagnosis {
        verdict: Verdict::NoTraffic,
        requests,
        throttled,
        onset: None,
        share_429_before: None,
        share_429_after: None,
        throttled_seconds: tl.iter().filter(|s| n(s, Outcome::Throttled) > 0).count() as u32,
        peak_rate,
        peak_users,
        retry_after: None,
        limit: limit.clone(),
        tokens_used: tokens,
        capacity: None,
        recommendation: None,
        lines: Vec::new(),
        headline: [String::new(), String::new()],
    };
    let limit_sentence = |l: &NamedLimit| {
        format!(
            "The server named its limit in inin-ratelimit-* headers: {} requests per {} per token \
             (≈ {} req/s{}), count reached {}, reset ≤ {} s.",
            l.allowed,
            window_text(l.window_s),
            fmt_rate(l.per_token_rate),
            if l.reset_max_s <= 60 {
                "; the window is read as one minute, as Genesys documents it"
            } else {
                ""
            },
            l.count_max,
            l.reset_max_s
        ) + &if l.allowed_values.len() > 1 {
            format!(
                " Several limits were named ({}): different endpoints count separately.",
                l.allowed_values
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        }
    };

    if requests == 0 {
        d.lines
            .push("No request was recorded: there is nothing to diagnose.".into());
        d.headline = [
            "429 diagnosis: no request was recorded.".into(),
            "→ nothing to diagnose.".into(),
        ];
        return d;
    }

    if throttled == 0 {
        d.verdict = Verdict::NotThrottled;
        d.lines.push(format!(
            "No 429 responses: the run stayed under every limit at up to {} req/s with {}. \
             The data cannot tell where the limit is; a heavier run would.",
            fmt_rate(peak_rate),
            crate::plural(u64::from(peak_users), "user")
        ));
        let second = match &limit {
            Some(l) => {
                d.lines.push(limit_sentence(l));
                let used = if l.allowed > 0 {
                    f64::from(l.count_max) / f64::from(l.allowed)
                } else {
                    0.0
                };
                d.lines.push(format!(
                    "Headroom: the count reached {} of {} ({}) in a window.",
                    l.count_max,
                    l.allowed,
                    pct(used)
                ));
                format!(
                    "→ limit named: {}/{} per token; count reached {} ({}).",
                    l.allowed,
                    if l.window_s == 60 {
                        "min".to_string()
                    } else {
                        format!("{} s", l.window_s)
                    },
                    l.count_max,
                    pct(used)
                )
            }
            None => {
                d.lines.push(
                    "The server sent no inin-ratelimit-* headers, so no limit was named.".into(),
                );
                "→ no rate-limit headers seen: the limit is unknown.".into()
            }
        };
        d.headline = [
            format!(
                "429 diagnosis: no 429s at up to {} req/s ({}); the data cannot tell where the limit is.",
                fmt_rate(peak_rate),
                crate::plural(u64::from(peak_users), "user")
            ),
            second,
        ];
        return d;
    }

    d.verdict = Verdict::Throttled;
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
    let window: Vec<&Second> = tl.iter().filter(|s| s.t >= lo && s.t <= t0).collect();
    let window_s = t0 - lo + 1;
    let started: u64 = window.iter().map(|s| s.started).sum();
    let onset = Onset {
        at_s,
        second: t0,
        request_rate: started as f64 / f64::from(window_s),
        window_s,
        concurrency: tl.iter().find(|s| s.t == t0).map_or(0, |s| s.active_users),
        responses_before: tl.iter().filter(|s| s.t < t0).map(|s| s.completed).sum(),
    };
    let share = |rows: &mut dyn Iterator<Item = &Second>| {
        let (mut thr, mut all) = (0u64, 0u64);
        for s in rows {
            thr += n(s, Outcome::Throttled);
            all += s.completed;
        }
        (all > 0).then(|| thr as f64 / all as f64)
    };
    d.share_429_before = share(&mut tl.iter().filter(|s| s.t < t0));
    d.share_429_after = share(&mut tl.iter().filter(|s| s.t >= t0));

    // The throttled span: the onset second to the end of the last second with a 429.
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
    let capacity = Capacity {
        ok_per_s: ok as f64 / (to_s - from_s).max(1e-3),
        from_s,
        to_s,
    };
    let ra = retry_after_seen(r);

    d.lines.push(format!(
        "The first 429 came at {:.1} s, at {} req/s (attempts started per second over the {} s up to it) \
         with {}, after {}.",
        at_s,
        fmt_rate(onset.request_rate),
        window_s,
        crate::plural(u64::from(onset.concurrency), "active user"),
        crate::plural(onset.responses_before, "response")
    ));
    d.lines.push(format!(
        "429 share: {} of responses before the onset, {} from the onset on ({} of {} responses; {} seconds held a 429).",
        d.share_429_before.map_or("no responses".into(), pct),
        d.share_429_after.map_or("no responses".into(), pct),
        throttled,
        requests,
        d.throttled_seconds
    ));
    match &limit {
        Some(l) => d.lines.push(limit_sentence(l)),
        None => d.lines.push(
            "The server named no limit: no inin-ratelimit-* headers came back, so the pace below is measured, not documented."
                .into(),
        ),
    }
    if ra.count > 0 {
        d.lines.push(format!(
            "Retry-After came on {} of {} 429s: {}–{} s (median {} s){}.",
            ra.count,
            throttled,
            ra.min_s,
            ra.max_s,
            ra.median_s,
            if ra.without > 0 {
                format!("; {} 429s carried none", ra.without)
            } else {
                String::new()
            }
        ));
    } else {
        d.lines
            .push("No 429 carried a usable Retry-After header.".into());
    }
    d.lines.push(body_limits_sentence(r, throttled));
    let short_span = capacity.to_s - capacity.from_s < 3.0;
    d.lines.push(format!(
        "While throttled ({:.0}–{:.0} s), the server still answered {} 2xx/s: the effective capacity{}.",
        capacity.from_s,
        capacity.to_s,
        fmt_rate(capacity.ok_per_s),
        if short_span {
            " (a span under 3 s: a rough figure)"
        } else if limit.as_ref().is_some_and(|l| capacity.to_s - capacity.from_s < f64::from(l.window_s)) {
            " (the span is shorter than the limit's window: a rough figure)"
        } else {
            ""
        }
    ));

    let current_tokens = tokens.unwrap_or(1);
    let rec = match &limit {
        Some(l) => {
            let per_token = l.per_token_rate * (1.0 - HEADROOM);
            let pace = floor_2sig(per_token * f64::from(current_tokens));
            let need = (onset.request_rate / per_token.max(1e-9)).ceil().max(1.0) as u32;
            let tokens_needed = (need > current_tokens).then_some(need);
            let mut text = format!(
                "Pace at ≤ {} req/s ({}% of {} per {} per token{})",
                fmt_rate(pace),
                100 - (HEADROOM * 100.0) as u32,
                l.allowed,
                window_text(l.window_s),
                match tokens {
                    Some(k) if k > 1 => format!(", × {k} tokens"),
                    _ => String::new(),
                }
            );
            if let Some(k) = tokens_needed {
                text += &format!(
                    ", or spread the {} req/s that brought the first 429 over {} tokens (≤ {} req/s each)",
                    fmt_rate(onset.request_rate),
                    k,
                    fmt_rate(floor_2sig(per_token))
                );
            }
            text.push('.');
            Some(Recommendation {
                pace_per_s: pace,
                basis: Basis::Headers,
                tokens_needed,
                text,
            })
        }
        None if capacity.ok_per_s > 0.0 => {
            let pace = floor_2sig(capacity.ok_per_s);
            Some(Recommendation {
                pace_per_s: pace,
                basis: Basis::Measured,
                tokens_needed: None,
                text: format!(
                    "Pace at ≤ {} req/s, the 2xx rate the server sustained while throttling. With no limit named, \
                     the data cannot tell whether the limit is per token, per client or per organization.",
                    fmt_rate(pace)
                ),
            })
        }
        None => None,
    };
    match &rec {
        Some(r) => d.lines.push(format!("Recommendation: {}", r.text)),
        None => d.lines.push(format!(
            "The server admitted no 2xx while throttling and named no limit: the data cannot give a safe pace; \
             stay well below {} req/s and ask the API's owner for the limit.",
            fmt_rate(onset.request_rate)
        )),
    }

    d.headline = [
        format!(
            "429 diagnosis: first 429 at {:.1} s at {} req/s with {}; 429 share {} after onset; limit named: {}.",
            at_s,
            fmt_rate(onset.request_rate),
            crate::plural(u64::from(onset.concurrency), "user"),
            d.share_429_after.map_or("n/a".into(), pct),
            match (&limit, top_body_limit(r)) {
                (Some(l), body) => format!(
                    "{}/{} per token{}",
                    l.allowed,
                    if l.window_s == 60 { "min".to_string() } else { format!("{} s", l.window_s) },
                    body.map_or(String::new(), |k| format!(" (429 bodies: {k})"))
                ),
                (None, Some(k)) => format!("{k} (in the 429 bodies; no rate-limit headers)"),
                (None, None) => "none (no rate-limit headers, no limit in the 429 bodies)".into(),
            }
        ),
        format!(
            "→ capacity while throttled {} 2xx/s; {}",
            fmt_rate(capacity.ok_per_s),
            match &rec {
                Some(r) => {
                    let mut s = format!("pace at ≤ {} req/s", fmt_rate(r.pace_per_s));
                    if let Some(k) = r.tokens_needed {
                        s += &format!(", or spread over {k} tokens");
                    }
                    if r.basis == Basis::Measured {
                        s += " (measured; no rate limit in the headers)";
                    }
                    s + "."
                }
                None => "no safe pace can be read from this run.".into(),
            }
        ),
    ];
    d.onset = Some(onset);
    d.retry_after = Some(ra);
    d.capacity = Some(capacity);
    d.recommendation = rec;
    d
}

#[cfg(test)]
mod tests;
