//! How a limit, its model, its window and a pace are named: the short forms the headline and
//! the tiles use, shared by every sentence of the diagnosis and by the probe's findings.

use crate::format::{pct, rate};
use surge_analysis::diagnosis::{Diagnosis, HeaderLimit, LimitNamed, MeasuredLimit};
use surge_analysis::limit::advice::Advice;
use surge_analysis::limit::Model;

/// `minute`, `2 minutes`, `90 s`.
pub fn window_text(w: u32) -> String {
    if w == 60 {
        "minute".into()
    } else if w % 60 == 0 {
        format!("{} minutes", w / 60)
    } else {
        format!("{w} s")
    }
}

fn window_short(w: u32) -> String {
    if w == 60 {
        "min".into()
    } else {
        format!("{w} s")
    }
}

/// `300/min per token`.
pub(super) fn header_short(l: &HeaderLimit) -> String {
    format!("{}/{} per token", l.allowed, window_short(l.window_s))
}

/// Which limit was named, short (`tile`) or with its source (headline).
pub fn limit_named(d: &Diagnosis, tile: bool) -> String {
    let top = d.body_limits.top().map(|b| b.key.as_str()).unwrap_or("");
    match (d.limit_named(), &d.header_limit, tile) {
        (LimitNamed::Nowhere, _, true) => "none".into(),
        (LimitNamed::Nowhere, _, false) => {
            "none (no rate-limit headers, no limit in the 429 bodies)".into()
        }
        (LimitNamed::Headers, Some(l), _) => header_short(l),
        (LimitNamed::Both, Some(l), true) => format!("{} (headers)", header_short(l)),
        (LimitNamed::Both, Some(l), false) => {
            format!("{} (429 bodies: {top})", header_short(l))
        }
        (LimitNamed::Bodies, _, true) => format!("{top} (429 bodies; no rate)"),
        (_, _, _) => format!("{top} (in the 429 bodies; no rate-limit headers)"),
    }
}

/// The model in words.
pub fn model_name(m: Model) -> &'static str {
    match m {
        Model::TokenBucket => "token bucket",
        Model::FixedWindow => "fixed window",
        Model::Queue => "queue",
        Model::SlidingWindow => "sliding window",
        Model::Concurrency => "concurrency limit",
    }
}

/// `≤ 4.99 req/s after a burst of ≤ 241` or `≤ 285 per 61 s per token`: the pace, short.
pub fn pace_short(a: &Advice) -> String {
    pace_text(&a.pace)
}

/// A pace shape in words, as [`pace_short`] says it (also for `surge run --pace-from`).
pub fn pace_text(p: &surge_record::pace::PaceShape) -> String {
    let per = if p.per_token { " per token" } else { "" };
    if let Some(n) = p.max_in_flight {
        return match p.rate_per_s {
            r if r > 0.0 => format!("≤ {n} in flight{per} and ≤ {} req/s", rate(r)),
            _ => format!("≤ {n} in flight{per}"),
        };
    }
    match p.window_s {
        Some(w) => format!("≤ {} requests per {}{per}", p.burst, window_text(w as u32)),
        None if p.burst > 1 => format!(
            "≤ {} req/s{per} after a burst of ≤ {}",
            rate(p.rate_per_s),
            p.burst
        ),
        None => format!("≤ {} req/s{per}", rate(p.rate_per_s)),
    }
}

/// `token bucket: 5.26 req/s sustained (±1.0%), burst ≈ 244`: the measured limit, short.
pub fn measured_short(m: &MeasuredLimit) -> String {
    let per = if m.per_token { " per token" } else { "" };
    match (m.model, m.window_s) {
        (Model::FixedWindow, Some(w)) => format!(
            "fixed window: {:.0} requests per {}{per} ({} req/s)",
            m.burst,
            window_text(w as u32),
            rate(m.rate_per_s)
        ),
        _ => format!(
            "{}: {} req/s sustained (±{}), burst ≈ {:.0}",
            model_name(m.model),
            rate(m.rate_per_s),
            pct(m.rate_error),
            m.burst
        ),
    }
}
