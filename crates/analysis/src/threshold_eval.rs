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

use surge_plan::threshold::{Cmp, Expr, Kind, Metric, Sel, Stat, Threshold, Timing};
use surge_record::result::{Quantiles, Second};
use surge_record::Tick;
use surge_record::{Hist, Outcome, RunResult};

/// The verdict of one threshold: whether it passed, and what was read to decide, as numbers
/// (`report::gate_report` writes them in words).
#[derive(Debug, Clone, PartialEq)]
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
    /// What was read.
    pub reading: Reading,
    /// The threshold could stop the run.
    pub abort_on_fail: bool,
}

/// What a threshold read to reach its verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The metric's whole-run value, compared with the threshold's.
    Value {
        /// The value in base units; infinite for `first_429` without a 429 (infinitely late)
        /// and for retries per success without a success.
        value: f64,
        /// The metric's unit.
        kind: Kind,
        /// The comparison written.
        cmp: Cmp,
        /// The threshold's value, in base units.
        limit: f64,
        /// `first_429` and the run had no 429.
        no_429: bool,
    },
    /// Nothing to measure: the threshold fails (a gate never passes without data).
    NoData(NoData),
    /// A sustained threshold (`… for N s`): the longest run of seconds its condition held.
    Streak {
        /// Its length, seconds (0: the condition never held).
        longest_s: u32,
        /// The second it began.
        from_s: u32,
        /// The length at which the threshold fails.
        fails_at_s: u32,
    },
}

/// Why a metric had nothing to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoData {
    /// No attempts (of the label, when the metric names one).
    Attempts {
        /// The label.
        label: Option<String>,
    },
    /// No final outcomes (a `final_rate` over a run that ended nothing).
    FinalOutcomes,
    /// No responses of the outcome (of the label).
    Responses {
        /// The outcome the metric reads.
        outcome: Outcome,
        /// The label.
        label: Option<String>,
    },
    /// The run has no duration (a throughput).
    NoDuration,
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
///
/// # Errors
/// [`NoData`]: no attempts, no responses of the outcome, no final outcomes, no duration.
pub fn measure(r: &RunResult, m: &Metric) -> Result<f64, NoData> {
    let share = |hit: u64, all: u64, none: NoData| {
        if all == 0 {
            Err(none)
        } else {
            Ok(hit as f64 / all as f64)
        }
    };
    let no_attempts = |label: &Option<String>| NoData::Attempts {
        label: label.clone(),
    };
    match m {
        Metric::Latency {
            stat,
            label,
            outcome,
            timing,
        } => stat_of(&hist_of(r, label.as_deref(), *outcome, *timing), *stat).ok_or_else(|| {
            NoData::Responses {
                outcome: *outcome,
                label: label.clone(),
            }
        }),
        Metric::Rate { sel, label } => {
            let (hit, all) = counts(r, Some(*sel), label.as_deref());
            share(hit, all, no_attempts(label))
        }
        Metric::ErrorRate { label } => {
            let hit: u64 = ERRORS
                .iter()
                .map(|s| counts(r, Some(*s), label.as_deref()).0)
                .sum();
            share(hit, counts(r, None, label.as_deref()).1, no_attempts(label))
        }
        Metric::FinalRate { outcome } => {
            let f = &r.totals.final_by_outcome;
            share(
                f.get(outcome).copied().unwrap_or(0),
                f.values().sum(),
                NoData::FinalOutcomes,
            )
        }
        Metric::Count { sel, label } => Ok(counts(r, Some(*sel), label.as_deref()).0 as f64),
        Metric::Throughput { sel, label } => {
            if r.duration_s <= 0.0 {
                return Err(NoData::NoDuration);
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
    let mk = |passed: bool, observed: Option<f64>, reading: Reading| Verdict {
        name: t.name.clone(),
        expr: e.source.clone(),
        passed,
        observed,
        reading,
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
        let reading = Reading::Streak {
            longest_s: len,
            from_s: start,
            fails_at_s: n,
        };
        return mk(len < n, Some(f64::from(len)), reading);
    }
    match measure(r, &e.metric) {
        Err(why) => mk(false, None, Reading::NoData(why)),
        Ok(v) => {
            let reading = Reading::Value {
                value: v,
                kind: e.metric.kind(),
                cmp: e.cmp,
                limit: e.value,
                no_429: matches!(e.metric, Metric::First429) && v.is_infinite(),
            };
            mk(e.cmp.holds(v, e.value), v.is_finite().then_some(v), reading)
        }
    }
}

/// Evaluates every threshold.
pub fn evaluate_all(r: &RunResult, ts: &[Threshold]) -> Vec<Verdict> {
    ts.iter().map(|t| evaluate(r, t)).collect()
}

/// An `abort_on_fail` threshold whose condition held long enough during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The threshold's name.
    pub name: String,
    /// Seconds in a row its condition held.
    pub held_s: u32,
    /// The end of the last of them, seconds from the start.
    pub until_s: u32,
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

    /// Reads one second; `Some(breach)` aborts the run.
    pub fn push(&self, s: &Second) -> Option<Breach> {
        for (t, st) in &self.watched {
            let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
            let run = st.push(&t.expr, s);
            let n = t.expr.sustain_s.unwrap_or(u32::MAX);
            if run >= n {
                return Some(Breach {
                    name: t.name.clone(),
                    held_s: run,
                    until_s: s.t + 1,
                });
            }
        }
        None
    }

    /// Reads a tick (an idle second when the tick carries no row).
    pub fn tick(&self, t: &Tick) -> Option<Breach> {
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
