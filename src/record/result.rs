//! `result.json`: the versioned, self-describing record of one run. Every report, comparison and
//! check reads this file, so reports can be rebuilt offline and runs compared across days.
//! The JSON Schema is `schemas/result.schema.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::hist::Hist;
use super::meta::{summary_from_v1_plan, PlanSummary, StopReason};
use super::sample::{Outcome, StatusKey};

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

/// Where a run's requests went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// API base URL (for the mock, the loopback URL it ran on).
    pub base_url: String,
    /// Host name.
    pub host: String,
    /// `url` or `mock`.
    pub kind: String,
    /// The mock preset, for `mock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_preset: Option<String>,
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

/// Errors reading a result file.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON of the expected shape.
    #[error("{path}:{line}:{column}: not a surge result: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message.
        message: String,
    },
    /// A value no run can produce (a negative duration, …).
    #[error("{path}: {field} {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field, as a dotted path.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Another kind of file (a JTL, a limit file, a scenario, a folder without a result).
    #[error("{path}: not a surge result: it is {is}")]
    NotAResult {
        /// The file.
        path: String,
        /// What it is, and what reads it.
        is: String,
    },
    /// A result of another schema version.
    #[error("{path}: schema_version {found} {}", version_hint(*found))]
    Version {
        /// The file.
        path: String,
        /// What it says.
        found: u32,
    },
}

/// Why a schema version cannot be read, and what to do.
fn version_hint(found: u32) -> String {
    if found > SCHEMA_VERSION {
        format!(
            "is newer than this surge reads (1 to {SCHEMA_VERSION}): it was written by a later \
             surge; read it with that version, or upgrade"
        )
    } else {
        format!("is not one surge writes (this surge reads 1 to {SCHEMA_VERSION})")
    }
}

/// A file that is not a result, named for what it is, when its first bytes tell.
fn not_a_result(path: &Path) -> Option<ResultError> {
    use crate::filekind::FileKind;
    match FileKind::of_file(path)? {
        FileKind::Result | FileKind::Json => None,
        kind => Some(ResultError::NotAResult {
            path: path.display().to_string(),
            is: kind.what().to_string(),
        }),
    }
}

impl RunResult {
    /// Reads and checks a result file.
    ///
    /// # Errors
    /// [`ResultError`] naming the file (and line for malformed JSON).
    pub fn read(path: &Path) -> Result<RunResult, ResultError> {
        if path.is_dir() {
            // A run's folder stands for its result.
            let inner = path.join("result.json");
            if inner.is_file() {
                return RunResult::read(&inner);
            }
        }
        if let Some(e) = not_a_result(path) {
            return Err(e);
        }
        let p = path.display().to_string();
        let parse_err = |e: serde_json::Error| ResultError::Parse {
            path: p.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        // Streamed twice (the schema and version first, then the whole), never held as text:
        // memory follows the result, and a file larger than the limit stops at it.
        let open = || -> Result<_, ResultError> {
            let f = std::fs::File::open(path).map_err(|source| ResultError::Io {
                path: p.clone(),
                source,
            })?;
            let max = crate::limits::RESULT_BYTES;
            if f.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
                return Err(ResultError::Io {
                    path: p.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        crate::limits::LimitError::TooLarge(max),
                    ),
                });
            }
            Ok(std::io::BufReader::new(crate::limits::Bounded::new(
                f,
                max,
                u64::MAX,
            )))
        };
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<serde_json::Value>,
            schema_version: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_reader(open()?).map_err(parse_err)?;
        if probe.schema.as_ref().and_then(|s| s.as_str()) != Some(SCHEMA) {
            return Err(ResultError::Parse {
                path: p,
                line: 1,
                column: 1,
                message: format!("field \"schema\" is not {SCHEMA:?}"),
            });
        }
        let version = probe
            .schema_version
            .as_ref()
            .and_then(|v| v.as_u64())
            .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
        let r: RunResult = match version {
            SCHEMA_VERSION => serde_json::from_reader(open()?).map_err(parse_err)?,
            1 => {
                let mut probe: serde_json::Value =
                    serde_json::from_reader(open()?).map_err(parse_err)?;
                // Positions refer to the file as written; after the upgrade only messages remain.
                let plan = probe
                    .get("plan")
                    .map(summary_from_v1_plan)
                    .unwrap_or_default();
                probe["plan"] = serde_json::to_value(plan).unwrap_or_default();
                probe["schema_version"] = SCHEMA_VERSION.into();
                serde_json::from_value(probe).map_err(|e| ResultError::Parse {
                    path: p.clone(),
                    line: 1,
                    column: 1,
                    message: format!("(schema_version 1) {e}"),
                })?
            }
            found => return Err(ResultError::Version { path: p, found }),
        };
        r.check().map_err(|(field, message)| ResultError::Invalid {
            path: p,
            field,
            message,
        })?;
        Ok(r)
    }

    /// The figures no run can produce: a negative or non-finite time, more seconds in the
    /// timeline than the duration allows. Such a file was edited or written by something else;
    /// every report would divide by it.
    fn check(&self) -> Result<(), (String, String)> {
        let times = [
            ("duration_s", Some(self.duration_s)),
            ("totals.retry_wait_s", Some(self.totals.retry_wait_s)),
            ("totals.pace_wait_s", Some(self.totals.pace_wait_s)),
            ("totals.completion_s", Some(self.totals.completion_s)),
            ("totals.first_429_s", self.totals.first_429_s),
        ];
        for (field, v) in times {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err((
                    field.to_string(),
                    format!("is {v}: a time in seconds is never negative"),
                ));
            }
        }
        if self.duration_s > crate::duration::MAX.as_secs_f64() * 2.0 {
            return Err((
                "duration_s".into(),
                format!("is {} s: longer than any run surge makes", self.duration_s),
            ));
        }
        Ok(())
    }

    /// Writes pretty JSON.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let f = std::io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer_pretty(f, self).map_err(std::io::Error::other)
    }

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
