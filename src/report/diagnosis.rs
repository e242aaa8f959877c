//! The 429 diagnosis in words, written from [`Diagnosis`] facts only: the two-line headline (the
//! terminal, `surge report`), the bullets, the recommendation and the fact tiles (`report.html`).
//! Every place that says which limit was named reads the one fact [`Diagnosis::limit_named`]
//! through [`limit_named`], so the tile, the headline and the sentences cannot disagree.

use crate::analysis::diagnosis::{
    Basis, BodyLimits, Diagnosis, HeaderLimit, LimitNamed, Recommendation, Verdict, SHORT_SPAN_S,
};
use crate::report::format::{pct, rate, secs, share};

/// The diagnosis as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrasing {
    /// Two lines for the terminal and `surge report`.
    pub headline: [String; 2],
    /// Sentences, one per fact, for the HTML report.
    pub lines: Vec<String>,
    /// The recommendation sentence (or why there is none), when the run was throttled.
    pub recommendation: Option<String>,
    /// Short key → value facts for the HTML tiles.
    pub tiles: Vec<(&'static str, String)>,
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

fn window_short(w: u32) -> String {
    if w == 60 {
        "min".into()
    } else {
        format!("{w} s")
    }
}

/// `300/min per token`.
fn header_short(l: &HeaderLimit) -> String {
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
        (LimitNamed::Bodies, _, true) => "in the 429 bodies (no rate)".into(),
        (_, _, _) => format!("{top} (in the 429 bodies; no rate-limit headers)"),
    }
}

fn header_sentence(l: &HeaderLimit) -> String {
    let mut s = format!(
        "The inin-ratelimit-* headers named {} requests per {} per token (≈ {} req/s{}), count reached {}, reset ≤ {} s.",
        l.allowed,
        window_text(l.window_s),
        rate(l.per_token_rate),
        if l.window_assumed {
            "; the window is read as one minute, as Genesys documents it"
        } else {
            ""
        },
        l.count_max,
        l.reset_max_s
    );
    if l.allowed_values.len() > 1 {
        let v: Vec<String> = l.allowed_values.iter().map(u32::to_string).collect();
        s += &format!(
            " Several limits were named ({}): different endpoints count separately.",
            v.join(", ")
        );
    }
    s
}

fn bodies_sentence(b: &BodyLimits) -> String {
    if b.named.is_empty() {
        return "No 429 body named its limit (no `limit` key in the bodies, or the result predates \
                surge recording it); read one 429 by hand to see which limit the server counts."
            .into();
    }
    let list: Vec<String> = b
        .named
        .iter()
        .map(|l| format!("`{}` × {}", l.key, l.count))
        .collect();
    format!(
        "The 429 bodies named their limit: {}{}{}.",
        list.join(", "),
        if b.hypothesis {
            " (a HYPOTHESIS model of the built-in mock, not a documented Genesys limit)"
        } else {
            ""
        },
        if b.unnamed > 0 {
            format!("; {} named none", crate::plural(b.unnamed, "429"))
        } else {
            String::new()
        }
    )
}

fn recommendation_sentence(d: &Diagnosis, rec: &Recommendation) -> String {
    match (rec.basis, &d.header_limit) {
        (Basis::Headers, Some(l)) => {
            let mut text = format!(
                "Pace at ≤ {} req/s ({}% of {} per {} per token{})",
                rate(rec.pace_per_s),
                (100.0 * (1.0 - rec.headroom)).round(),
                l.allowed,
                window_text(l.window_s),
                match d.tokens_used {
                    Some(k) if k > 1 => format!(", × {k} tokens"),
                    _ => String::new(),
                }
            );
            if let (Some(k), Some(o)) = (rec.tokens_needed, &d.onset) {
                text += &format!(
                    ", or spread the {} req/s that brought the first 429 over {k} tokens (≤ {} req/s each)",
                    rate(o.request_rate),
                    rate(rec.per_token_pace.unwrap_or(0.0))
                );
            }
            text + "."
        }
        _ => format!(
            "Pace at ≤ {} req/s, the 2xx rate the server sustained while throttling (measured: {}). \
             The data cannot tell whether the limit is per token, per client or per organization.",
            rate(rec.pace_per_s),
            match d.body_limits.top() {
                Some(b) => format!(
                    "the 429 bodies name `{}`, but no header gives its rate",
                    b.key
                ),
                None => "no header or 429 body named a limit".into(),
            }
        ),
    }
}

fn not_throttled(d: &Diagnosis) -> Phrasing {
    let mut lines = vec![format!(
        "No 429 responses: the run stayed under every limit at up to {} req/s with {}. \
         The data cannot tell where the limit is; a heavier run would.",
        rate(d.peak_rate),
        crate::plural(u64::from(d.peak_users), "user")
    )];
    let second = match &d.header_limit {
        Some(l) => {
            lines.push(header_sentence(l));
            lines.push(format!(
                "Headroom: the count reached {} of {} ({}) in a window.",
                l.count_max,
                l.allowed,
                pct(l.used())
            ));
            format!(
                "→ limit named: {}; count reached {} ({}).",
                header_short(l),
                l.count_max,
                pct(l.used())
            )
        }
        None => {
            lines.push(
                "No response carried inin-ratelimit-* headers, so they named no limit.".into(),
            );
            "→ no rate-limit headers seen: the limit is unknown.".into()
        }
    };
    Phrasing {
        headline: [
            format!(
                "429 diagnosis: no 429s at up to {} req/s ({}); the data cannot tell where the limit is.",
                rate(d.peak_rate),
                crate::plural(u64::from(d.peak_users), "user")
            ),
            second,
        ],
        lines,
        recommendation: None,
        tiles: vec![
            ("429s", "none".into()),
            ("peak rate", format!("{} req/s", rate(d.peak_rate))),
            ("limit named", limit_named(d, true)),
        ],
    }
}

/// Writes the diagnosis.
pub fn phrase(d: &Diagnosis) -> Phrasing {
    match d.verdict {
        Verdict::NoTraffic => {
            return Phrasing {
                headline: [
                    "429 diagnosis: no request was recorded.".into(),
                    "→ nothing to diagnose.".into(),
                ],
                lines: vec!["No request was recorded: there is nothing to diagnose.".into()],
                recommendation: None,
                tiles: vec![],
            }
        }
        Verdict::NotThrottled => return not_throttled(d),
        Verdict::Throttled => {}
    }
    let (Some(o), Some(c)) = (&d.onset, &d.capacity) else {
        return not_throttled(d);
    };
    let mut lines = vec![format!(
        "The first 429 came at {}, at {} req/s (attempts started per second over the {} s up to it) \
         with {}, after {}.",
        secs(o.at_s),
        rate(o.request_rate),
        o.window_s,
        crate::plural(u64::from(o.concurrency), "active user"),
        crate::plural(o.responses_before, "response")
    )];
    let of = |s: Option<crate::analysis::figures::Share>| {
        s.map_or("no responses".to_string(), |s| {
            format!("{} of the {} responses", share(s), s.of)
        })
    };
    lines.push(format!(
        "429 share: {} before the onset, {} from the onset on ({} in all; {} held a 429).",
        of(d.before_onset),
        of(d.from_onset),
        crate::plural(d.throttled, "429"),
        crate::plural(u64::from(d.throttled_seconds), "second")
    ));
    lines.push(match &d.header_limit {
        Some(l) => header_sentence(l),
        None => "No response carried inin-ratelimit-* headers: they named no rate.".into(),
    });
    match &d.retry_after {
        Some(ra) if ra.count > 0 => lines.push(format!(
            "Retry-After came on {} of {} 429s: {}{}.",
            ra.count,
            d.throttled,
            if ra.min_s == ra.max_s {
                format!("always {} s", ra.min_s)
            } else {
                format!("{}–{} s (median {} s)", ra.min_s, ra.max_s, ra.median_s)
            },
            if ra.without > 0 {
                format!("; {} carried none", crate::plural(ra.without, "429"))
            } else {
                String::new()
            }
        )),
        _ => lines.push("No 429 carried a usable Retry-After header.".into()),
    }
    lines.push(bodies_sentence(&d.body_limits));
    lines.push(format!(
        "While throttled ({:.0}–{:.0} s), the server still answered {} 2xx/s ({} in {:.0} s): the effective capacity{}.",
        c.from_s,
        c.to_s,
        rate(c.ok_per_s),
        c.ok,
        c.span_s(),
        if c.span_s() < SHORT_SPAN_S {
            " (a span under 3 s: a rough figure)"
        } else if d.header_limit.as_ref().is_some_and(|l| c.span_s() < f64::from(l.window_s)) {
            " (the span is shorter than the limit's window: a rough figure)"
        } else {
            ""
        }
    ));
    let recommendation = Some(match &d.recommendation {
        Some(rec) => recommendation_sentence(d, rec),
        None => format!(
            "The server admitted no 2xx while throttling and named no rate: the data cannot give a safe pace; \
             stay well below {} req/s and ask the API's owner for the limit.",
            rate(o.request_rate)
        ),
    });
    let pace = match &d.recommendation {
        Some(r) => {
            let mut s = format!("pace at ≤ {} req/s", rate(r.pace_per_s));
            if let Some(k) = r.tokens_needed {
                s += &format!(", or spread over {k} tokens");
            }
            if r.basis == Basis::Measured {
                s += " (measured; no rate limit in the headers)";
            }
            s + "."
        }
        None => "no safe pace can be read from this run.".into(),
    };
    Phrasing {
        headline: [
            format!(
                "429 diagnosis: first 429 at {} at {} req/s with {}; 429 share {} from the onset on; limit named: {}.",
                secs(o.at_s),
                rate(o.request_rate),
                crate::plural(u64::from(o.concurrency), "user"),
                d.from_onset.map_or("n/a".into(), share),
                limit_named(d, false)
            ),
            format!("→ capacity while throttled {} 2xx/s; {pace}", rate(c.ok_per_s)),
        ],
        lines,
        recommendation,
        tiles: vec![
            ("first 429", secs(o.at_s)),
            ("rate at onset", format!("{} req/s", rate(o.request_rate))),
            ("users at onset", o.concurrency.to_string()),
            (
                "429 share from the onset on",
                d.from_onset.map_or("–".into(), share),
            ),
            ("2xx while throttled", format!("{} /s", rate(c.ok_per_s))),
            ("limit named", limit_named(d, true)),
        ],
    }
}

#[cfg(test)]
#[path = "diagnosis_tests.rs"]
mod tests;
