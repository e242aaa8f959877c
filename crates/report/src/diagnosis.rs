//! The 429 diagnosis in words, written from [`Diagnosis`] facts only: the two-line headline (the
//! terminal, `surge report`, `surge check`), the bullets, the recommendation and the fact tiles
//! (`report.html`), the words `result.json` keeps beside the facts, and the section CI outputs
//! carry ([`ci_note`]). The completion-time trend of transactions (a backend queue filling
//! before the first 429) is one sentence, [`completion_sentence`]: the terminal's `completion:`
//! line, the second bullet, `words.completion`, and a tile ([`completion_short`]). Every place
//! that says which limit was named reads the one fact [`Diagnosis::limit_named`] through [`limit_named`],
//! every place that gives a pace reads [`Diagnosis::advice`] through [`pace_short`], so the tile,
//! the headline and the sentences cannot disagree.

mod completion;
mod names;

pub use self::completion::{completion_sentence, completion_short, Reading};
use self::names::header_short;
pub use self::names::{
    limit_named, measured_short, model_name, pace_short, pace_text, window_text,
};
use crate::format::{pct, rate, secs, share};
use surge_analysis::diagnosis::{
    Diagnosis, HeaderLimit, MeasuredLimit, NoAdvice, NoAdviceReason, Verdict,
};
use surge_analysis::limit::advice::{Advice, Basis};
use surge_analysis::limit::Model;

pub use crate::next::Next;

/// The diagnosis as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrasing {
    /// Two lines for the terminal, `surge report` and `surge check`.
    pub headline: [String; 2],
    /// Sentences, one per fact, for the HTML report.
    pub lines: Vec<String>,
    /// The recommendation sentence (or why there is none, and what run would tell).
    pub recommendation: Option<String>,
    /// Short key → value facts for the HTML tiles.
    pub tiles: Vec<(&'static str, String)>,
    /// The completion-time trend of the plan's transactions, when it has some
    /// ([`completion_sentence`]): the terminal's `completion:` line, also among `lines`.
    pub completion: Option<String>,
}

/// The words `result.json` keeps under `diagnosis.words`, for a reader without surge (a CI log).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Words<'a> {
    /// The two headline lines.
    pub headline: &'a [String; 2],
    /// The recommendation, or why there is none.
    pub recommendation: Option<&'a str>,
    /// The completion-time trend (`backend queue: …`), when the plan has transactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion: Option<&'a str>,
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

fn bodies_sentence(d: &Diagnosis) -> String {
    let b = &d.body_limits;
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
        "The 429 bodies named their limit: {}{}{}{}.",
        list.join(", "),
        if b.hypothesis {
            " (a HYPOTHESIS model of the built-in mock, not a documented Genesys limit)"
        } else {
            ""
        },
        if b.unnamed > 0 {
            format!("; {} named none", surge_record::plural(b.unnamed, "429"))
        } else {
            String::new()
        },
        if d.header_limit.is_none() {
            "; no header gave its rate"
        } else {
            ""
        }
    )
}

/// What the run measured of the limit, in a sentence.
fn measured_sentence(m: &MeasuredLimit, tokens: Option<u32>) -> String {
    match m.basis {
        Basis::Headers => format!(
            "The limit is the one the headers named, and the 429s came when its count ran out: a {}.",
            measured_short(m)
        ),
        _ => format!(
            "Measured while throttled ({}–{} s, a 429 in {} of those seconds): {} requests admitted, \
             {} req/s sustained (±{}){}; before the first 429 it had admitted {:.0}, a burst of ≈ {:.0} \
             beyond that rate. Model: {}{}.",
            m.from_s,
            m.to_s + 1,
            pct(m.saturation),
            m.admitted,
            rate(m.rate_per_s),
            pct(m.rate_error),
            match tokens {
                Some(k) if k > 1 => format!(" over {k} tokens together"),
                _ => String::new(),
            },
            m.admitted_before_onset,
            m.burst,
            model_name(m.model),
            if m.model == Model::Queue {
                " (the 2xx latency rose before the first 429: requests waited in line)"
            } else {
                ""
            }
        ),
    }
}

/// Why there is no pace, and what run would give one.
fn no_advice_sentence(no: &NoAdvice, next: &Next) -> String {
    let probe = format!(
        "run {} (it searches for the limit with few requests)",
        next.probe()
    );
    match no.reason {
        NoAdviceReason::NoTraffic => "No request was recorded: there is nothing to pace.".into(),
        NoAdviceReason::NotThrottled => format!(
            "No 429 came, so this run cannot say where the limit is: {probe}, or run heavier until \
             the server throttles."
        ),
        NoAdviceReason::TooShort => format!(
            "No pace: the server throttled for {} s, too short to tell its burst from its \
             sustained rate. To tell, {probe}, or make the run stay throttled for ≥ {} s (more \
             requests, or a retrying on_429 policy that keeps them coming).",
            no.throttled_s,
            no.needed_s.unwrap_or(0)
        ),
        NoAdviceReason::Unsaturated => format!(
            "No pace: 429s came in too few of the throttled seconds for the admitted rate to be the \
             limit's (the client let up). To tell, {probe}, or keep the load above the limit for \
             longer."
        ),
        NoAdviceReason::TooRough => format!(
            "No pace: the admitted rate varied too much (±{}) to pace near it. To tell, {probe}, \
             or make the run stay throttled for ≥ {} s.",
            pct(no.rate_error.unwrap_or(1.0)),
            no.needed_s.unwrap_or(0)
        ),
        NoAdviceReason::NothingAdmitted => format!(
            "No pace: nothing was admitted while the server throttled, so no sustained rate shows \
             (a window that had not reopened, or a hard stop). To tell, {probe}."
        ),
        NoAdviceReason::LongRetryAfter => format!(
            "No pace: the 429s asked to wait far longer than a limiter refilling at the admitted \
             rate would (a window or a penalty this run cannot size). To tell, {probe}."
        ),
    }
}

fn advice_sentence(d: &Diagnosis, a: &Advice, next: &Next) -> String {
    let basis = match a.basis {
        Basis::Headers => "the limit the headers named",
        Basis::ThrottledStretch => "the limit this run measured while throttled",
        Basis::Probe => "the limit `surge probe` found",
    };
    let limit = match a.limit_window_s {
        Some(w) => format!(
            "{:.0} per {}{}",
            a.limit_burst,
            window_text(w as u32),
            if a.pace.per_token { " per token" } else { "" }
        ),
        None => format!(
            "{} req/s after a burst of {:.0}{}",
            rate(a.limit_rate_per_s),
            a.limit_burst,
            if a.pace.per_token { " per token" } else { "" }
        ),
    };
    let cut = match a.limit_window_s {
        Some(_) => "on the count, and a second more on the window",
        None => "on the rate, and twice its own error off the burst",
    };
    let mut s = format!(
        "Pace at {}: {basis} ({limit}) less a margin of {} {cut} (the margin is twice the rate's \
         ±{} error, at least {}).",
        pace_short(a),
        pct(a.margin),
        pct(a.rate_error),
        pct(surge_analysis::limit::advice::MIN_MARGIN)
    );
    if let Some(b) = a.batch {
        let when = if b.last_start_s > 0.0 {
            format!("would start the last at {}", secs(b.last_start_s))
        } else {
            "would all start at once (they fit in the burst)".into()
        };
        s += &format!(
            " This run's {} {when}, plus a response time, from a limiter rested ≥ {} after the \
             last request.",
            surge_record::plural(b.requests, "request"),
            secs(a.rest_s.ceil())
        );
    }
    if let (Some(l), Some(o), true) = (&d.header_limit, &d.onset, a.basis == Basis::Headers) {
        let k = d.tokens_used.unwrap_or(1);
        let need = (o.request_rate / (l.per_token_rate * (1.0 - a.margin)).max(1e-9)).ceil() as u32;
        if need > k {
            s += &format!(
                " Or spread the {} req/s that brought the first 429 over {need} tokens.",
                rate(o.request_rate)
            );
        }
    }
    s + &match &next.result {
        Some(r) => format!(
            " Re-run with {} (or on_429.rate = \"from:{r}\" in the scenario).",
            next.run_paced(r)
        ),
        None => format!(
            " Re-run with {} (or on_429.rate = \"from:\" and its path, in the scenario).",
            next.run_paced_from_result()
        ),
    }
}

fn not_throttled(d: &Diagnosis, next: &Next) -> Phrasing {
    let mut lines = vec![format!(
        "No 429 responses: the run stayed under every limit at up to {} req/s with {}. \
         The data cannot tell where the limit is; a heavier run would.",
        rate(d.peak_rate),
        surge_record::plural(u64::from(d.peak_users), "user")
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
            next.unthrottled_arrow().unwrap_or_else(|| {
                format!(
                    "→ no rate-limit headers seen: the limit is unknown; {} finds it.",
                    next.probe()
                )
            })
        }
    };
    if let Some(n) = next.all_not_found {
        lines.insert(0, next.not_found_sentence(n));
    }
    Phrasing {
        headline: [
            format!(
                "429 diagnosis: no 429s at up to {} req/s ({}); the data cannot tell where the limit is.",
                rate(d.peak_rate),
                surge_record::plural(u64::from(d.peak_users), "user")
            ),
            second,
        ],
        lines,
        recommendation: match (next.all_not_found, &next.paced_from) {
            (Some(n), _) => Some(next.not_found_sentence(n)),
            (None, Some(_)) => None,
            (None, None) => d.no_advice.as_ref().map(|no| no_advice_sentence(no, next)),
        },
        tiles: vec![
            ("429s", "none".into()),
            ("peak rate", format!("{} req/s", rate(d.peak_rate))),
            ("limit named", limit_named(d, true)),
        ],
        completion: None,
    }
}

/// The bullets of a throttled run, one fact each, in reading order. (A new fact's sentence goes
/// here, in its place.)
fn bullets(d: &Diagnosis) -> Vec<String> {
    let Some(o) = &d.onset else { return vec![] };
    let mut lines = vec![format!(
        "The first 429 came at {}, at {} req/s (attempts started per second over the {} s up to it) \
         with {}, after {}.",
        secs(o.at_s),
        rate(o.request_rate),
        o.window_s,
        surge_record::plural(u64::from(o.concurrency), "active user"),
        surge_record::plural(o.responses_before, "response")
    )];
    let of = |s: Option<surge_analysis::figures::Share>| {
        s.map_or("no responses".to_string(), |s| {
            format!("{} of the {} responses", share(s), s.of)
        })
    };
    lines.push(format!(
        "429 share: {} before the onset, {} from the onset on ({} in all; {} held a 429).",
        of(d.before_onset),
        of(d.from_onset),
        surge_record::plural(d.throttled, "429"),
        surge_record::plural(u64::from(d.throttled_seconds), "second")
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
                format!("; {} carried none", surge_record::plural(ra.without, "429"))
            } else {
                String::new()
            }
        )),
        _ => lines.push("No 429 carried a usable Retry-After header.".into()),
    }
    lines.push(bodies_sentence(d));
    if let Some(m) = &d.measured {
        lines.push(measured_sentence(m, d.tokens_used));
    }
    lines
}

/// Writes the diagnosis; its next steps name what `next` knows of the run.
pub fn phrase(d: &Diagnosis, next: &Next) -> Phrasing {
    with_completion(phrase_429(d, next), d)
}

/// The diagnosis of the 429s alone.
fn phrase_429(d: &Diagnosis, next: &Next) -> Phrasing {
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
                completion: None,
            }
        }
        Verdict::NotThrottled => return not_throttled(d, next),
        Verdict::Throttled => {}
    }
    let Some(o) = &d.onset else {
        return not_throttled(d, next);
    };
    let recommendation = match (&d.advice, &d.no_advice) {
        (Some(a), _) => Some(advice_sentence(d, a, next)),
        (None, Some(no)) => Some(no_advice_sentence(no, next)),
        (None, None) => None,
    };
    let second = match (&d.measured, &d.advice, &d.no_advice) {
        (Some(m), Some(a), _) => format!(
            "→ limit: {}; pace at {} ({} margin){}",
            measured_short(m),
            pace_short(a),
            pct(a.margin),
            match &next.result {
                Some(_) => format!(": {}", next.run_paced_from_result().replace('`', "")),
                None => ".".into(),
            }
        ),
        (_, _, Some(no)) => format!("→ {}", no_advice_short(no, next)),
        _ => "→ no pace can be read from this run.".into(),
    };
    Phrasing {
        headline: [
            format!(
                "429 diagnosis: first 429 at {} at {} req/s with {}; 429 share {} from the onset on; limit named: {}.",
                secs(o.at_s),
                rate(o.request_rate),
                surge_record::plural(u64::from(o.concurrency), "user"),
                d.from_onset.map_or("n/a".into(), share),
                limit_named(d, false)
            ),
            second,
        ],
        lines: bullets(d),
        recommendation,
        tiles: vec![
            ("first 429", secs(o.at_s)),
            ("rate at onset", format!("{} req/s", rate(o.request_rate))),
            ("users at onset", o.concurrency.to_string()),
            (
                "429 share from the onset on",
                d.from_onset.map_or("–".into(), share),
            ),
            (
                "limit measured",
                d.measured.as_ref().map_or("–".into(), measured_short),
            ),
            (
                "recommended pace",
                d.advice.as_ref().map_or("none".into(), pace_short),
            ),
            ("limit named", limit_named(d, true)),
        ],
        completion: None,
    }
}

/// `p` with the completion-time trend: its sentence second among the lines (after the first
/// 429, or the absence of one, that it is read against), and its tile.
fn with_completion(mut p: Phrasing, d: &Diagnosis) -> Phrasing {
    p.completion = completion_sentence(d);
    if let (Some(line), Some(tile)) = (&p.completion, completion_short(d)) {
        p.lines
            .insert(1.min(p.lines.len()), format!("Completion time: {line}"));
        p.tiles.push(("completion time", tile));
    }
    p
}

/// The diagnosis for CI outputs (`--junit`, `--summary-md` of run, check and merge): the
/// terminal's two headline lines verbatim, the facts of the report's tiles (the limit measured,
/// the recommended pace or `none`), and the recommendation or why there is none.
pub fn ci_note(d: &Diagnosis, next: &Next) -> crate::gate_report::Note {
    let p = phrase(d, next);
    crate::gate_report::Note {
        title: "429 diagnosis".into(),
        headline: p.headline.to_vec(),
        facts: p
            .tiles
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        recommendation: p.recommendation,
    }
}

/// Why no pace, in a headline's few words.
fn no_advice_short(no: &NoAdvice, next: &Next) -> String {
    let probe = next.probe();
    match no.reason {
        NoAdviceReason::TooShort => format!(
            "no pace: throttled for {} s, too short to tell burst from sustained rate; run {probe}, or stay throttled ≥ {} s.",
            no.throttled_s,
            no.needed_s.unwrap_or(0)
        ),
        NoAdviceReason::TooRough => format!(
            "no pace: the admitted rate varied ±{}; run {probe}, or stay throttled ≥ {} s.",
            pct(no.rate_error.unwrap_or(1.0)),
            no.needed_s.unwrap_or(0)
        ),
        NoAdviceReason::Unsaturated => {
            format!("no pace: the client let up while throttled; run {probe}.")
        }
        NoAdviceReason::NothingAdmitted => {
            format!("no pace: nothing was admitted while throttled; run {probe}.")
        }
        NoAdviceReason::LongRetryAfter => {
            format!("no pace: the 429s asked for long waits this run cannot size; run {probe}.")
        }
        NoAdviceReason::NotThrottled | NoAdviceReason::NoTraffic => {
            "no pace: nothing throttled.".into()
        }
    }
}

#[cfg(test)]
mod tests;
