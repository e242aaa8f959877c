//! Comparing runs side by side: the figures a performance engineer ranks ramp-up and retry
//! strategies by, each with its noise, and the best run per figure — best among the runs that did
//! the job, and only where the difference stands out of the runs' noise. Used by `surge compare`
//! and `surge sweep`; `report::compare` and `report::html::compare` format what this computes.

use serde::Serialize;

use surge_record::{Hist, Outcome, RunResult};

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Higher is better.
    Higher,
    /// Lower is better.
    Lower,
}

/// A figure's value with its noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Value {
    /// The value (NaN where the figure does not apply, e.g. `first_429_s` with no 429).
    pub value: f64,
    /// Its standard error: how much it would move on a re-run of the same plan (0: exact; NaN:
    /// unknown).
    pub se: f64,
}

impl Value {
    /// An exact value.
    pub fn exact(value: f64) -> Value {
        Value { value, se: 0.0 }
    }

    /// Not applicable.
    pub fn none() -> Value {
        Value {
            value: f64::NAN,
            se: f64::NAN,
        }
    }
}

/// One compared figure: how to read it from [`RunFigures`] (or a transaction's
/// [`TxnFigures`]) and how to rank it.
#[derive(Debug, Clone, Copy)]
pub struct Figure<T = RunFigures> {
    /// Column name (also the CSV header).
    pub key: &'static str,
    /// Human title.
    pub title: &'static str,
    /// Unit shown after values.
    pub unit: &'static str,
    /// Which way is better (None: informational, never highlighted).
    pub better: Option<Better>,
    /// Ranked only among the runs that did the job (every request finally succeeded): a fast
    /// batch that dropped 40 % of its publishes is not the fastest.
    pub among_done: bool,
    /// Reads the figure.
    pub get: fn(&T) -> Value,
}

macro_rules! figure {
    ($key:ident, $title:expr, $unit:expr, $better:expr, $done:expr) => {
        Figure {
            key: stringify!($key),
            title: $title,
            unit: $unit,
            better: $better,
            among_done: $done,
            get: |r| r.$key,
        }
    };
}

const HI: Option<Better> = Some(Better::Higher);
const LO: Option<Better> = Some(Better::Lower);

/// The figures, in table order.
pub const FIGURES: &[Figure] = &[
    figure!(requests, "attempts", "", None, false),
    figure!(logical_requests, "requests (retries once)", "", None, false),
    figure!(success_share, "2xx share of attempts", "%", HI, false),
    figure!(throttled_share, "429 share of attempts", "%", LO, false),
    figure!(final_success_rate, "final success rate", "%", HI, false),
    figure!(
        failed_requests,
        "requests that finally failed",
        "",
        LO,
        false
    ),
    figure!(completion_s, "batch completion time", "s", LO, true),
    figure!(first_429_s, "first 429", "s", None, false),
    figure!(p50_ms, "p50 of successes", "ms", LO, true),
    figure!(p95_ms, "p95 of successes", "ms", LO, true),
    figure!(p99_ms, "p99 of successes", "ms", LO, true),
    figure!(retries_per_success, "retries per success", "", LO, true),
    figure!(retry_wait_s, "time waiting before retries", "s", LO, true),
    figure!(dropped_iterations, "dropped iterations", "", LO, false),
];

/// One run's figures, each with its noise.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// The run's name in the comparison.
    pub name: String,
    /// Attempts (retries included).
    pub requests: Value,
    /// Logical requests (retries once; attempts when final outcomes were not recorded).
    pub logical_requests: Value,
    /// 2xx share of attempts, %.
    pub success_share: Value,
    /// 429 share of attempts, %.
    pub throttled_share: Value,
    /// Requests that finally succeeded, %.
    pub final_success_rate: Value,
    /// Requests that finally failed.
    pub failed_requests: Value,
    /// Seconds from the start to the last response.
    pub completion_s: Value,
    /// Seconds to the first 429.
    pub first_429_s: Value,
    /// Percentiles of successful service times, ms.
    pub p50_ms: Value,
    /// 95th percentile.
    pub p95_ms: Value,
    /// 99th percentile.
    pub p99_ms: Value,
    /// Retries per final success.
    pub retries_per_success: Value,
    /// Seconds users waited before retries.
    pub retry_wait_s: Value,
    /// Arrivals with no free user.
    pub dropped_iterations: Value,
    /// The run's transactions, in plan order (none when the plan has none).
    pub transactions: Vec<TxnFigures>,
}

/// One transaction's figures in a comparison: how many ended, how many of those failed (any
/// outcome but success), and its time's median and p95 over the successful ones.
#[derive(Debug, Clone, Serialize)]
pub struct TxnFigures {
    /// The transaction.
    pub name: String,
    /// Times it ended (any outcome).
    pub ended: Value,
    /// Times it ended in anything but success.
    pub failed: Value,
    /// Median time of the successful ones, ms.
    pub p50_ms: Value,
    /// 95th percentile, ms.
    pub p95_ms: Value,
}

impl TxnFigures {
    /// The figures of transaction `t`.
    pub fn of(t: &surge_record::result::Transaction) -> TxnFigures {
        let ended = t.ended();
        let ok = t.cells.iter().find(|c| c.outcome == Outcome::Success);
        let hist = ok.map(|c| &c.duration_hist);
        let q = |p: f64| hist.map_or(Value::none(), |h| quantile(h, p));
        TxnFigures {
            name: t.name.clone(),
            ended: Value::exact(ended as f64),
            failed: count_of(ended - ok.map_or(0, |c| c.count), ended),
            p50_ms: q(0.50),
            p95_ms: q(0.95),
        }
    }
}

/// The transaction figures, in table order: rows of a comparison, each read from a
/// [`TxnFigures`].
pub const TXN_FIGURES: &[Figure<TxnFigures>] = &[
    figure!(ended, "ended", "", None, false),
    figure!(failed, "failed", "", LO, false),
    figure!(p50_ms, "p50 of successes", "ms", LO, true),
    figure!(p95_ms, "p95 of successes", "ms", LO, true),
];

/// One row of a comparison: a figure, its value in each run, and how to rank it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The CSV column: a [`Figure::key`], or `transaction.NAME.KEY`.
    pub key: String,
    /// The transaction the row belongs to (None: the run's request figures).
    pub transaction: Option<String>,
    /// Human title (within its transaction, for a transaction's row).
    pub title: &'static str,
    /// Unit shown after values.
    pub unit: &'static str,
    /// Which way is better (None: informational).
    pub better: Option<Better>,
    /// Ranked only among the runs that did the job.
    pub among_done: bool,
    /// One value per run, in order (not applicable where a run lacks the transaction).
    pub values: Vec<Value>,
}

/// Every row of a comparison of `runs`: the request figures ([`FIGURES`]), then for each
/// transaction any run has (in the order they first appear) its ended, failed, p50 and p95.
pub fn rows(runs: &[RunFigures]) -> Vec<Row> {
    let mut out: Vec<Row> = FIGURES
        .iter()
        .map(|f| Row {
            key: f.key.to_string(),
            transaction: None,
            title: f.title,
            unit: f.unit,
            better: f.better,
            among_done: f.among_done,
            values: runs.iter().map(|r| (f.get)(r)).collect(),
        })
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for t in runs.iter().flat_map(|r| &r.transactions) {
        if !names.contains(&t.name.as_str()) {
            names.push(&t.name);
        }
    }
    for name in names {
        for f in TXN_FIGURES {
            out.push(Row {
                key: format!("transaction.{name}.{}", f.key),
                transaction: Some(name.to_string()),
                title: f.title,
                unit: f.unit,
                better: f.better,
                among_done: f.among_done,
                values: runs
                    .iter()
                    .map(|r| {
                        r.transactions
                            .iter()
                            .find(|t| t.name == name)
                            .map_or(Value::none(), f.get)
                    })
                    .collect(),
            });
        }
    }
    out
}

impl RunFigures {
    /// Every request finally succeeded.
    pub fn did_the_job(&self) -> bool {
        self.failed_requests.value == 0.0
    }
}

/// z of a two-sided 95 % interval: a difference under `Z × √(se₁² + se₂²)` is noise.
pub const Z: f64 = 1.96;

/// `n` of `of` as a percentage, with its binomial standard error (the share is shrunk by half a
/// count so that 0 % and 100 % still carry the noise of their sample size).
fn share(n: u64, of: u64) -> Value {
    if of == 0 {
        return Value::none();
    }
    let p = (n as f64 + 0.5) / (of as f64 + 1.0);
    Value {
        value: 100.0 * n as f64 / of as f64,
        se: 100.0 * (p * (1.0 - p) / of as f64).sqrt(),
    }
}

/// A count of `n` failures out of `of` trials, with its binomial standard error.
fn count_of(n: u64, of: u64) -> Value {
    let s = share(n, of);
    Value {
        value: n as f64,
        se: s.se * of as f64 / 100.0,
    }
}

/// Quantile `q` of `h` in ms, with a standard error from the distribution-free interval of an
/// order statistic: ranks `n·q ± Z·√(n·q·(1−q))`.
fn quantile(h: &Hist, q: f64) -> Value {
    if h.is_empty() {
        return Value::none();
    }
    let n = h.len() as f64;
    let half = Z * (q * (1.0 - q) / n).sqrt();
    let at = |q: f64| h.quantile(q.clamp(0.0, 1.0)) as f64 / 1000.0;
    Value {
        value: at(q),
        se: (at(q + half) - at(q - half)) / (2.0 * Z),
    }
}

/// The figures of one run.
pub fn figures(name: &str, r: &RunResult) -> RunFigures {
    let t = &r.totals;
    let by = |o: Outcome| t.by_outcome.get(&o).copied().unwrap_or(0);
    // Logical requests: final outcomes when the run recorded them (JTL input does not).
    let (logical, final_ok) = match t.finals() {
        Some(f) => (f.requests, f.final_ok),
        None => (t.requests, by(Outcome::Success)),
    };
    let ok = r.service_hist(None, Some(Outcome::Success));
    let completion = if t.completion_s > 0.0 {
        t.completion_s
    } else {
        r.duration_s
    };
    // A batch ends with its last response: on a re-run that moment moves by about one request's
    // service-time spread.
    let completion_se = if ok.is_empty() {
        f64::NAN
    } else {
        ok.0.stdev() / 1e6
    };
    RunFigures {
        name: name.to_string(),
        requests: Value::exact(t.requests as f64),
        logical_requests: Value::exact(logical as f64),
        success_share: share(by(Outcome::Success), t.requests),
        throttled_share: share(by(Outcome::Throttled), t.requests),
        final_success_rate: share(final_ok, logical),
        failed_requests: count_of(logical - final_ok, logical),
        completion_s: Value {
            value: completion,
            se: completion_se,
        },
        first_429_s: t.first_429_s.map_or(Value::none(), Value::exact),
        p50_ms: quantile(&ok, 0.50),
        p95_ms: quantile(&ok, 0.95),
        p99_ms: quantile(&ok, 0.99),
        retries_per_success: if final_ok == 0 {
            Value::none()
        } else {
            Value {
                value: t.retries as f64 / final_ok as f64,
                se: (t.retries as f64).sqrt() / final_ok as f64,
            }
        },
        retry_wait_s: Value {
            value: t.retry_wait_s,
            se: if t.retries == 0 {
                0.0
            } else {
                t.retry_wait_s / (t.retries as f64).sqrt()
            },
        },
        dropped_iterations: Value {
            value: t.dropped_iterations as f64,
            se: (t.dropped_iterations as f64).sqrt(),
        },
        transactions: r.transactions.iter().map(TxnFigures::of).collect(),
    }
}

/// For each row of [`rows`], the indices of the best runs: the best value among the runs that
/// may be ranked (every run, or for [`Row::among_done`] the runs that did the job), and every such
/// run whose value is within noise of it. No run is marked for an informational figure, when
/// fewer than two runs have a value, or when every ranked run is within noise of the best (no
/// difference stands out); when only one run did the job, it is the best at the figures ranked
/// among those runs.
pub fn best(runs: &[RunFigures]) -> Vec<Vec<usize>> {
    rows(runs).iter().map(|row| best_of(row, runs)).collect()
}

fn best_of(row: &Row, runs: &[RunFigures]) -> Vec<usize> {
    let Some(dir) = row.better else { return vec![] };
    let vals = &row.values;
    if vals.iter().filter(|v| v.value.is_finite()).count() < 2 {
        return vec![];
    }
    let ranked: Vec<usize> = (0..runs.len())
        .filter(|&k| vals[k].value.is_finite() && (!row.among_done || runs[k].did_the_job()))
        .collect();
    let Some(&top) = ranked.iter().min_by(|&&a, &&b| {
        let (x, y) = (vals[a].value, vals[b].value);
        match dir {
            Better::Higher => y.total_cmp(&x),
            Better::Lower => x.total_cmp(&y),
        }
    }) else {
        return vec![];
    };
    let b = vals[top];
    let within = |k: usize| {
        let v = vals[k];
        let noise = Z * (v.se.powi(2) + b.se.powi(2)).sqrt();
        // Unknown noise: only an exact tie is "within".
        (v.value - b.value).abs() <= if noise.is_finite() { noise } else { 0.0 }
    };
    let marked: Vec<usize> = ranked.iter().copied().filter(|&k| within(k)).collect();
    if ranked.len() > 1 && marked.len() == ranked.len() {
        return vec![];
    }
    marked
}

/// Names for runs: the scenario names when they differ, else the names of the folders holding
/// the results, else `run 1`, `run 2` ….
pub fn names(results: &[(std::path::PathBuf, RunResult)]) -> Vec<String> {
    let scen: Vec<String> = results
        .iter()
        .map(|(_, r)| r.scenario.name.clone())
        .collect();
    if distinct(&scen) {
        return scen;
    }
    let dirs: Vec<String> = results
        .iter()
        .map(|(p, _)| {
            // reports/<run>/result.json → <run> (whole folder name); other files → their stem.
            let name = if p.file_name().is_some_and(|f| f == "result.json") {
                p.parent().and_then(|d| d.file_name())
            } else {
                p.file_stem()
            };
            name.map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        })
        .collect();
    if distinct(&dirs) && dirs.iter().all(|d| !d.is_empty()) {
        return dirs;
    }
    (1..=results.len()).map(|i| format!("run {i}")).collect()
}

fn distinct(v: &[String]) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.dedup();
    s.len() == v.len()
}

#[cfg(test)]
mod tests;
