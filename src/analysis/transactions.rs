//! Transactions as facts: one row per transaction × outcome (count, share, rate, time
//! quantiles), the operations in flight each second (begun, not yet ended), and the
//! completion-time trend the diagnosis reads: transaction time early in the run against the
//! time just before the first 429 (or the end), beside the requests' own 2xx time over the same
//! seconds. Reports format these; nothing here writes text.

use serde::{Deserialize, Serialize};

use super::figures::{Latency, Share};
use crate::record::result::{RunResult, Second};
use crate::record::Outcome;

/// Seconds (with transactions ending in them) each trend window spans.
pub const TREND_WINDOW_S: usize = 5;
/// The transaction time must grow at least this much for a rising trend...
pub const RISING_RATIO: f64 = 1.5;
/// ...while the requests' 2xx time grows less than this.
pub const FLAT_RATIO: f64 = 1.25;

/// One transaction × outcome over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRow {
    /// The transaction.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Of the transaction's ends.
    pub share: Share,
    /// Ends per second of the run.
    pub rate_per_s: f64,
    /// Its time (begin → end, less excluded pauses).
    pub time: Latency,
}

/// Operations in flight each second: begun and not yet ended by the second's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// The transaction.
    pub name: String,
    /// Per second of the timeline.
    pub per_second: Vec<u64>,
    /// Begun, never ended (cut by the end of the run).
    pub unfinished: u64,
}

impl InFlight {
    /// The most in flight at a second's end.
    pub fn peak(&self) -> u64 {
        self.per_second.iter().copied().max().unwrap_or(0)
    }
}

/// The rows of every transaction, in plan order, outcomes in report order.
pub fn rows(r: &RunResult) -> Vec<TxnRow> {
    let dur = r.duration_s.max(1e-9);
    let mut out = Vec::new();
    for t in &r.transactions {
        let ended = t.ended();
        for c in &t.cells {
            out.push(TxnRow {
                name: t.name.clone(),
                outcome: c.outcome,
                share: Share::new(c.count, ended),
                rate_per_s: c.count as f64 / dur,
                time: Latency::of(&c.duration_hist),
            });
        }
    }
    out
}

/// Operations in flight per second, per transaction.
pub fn in_flight(r: &RunResult) -> Vec<InFlight> {
    r.transactions
        .iter()
        .map(|t| {
            let mut level: i64 = 0;
            let per_second = r
                .timeline
                .iter()
                .map(|s| {
                    if let Some(x) = s.transactions.get(&t.name) {
                        level += x.started as i64 - x.ended.values().sum::<u64>() as i64;
                    }
                    level.max(0) as u64
                })
                .collect();
            InFlight {
                name: t.name.clone(),
                per_second,
                unfinished: t.unfinished,
            }
        })
        .collect()
}

/// How a transaction's time moved over the run, against the requests' 2xx time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionTrend {
    /// The transaction (the one with the most successful ends).
    pub transaction: String,
    /// First and last second of the early window.
    pub early: (u32, u32),
    /// First and last second of the late window: the stretch of that many seconds, after the
    /// early one, where the transaction took longest (before the first 429's second when the
    /// run was throttled).
    pub late: (u32, u32),
    /// Median transaction time (success) early / late, µs: the count-weighted mean of the
    /// window's per-second medians.
    pub early_us: u64,
    /// See `early_us`.
    pub late_us: u64,
    /// The requests' median 2xx service time over the same windows, µs.
    pub requests_early_us: u64,
    /// See `requests_early_us`.
    pub requests_late_us: u64,
    /// The late window ends before the first 429 (false when there was none).
    pub before_first_429: bool,
    /// Transaction time grew ≥ [`RISING_RATIO`] while the 2xx time grew < [`FLAT_RATIO`]: the
    /// signature of a queue behind the API (work accepted fast, finished ever later).
    pub queue_signature: bool,
}

impl CompletionTrend {
    /// late / early transaction time.
    pub fn ratio(&self) -> f64 {
        self.late_us as f64 / (self.early_us as f64).max(1.0)
    }

    /// late / early 2xx request time.
    pub fn requests_ratio(&self) -> f64 {
        self.requests_late_us as f64 / (self.requests_early_us as f64).max(1.0)
    }
}

/// Count-weighted mean of a window's per-second medians.
fn weighted(rows: &[&Second], f: impl Fn(&Second) -> Option<(u64, u64)>) -> u64 {
    let (mut sum, mut n) = (0f64, 0u64);
    for s in rows {
        if let Some((p50, count)) = f(s) {
            sum += p50 as f64 * count as f64;
            n += count;
        }
    }
    if n == 0 {
        0
    } else {
        (sum / n as f64).round() as u64
    }
}

/// The completion-time trend of the run's main transaction; None without transactions or with
/// too few seconds to compare two windows.
pub fn completion_trend(r: &RunResult) -> Option<CompletionTrend> {
    let t = r.transactions.iter().max_by_key(|t| {
        t.cells
            .iter()
            .filter(|c| c.outcome == Outcome::Success)
            .map(|c| c.count)
            .sum::<u64>()
    })?;
    let onset = r
        .timeline
        .iter()
        .find(|s| {
            s.by_outcome
                .get(&Outcome::Throttled)
                .is_some_and(|n| *n > 0)
        })
        .map(|s| s.t);
    let ok_txn = |s: &Second| {
        let x = s.transactions.get(&t.name)?;
        let q = x.duration.get(&Outcome::Success)?;
        Some((q.p50, x.ended.get(&Outcome::Success).copied().unwrap_or(0)))
    };
    let with: Vec<&Second> = r
        .timeline
        .iter()
        .filter(|s| ok_txn(s).is_some_and(|(_, n)| n > 0))
        .filter(|s| onset.is_none_or(|o| s.t < o))
        .collect();
    if with.len() < 2 * TREND_WINDOW_S.min(2) {
        return None;
    }
    let w = TREND_WINDOW_S.min(with.len() / 2);
    let early = &with[..w];
    // The late window: the highest stretch after the early one (before the first 429).
    let late = (w..=with.len() - w)
        .map(|i| &with[i..i + w])
        .max_by_key(|win| weighted(win, ok_txn))
        .unwrap_or(&with[with.len() - w..]);
    let ok_req = |s: &Second| {
        let q = s.latency.get(&Outcome::Success)?;
        Some((
            q.p50,
            s.by_outcome.get(&Outcome::Success).copied().unwrap_or(0),
        ))
    };
    let mut trend = CompletionTrend {
        transaction: t.name.clone(),
        early: (early[0].t, early[w - 1].t),
        late: (late[0].t, late[w - 1].t),
        early_us: weighted(early, ok_txn),
        late_us: weighted(late, ok_txn),
        requests_early_us: weighted(early, ok_req),
        requests_late_us: weighted(late, ok_req),
        before_first_429: onset.is_some(),
        queue_signature: false,
    };
    trend.queue_signature = trend.ratio() >= RISING_RATIO && trend.requests_ratio() < FLAT_RATIO;
    Some(trend)
}
