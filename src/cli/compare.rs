//! `surge compare A.json B.json [C.json …]`: runs side by side (result.json or JMeter JTL files):
//! `compare.html` and `compare.csv`, and the figures table in the terminal.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;
use surge_analysis::compare::{figures, names, RunFigures};
use surge_record::RunResult;
use surge_report::compare::{table, terminal_width};

/// `surge compare`.
#[derive(Debug, Args, Default)]
pub struct CompareArgs {
    /// Two or more results: result.json files (or the runs' folders), or JTL files written by
    /// JMeter or `surge run --jtl`.
    #[arg(required = true, num_args = 2.., value_name = "RESULT")]
    pub results: Vec<PathBuf>,
    /// Output directory for compare.html and compare.csv (default reports/compare-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Names for the runs, in order (default: scenario names, else folder names).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
}

/// Runs `surge compare`: 0 when written; 2 for unreadable input or bad flags; 1 when an output
/// cannot be written.
pub async fn cmd(a: CompareArgs) -> i32 {
    let mut loaded = Vec::new();
    for p in &a.results {
        match surge_report::load_run(p) {
            Ok(r) => loaded.push((p.clone(), r)),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    }
    if !a.names.is_empty() && a.names.len() != loaded.len() {
        eprintln!(
            "error: --name: {} names for {} results",
            a.names.len(),
            loaded.len()
        );
        return exit::USAGE;
    }
    let run_names = if a.names.is_empty() {
        names(&loaded)
    } else {
        a.names.clone()
    };
    let out = match a.out.clone() {
        Some(o) => o,
        None => match crate::run::out_dir::claim_fresh(&crate::run::stamped_dir("compare")) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: cannot create the output folder: {e}");
                return exit::FAILED;
            }
        },
    };
    let runs: Vec<(String, &RunResult)> = run_names
        .into_iter()
        .zip(loaded.iter().map(|(_, r)| r))
        .collect();
    match write_comparison(&runs, &out) {
        Ok(figs) => {
            print!("{}", table(&figs, terminal_width()));
            println!("compare: {}", out.join("compare.html").display());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

/// Writes `compare.html` and `compare.csv` into `dir`; returns the figures.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_comparison(
    runs: &[(String, &RunResult)],
    dir: &Path,
) -> Result<Vec<RunFigures>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let figs: Vec<RunFigures> = runs.iter().map(|(n, r)| figures(n, r)).collect();
    let csv_path = dir.join("compare.csv");
    let f = std::fs::File::create(&csv_path).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    surge_report::compare::write_csv(&figs, f)
        .map_err(|e| format!("{}: {e}", csv_path.display()))?;
    let html_path = dir.join("compare.html");
    std::fs::write(&html_path, surge_report::html::compare::render(runs, &figs))
        .map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok(figs)
}
