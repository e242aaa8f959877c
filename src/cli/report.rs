//! `surge report RESULT.json [--out DIR]`: rebuilds the CSV files and `report.html` from a saved
//! result, offline (the result is read, never rewritten).

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;

/// `surge report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A result.json written by `surge run` (or the run's folder), or a JTL file written by
    /// JMeter (or `surge run --jtl`).
    pub result: PathBuf,
    /// Output directory (default: the result's directory).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// The directory the reports go to: `--out`, else the result's own directory (the folder
/// itself when a run's folder was given).
pub fn out_dir(a: &ReportArgs) -> PathBuf {
    a.out.clone().unwrap_or_else(|| match a.result.parent() {
        _ if a.result.is_dir() => a.result.clone(),
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    })
}

/// Runs `surge report`: exit 0 when every file was written, 2 when the result cannot be read
/// (missing, not JSON, another schema: one line naming the file, and the line for JSON errors),
/// 1 when an output cannot be written.
pub async fn cmd(a: ReportArgs) -> i32 {
    let r = match surge_report::load_run(&a.result) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let dir = out_dir(&a);
    let facts = match surge_report::write_reports(&r, &dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: writing reports: {e}");
            return exit::FAILED;
        }
    };
    let d = surge_report::diagnosis::phrase(&facts.diagnosis);
    if let Some(c) = &d.completion {
        println!("completion: {c}");
    }
    println!("{}\n{}", d.headline[0], d.headline[1]);
    for f in surge_report::REPORT_FILES
        .iter()
        .filter(|f| **f != "report.html")
    {
        println!("wrote: {}", dir.join(f).display());
    }
    println!("report: {}", dir.join("report.html").display());
    exit::OK
}
