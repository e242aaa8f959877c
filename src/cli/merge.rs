//! `surge merge SEGMENT… [--out DIR]`: one result from the N segments of a distributed run,
//! written with every report a run writes, and judged by the run's thresholds on the whole.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;

use super::exit;
use crate::run::RunReport;
use surge_record::merge::{merge, Input, MergeError};
use surge_record::RunResult;

/// `surge merge`.
#[derive(Debug, Args, Clone, Default)]
pub struct MergeArgs {
    /// Segment results: result.json files, or directories holding them (a run's directory
    /// with one sub-directory per segment, e.g. reports/<run id>).
    #[arg(required = true, value_name = "RESULT|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Output directory [default: reports/<run id>/merged].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Wait up to this long for every segment's result to appear in the directories given
    /// (a merge Job beside the segments' pods).
    #[arg(long, value_name = "DURATION", value_parser = surge_record::duration::parse_flag)]
    pub wait: Option<Duration>,
    /// Merge the segments present even when some are missing; the result is marked partial
    /// and lists them.
    #[arg(long)]
    pub allow_missing: bool,
    /// Write the threshold verdicts, and the 429 diagnosis of the whole, as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the threshold verdicts and the 429 diagnosis of the whole as Markdown here.
    #[arg(long = "summary-md", value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
    /// Print only the result and verdict lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The result files `path` stands for: itself, its `result.json`, or each sub-directory's
/// `result.json` (except an earlier merge's).
fn expand(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let own = path.join("result.json");
    if own.is_file() {
        return vec![own];
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "merged"))
                .map(|p| p.join("result.json"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A failed attempt at reading and merging: may a later one succeed (a segment still absent or
/// being written)?
struct Failure {
    message: String,
    transient: bool,
}

fn read_all(inputs: &[PathBuf]) -> Result<Vec<Input>, Failure> {
    let mut out = Vec::new();
    for p in inputs {
        let files = expand(p);
        if files.is_empty() {
            return Err(Failure {
                message: format!(
                    "{}: no result.json in it or in its sub-directories",
                    p.display()
                ),
                transient: true,
            });
        }
        for f in files {
            let r = RunResult::read(&f).map_err(|e| Failure {
                transient: !matches!(e, surge_record::result::ResultError::Version { .. }),
                message: e.to_string(),
            })?;
            out.push((f.display().to_string(), r));
        }
    }
    Ok(out)
}

fn attempt(a: &MergeArgs, last: bool) -> Result<RunResult, Failure> {
    let inputs = read_all(&a.inputs)?;
    merge(inputs, a.allow_missing && last).map_err(|e| {
        let missing = matches!(e, MergeError::Missing { .. });
        let mut message = e.to_string();
        if missing && a.wait.is_none() {
            message += " (still running? wait for them with --wait 10m; or merge what is there with --allow-missing, marked partial)";
        }
        Failure {
            transient: missing,
            message,
        }
    })
}

/// Reads and merges, waiting (with `--wait`) while segments are missing or still being written.
fn read_and_merge(a: &MergeArgs) -> Result<RunResult, String> {
    let deadline = a.wait.map(|w| Instant::now() + w);
    let mut noted = Instant::now();
    loop {
        let last = deadline.is_none_or(|d| Instant::now() >= d);
        match attempt(a, last) {
            Ok(r) => return Ok(r),
            Err(f) if !f.transient || last => return Err(f.message),
            Err(f) => {
                if noted.elapsed() >= Duration::from_secs(30) {
                    eprintln!("waiting: {}", f.message);
                    noted = Instant::now();
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Runs `surge merge` and returns the exit code: 0, 1 a threshold failed (or the output could
/// not be written), 2 the segments do not merge, 3 a segment was stopped early.
pub async fn cmd(a: MergeArgs) -> i32 {
    let a2 = a.clone();
    let merged = tokio::task::spawn_blocking(move || read_and_merge(&a2))
        .await
        .unwrap_or_else(|e| Err(format!("merge: {e}")));
    let result = match merged {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if result
        .distributed
        .as_ref()
        .is_some_and(|d| d.plan_fingerprint.is_none())
    {
        eprintln!("warning: these segments were written by a surge that kept no plan fingerprint: their labels, load and target agree, but their requests (methods, paths, bodies, steps) could not be compared; re-run the segments with this surge to have them checked");
    }
    let run_id = result
        .distributed
        .as_ref()
        .map_or_else(|| "run".to_string(), |d| d.run_id.clone());
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(run_id).join("merged"));
    // A file that cannot be written is said after the summary and the verdicts (exit 1).
    let output_errors: Vec<String> = surge_report::write_outputs(&result, &out_dir)
        .err()
        .map(|e| e.to_string())
        .into_iter()
        .collect();
    if !a.quiet {
        print!(
            "{}",
            surge_report::terminal::summary_at(&result, &out_dir.join("result.json"))
        );
    }
    if let Some(s) = surge_report::distributed::of(&result) {
        print!("{}", surge_report::distributed::terminal(&s, a.quiet));
    }
    super::gates::print_written(&out_dir);
    let thresholds = match super::check::stored_thresholds(&result) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let rep = RunReport {
        result,
        out_dir,
        samples_written: None,
        output_errors,
        mock_stats: None,
        open_files: None,
    };
    super::gates::finish_run(
        &rep,
        &thresholds,
        a.quiet,
        a.junit.as_deref(),
        a.summary_md.as_deref(),
    )
}
