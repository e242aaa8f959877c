//! `surge probe`'s findings in words, from `limit.json`'s facts only: the summary lines the
//! terminal prints (and `limit.json` keeps), and the recommendation.

use crate::diagnosis::{model_name, pace_text, window_text};
use crate::format::{pct, rate, secs};
use surge_analysis::limit::advice::MAX_RATE_ERROR;
use surge_analysis::limit::file::{LimitFile, ScopeTest, SearchEnd};
use surge_analysis::limit::scope::Scope;
use surge_analysis::limit::{Estimate, Model};

/// The probe's findings as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePhrasing {
    /// The summary lines.
    pub headline: Vec<String>,
    /// The recommendation, or why there is none.
    pub recommendation: String,
}

/// `token bucket: 5.26 req/s sustained (±1.2%), burst ≈ 247` and its kin.
fn limit_line(f: &LimitFile) -> String {
    let (Some(m), Some(r)) = (f.model, f.sustained_rate_per_s) else {
        return match f.searches.first().map(|s| &s.estimate) {
            Some(Estimate::NotReached {
                peak_rate_per_s, ..
            }) => format!(
                "limit: not reached: no 429 at up to {} req/s (raise the search's --max-rate, or the limit is higher)",
                rate(*peak_rate_per_s)
            ),
            _ => "limit: none found: no answer the limiter could be read from".into(),
        };
    };
    let others: Vec<String> = f
        .searches
        .first()
        .and_then(|s| s.estimate.fit())
        .map(|fit| {
            fit.alternatives
                .iter()
                .map(|a| {
                    if a.ruled_out {
                        format!(
                            "{}: ruled out by the 429s' long Retry-After",
                            model_name(a.model)
                        )
                    } else {
                        format!("{} {}", model_name(a.model), pct(a.fit_error))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let counted = f
        .searches
        .first()
        .and_then(|s| s.estimate.fit())
        .is_some_and(|fit| fit.refusals_counted);
    let shape = match (m, f.window_s, f.burst) {
        (Model::FixedWindow | Model::SlidingWindow, Some(w), Some(b)) => format!(
            "{}: {:.0} requests per {} ({} req/s){}",
            model_name(m),
            b,
            window_text(w.round() as u32),
            rate(r),
            if counted {
                ", refused requests counted"
            } else {
                ""
            }
        ),
        (Model::Concurrency, _, _) => format!(
            "{}: {} requests in flight at once ({} req/s at the server's pace)",
            model_name(m),
            f.max_in_flight.unwrap_or(0),
            rate(r)
        ),
        (_, _, b) if f.rate_error.is_some_and(|e| e <= MAX_RATE_ERROR) => format!(
            "{}: {} req/s sustained (±{}), burst ≈ {:.0}",
            model_name(m),
            rate(r),
            pct(f.rate_error.unwrap_or(0.0)),
            b.unwrap_or(0.0)
        ),
        // Too rough for a single figure: what the search proved, and no more.
        _ => format!("{} (likely): {}", model_name(m), bounds_text(f)),
    };
    let proven = match f.rate_bounds {
        Some(b) if f.rate_error.is_some_and(|e| e <= MAX_RATE_ERROR) && b.lower_per_s > 0.0 => {
            format!("; proven {}", bounds_text(f))
        }
        _ => String::new(),
    };
    let penalty = if f.rate_bounds.is_some_and(|b| b.refused_throughout) {
        "; refused every request above it for a second or more (it may count its refusals: keep under it)"
    } else {
        ""
    };
    format!(
        "limit: {shape}{proven}{penalty}; fit error {}{}",
        pct(f.fit_error.unwrap_or(0.0)),
        if others.is_empty() {
            String::new()
        } else {
            format!(" (against {})", others.join(", "))
        }
    )
}

/// `rate between 18.6 and 24.8 req/s`, `at least 18.6 req/s`, or why neither is known.
fn bounds_text(f: &LimitFile) -> String {
    match f.rate_bounds {
        Some(b) => match b.upper_per_s {
            Some(u) if b.lower_per_s > 0.0 => {
                format!("rate between {} and {} req/s", rate(b.lower_per_s), rate(u))
            }
            Some(u) => format!("rate below {} req/s (no lower bound proven)", rate(u)),
            None => format!("rate at least {} req/s", rate(b.lower_per_s)),
        },
        None => "rate not measured: too few 429s between admitted requests".into(),
    }
}

fn scope_line(f: &LimitFile) -> String {
    match &f.scope_test {
        ScopeTest::Yes(s) => format!(
            "scope: {} (two tokens admitted {} req/s, {:.2}× one token's {} req/s{})",
            match s.scope {
                Scope::PerToken => "per token",
                Scope::Shared => "shared, per client, organization, address or backend",
                Scope::Unclear => "unclear",
                Scope::NotTested => "not tested",
            },
            rate(s.two_tokens_rate_per_s),
            s.ratio,
            rate(s.one_token_rate_per_s),
            match s.scope {
                Scope::PerToken => ": more tokens carry more",
                Scope::Shared => ": more tokens do not help",
                Scope::Unclear =>
                    ": neither twice nor the same; a longer probe (a larger --max-requests) would settle it",
                Scope::NotTested => "",
            }
        ),
        ScopeTest::No { why } => format!("scope: not tested ({why})"),
    }
}

fn spent_line(f: &LimitFile) -> String {
    let e = &f.evidence;
    let ends: Vec<String> = f
        .searches
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                surge_record::plural(u64::from(s.tokens), "token"),
                match s.end {
                    SearchEnd::Stable => "stable",
                    SearchEnd::NotReached => "not reached",
                    SearchEnd::MaxRequests => "out of requests",
                    SearchEnd::MaxDuration => "out of time",
                    SearchEnd::Cancelled => "stopped",
                    SearchEnd::Stopped => "ended by the scenario",
                }
            )
        })
        .collect();
    format!(
        "spent: {} ({} 429s) in {}{} over {} ({})",
        surge_record::plural(e.requests, "request"),
        e.throttled,
        secs(e.seconds),
        if f.simulated {
            " of virtual time (simulated)"
        } else {
            ""
        },
        surge_record::plural(f.searches.len() as u64, "search"),
        ends.join(", ")
    )
}

/// Writes the findings; `limit_json` is where they are written (the next step paces from it).
pub fn phrase(f: &LimitFile, limit_json: &str) -> ProbePhrasing {
    let next = crate::next::Next {
        scenario: f.scenario.file.clone(),
        simulated: f.simulated,
        ..crate::next::Next::default()
    };
    let run = next.run_paced(limit_json);
    let recommendation = match &f.advice {
        Some(a) if a.from_lower_bound => format!(
            "Pace at {} (safe, not fast): the rate is not known to the precision a pace needs, so this keeps under the lower bound the search proved ({} req/s) less {}; the limit may be higher. Probe again with a larger --max-requests or --max-duration to know it. Run with {run}.",
            pace_text(&a.pace),
            rate(a.limit_rate_per_s),
            pct(a.margin)
        ),
        Some(a) => {
            let mut s = format!(
                "Pace at {}: the limit found less a margin of {} ({}; the margin is twice the rate's ±{} error, at least {}).",
                pace_text(&a.pace),
                pct(a.margin),
                if a.limit_window_s.is_some() {
                    "on the count, and a second more on the window"
                } else {
                    "on the rate, and twice its own error off the burst"
                },
                pct(a.rate_error),
                pct(surge_analysis::limit::advice::MIN_MARGIN)
            );
            if let Some(b) = a.batch {
                s += &format!(
                    " The scenario's {} would start the last at {} (plus a response time), from a limiter rested ≥ {}.",
                    surge_record::plural(b.requests, "request"),
                    secs(b.last_start_s),
                    secs(a.rest_s.ceil())
                );
            }
            s + &format!(
                " Run with {run} (or on_429.rate = \"from:{}\" in the scenario).",
                limit_json
            )
        }
        None => match f.searches.first().map(|s| (&s.estimate, s.end)) {
            Some((Estimate::Limit(_), _)) => format!(
                "No pace: the search proved no rate the limiter admits ({}); probe again with a larger --max-requests or --max-duration.",
                bounds_text(f)
            ),
            Some((Estimate::NotReached { .. }, _)) => {
                "No pace needed up to what was sent: the limit was not reached.".into()
            }
            _ => "No pace: no limit was found.".into(),
        },
    };
    ProbePhrasing {
        headline: vec![
            limit_line(f),
            scope_line(f),
            spent_line(f),
            match &f.advice {
                Some(a) => format!(
                    "→ pace at {} ({} margin{}): {}",
                    pace_text(&a.pace),
                    pct(a.margin),
                    if a.from_lower_bound {
                        " below the proven lower bound; safe, maybe slow"
                    } else {
                        ""
                    },
                    run.trim_matches('`')
                ),
                None => format!("→ {}", recommendation),
            },
        ],
        recommendation,
    }
}
