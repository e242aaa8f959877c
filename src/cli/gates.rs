//! `surge run`'s gates: `--threshold` flags joined to the scenario's, and after the run the
//! verdicts, `thresholds.json`, `--junit`, `--summary-md` and the exit code.

use std::path::Path;

use super::exit;
use crate::run::RunReport;
use surge_analysis::threshold_eval::{any_failed, evaluate_all};
use surge_plan::threshold::Threshold;
use surge_plan::Plan;
use surge_report::gate_report::{self, Suite};

/// Parses each `--threshold` against the plan's labels and appends it to the plan.
///
/// # Errors
/// A line naming the flag and the expression's problem.
pub(crate) fn add_cli_thresholds(plan: &mut Plan, exprs: &[String]) -> Result<(), String> {
    let labels = plan.gate_labels();
    for e in exprs {
        let t = Threshold::new(e, None, false, Some(&labels))
            .map_err(|err| format!("--threshold: {err}"))?;
        plan.thresholds.push(t);
    }
    Ok(())
}

/// The "not one request succeeded" rule: a run that sent requests and got not one answer its
/// requests expect (2xx or 3xx, or a request's `expect_status`) fails, thresholds or not, so a
/// CI job against a wrong URL, a dead server or missing credentials never goes green. Says why.
pub(crate) fn no_expected_answer(r: &surge_record::RunResult) -> Option<String> {
    let sent = r.totals.requests;
    if sent == 0 || r.plan.expected_answers(&r.cells) > 0 {
        return None;
    }
    let statuses: Vec<String> = r
        .totals
        .by_status
        .iter()
        .map(|(k, n)| format!("{}×{n}", k.label()))
        .collect();
    Some(format!(
        "not one of {} got an expected answer (2xx or 3xx, or the request's expect_status); got {}",
        surge_record::plural(sent, "request"),
        statuses.join(", ")
    ))
}

/// The exit rule as a failed check in the CI outputs, so a JUnit viewer or a job summary shows
/// why the job is red: a suite `run: NAME` with one failed case, `expected answers`.
pub(crate) fn no_expected_answer_suite(r: &surge_record::RunResult, why: &str) -> Suite {
    Suite {
        name: format!("run: {}", r.scenario.name),
        cases: vec![gate_report::Case {
            name: "expected answers".into(),
            status: gate_report::CaseStatus::Fail,
            observed: format!("0 of {}", r.totals.requests),
            detail: why.into(),
        }],
    }
}

/// The `--junit` and `--summary-md` files, with the run's 429 diagnosis in the words the terminal
/// printed.
pub(crate) fn write_ci_outputs(
    r: &surge_record::RunResult,
    result: Option<&Path>,
    junit: Option<&Path>,
    md: Option<&Path>,
    title: &str,
    suites: &[Suite],
) -> Result<(), gate_report::CiOutputError> {
    if junit.is_none() && md.is_none() {
        return Ok(());
    }
    let note = surge_report::diagnosis::ci_note(
        &surge_analysis::diagnosis::diagnose(r),
        &surge_report::next::Next::of(r, result),
    );
    gate_report::write_ci_outputs(junit, md, title, suites, Some(&note))
}

/// Checks, before anything is sent, that the `--junit` and `--summary-md` files can be written
/// (their folder is made, as it would be after the run).
///
/// # Errors
/// A line naming the flag and why.
pub(crate) fn check_ci_paths(junit: Option<&Path>, md: Option<&Path>) -> Result<(), String> {
    for (flag, p) in [("--junit", junit), ("--summary-md", md)] {
        let Some(p) = p else { continue };
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| surge_record::atomic::check_writable(dir).map_err(|e| e.to_string()))
            .map_err(|e| {
                format!(
                    "{flag} {}: cannot be written: {e}; nothing was sent",
                    p.display()
                )
            })?;
    }
    Ok(())
}

/// `result: …` and `report: …`, for the files that were written.
pub(crate) fn print_written(dir: &Path) {
    for (what, file) in [("result", "result.json"), ("report", "report.html")] {
        let p = dir.join(file);
        if p.is_file() {
            println!("{what}: {}", p.display());
        }
    }
}

/// Evaluates the thresholds on the finished run, prints and writes the verdicts, and returns
/// the exit code: 3 aborted, 1 the run failed, a threshold failed (or a verdict file or another
/// output could not be written: each is said here, after the verdicts), 0.
pub(crate) fn finish_run(
    rep: &RunReport,
    thresholds: &[Threshold],
    quiet: bool,
    junit: Option<&Path>,
    md: Option<&Path>,
) -> i32 {
    let r = &rep.result;
    let verdicts = evaluate_all(r, thresholds);
    let suites = vec![Suite::thresholds(
        &format!("thresholds: {}", r.scenario.name),
        &verdicts,
    )];
    let no_answer = no_expected_answer(r);
    let mut ci_suites = suites.clone();
    ci_suites.extend(
        no_answer
            .as_deref()
            .map(|why| no_expected_answer_suite(r, why)),
    );
    let mut code = exit::OK;
    if !thresholds.is_empty() {
        if let Err(e) =
            gate_report::write_thresholds_json(&rep.out_dir, &verdicts, &r.stop_reason.to_string())
        {
            eprintln!("error: {e}");
            code = exit::FAILED;
        }
        let failed = verdicts.iter().filter(|v| !v.passed).count();
        if quiet {
            println!(
                "thresholds: {} passed, {failed} failed",
                verdicts.len() - failed
            );
        } else {
            print!("{}", gate_report::terminal(&suites));
        }
    }
    let title = format!("surge run: {}", r.scenario.name);
    let result = rep.out_dir.join("result.json");
    if let Err(e) = write_ci_outputs(r, Some(&result), junit, md, &title, &ci_suites) {
        eprintln!("error: {e}");
        code = exit::FAILED;
    }
    for e in &rep.output_errors {
        eprintln!("error: {e}");
        code = exit::FAILED;
    }
    if r.stop_reason.is_aborted() {
        eprintln!(
            "run stopped early: {} (exit {})",
            r.stop_reason,
            exit::ABORTED
        );
        return exit::ABORTED;
    }
    if r.stop_reason.is_failed() {
        eprintln!(
            "error: the run failed: {}; what was measured is in the result, marked partial (exit {})",
            r.stop_reason,
            exit::FAILED
        );
        return exit::FAILED;
    }
    if let Some(why) = no_answer {
        eprintln!("FAILED: {why} (exit {})", exit::FAILED);
        return exit::FAILED;
    }
    if any_failed(&verdicts) {
        return exit::FAILED;
    }
    code
}
