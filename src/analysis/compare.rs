//! Comparing runs side by side: the figures a performance engineer ranks ramp-up and retry
//! strategies by, with the best run per figure. Used by `surge compare` and `surge sweep`.

use serde::Serialize;

use crate::record::{Outcome, RunResult};

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Higher is better.
    Higher,
    /// Lower is better.
    Lower,
}

/// One compared figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// Column name (also the CSV header).
    pub key: &'static str,
    /// Human title.
    pub title: &'static str,
    /// Unit shown after values.
    pub unit: &'static str,
    /// Which way is better (None: informational, never highlighted).
    pub better: Option<Better>,
}

/// The figures, in table order.
pub const FIGURES: &[Figure] = &[
    Figure {
        key: "requests",
        title: "attempts",
        unit: "",
        better: None,
    },
    Figure {
        key: "logical_requests",
        title: "requests (retries once)",
        unit: "",
        better: None,
    },
    Figure {
        key: "success_share",
        title: "2xx share of attempts",
        unit: "%",
        better: Some(Better::Higher),
    },
    Figure {
        key: "throttled_share",
        title: "429 share of attempts",
        unit: "%",
        better: Some(Better::Lower),
    },
    Figure {
        key: "final_success_rate",
        title: "final success rate",
        unit: "%",
        better: Some(Better::Higher),
    },
    Figure {
        key: "failed_requests",
        title: "requests that finally failed",
        unit: "",
        better: Some(Better::Lower),
    },
    Figure {
        key: "completion_s",
        title: "batch completion time",
        unit: "s",
        better: Some(Better::Lower),
    },
    Figure {
        key: "first_429_s",
        title: "first 429",
        unit: "s",
        better: None,
    },
    Figure {
        key: "p50_ms",
        title: "p50 of successes",
        unit: "ms",
        better: Some(Better::Lower),
    },
    Figure {
        key: "p95_ms",
        title: "p95 of successes",
        unit: "ms",
        better: Some(Better::Lower),
    },
    Figure {
        key: "p99_ms",
        title: "p99 of successes",
        unit: "ms",
        better: Some(Better::Lower),
    },
    Figure {
        key: "retries_per_success",
        title: "retries per success",
        unit: "",
        better: Some(Better::Lower),
    },
    Figure {
        key: "retry_wait_s",
        title: "time waiting before retries",
        unit: "s",
        better: Some(Better::Lower),
    },
    Figure {
        key: "dropped_iterations",
        title: "dropped iterations",
        unit: "",
        better: Some(Better::Lower),
    },
];

/// One run's figures (NaN where a figure does not apply, e.g. no 429 at all for `first_429_s`).
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// The run's name in the comparison.
    pub name: String,
    /// Values in [`FIGURES`] order.
    pub values: Vec<f64>,
}

fn share(n: u64, of: u64) -> f64 {
    if of == 0 {
        f64::NAN
    } else {
        100.0 * n as f64 / of as f64
    }
}

/// The figures of one run.
pub fn figures(name: &str, r: &RunResult) -> RunFigures {
    let t = &r.totals;
    let by = |o: Outcome| t.by_outcome.get(&o).copied().unwrap_or(0);
    // Logical requests: final outcomes when the run recorded them (JTL input does not).
    let finals: u64 = t.final_by_outcome.values().sum();
    let (logical, final_ok) = if finals > 0 {
        (
            finals,
            t.final_by_outcome
                .get(&Outcome::Success)
                .copied()
                .unwrap_or(0),
        )
    } else {
        (t.requests, by(Outcome::Success))
    };
    let ok = r.service_hist(None, Some(Outcome::Success));
    let ms = |q: f64| {
        if ok.is_empty() {
            f64::NAN
        } else {
            ok.quantile(q) as f64 / 1000.0
        }
    };
    let completion = if t.completion_s > 0.0 {
        t.completion_s
    } else {
        r.duration_s
    };
    let values = vec![
        t.requests as f64,
        logical as f64,
        share(by(Outcome::Success), t.requests),
        share(by(Outcome::Throttled), t.requests),
        share(final_ok, logical),
        (logical - final_ok) as f64,
        completion,
        t.first_429_s.unwrap_or(f64::NAN),
        ms(0.50),
        ms(0.95),
        ms(0.99),
        if final_ok == 0 {
            f64::NAN
        } else {
            t.retries as f64 / final_ok as f64
        },
        t.retry_wait_s,
        t.dropped_iterations as f64,
    ];
    debug_assert_eq!(values.len(), FIGURES.len());
    RunFigures {
        name: name.to_string(),
        values,
    }
}

/// For each figure, the indices of the best runs (ties all count; none for informational
/// figures or when every value is equal or missing).
pub fn best(runs: &[RunFigures]) -> Vec<Vec<usize>> {
    FIGURES
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let Some(dir) = f.better else { return vec![] };
            let vals: Vec<f64> = runs.iter().map(|r| r.values[i]).collect();
            let finite: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
            if finite.len() < 2 || finite.iter().all(|v| *v == finite[0]) {
                return vec![];
            }
            let target = match dir {
                Better::Higher => finite.iter().copied().fold(f64::MIN, f64::max),
                Better::Lower => finite.iter().copied().fold(f64::MAX, f64::min),
            };
            vals.iter()
                .enumerate()
                .filter(|(_, v)| **v == target)
                .map(|(k, _)| k)
                .collect()
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
        row.extend(r.values.iter().map(|v| {
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

    #[test]
    fn figures_and_best_from_known_results() {
        let mut a = synthetic::result(60, &["publish"]);
        let mut b = a.clone();
        a.scenario.name = "fast".into();
        b.scenario.name = "slow".into();
        a.totals.completion_s = 40.0;
        b.totals.completion_s = 90.0;
        a.totals.dropped_iterations = 3;
        let runs = vec![figures("fast", &a), figures("slow", &b)];
        let best = best(&runs);
        let col = |k: &str| FIGURES.iter().position(|f| f.key == k).unwrap();
        assert_eq!(best[col("completion_s")], vec![0]);
        assert_eq!(best[col("dropped_iterations")], vec![1]);
        // Equal values highlight nobody; informational figures never.
        assert!(best[col("p95_ms")].is_empty());
        assert!(best[col("requests")].is_empty());
        let t = &a.totals;
        let thr = t.by_outcome.get(&Outcome::Throttled).copied().unwrap_or(0) as f64;
        assert!(
            (runs[0].values[col("throttled_share")] - 100.0 * thr / t.requests as f64).abs() < 1e-9
        );
        let mut csv = Vec::new();
        write_csv(&runs, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, "run,requests,logical_requests,success_share,throttled_share,final_success_rate,failed_requests,completion_s,first_429_s,p50_ms,p95_ms,p99_ms,retries_per_success,retry_wait_s,dropped_iterations");
        assert!(text.lines().nth(1).unwrap().starts_with("fast,"));
        assert!(text.contains(",40,"), "{text}");
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
