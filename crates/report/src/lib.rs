//! surge-report: every word and format, from a [`surge_record::RunResult`] and its [`Facts`]: the
//! self-contained HTML report ([`html`]), CSV files ([`csv`]), the terminal summary ([`terminal`]),
//! the diagnosis in words ([`diagnosis`]), CI outputs (JUnit, Markdown, `thresholds.json`:
//! [`gate_report`]), `surge probe`'s summary ([`probe`]), comparisons ([`compare`]), and JMeter's JTL
//! format both ways ([`jtl`]); every number through [`format`](mod@format).
//!
//! Formats facts, never computes them: every figure comes from `surge-record` and
//! `surge-analysis`. Never depends on the engine or transport. See `ARCHITECTURE.md` at the
//! repository's root.

pub mod compare;
pub mod csv;
pub mod diagnosis;
pub mod distributed;
pub mod format;
pub mod gate_report;
pub mod html;
pub mod jtl;
pub mod next;
pub mod probe;
pub mod terminal;
pub mod transactions;

use std::path::Path;

use surge_analysis::Facts;
use surge_record::RunResult;

/// The files [`write_reports`] writes, in order.
pub const REPORT_FILES: &[&str] = &[
    "summary.csv",
    "timeline.csv",
    "status_codes.csv",
    "report.html",
];

/// Writes `result.json` (with its diagnosis) and every report derived from it into `dir`
/// (created if needed). Returns the facts, computed once here.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_outputs(r: &RunResult, dir: &Path) -> std::io::Result<Facts> {
    std::fs::create_dir_all(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let facts = Facts::of(r);
    // The files' words name no path of this run's result (they are read from wherever the
    // folder goes, and `surge report` rebuilds them byte for byte); the terminal's do.
    let next = next::Next::of(r, None);
    // Each file is written whole or not at all; one that fails does not keep the others from
    // being written (a full disk may still hold the smaller ones).
    let result = write_result(r, &facts.diagnosis, &next, &dir.join("result.json"));
    let reports = write_reports_with(r, &facts, &next, dir);
    match (result, reports) {
        (Ok(()), Ok(())) => Ok(facts),
        (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(std::io::Error::new(a.kind(), format!("{a}; {b}"))),
    }
}

/// `result.json`: the result, then its diagnosis (the facts, and the words the terminal prints)
/// under `diagnosis`, for pipelines that read the recommended pace. Readers of results ignore
/// `diagnosis` and compute it afresh, so it can never disagree with the data beside it.
///
/// # Errors
/// I/O errors.
pub fn write_result(
    r: &RunResult,
    d: &surge_analysis::diagnosis::Diagnosis,
    next: &next::Next,
    path: &Path,
) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct WithDiagnosis<'a> {
        #[serde(flatten)]
        result: &'a RunResult,
        diagnosis: DiagnosisOut<'a>,
    }
    #[derive(serde::Serialize)]
    struct DiagnosisOut<'a> {
        #[serde(flatten)]
        facts: &'a surge_analysis::diagnosis::Diagnosis,
        words: diagnosis::Words<'a>,
    }
    let p = diagnosis::phrase(d, next);
    let doc = WithDiagnosis {
        result: r,
        diagnosis: DiagnosisOut {
            facts: d,
            words: diagnosis::Words {
                headline: &p.headline,
                recommendation: p.recommendation.as_deref(),
                completion: p.completion.as_deref(),
            },
        },
    };
    surge_record::atomic::write_with(path, |w| {
        serde_json::to_writer_pretty(w, &doc).map_err(std::io::Error::other)
    })
}

/// Writes every report derived from a result ([`REPORT_FILES`]) into `dir` (created if needed),
/// but not `result.json`: what `surge report` rebuilds from a saved result. Returns the facts
/// the reports were written from (computed once here).
///
/// # Errors
/// I/O errors naming the file.
pub fn write_reports(r: &RunResult, dir: &Path) -> std::io::Result<Facts> {
    let facts = Facts::of(r);
    write_reports_with(r, &facts, &next::Next::of(r, None), dir)?;
    Ok(facts)
}

fn write_reports_with(
    r: &RunResult,
    facts: &Facts,
    next: &next::Next,
    dir: &Path,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let mut errors = Vec::new();
    if let Err(e) = csv::write_all(r, &facts.figures, dir) {
        errors.push(e);
    }
    if !facts.figures.transactions.is_empty() {
        let p = dir.join("transactions.csv");
        if let Err(e) = surge_record::atomic::write_with(&p, |w| {
            transactions::write_csv(&facts.figures, w)
                .map_err(|e| std::io::Error::other(e.to_string()))
        }) {
            errors.push(e);
        }
    }
    if let Err(e) =
        surge_record::atomic::write(&dir.join("report.html"), html::render_with(r, facts, next))
    {
        errors.push(e);
    }
    match errors.len() {
        0 => Ok(()),
        _ => Err(std::io::Error::new(
            errors[0].kind(),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// Why a run could not be loaded: one line naming the file (and the line, for malformed input).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A `result.json` that cannot be read.
    #[error(transparent)]
    Result(#[from] surge_record::result::ResultError),
    /// A JTL file that cannot be read.
    #[error(transparent)]
    Jtl(#[from] jtl::JtlError),
}

/// Reads a run from `result.json` (or a run's folder holding one), or from a JMeter JTL file
/// (`.jtl`, or any file whose first line is JMeter's CSV header), for `surge report`, `surge
/// compare` and `surge check`.
///
/// # Errors
/// [`LoadError`].
pub fn load_run(path: &Path) -> Result<RunResult, LoadError> {
    if is_jtl(path) {
        Ok(jtl::read_jtl(path)?)
    } else {
        Ok(RunResult::read(path)?)
    }
}

/// Whether `path` is a JTL (by its name, or its first bytes), as [`load_run`] reads it.
pub fn is_jtl(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jtl"))
        || surge_record::filekind::FileKind::of_file(path)
            == Some(surge_record::filekind::FileKind::JtlCsv)
}

#[cfg(test)]
mod same_figures_tests;
