//! Verdicts of thresholds and baseline checks as CI reads them: a terminal table, JUnit XML
//! ([`junit`](junit())), a Markdown table for job summaries ([`markdown`](markdown())), and
//! `thresholds.json` beside `result.json`; each check phrased from its facts in [`words`]. A
//! [`Note`] (the 429 diagnosis, in the words the terminal prints) rides along in JUnit and
//! Markdown without being a check.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use surge_analysis::baseline::{Comparison, Status};
use surge_analysis::threshold_eval::Verdict;

mod junit;
mod markdown;
pub mod words;

pub use junit::junit;
pub use markdown::markdown;
pub use surge_record::filekind::THRESHOLDS_SCHEMA;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Passed.
    Pass,
    /// Failed (threshold broken, regression).
    Fail,
    /// Not evaluated.
    Skip,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Shown as the test name.
    pub name: String,
    /// Pass, fail or skip.
    pub status: CaseStatus,
    /// The measured value (or the change).
    pub observed: String,
    /// The sentence explaining the verdict.
    pub detail: String,
}

/// A named group of cases (JUnit's testsuite).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suite {
    /// `thresholds` or `baseline`, with the scenario.
    pub name: String,
    /// Its cases.
    pub cases: Vec<Case>,
}

impl Suite {
    /// Thresholds of a run.
    pub fn thresholds(name: &str, v: &[Verdict]) -> Suite {
        Suite {
            name: name.into(),
            cases: v
                .iter()
                .map(|v| {
                    let w = words::verdict(v);
                    Case {
                        name: if v.name == v.expr {
                            v.expr.clone()
                        } else {
                            format!("{}: {}", v.name, v.expr)
                        },
                        status: if v.passed {
                            CaseStatus::Pass
                        } else {
                            CaseStatus::Fail
                        },
                        observed: w.observed,
                        detail: w.detail,
                    }
                })
                .collect(),
        }
    }

    /// Comparisons with a baseline.
    pub fn baseline(name: &str, c: &[Comparison]) -> Suite {
        Suite {
            name: name.into(),
            cases: c
                .iter()
                .map(|c| {
                    let w = words::comparison(c);
                    Case {
                        name: format!("{} {}", c.label, c.metric),
                        status: match c.status {
                            Status::Pass => CaseStatus::Pass,
                            Status::Regression => CaseStatus::Fail,
                            Status::Skipped => CaseStatus::Skip,
                        },
                        observed: w.observed,
                        detail: w.detail,
                    }
                })
                .collect(),
        }
    }

    pub(crate) fn count(&self, s: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }
}

/// Information that rides with the verdicts in JUnit and Markdown: the 429 diagnosis, phrased
/// where it is phrased for the terminal. Never a check: it neither passes nor fails, and counts
/// in no total.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Note {
    /// Its heading (`429 diagnosis`).
    pub title: String,
    /// The lines the terminal prints, verbatim (JUnit properties `headline_1`, `headline_2`, …).
    pub headline: Vec<String>,
    /// Short facts (name → value), e.g. `limit measured` → `token bucket: …`.
    pub facts: Vec<(String, String)>,
    /// The recommendation, or why there is none (JUnit property `recommendation`).
    pub recommendation: Option<String>,
}

impl Note {
    /// `limit measured` → `limit_measured`: a fact's name as a JUnit property name.
    pub(crate) fn property_name(name: &str) -> String {
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }
}

/// A plain table for the terminal.
pub fn terminal(suites: &[Suite]) -> String {
    let mut t = String::new();
    for s in suites {
        if s.cases.is_empty() {
            continue;
        }
        let w = s
            .cases
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, 60);
        let _ = writeln!(t, "\n{}", s.name);
        for c in &s.cases {
            let tag = match c.status {
                CaseStatus::Pass => "pass",
                CaseStatus::Fail => "FAIL",
                CaseStatus::Skip => "skip",
            };
            let _ = writeln!(
                t,
                "  {tag}  {:<w$}  {:>12}  {}",
                c.name, c.observed, c.detail
            );
        }
    }
    t
}

#[derive(Serialize)]
struct ThresholdsFile<'a> {
    schema: &'static str,
    schema_version: u32,
    passed: bool,
    stop_reason: &'a str,
    verdicts: Vec<VerdictRow<'a>>,
}

/// A verdict as `thresholds.json` holds it: the facts and their words.
#[derive(Serialize)]
struct VerdictRow<'a> {
    name: &'a str,
    expr: &'a str,
    passed: bool,
    observed: Option<f64>,
    observed_text: String,
    detail: String,
    abort_on_fail: bool,
}

/// Writes `thresholds.json` into `dir`.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_thresholds_json(
    dir: &Path,
    verdicts: &[Verdict],
    stop_reason: &str,
) -> std::io::Result<()> {
    let p = dir.join("thresholds.json");
    let f = ThresholdsFile {
        schema: THRESHOLDS_SCHEMA,
        schema_version: 1,
        passed: verdicts.iter().all(|v| v.passed),
        stop_reason,
        verdicts: verdicts
            .iter()
            .map(|v| {
                let w = words::verdict(v);
                VerdictRow {
                    name: &v.name,
                    expr: &v.expr,
                    passed: v.passed,
                    observed: v.observed,
                    observed_text: w.observed,
                    detail: w.detail,
                    abort_on_fail: v.abort_on_fail,
                }
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&f).map_err(std::io::Error::other)?;
    surge_record::atomic::write(&p, text)
}

/// A CI output file that could not be written; displays as `--junit FILE: reason` (the error
/// names the file or its folder).
#[derive(Debug, thiserror::Error)]
#[error("{flag} {source}")]
pub struct CiOutputError {
    /// The flag that named the file (`--junit`, `--summary-md`).
    pub flag: &'static str,
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `--junit` and `--summary-md` files when asked.
///
/// # Errors
/// [`CiOutputError`] naming the flag and file.
pub fn write_ci_outputs(
    junit_path: Option<&Path>,
    md_path: Option<&Path>,
    title: &str,
    suites: &[Suite],
    note: Option<&Note>,
) -> Result<(), CiOutputError> {
    let write = |flag: &'static str, p: &Path, text: String| {
        // A folder that does not exist yet is made, as for --out.
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or(Ok(()), |d| {
                std::fs::create_dir_all(d)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", d.display())))
            })
            .and_then(|()| surge_record::atomic::write(p, text))
            .map_err(|source| CiOutputError {
                flag,
                path: p.to_path_buf(),
                source,
            })
    };
    if let Some(p) = junit_path {
        write("--junit", p, junit(suites, note))?;
    }
    if let Some(p) = md_path {
        write("--summary-md", p, markdown(title, suites, note))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
