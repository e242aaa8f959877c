//! `surge check CANDIDATE.json [--baseline BASE.json] [--max-regression …] [--threshold …]`:
//! gates a result file in CI. Exit 0 pass, 1 a threshold failed or a regression, 2 usage.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use surge_analysis::baseline::{self, Status, DEFAULT_MAX_REGRESSION};
use surge_analysis::threshold_eval::evaluate_all;
use surge_plan::threshold::Threshold;
use surge_record::RunResult;
use surge_report::gate_report::{self, Suite};

/// `surge check`.
#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    /// The result to judge: a run's result.json (or its folder), or a JMeter JTL.
    pub candidate: PathBuf,
    /// Compare label by label with this earlier result.json (or JTL).
    #[arg(long, value_name = "BASE.json")]
    pub baseline: Option<PathBuf>,
    /// Allowed worsening per metric, comma-separated, e.g. 'p95=+10%,rate(429)=+2pp,throughput(2xx)=-5%'
    /// [default: p95=+10%,rate(429)=+2pp,error_rate=+1pp].
    #[arg(long = "max-regression", value_name = "SPEC")]
    pub max_regression: Option<String>,
    /// A threshold on the candidate (repeatable), besides those the run was given.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub threshold: Vec<String>,
    /// Confidence of the noise intervals (two-sided).
    #[arg(long, default_value_t = 0.99)]
    pub confidence: f64,
    /// Write the verdicts, and the candidate's 429 diagnosis, as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the verdicts and the candidate's 429 diagnosis as Markdown here (e.g.
    /// $GITHUB_STEP_SUMMARY).
    #[arg(long = "summary-md", value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
    /// Print only the verdict line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The thresholds the run was given, as its result stores them.
pub(crate) fn stored_thresholds(r: &RunResult) -> Result<Vec<Threshold>, String> {
    r.plan
        .thresholds
        .iter()
        .map(|t| {
            // abort_on_fail has done its work during the run; here every threshold is a verdict.
            Threshold::new(&t.expr, Some(t.name.clone()), false, Some(&r.gate_labels()))
                .map_err(|e| format!("stored threshold: {e}"))
        })
        .collect()
}

/// The line that says which baseline checks cannot fail at these sample sizes, if any.
fn underpowered_note(rows: &[baseline::Comparison]) -> Option<String> {
    let weak: Vec<&baseline::Comparison> = rows.iter().filter(|r| r.underpowered).collect();
    if weak.is_empty() {
        return None;
    }
    let which: Vec<String> = weak
        .iter()
        .map(|r| {
            let allowed = r.allowed_written();
            match r.samples_needed {
                Some(n) => format!(
                    "{} {} (≈ {n} samples per run resolve {allowed})",
                    r.label, r.metric
                ),
                None => format!("{} {}", r.label, r.metric),
            }
        })
        .collect();
    Some(format!(
        "\nnote: {} of {} baseline checks cannot fail at their allowance with these sample sizes: their noise is \
         wider than the allowance, so a regression of that size passes as chance: {}. Run more requests, or \
         widen the allowance (docs/ci.md, \"What a gate can see\").",
        weak.len(),
        rows.iter().filter(|r| r.status != baseline::Status::Skipped).count(),
        which.join("; ")
    ))
}

/// Runs `surge check` and returns the exit code.
pub async fn cmd(a: CheckArgs) -> i32 {
    match check(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

fn check(a: &CheckArgs) -> Result<i32, String> {
    if !(0.5..1.0).contains(&a.confidence) {
        return Err(format!(
            "--confidence: must be in [0.5, 1), got {}",
            a.confidence
        ));
    }
    if a.max_regression.is_some() && a.baseline.is_none() {
        return Err("--max-regression: needs --baseline".into());
    }
    let cand = surge_report::load_run(&a.candidate).map_err(|e| e.to_string())?;
    // The candidate's result.json, which a next step may pace from (not a JTL).
    let cand_json = (!surge_report::is_jtl(&a.candidate)).then(|| {
        if a.candidate.is_dir() {
            a.candidate.join("result.json")
        } else {
            a.candidate.clone()
        }
    });
    let next = surge_report::next::Next::of(&cand, cand_json.as_deref());
    let mut thresholds = stored_thresholds(&cand)?;
    for e in &a.threshold {
        thresholds.push(
            Threshold::new(e, None, false, Some(&cand.gate_labels()))
                .map_err(|e| format!("--threshold: {e}"))?,
        );
    }
    if thresholds.is_empty() && a.baseline.is_none() {
        return Err("nothing to check: give --baseline BASE.json and/or --threshold EXPR (the run had no thresholds)".into());
    }
    let mut suites = Vec::new();
    let mut notes = Vec::new();
    if !thresholds.is_empty() {
        suites.push(Suite::thresholds(
            &format!("thresholds: {}", cand.scenario.name),
            &evaluate_all(&cand, &thresholds),
        ));
    }
    if let Some(bp) = &a.baseline {
        let base = surge_report::load_run(bp).map_err(|e| e.to_string())?;
        if let Some(why) = super::gates::no_expected_answer(&base) {
            eprintln!(
                "warning: the baseline {} is no baseline: {why}",
                bp.display()
            );
        }
        let mut labels = cand.labels.clone();
        labels.extend(
            base.labels
                .iter()
                .filter(|l| !cand.labels.contains(l))
                .cloned(),
        );
        let spec = a
            .max_regression
            .as_deref()
            .unwrap_or(DEFAULT_MAX_REGRESSION);
        let allowances = baseline::parse_allowances(spec, &labels)
            .map_err(|e| format!("--max-regression: {e}"))?;
        let rows = baseline::compare(&base, &cand, &allowances, a.confidence);
        notes.extend(underpowered_note(&rows));
        if rows.iter().all(|r| r.status == Status::Skipped) {
            eprintln!(
                "warning: nothing in common to compare between {} and {}",
                bp.display(),
                a.candidate.display()
            );
        }
        suites.push(Suite::baseline(
            &format!("baseline: {} vs {}", cand.scenario.name, base.scenario.name),
            &rows,
        ));
    }
    // The run's exit rule, as `surge run` and `surge merge` apply it.
    let no_answer = super::gates::no_expected_answer(&cand);
    suites.extend(
        no_answer
            .as_deref()
            .map(|why| super::gates::no_expected_answer_suite(&cand, why)),
    );
    let failed: usize = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| c.status == gate_report::CaseStatus::Fail)
        .count();
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    if !a.quiet {
        print!("{}", gate_report::terminal(&suites));
        for n in &notes {
            println!("{n}");
        }
        // The candidate's 429 diagnosis, in the words `surge run` printed for it.
        let d = surge_report::diagnosis::phrase(&surge_analysis::diagnosis::diagnose(&cand), &next);
        if let Some(c) = &d.completion {
            println!("completion: {c}");
        }
        println!("{}\n{}", d.headline[0], d.headline[1]);
    }
    if let Some(why) = &no_answer {
        eprintln!("FAILED: {why} (exit {})", exit::FAILED);
    }
    println!(
        "check: {} ({failed} of {total} failed)",
        if failed == 0 { "passed" } else { "FAILED" }
    );
    let title = format!("surge check: {}", a.candidate.display());
    if let Err(e) = super::gates::write_ci_outputs(
        &cand,
        cand_json.as_deref(),
        a.junit.as_deref(),
        a.summary_md.as_deref(),
        &title,
        &suites,
    ) {
        eprintln!("error: {e}");
        return Ok(exit::FAILED);
    }
    Ok(if failed > 0 { exit::FAILED } else { exit::OK })
}
