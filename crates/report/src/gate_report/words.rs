//! The words of a check: what a threshold's verdict and a baseline comparison observed (the short
//! value CI tables show) and why they passed or failed (one sentence), from the facts
//! `surge_analysis` computed; and the reason an `abort_on_fail` threshold stopped a run.

use surge_analysis::baseline::{Comparison, Side, Skip};
use surge_analysis::threshold_eval::{Breach, NoData, Reading, Verdict};
use surge_plan::threshold::Kind;

use crate::format::{gate_change, gate_value};

/// A check in words: the observed value, and the sentence that explains the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// The measured value (or the change), short: `912ms`, `+1.20pp`, `no data`.
    pub observed: String,
    /// Why it passed or failed.
    pub detail: String,
}

/// A threshold's verdict in words.
pub fn verdict(v: &Verdict) -> Words {
    match &v.reading {
        Reading::Streak {
            longest_s: len,
            from_s: start,
            fails_at_s: n,
        } if !v.passed => Words {
            observed: format!("held {len}s"),
            detail: format!("the condition held {len}s in a row from t={start}s (fails at {n}s)"),
        },
        Reading::Streak {
            longest_s: len,
            from_s: start,
            fails_at_s: n,
        } => {
            let longest = if *len == 0 {
                "the condition never held".to_string()
            } else {
                format!("the condition held at most {len}s in a row (from t={start}s)")
            };
            Words {
                observed: format!("longest {len}s"),
                detail: format!("{longest}; fails at {n}s"),
            }
        }
        Reading::NoData(why) => Words {
            observed: "no data".into(),
            detail: format!("{} (a gate never passes without data)", no_data(why)),
        },
        Reading::Value {
            value,
            kind,
            cmp,
            limit,
            no_429,
        } => {
            let text = if *no_429 {
                "no 429".to_string()
            } else {
                gate_value(*value, *kind)
            };
            let detail = format!(
                "{text} {} {} {}",
                if v.passed { "meets" } else { "breaks" },
                cmp.symbol(),
                gate_value(*limit, *kind)
            );
            Words {
                observed: text,
                detail,
            }
        }
    }
}

fn no_data(why: &NoData) -> String {
    let of = |l: &Option<String>| l.as_ref().map_or(String::new(), |l| format!(" of {l}"));
    match why {
        NoData::Attempts { label } => format!("no attempts{}: nothing to measure", of(label)),
        NoData::FinalOutcomes => "no attempts (final outcomes): nothing to measure".into(),
        NoData::Responses { outcome, label } => format!(
            "no {} responses{}: nothing to measure",
            outcome.name(),
            of(label)
        ),
        NoData::NoDuration => "the run has no duration".into(),
    }
}

/// Why an `abort_on_fail` threshold stopped the run (the run's stop reason).
pub fn breach(b: &Breach) -> String {
    format!(
        "threshold {:?} failed: held {}s in a row up to t={}s",
        b.name, b.held_s, b.until_s
    )
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Baseline => "baseline",
        Side::Candidate => "candidate",
    }
}

/// A baseline comparison in words.
pub fn comparison(c: &Comparison) -> Words {
    if let Some(why) = c.skipped {
        let detail = match why {
            Skip::NoResponses { outcome, side: s } => {
                format!("no {} responses in the {}", outcome.name(), side(s))
            }
            Skip::NoAttempts(s) => format!("no attempts in the {}", side(s)),
            Skip::NoDuration => "a run has no duration".into(),
            Skip::NotComparable => "not comparable".into(),
            Skip::LabelOnlyIn(s) => format!("label only in the {}", side(s)),
        };
        return Words {
            observed: "-".into(),
            detail: format!("{detail}: not compared"),
        };
    }
    let kind = c.kind;
    let (base, cand, d) = (
        c.baseline.unwrap_or(f64::NAN),
        c.candidate.unwrap_or(f64::NAN),
        c.change.unwrap_or(f64::NAN),
    );
    let rel_text = c
        .change_rel
        .map_or(String::new(), |r| format!(", {:+.1}%", r * 100.0));
    let noise = match c.interval {
        None => "no noise estimate".to_string(),
        Some((lo, hi)) => format!(
            "{:.0}% interval {}..{}",
            c.confidence * 100.0,
            gate_change(lo, kind),
            gate_change(hi, kind)
        ),
    };
    let why = match (c.beyond, c.out_of_noise) {
        (true, true) => "regression: beyond the allowance and out of the noise",
        (true, false) => "pass: beyond the allowance but within the noise",
        (false, _) if c.significant => "pass: a real change, within the allowance",
        (false, _) => "pass",
    };
    let allowed_text = c.allowed_written();
    let regression = c.beyond && c.out_of_noise;
    let power_note = match (c.resolution, c.samples_needed) {
        // It did fail: the change was wider than the noise, so only the sample size is said.
        (Some(h), Some(n)) if c.allowed > 0.0 && regression => format!(
            "; the noise (±{}) is wider than {allowed_text} at {} samples, so a change between the \
             two would pass; about {n} samples per run resolve {allowed_text}",
            noise_text(h, base, c.relative, kind),
            c.samples
        ),
        (Some(h), Some(n)) if c.allowed > 0.0 => format!(
            "; cannot fail at the allowance: the noise (±{}) is wider than {allowed_text} at {} samples, so only a change beyond {} fails; about {n} samples per run resolve {allowed_text}",
            noise_text(h, base, c.relative, kind),
            c.samples,
            noise_text(h, base, c.relative, kind)
        ),
        (Some(h), Some(_)) => format!(
            "; an allowance of 0 fails only on a change out of the noise (±{})",
            noise_text(h, base, c.relative, kind)
        ),
        _ => String::new(),
    };
    let detail = format!(
        "{} → {} ({}{rel_text}; {noise}; allowed {allowed_text}): {why}{power_note}",
        gate_value(base, kind),
        gate_value(cand, kind),
        gate_change(d, kind),
    );
    let observed = match (kind, c.change_rel) {
        (Kind::Share, _) | (_, None) => gate_change(d, kind),
        (_, Some(r)) => format!("{:+.1}%", r * 100.0),
    };
    Words { observed, detail }
}

/// A noise half-width as the allowance is written: relative (`14.2%`) for a relative allowance,
/// else in the metric's unit.
fn noise_text(h: f64, base: f64, relative: bool, kind: Kind) -> String {
    if relative && base != 0.0 {
        format!("{:.1}%", 100.0 * h / base.abs())
    } else {
        gate_change(h, kind).trim_start_matches('+').to_string()
    }
}
