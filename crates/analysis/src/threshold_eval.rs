//! Evaluates [`Threshold`]s over a [`RunResult`] after a run, and sustained ones second by second
//! while it goes on ([`LiveGate`], for `abort_on_fail`).
//!
//! Definitions (documented in `docs/ci.md`):
//! - a metric with nothing to measure (a percentile of no successes, a rate over no attempts)
//!   FAILS its threshold: a gate never passes silently;
//! - `first_429` with no 429 at all is infinitely late: `first_429 > 30s` passes, `< 30s` fails;
//! - `throughput` divides by the run's duration; `retries_per_success` is retries / successes;
//! - a sustained threshold (`… for N s`) fails when its condition holds in N consecutive full
//!   seconds of the timeline. A second where the metric is undefined (no responses for a rate or
//!   a percentile) breaks the streak; the run's last, partial second is not read.

use std::sync::Mutex;

use serde::Serialize;

use surge_plan::threshold::{Expr, Kind, Metric, Sel, Stat, Threshold, Timing};
use surge_record::result::{Quantiles, Second};
use surge_record::Tick;
use surge_record::{Hist, Outcome, RunResult};

/// The verdict of one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The threshold's name.
    pub name: String,
    /// The expression as written.
    pub expr: String,
    /// True when it passed.
    pub passed: bool,
    /// The measured value in base units (seconds, share, per second; for sustained thresholds the
    /// longest streak in seconds); None when there was nothing to measure or no 429 at all.
    pub observed: Option<f64>,
    /// The measured value as text (`912ms`, `3.1%`, `longest 4s`).
    pub observed_text: String,
    /// Why it passed or failed, in a sentence.
    pub detail: String,
    /// The threshold could stop the run.
    pub abort_on_fail: bool,
}

/// Formats a value of a kind in a readable unit.
pub fn fmt_value(v: f64, kind: Kind) -> String {
    match kind {
        Kind::Time if v.is_infinite() => "never".into(),
        Kind::Time if v < 1.0 => trim(format!("{:.1}", v * 1e3)) + "ms",
        Kind::Time => trim(format!("{v:.3}")) + "s",
        Kind::Share => trim(format!("{:.3}", v * 100.0)) + "%",
        Kind::PerSecond => trim(format!("{v:.2}")) + "/s",
        Kind::Number if v.is_infinite() => "∞".into(),
        Kind::Number => trim(format!("{v:.3}")),
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn hist_of(r: &RunResult, label: Option<&str>, outcome: Outcome, timing: Timing) -> Hist {
    let mut h = Hist::new();
    // A transaction's name reads its own times (begin → end).
    if let Some(t) = label.and_then(|l| r.transactions.iter().find(|t| t.name == l)) {
        for c in t.cells.iter().filter(|c| c.outcome == outcome) {
            h.add(&c.duration_hist);
        }
        return h;
    }
    for c in &r.cells {
        if label.is_none_or(|l| l == c.label) && c.outcome == outcome {
            h.add(match timing {
                Timing::Service => &c.service_hist,
                Timing::Response => &c.response_hist,
            });
        }
    }
    h
}

/// A latency statistic of a histogram, in seconds; None when empty.
pub fn stat_of(h: &Hist, stat: Stat) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    let us = match stat.quantile() {
        Some(q) if q <= 0.0 => h.min() as f64,
        Some(q) => h.quantile(q) as f64,
        None => h.mean(),
    };
    Some(us / 1e6)
}

/// Attempts of `label` (None: all) matching `sel` (None: all), and all attempts of `label`.
pub fn counts(r: &RunResult, sel: Option<Sel>, label: Option<&str>) -> (u64, u64) {
    let (mut hit, mut all) = (0, 0);
    // A transaction's name counts its ends by outcome.
    if let Some(t) = label.and_then(|l| r.transactions.iter().find(|t| t.name == l)) {
        for c in &t.cells {
            all += c.count;
            if sel.is_none_or(|s| matches!(s, Sel::Outcome(o) if o == c.outcome)) {
                hit += c.count;
            }
        }
        return (hit, all);
    }
    for c in &r.cells {
        if label.is_none_or(|l| l == c.label) {
            all += c.count;
            if sel.is_none_or(|s| s.matches(c.status)) {
                hit += c.count;
            }
        }
    }
    (hit, all)
}

const ERRORS: [Sel; 2] = [
    Sel::Outcome(Outcome::ServerError),
    Sel::Outcome(Outcome::TransportError),
];

/// The whole-run value of a metric; Err(why) when there is nothing to measure.
pub fn measure(r: &RunResult, m: &Metric) -> Result<f64, String> {
    let share = |hit: u64, all: u64, what: &str| {
        if all == 0 {
            Err(format!("no attempts{what}: nothing to measure"))
        } else {
            Ok(hit as f64 / all as f64)
        }
    };
    let of = |l: &Option<String>| l.as_ref().map_or(String::new(), |l| format!(" of {l}"));
    match m {
        Metric::Latency {
            stat,
            label,
            outcome,
            timing,
        } => stat_of(&hist_of(r, label.as_deref(), *outcome, *timing), *stat).ok_or_else(|| {
            format!(
                "no {} responses{}: nothing to measure",
                outcome.name(),
                of(label)
            )
        }),
        Metric::Rate { sel, label } => {
            let (hit, all) = counts(r, Some(*sel), label.as_deref());
            share(hit, all, &of(label))
        }
        Metric::ErrorRate { label } => {
            let hit: u64 = ERRORS
                .iter()
                .map(|s| counts(r, Some(*s), label.as_deref()).0)
                .sum();
            share(hit, counts(r, None, label.as_deref()).1, &of(label))
        }
        Metric::FinalRate { outcome } => {
            let f = &r.totals.final_by_outcome;
            share(
                f.get(outcome).copied().unwrap_or(0),
                f.values().sum(),
                " (final outcomes)",
            )
        }
        Metric::Count { sel, label } => Ok(counts(r, Some(*sel), label.as_deref()).0 as f64),
        Metric::Throughput { sel, label } => {
            if r.duration_s <= 0.0 {
                return Err("the run has no duration".into());
            }
            Ok(counts(r, *sel, label.as_deref()).0 as f64 / r.duration_s)
        }
        Metric::RetriesPerSuccess { label } => {
            let retries: u64 = r
                .cells
                .iter()
                .filter(|c| label.as_ref().is_none_or(|l| *l == c.label))
                .map(|c| c.retries)
                .sum();
            let ok = counts(r, Some(Sel::Outcome(Outcome::Success)), label.as_deref()).0;
            Ok(match (retries, ok) {
                (0, _) => 0.0,
                (_, 0) => f64::INFINITY,
                (a, b) => a as f64 / b as f64,
            })
        }
        Metric::First429 => Ok(r.totals.first_429_s.unwrap_or(f64::INFINITY)),
        Metric::Completion => Ok(r.totals.completion_s),
    }
}

fn quantile_of(q: &Quantiles, stat: Stat) -> Option<u64> {
    match stat {
        Stat::Pct(p) => [(50.0, q.p50), (95.0, q.p95), (99.0, q.p99)]
            .into_iter()
            .find(|(x, _)| *x == p)
            .map(|(_, v)| v),
        Stat::Max => Some(q.max),
        _ => None,
    }
}

/// The value of a (label-free) metric in one second of the timeline; None when undefined.
pub fn measure_second(s: &Second, m: &Metric) -> Option<f64> {
    let count = |sel: Sel| -> u64 {
        match sel {
            Sel::Outcome(o) => s.by_outcome.get(&o).copied().unwrap_or(0),
            Sel::Status(k) => s.by_status.get(&k).copied().unwrap_or(0),
        }
    };
    let share = |hit: u64| (s.completed > 0).then(|| hit as f64 / s.completed as f64);
    match m {
        Metric::Latency {
            stat,
            outcome,
            timing,
            ..
        } => {
            let map = match timing {
                Timing::Service => &s.latency,
                Timing::Response => &s.response_latency,
            };
            map.get(outcome)
                .and_then(|q| quantile_of(q, *stat))
                .map(|us| us as f64 / 1e6)
        }
        Metric::Rate { sel, .. } => share(count(*sel)),
        Metric::ErrorRate { .. } => share(ERRORS.iter().map(|e| count(*e)).sum()),
        Metric::Count { sel, .. } => Some(count(*sel) as f64),
        Metric::Throughput { sel, .. } => Some(sel.map_or(s.completed, count) as f64),
        _ => None,
    }
}

/// Streaming state of one sustained expression: the current streak of seconds where its
/// condition holds.
#[derive(Debug, Clone, Default)]
pub struct Streak {
    next_t: u32,
    run: u32,
    run_start: u32,
    /// Longest streak so far (seconds) and where it started.
    pub longest: (u32, u32),
}

impl Streak {
    /// Reads the next second (missing seconds before it count as idle rows); returns the current
    /// streak length.
    pub fn push(&mut self, e: &Expr, s: &Second) -> u32 {
        if s.t < self.next_t {
            return self.run;
        }
        for t in self.next_t..s.t {
            self.step(
                e,
                &Second {
                    t,
                    ..Second::default()
                },
            );
        }
        self.step(e, s)
    }

    fn step(&mut self, e: &Expr, s: &Second) -> u32 {
        let holds = measure_second(s, &e.metric).is_some_and(|v| e.cmp.holds(v, e.value));
        if holds {
            if self.run == 0 {
                self.run_start = s.t;
            }
            self.run += 1;
            if self.run > self.longest.0 {
                self.longest = (self.run, self.run_start);
            }
        } else {
            self.run = 0;
        }
        self.next_t = s.t + 1;
        self.run
    }
}

/// Evaluates a threshold over a finished run.
pub fn evaluate(r: &RunResult, t: &Threshold) -> Verdict {
    let e = &t.expr;
    let kind = e.metric.kind();
    let mk = |passed: bool, observed: Option<f64>, observed_text: String, detail: String| Verdict {
        name: t.name.clone(),
        expr: e.source.clone(),
        passed,
        observed,
        observed_text,
        detail,
        abort_on_fail: t.abort_on_fail,
    };
    if let Some(n) = e.sustain_s {
        let mut st = Streak::default();
        for s in r
            .timeline
            .iter()
            .filter(|s| f64::from(s.t + 1) <= r.duration_s + 1e-6)
        {
            st.push(e, s);
        }
        let (len, start) = st.longest;
        return if len >= n {
            mk(
                false,
                Some(f64::from(len)),
                format!("held {len}s"),
                format!("the condition held {len}s in a row from t={start}s (fails at {n}s)"),
            )
        } else {
            let longest = if len == 0 {
                "the condition never held".to_string()
            } else {
                format!("the condition held at most {len}s in a row (from t={start}s)")
            };
            mk(
                true,
                Some(f64::from(len)),
                format!("longest {len}s"),
                format!("{longest}; fails at {n}s"),
            )
        };
    }
    match measure(r, &e.metric) {
        Err(why) => mk(
            false,
            None,
            "no data".into(),
            format!("{why} (a gate never passes without data)"),
        ),
        Ok(v) => {
            let passed = e.cmp.holds(v, e.value);
            let text = if matches!(e.metric, Metric::First429) && v.is_infinite() {
                "no 429".to_string()
            } else {
                fmt_value(v, kind)
            };
            let detail = format!(
                "{text} {} {} {}",
                if passed { "meets" } else { "breaks" },
                e.cmp.symbol(),
                fmt_value(e.value, kind)
            );
            mk(passed, v.is_finite().then_some(v), text, detail)
        }
    }
}

/// Evaluates every threshold.
pub fn evaluate_all(r: &RunResult, ts: &[Threshold]) -> Vec<Verdict> {
    ts.iter().map(|t| evaluate(r, t)).collect()
}

/// Watches `abort_on_fail` thresholds during a run: fed each tick's last full second, it returns
/// the abort reason when one of them has held its condition long enough.
#[derive(Debug)]
pub struct LiveGate {
    watched: Vec<(Threshold, Mutex<Streak>)>,
}

impl LiveGate {
    /// None when no threshold has `abort_on_fail`.
    pub fn new(ts: &[Threshold]) -> Option<LiveGate> {
        let watched: Vec<_> = ts
            .iter()
            .filter(|t| t.abort_on_fail && t.expr.sustain_s.is_some())
            .map(|t| (t.clone(), Mutex::default()))
            .collect();
        (!watched.is_empty()).then_some(LiveGate { watched })
    }

    /// Reads one second; `Some(reason)` aborts the run.
    pub fn push(&self, s: &Second) -> Option<String> {
        for (t, st) in &self.watched {
            let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
            let run = st.push(&t.expr, s);
            let n = t.expr.sustain_s.unwrap_or(u32::MAX);
            if run >= n {
                return Some(format!(
                    "threshold {:?} failed: held {run}s in a row up to t={}s",
                    t.name,
                    s.t + 1
                ));
            }
        }
        None
    }

    /// Reads a tick (an idle second when the tick carries no row).
    pub fn tick(&self, t: &Tick) -> Option<String> {
        match &t.second {
            Some(s) => self.push(s),
            None => {
                let sec = t.elapsed.as_secs().saturating_sub(1) as u32;
                self.push(&Second {
                    t: sec,
                    ..Second::default()
                })
            }
        }
    }
}

/// True when any verdict failed.
pub fn any_failed(v: &[Verdict]) -> bool {
    v.iter().any(|v| !v.passed)
}

#[cfg(test)]
pub(crate) mod tests;
