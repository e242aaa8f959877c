//! Comparing runs side by side: the figures a performance engineer ranks ramp-up and retry
//! strategies by, each with its noise, and the best run per figure — best among the runs that did
//! the job, and only where the difference stands out of the runs' noise. Used by `surge compare`
//! and `surge sweep`; `report::compare` and `report::html::compare` format what this computes.

use serde::Serialize;

use crate::record::{Hist, Outcome, RunResult};

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

/// One compared figure: how to read it from [`RunFigures`] and how to rank it.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
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
    pub get: fn(&RunFigures) -> Value,
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
    }
}

/// For each figure, the indices of the best runs: the best value among the runs that may be ranked
/// (every run, or for [`Figure::among_done`] the runs that did the job), and every such run whose
/// value is within noise of it. No run is marked for an informational figure, when fewer than two
/// runs have a value, or when every ranked run is within noise of the best (no difference stands
/// out); when only one run did the job, it is the best at the figures ranked among those runs.
pub fn best(runs: &[RunFigures]) -> Vec<Vec<usize>> {
    FIGURES
        .iter()
        .map(|f| {
            let Some(dir) = f.better else { return vec![] };
            let vals: Vec<Value> = runs.iter().map(|r| (f.get)(r)).collect();
            if vals.iter().filter(|v| v.value.is_finite()).count() < 2 {
                return vec![];
            }
            let ranked: Vec<usize> = (0..runs.len())
                .filter(|&k| vals[k].value.is_finite() && (!f.among_done || runs[k].did_the_job()))
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
        })
        .collect()
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

/// Writes `compare.csv`: one row per run, one column per figure (empty where not applicable).
///
/// # Errors
/// I/O errors.
pub fn write_csv(runs: &[RunFigures], out: impl std::io::Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["run"];
    header.extend(FIGURES.iter().map(|f| f.key));
    w.write_record(&header)?;
    for r in runs {
        let mut row = vec![r.name.clone()];
        row.extend(FIGURES.iter().map(|f| (f.get)(r).value).map(|v| {
            if v.is_finite() {
                format!("{:.3}", v)
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            } else {
                String::new()
            }
        }));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::synthetic;

    fn col(k: &str) -> usize {
        FIGURES.iter().position(|f| f.key == k).unwrap()
    }

    /// A run of the seed batch: `failed` publishes finally failed, the batch took `done_s`, and
    /// publishes took 1 to 5 s (the seed's spread).
    fn batch(name: &str, failed: u64, done_s: f64) -> RunFigures {
        let mut r = synthetic::result(60, &["publish"]);
        let mut h = Hist::new();
        for k in 0..400 {
            h.record(1_000_000 + 10_000 * k);
        }
        for c in r.cells.iter_mut().filter(|c| c.outcome == Outcome::Success) {
            c.service_hist = h.clone();
        }
        r.scenario.name = name.into();
        r.totals.final_by_outcome = [
            (Outcome::Success, 500 - failed),
            (Outcome::Throttled, failed),
        ]
        .into();
        r.totals.completion_s = done_s;
        figures(name, &r)
    }

    #[test]
    fn figures_and_best_from_known_results() {
        let mut a = synthetic::result(60, &["publish"]);
        let mut b = a.clone();
        a.scenario.name = "fast".into();
        b.scenario.name = "slow".into();
        a.totals.completion_s = 40.0;
        b.totals.completion_s = 90.0;
        a.totals.dropped_iterations = 30;
        for r in [&mut a, &mut b] {
            r.totals.final_by_outcome = [(Outcome::Success, r.totals.requests)].into();
        }
        let runs = vec![figures("fast", &a), figures("slow", &b)];
        let best = best(&runs);
        assert_eq!(best[col("completion_s")], vec![0]);
        assert_eq!(best[col("dropped_iterations")], vec![1]);
        // Equal values highlight nobody; informational figures never.
        assert!(best[col("p95_ms")].is_empty());
        assert!(best[col("requests")].is_empty());
        let t = &a.totals;
        let thr = t.by_outcome.get(&Outcome::Throttled).copied().unwrap_or(0) as f64;
        assert!((runs[0].throttled_share.value - 100.0 * thr / t.requests as f64).abs() < 1e-9);
        let mut csv = Vec::new();
        write_csv(&runs, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, "run,requests,logical_requests,success_share,throttled_share,final_success_rate,failed_requests,completion_s,first_429_s,p50_ms,p95_ms,p99_ms,retries_per_success,retry_wait_s,dropped_iterations");
        assert!(text.lines().nth(1).unwrap().starts_with("fast,"));
        assert!(text.contains(",40,"), "{text}");
    }

    #[test]
    fn the_fastest_batch_is_the_fastest_that_did_the_job() {
        // The burst finishes first but fails 200 of 500 publishes.
        let runs = vec![
            batch("burst", 200, 10.4),
            batch("pace", 0, 54.6),
            batch("documented pace", 0, 113.7),
        ];
        let best = best(&runs);
        assert_eq!(best[col("completion_s")], vec![1], "{:?}", best);
        assert_eq!(best[col("failed_requests")], vec![1, 2]);
        assert_eq!(best[col("final_success_rate")], vec![1, 2]);
    }

    #[test]
    fn a_difference_within_the_noise_is_not_a_win() {
        // Half a second apart, with a service-time spread of about a second on each side.
        let runs = vec![batch("a", 0, 54.6), batch("b", 0, 55.1)];
        assert!(runs[0].completion_s.se > 0.5, "{:?}", runs[0].completion_s);
        assert!(best(&runs)[col("completion_s")].is_empty());
        // 3 failed of 500 against none: within the binomial noise of 500 requests.
        let runs = vec![batch("a", 0, 54.6), batch("b", 3, 54.6)];
        assert!(best(&runs)[col("failed_requests")].is_empty());
        // 60 of 500 is not.
        let runs = vec![batch("a", 0, 54.6), batch("b", 60, 54.6)];
        assert_eq!(best(&runs)[col("failed_requests")], vec![0]);
    }

    #[test]
    fn with_no_run_done_no_time_figure_is_starred() {
        let runs = vec![batch("a", 10, 30.0), batch("b", 100, 90.0)];
        let best = best(&runs);
        assert!(best[col("completion_s")].is_empty());
        assert_eq!(best[col("failed_requests")], vec![0]);
    }

    #[test]
    fn names_fall_back_to_folders_then_numbers() {
        let r = synthetic::result(5, &["x"]);
        let two = vec![
            ("reports/a/result.json".into(), r.clone()),
            ("reports/b/result.json".into(), r.clone()),
        ];
        assert_eq!(names(&two), vec!["a", "b"]);
        let same = vec![
            ("x/result.json".into(), r.clone()),
            ("x/result.json".into(), r),
        ];
        assert_eq!(names(&same), vec!["run 1", "run 2"]);
    }
}
