//! The completion-time trend in words ([`CompletionTrend`], read with the first 429 it is
//! measured against): the one sentence the terminal's `completion:` line, a bullet of
//! `report.html` and `diagnosis.words.completion` in `result.json` carry, and its short form for
//! the report's tile and CI outputs. A queue behind the API is named "backend queue" with its
//! figures: the rise, the seconds it was read over, and the first 429; transactions too few to
//! read say so.

use crate::format::{ms, secs};
use surge_analysis::diagnosis::Diagnosis;
use surge_analysis::transactions::{CompletionTrend, MIN_TREND_SECONDS, RISING_RATIO};

/// What the trend says, in the word each phrasing opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Completion time rose steadily while the requests' 2xx stayed fast.
    BackendQueue,
    /// Completion time rose steadily with the requests' own time.
    ApiSlowdown,
    /// It rose by the ratio, but no more steadily than noise does.
    NoSteadyRise,
    /// It did not rise.
    Steady,
}

impl Reading {
    /// Of a trend.
    pub fn of(c: &CompletionTrend) -> Reading {
        if c.queue_signature {
            Reading::BackendQueue
        } else if c.rising() {
            Reading::ApiSlowdown
        } else if c.ratio() >= RISING_RATIO {
            Reading::NoSteadyRise
        } else {
            Reading::Steady
        }
    }

    /// The opening words.
    pub fn name(self) -> &'static str {
        match self {
            Reading::BackendQueue => "backend queue",
            Reading::ApiSlowdown => "API slowdown",
            Reading::NoSteadyRise => "no steady rise",
            Reading::Steady => "steady",
        }
    }
}

/// `3.6 s`, or `≥ 13.9 s` for a time still running at the first 429.
fn late_time(c: &CompletionTrend) -> String {
    let at_least = if c.late_at_least { "≥ " } else { "" };
    format!("{at_least}{}", secs(c.late_us as f64 / 1e6))
}

/// `by the first 429 at 25.0 s`, `before the first 429 at 8.5 s` or `in a run without 429s`.
fn against_429(c: &CompletionTrend, d: &Diagnosis) -> String {
    match (&d.onset, c.before_first_429) {
        (Some(o), true) if c.late_at_least => format!("by the first 429 at {}", secs(o.at_s)),
        (Some(o), true) => format!("before the first 429 at {}", secs(o.at_s)),
        _ => "in a run without 429s".into(),
    }
}

/// Why there is no trend, when the plan's transactions give none: `too few to read: …`.
fn unread_sentence(d: &Diagnosis) -> Option<String> {
    let w = d.completion_unread.as_ref()?;
    let before = match (&d.onset, w.before_first_429) {
        (Some(o), true) => format!(" before the first 429 at {}", secs(o.at_s)),
        _ => String::new(),
    };
    Some(format!(
        "too few to read: the {} transactions that succeeded began in only {} different \
         {}{before} (a trend needs {}).",
        w.transaction,
        w.seconds,
        if w.seconds == 1 { "second" } else { "seconds" },
        MIN_TREND_SECONDS
    ))
}

/// The trend in one sentence, opening with its reading (`backend queue: …`), or why there is
/// none (`too few to read: …`); None without transactions.
pub fn completion_sentence(d: &Diagnosis) -> Option<String> {
    let Some(c) = d.completion.as_ref() else {
        return unread_sentence(d);
    };
    let reading = Reading::of(c);
    let requests = format!(
        "the requests' 2xx median went {} ms → {} ms (×{:.1})",
        ms(c.requests_early_us),
        ms(c.requests_late_us),
        c.requests_ratio()
    );
    let steady = format!("a steady rise (p = {:.3})", c.trend_p);
    let tail = match reading {
        Reading::BackendQueue => format!(
            "{steady} while {requests}: work accepted at once and finished ever later, a queue \
             behind the API"
        ),
        Reading::ApiSlowdown => {
            format!("{steady}, but {requests}: the API itself slowed, not only the work behind it")
        }
        Reading::NoSteadyRise => format!(
            "no steadier than noise (p = {:.2}); {requests}: no queue shown",
            c.trend_p
        ),
        Reading::Steady => format!("{requests}: no queue building behind the API"),
    };
    Some(format!(
        "{}: {} took {} (median) when begun in seconds {}–{} and {} when begun in seconds {}–{}, ×{:.1} {}; {tail}.",
        reading.name(),
        c.transaction,
        secs(c.early_us as f64 / 1e6),
        c.early.0,
        c.early.1,
        late_time(c),
        c.late.0,
        c.late.1,
        c.ratio(),
        against_429(c, d),
    ))
}

/// The trend in a few words, for the report's tile and CI outputs: `backend queue: 3.6 s →
/// ≥ 13.9 s by the first 429`.
pub fn completion_short(d: &Diagnosis) -> Option<String> {
    let Some(c) = d.completion.as_ref() else {
        let w = d.completion_unread.as_ref()?;
        return Some(format!(
            "too few to read ({} of {} seconds)",
            w.seconds, MIN_TREND_SECONDS
        ));
    };
    let when = match (&d.onset, c.before_first_429) {
        (Some(_), true) if c.late_at_least => " by the first 429",
        (Some(_), true) => " before the first 429",
        _ => "",
    };
    Some(format!(
        "{}: {} → {}{when}",
        Reading::of(c).name(),
        secs(c.early_us as f64 / 1e6),
        late_time(c)
    ))
}
