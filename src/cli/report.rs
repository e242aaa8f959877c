//! `surge report RESULT.json [--out DIR]`: rebuilds the CSV files and `report.html` from a saved
//! result, offline (the result is read, never rewritten). A run's reports are rebuilt in its own
//! folder; a JTL's go to a folder of their own (`reports/<name>-<UTC timestamp>`), never beside
//! the JTL, where they could overwrite files of a shared folder.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;

/// `surge report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A result.json written by `surge run` (or the run's folder), or a JTL file written by
    /// JMeter (or `surge run --jtl`).
    pub result: PathBuf,
    /// Output directory (default: a run's own folder; for a JTL, a new folder
    /// reports/<name>-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// The result file `a` names: the `result.json` in a run's folder, or the file itself.
fn result_file(a: &ReportArgs) -> PathBuf {
    if a.result.is_dir() {
        a.result.join("result.json")
    } else {
        a.result.clone()
    }
}

/// The directory the reports go to: `--out`; else a run's own folder (the folder given, or the
/// one its `result.json` is in); else, for a JTL, a new folder under `reports/` no other output
/// has (claimed atomically).
///
/// # Errors
/// The new folder cannot be created.
pub fn out_dir(a: &ReportArgs, jtl: bool) -> std::io::Result<PathBuf> {
    if let Some(o) = &a.out {
        return Ok(o.clone());
    }
    if jtl {
        let stem = a
            .result
            .file_stem()
            .map_or_else(|| "jtl".into(), |s| s.to_string_lossy().into_owned());
        return crate::run::out_dir::claim_fresh(&crate::run::out_dir::stamped(&stem));
    }
    Ok(match a.result.parent() {
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
    let jtl = surge_report::is_jtl(&a.result);
    let dir = match out_dir(&a, jtl) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: creating the output folder: {e}");
            return exit::FAILED;
        }
    };
    let result_json = result_file(&a);
    let next = surge_report::next::Next::of(&r, (!jtl).then_some(result_json.as_path()));
    let facts = match surge_report::write_reports(&r, &dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: writing reports: {e}");
            return exit::FAILED;
        }
    };
    let d = surge_report::diagnosis::phrase(&facts.diagnosis, &next);
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
