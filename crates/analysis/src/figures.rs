//! The derived statistics of one run, computed once from a [`RunResult`]: counts and shares per
//! outcome, the label × status rows (and the all-labels rows), the label × outcome rows, latency
//! quantiles from the HDR histograms, and what the client policy finally got.
//!
//! Every figure a report shows comes from here; `report::csv`, `report::html` and
//! `report::terminal` only format them (through `report::format`), so the same percentile can
//! never be computed, or rounded, two ways. This module never formats text and never imports
//! `report`.
//!
//! ```
//! # fn show(r: &surge_record::RunResult) {
//! let f = surge_analysis::figures::Figures::of(r);
//! for row in &f.status_rows {
//!     println!("{:?} {} p95 {} µs", row.label, row.status.label(), row.service.p95_us);
//! }
//! # }
//! ```

use serde::{Deserialize, Serialize};

use surge_record::{Hist, Outcome, RunResult, StatusKey};

/// `n` out of `of`: a share that keeps its denominator, so a sentence can say "78 of 171".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Share {
    /// The part.
    pub n: u64,
    /// The whole.
    pub of: u64,
}

impl Share {
    /// `n` of `of`.
    pub fn new(n: u64, of: u64) -> Share {
        Share { n, of }
    }

    /// The share in [0, 1]; None over an empty whole.
    pub fn value(self) -> Option<f64> {
        (self.of > 0).then(|| self.n as f64 / self.of as f64)
    }
}

/// Latency quantiles of one histogram, in µs (HDR values: three significant digits).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Latency {
    /// The quantiles of `h` (all zero when it is empty: check `count`).
    pub fn of(h: &Hist) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            p50_us: h.quantile(0.50),
            p90_us: h.quantile(0.90),
            p95_us: h.quantile(0.95),
            p99_us: h.quantile(0.99),
            p999_us: h.quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// One label × status over the whole run (label None: every label together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRow {
    /// The request label; None for the all-labels row.
    pub label: Option<String>,
    /// Status code or transport error.
    pub status: StatusKey,
    /// Its outcome class.
    pub outcome: Outcome,
    /// Attempts with this status, of the label's attempts (all attempts for the all-labels row).
    pub share: Share,
    /// Attempts per second of the run's duration.
    pub rate_per_s: f64,
    /// Of which retries (attempt > 1).
    pub retries: u64,
    /// Service time (sent → received).
    pub service: Latency,
    /// Response time from the intended start (coordinated omission corrected).
    pub response: Latency,
}

impl StatusRow {
    /// Attempts in the row.
    pub fn count(&self) -> u64 {
        self.share.n
    }
}

/// One label × outcome class over the whole run (every status of the class together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRow {
    /// The request label.
    pub label: String,
    /// The outcome class.
    pub outcome: Outcome,
    /// Attempts.
    pub count: u64,
    /// Attempts per second of the run's duration.
    pub rate_per_s: f64,
    /// Service-time quantiles.
    pub service: Latency,
    /// Response-time (from the intended start) quantiles.
    pub response: Latency,
    /// The merged service-time histogram (for curves: the report's distribution chart).
    #[serde(skip)]
    pub service_hist: Hist,
    /// The merged response-time histogram.
    #[serde(skip)]
    pub response_hist: Hist,
}

/// What callers finally got, when the run recorded final outcomes (a JTL does not).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Finals {
    /// Logical requests (retries counted once).
    pub requests: u64,
    /// Succeeded at the first attempt.
    pub first_ok: Share,
    /// Succeeded in the end.
    pub final_ok: Share,
    /// Finally failed.
    pub failed: u64,
    /// Retries per final success (0 with no success).
    pub retries_per_success: f64,
}

/// Whole-run counts and rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The run's duration, seconds.
    pub duration_s: f64,
    /// Attempts (retries included).
    pub requests: u64,
    /// Attempts per second.
    pub rate_per_s: f64,
    /// 2xx among attempts.
    pub ok: Share,
    /// 429s among attempts.
    pub throttled: Share,
    /// Answers that failed the request's own checks (`assertion`, `extract`, poll `timeout`)
    /// among attempts.
    #[serde(default)]
    pub checks_failed: Share,
    /// Everything else (4xx but 429, 5xx, other, transport errors) among attempts.
    pub other: Share,
    /// Attempts that were retries.
    pub retries: u64,
    /// Service time of every 2xx; None with no 2xx.
    pub success_service: Option<Latency>,
    /// Final outcomes, when recorded.
    pub finals: Option<Finals>,
    /// Seconds from the start to the first 429's response.
    pub first_429_s: Option<f64>,
    /// Seconds users waited before retries (all users together).
    pub retry_wait_s: f64,
    /// Seconds requests were held back by the client-side pacer.
    pub pace_wait_s: f64,
    /// Seconds from the start to the end of the last response.
    pub completion_s: f64,
    /// Iterations the schedule wanted but no user was free for.
    pub dropped_iterations: u64,
}

/// The derived statistics of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Whole-run counts and rates.
    pub overview: Overview,
    /// Label × status rows, labels in plan order, statuses by outcome class then code; then, when
    /// there is more than one label, one all-labels row per status.
    pub status_rows: Vec<StatusRow>,
    /// Label × outcome rows, labels in plan order, outcomes in [`Outcome::ALL`] order; empty
    /// outcomes left out.
    pub outcome_rows: Vec<OutcomeRow>,
    /// Transaction × outcome rows, transactions in plan order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<super::transactions::TxnRow>,
    /// Operations in flight per second, per transaction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<super::transactions::InFlight>,
    /// Answers failed per check (`label: name`), most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<(String, u64)>,
}

fn order(k: &StatusKey) -> (usize, StatusKey) {
    (k.outcome().index(), *k)
}

impl Figures {
    /// Computes every figure of `r`.
    pub fn of(r: &RunResult) -> Figures {
        let dur = r.duration_s.max(1e-9);
        Figures {
            overview: overview(r, dur),
            status_rows: status_rows(r, dur),
            outcome_rows: outcome_rows(r, dur),
            transactions: super::transactions::rows(r),
            in_flight: super::transactions::in_flight(r),
            failed_checks: {
                let mut v: Vec<(String, u64)> = r
                    .totals
                    .failed_checks
                    .iter()
                    .map(|(k, n)| (k.clone(), *n))
                    .collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v
            },
        }
    }

    /// The label × outcome row, when that outcome occurred.
    pub fn outcome_row(&self, label: &str, o: Outcome) -> Option<&OutcomeRow> {
        self.outcome_rows
            .iter()
            .find(|x| x.label == label && x.outcome == o)
    }
}

fn overview(r: &RunResult, dur: f64) -> Overview {
    let t = &r.totals;
    let ok = r.outcome_count(Outcome::Success);
    let thr = r.outcome_count(Outcome::Throttled);
    let checks: u64 = [Outcome::Assertion, Outcome::Extract, Outcome::Timeout]
        .into_iter()
        .map(|o| r.outcome_count(o))
        .sum();
    let ok_hist = r.service_hist(None, Some(Outcome::Success));
    let finals = t.finals().map(|f| Finals {
        requests: f.requests,
        first_ok: Share::new(f.first_ok, f.requests),
        final_ok: Share::new(f.final_ok, f.requests),
        failed: f.requests - f.final_ok,
        retries_per_success: t.retries_per_success(f.final_ok),
    });
    Overview {
        duration_s: r.duration_s,
        requests: t.requests,
        rate_per_s: t.requests as f64 / dur,
        ok: Share::new(ok, t.requests),
        throttled: Share::new(thr, t.requests),
        checks_failed: Share::new(checks, t.requests),
        other: Share::new(t.requests.saturating_sub(ok + thr + checks), t.requests),
        retries: t.retries,
        success_service: (!ok_hist.is_empty()).then(|| Latency::of(&ok_hist)),
        finals,
        first_429_s: t.first_429_s,
        retry_wait_s: t.retry_wait_s,
        pace_wait_s: t.pace_wait_s,
        completion_s: t.completion_s,
        dropped_iterations: t.dropped_iterations,
    }
}

fn status_rows(r: &RunResult, dur: f64) -> Vec<StatusRow> {
    let row = |label: Option<String>,
               status: StatusKey,
               of: u64,
               cells: &[&surge_record::result::Cell]| {
        let (mut sv, mut rs, mut n, mut retries) = (Hist::new(), Hist::new(), 0, 0);
        for c in cells {
            sv.add(&c.service_hist);
            rs.add(&c.response_hist);
            n += c.count;
            retries += c.retries;
        }
        StatusRow {
            label,
            status,
            outcome: status.outcome(),
            share: Share::new(n, of),
            rate_per_s: n as f64 / dur,
            retries,
            service: Latency::of(&sv),
            response: Latency::of(&rs),
        }
    };
    let mut out = Vec::new();
    for label in &r.labels {
        let mut cells: Vec<_> = r.cells.iter().filter(|c| &c.label == label).collect();
        cells.sort_by_key(|c| order(&c.status));
        let of: u64 = cells.iter().map(|c| c.count).sum();
        for c in cells {
            out.push(row(Some(label.clone()), c.status, of, &[c]));
        }
    }
    if r.labels.len() > 1 {
        let mut statuses: Vec<StatusKey> = r.cells.iter().map(|c| c.status).collect();
        statuses.sort_by_key(order);
        statuses.dedup();
        for s in statuses {
            let cells: Vec<_> = r.cells.iter().filter(|c| c.status == s).collect();
            out.push(row(None, s, r.totals.requests, &cells));
        }
    }
    out
}

fn outcome_rows(r: &RunResult, dur: f64) -> Vec<OutcomeRow> {
    let mut out = Vec::new();
    for label in &r.labels {
        for o in Outcome::ALL {
            let (mut sv, mut rs) = (Hist::new(), Hist::new());
            for c in r
                .cells
                .iter()
                .filter(|c| &c.label == label && c.outcome == o)
            {
                sv.add(&c.service_hist);
                rs.add(&c.response_hist);
            }
            if sv.is_empty() {
                continue;
            }
            out.push(OutcomeRow {
                label: label.clone(),
                outcome: o,
                count: sv.len(),
                rate_per_s: sv.len() as f64 / dur,
                service: Latency::of(&sv),
                response: Latency::of(&rs),
                service_hist: sv,
                response_hist: rs,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use surge_record::synthetic;

    #[test]
    fn rows_add_up_to_the_totals_and_all_rows_merge_the_labels() {
        let r = synthetic::result(120, &["get", "publish"]);
        let f = Figures::of(&r);
        let label_rows: Vec<_> = f.status_rows.iter().filter(|x| x.label.is_some()).collect();
        let all_rows: Vec<_> = f.status_rows.iter().filter(|x| x.label.is_none()).collect();
        let sum = |rows: &[&StatusRow]| rows.iter().map(|x| x.count()).sum::<u64>();
        assert_eq!(sum(&label_rows), r.totals.requests);
        assert_eq!(sum(&all_rows), r.totals.requests);
        for a in &all_rows {
            assert_eq!(a.share.of, r.totals.requests);
            let parts: u64 = label_rows
                .iter()
                .filter(|x| x.status == a.status)
                .map(|x| x.count())
                .sum();
            assert_eq!(a.count(), parts, "{:?}", a.status);
            assert_eq!(a.service.count, a.count());
        }
        // Statuses come by outcome class, then code, within each label.
        for w in label_rows.windows(2) {
            if w[0].label == w[1].label {
                assert!(order(&w[0].status) < order(&w[1].status));
            }
        }
        let ok: u64 = f
            .outcome_rows
            .iter()
            .filter(|x| x.outcome == Outcome::Success)
            .map(|x| x.count)
            .sum();
        assert_eq!(Share::new(ok, r.totals.requests), f.overview.ok);
        assert_eq!(
            f.overview.ok.n
                + f.overview.throttled.n
                + f.overview.checks_failed.n
                + f.overview.other.n,
            r.totals.requests
        );
    }

    #[test]
    fn one_label_has_no_all_rows_and_quantiles_come_from_the_histogram() {
        let r = synthetic::result(60, &["publish"]);
        let f = Figures::of(&r);
        assert!(f.status_rows.iter().all(|x| x.label.is_some()));
        let h = r.service_hist(Some("publish"), Some(Outcome::Success));
        let row = f.outcome_row("publish", Outcome::Success).unwrap();
        assert_eq!(row.service.p95_us, h.quantile(0.95));
        assert_eq!(row.service.max_us, h.max());
        assert_eq!(f.overview.success_service.unwrap().p99_us, h.quantile(0.99));
    }

    #[test]
    fn shares_keep_their_denominators() {
        assert_eq!(Share::new(3, 0).value(), None);
        assert_eq!(Share::new(1, 4).value(), Some(0.25));
    }
}
