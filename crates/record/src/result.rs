//! `result.json`: the versioned, self-describing record of one run. Every report, comparison and
//! check reads this file, so reports can be rebuilt offline and runs compared across days.
//! The JSON Schema is `schemas/result.schema.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hist::Hist;
use super::meta::{PlanSummary, StopReason};
use super::sample::{Outcome, StatusKey};

mod file;
pub use self::file::ResultError;

/// The `schema` field of every result file.
pub const SCHEMA: &str = "surge/result";
/// The current `schema_version`. Readers also accept version 1 (whose `plan` held the whole
/// checked plan as JSON): it is read into this version's typed [`PlanSummary`].
pub const SCHEMA_VERSION: u32 = 2;

/// One run, as written to `result.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// The scenario that ran.
    pub scenario: ScenarioInfo,
    /// What later stages read of the plan: load per group, auth, thresholds (never a secret).
    pub plan: PlanSummary,
    /// Where the requests went.
    pub target: TargetInfo,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Start time, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Wall (or simulated) duration of the run, seconds.
    pub duration_s: f64,
    /// True when the run did not run its plan to the end (Ctrl-C, a cap, stop_test, abort).
    pub partial: bool,
    /// Why it ended.
    pub stop_reason: StopReason,
    /// True when run on virtual time against the in-process mock.
    pub simulated: bool,
    /// Request labels, in plan order.
    pub labels: Vec<String>,
    /// Whole-run totals.
    pub totals: Totals,
    /// One entry per label × status, with its histograms.
    pub cells: Vec<Cell>,
    /// One row per second from the run's start.
    pub timeline: Vec<Second>,
    /// The transactions of the plan, in plan order, each with its own histograms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<Transaction>,
    /// A segment of a distributed run (`surge run --segment`), or the merge of its segments
    /// (`surge merge`); absent for a plain run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<super::distributed::Distributed>,
}

/// The tool that wrote a result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// `surge`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Tool {
    /// This build.
    pub fn current() -> Tool {
        Tool {
            name: "surge".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The scenario a result came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The file, as given on the command line.
    pub file: String,
}

/// What answered a run's requests.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A server at a URL (a real API, a gateway, `surge mock` over TCP).
    #[default]
    Url,
    /// The built-in mock, started by the run.
    Mock,
}

impl TargetKind {
    /// The name as `result.json` writes it (`url`, `mock`).
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Url => "url",
            TargetKind::Mock => "mock",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a run's requests went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// API base URL (for the mock, the loopback URL it ran on).
    pub base_url: String,
    /// Host name.
    pub host: String,
    /// A URL, or the built-in mock.
    pub kind: TargetKind,
    /// The mock preset, for `mock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_preset: Option<crate::Preset>,
    /// The forward proxy the API requests went through and where it was set, e.g.
    /// `http://proxy.corp:3128 (HTTPS_PROXY)`; never its credentials. Absent: direct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The scenario's extra certificate authorities (`ca_cert`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

/// Whole-run counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Totals {
    /// Attempts sent and recorded (retries included).
    pub requests: u64,
    /// Per outcome class.
    pub by_outcome: BTreeMap<Outcome, u64>,
    /// Per status code or transport error.
    pub by_status: BTreeMap<StatusKey, u64>,
    /// Attempts with attempt number > 1.
    pub retries: u64,
    /// Logical requests (retries counted once), by the outcome of their first attempt.
    #[serde(default)]
    pub first_attempt_by_outcome: BTreeMap<Outcome, u64>,
    /// Logical requests by the outcome of their last attempt (what the caller finally saw).
    #[serde(default)]
    pub final_by_outcome: BTreeMap<Outcome, u64>,
    /// Seconds users spent waiting before retries (all users together).
    #[serde(default)]
    pub retry_wait_s: f64,
    /// Seconds requests were held back by the client-side pacer (all users together).
    #[serde(default)]
    pub pace_wait_s: f64,
    /// Seconds from the start to the end of the last response: the batch completion time.
    #[serde(default)]
    pub completion_s: f64,
    /// Iterations begun by users.
    pub iterations: u64,
    /// Iterations the schedule wanted but no user was free for (open model).
    pub dropped_iterations: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Seconds from start to the first 429's response, if any.
    pub first_429_s: Option<f64>,
    /// Retry-After values seen (whole seconds, rounded up) → count.
    pub retry_after: BTreeMap<u32, u64>,
    /// 429 responses that carried no usable Retry-After.
    pub throttled_without_retry_after: u64,
    /// 429 responses per limit their body named (`namespace/key`); 429s naming none are not here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throttled_by_limit: BTreeMap<String, u64>,
    /// Answers failed per check (`label: assertion name`, `label: extract var`, `label: fail_if
    /// …`): the `assertion` and `extract` outcomes by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_checks: BTreeMap<String, u64>,
}

/// One transaction over the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transaction {
    /// Its name.
    pub name: String,
    /// Times it began.
    pub started: u64,
    /// Times it began and never ended (the run stopped inside it).
    pub unfinished: u64,
    /// One entry per outcome it ended with.
    pub cells: Vec<TxnCell>,
}

impl Transaction {
    /// Times it ended.
    pub fn ended(&self) -> u64 {
        self.cells.iter().map(|c| c.count).sum()
    }
}

/// One transaction × outcome over the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TxnCell {
    /// How it ended.
    pub outcome: Outcome,
    /// Times.
    pub count: u64,
    /// Its time (begin → end, less excluded pauses), µs.
    pub duration: Summary,
    /// Its time's histogram.
    pub duration_hist: Hist,
}

/// One transaction in one second: begun, ended per outcome, and the quantiles of its time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TxnSecond {
    /// Begun in the second.
    #[serde(default)]
    pub started: u64,
    /// Ended in the second, per outcome.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ended: BTreeMap<Outcome, u64>,
    /// Time quantiles of those that ended in the second, per outcome, µs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub duration: BTreeMap<Outcome, Quantiles>,
}

/// Requests as callers saw them (retries counted once): how many, and how many succeeded at the
/// first attempt and in the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finals {
    /// Logical requests.
    pub requests: u64,
    /// Succeeded at the first attempt.
    pub first_ok: u64,
    /// Succeeded in the end.
    pub final_ok: u64,
}

impl Totals {
    /// Final outcomes, when the run recorded them (a result read from a JTL does not).
    pub fn finals(&self) -> Option<Finals> {
        let requests: u64 = self.final_by_outcome.values().sum();
        (requests > 0).then(|| Finals {
            requests,
            first_ok: self
                .first_attempt_by_outcome
                .get(&Outcome::Success)
                .copied()
                .unwrap_or(0),
            final_ok: self
                .final_by_outcome
                .get(&Outcome::Success)
                .copied()
                .unwrap_or(0),
        })
    }

    /// Retries per final success (0 with no success).
    pub fn retries_per_success(&self, final_ok: u64) -> f64 {
        if final_ok == 0 {
            0.0
        } else {
            self.retries as f64 / final_ok as f64
        }
    }
}

/// Latency summary in µs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Summary {
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Summary {
    /// Summarizes a histogram.
    pub fn of(h: &Hist) -> Summary {
        Summary {
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.quantile(0.50),
            p90: h.quantile(0.90),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
            p999: h.quantile(0.999),
            max: h.max(),
        }
    }
}

/// One label × status over the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    /// Request label.
    pub label: String,
    /// Status code or transport error.
    pub status: StatusKey,
    /// Its outcome class.
    pub outcome: Outcome,
    /// Attempts.
    pub count: u64,
    /// Of which retries (attempt > 1).
    pub retries: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Service time (sent → received), µs.
    pub service: Summary,
    /// Response time from the intended start (coordinated omission corrected), µs.
    pub response: Summary,
    /// Service-time histogram.
    pub service_hist: Hist,
    /// Response-time histogram.
    pub response_hist: Hist,
}

/// Latency quantiles of one second, µs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Quantiles {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

impl Quantiles {
    /// From a histogram.
    pub fn of(h: &Hist) -> Quantiles {
        Quantiles {
            p50: h.quantile(0.5),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
            max: h.max(),
        }
    }
}

/// `inin-ratelimit-*` values seen in one second.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct RateLimitSecond {
    /// Responses that carried the headers.
    pub responses: u64,
    /// Largest `inin-ratelimit-allowed`.
    pub allowed: u32,
    /// Largest `inin-ratelimit-count`.
    pub count_max: u32,
    /// Smallest `inin-ratelimit-reset` (seconds).
    pub reset_min: u32,
}

impl RateLimitSecond {
    /// Folds in another's values: responses add, the largest `allowed` and `count` and the
    /// smallest `reset` are kept.
    pub fn merge(&mut self, other: &RateLimitSecond) {
        self.responses += other.responses;
        self.allowed = self.allowed.max(other.allowed);
        self.count_max = self.count_max.max(other.count_max);
        self.reset_min = self.reset_min.min(other.reset_min);
    }
}

/// One second of the run: responses counted at their end, starts at their start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Second {
    /// Seconds since the run's start (this row covers `[t, t+1)`).
    pub t: u32,
    /// Most users active at once during the second.
    pub active_users: u32,
    /// Attempts started.
    pub started: u64,
    /// Attempts completed.
    pub completed: u64,
    /// Completed, per status code or transport error.
    pub by_status: BTreeMap<StatusKey, u64>,
    /// Completed, per outcome class.
    pub by_outcome: BTreeMap<Outcome, u64>,
    /// Service-time quantiles per outcome class (never mixed).
    pub latency: BTreeMap<Outcome, Quantiles>,
    /// Response-time (from intended start) quantiles per outcome class.
    #[serde(default)]
    pub response_latency: BTreeMap<Outcome, Quantiles>,
    /// Completed attempts that were retries.
    pub retries: u64,
    /// Retry-After values (whole seconds, rounded up) → count.
    pub retry_after: BTreeMap<u32, u64>,
    /// Rate-limit headers, when any response in the second carried them.
    pub rate_limit: Option<RateLimitSecond>,
    /// 429 responses per limit their body named.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throttled_by_limit: BTreeMap<String, u64>,
    /// Transactions begun and ended in the second, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transactions: BTreeMap<String, TxnSecond>,
}

impl RunResult {
    /// The names thresholds may name: request labels, then transactions.
    pub fn gate_labels(&self) -> Vec<String> {
        let mut v = self.labels.clone();
        v.extend(self.transactions.iter().map(|t| t.name.clone()));
        v
    }

    /// Count of one outcome class over the run.
    pub fn outcome_count(&self, o: Outcome) -> u64 {
        self.totals.by_outcome.get(&o).copied().unwrap_or(0)
    }

    /// Merged service-time histogram of `label` (None: every label) and `outcome` (None: all).
    pub fn service_hist(&self, label: Option<&str>, outcome: Option<Outcome>) -> Hist {
        let mut h = Hist::new();
        for c in &self.cells {
            if label.is_none_or(|l| l == c.label) && outcome.is_none_or(|o| o == c.outcome) {
                h.add(&c.service_hist);
            }
        }
        h
    }
}
