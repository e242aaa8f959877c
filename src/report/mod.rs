//! Outputs built from a [`crate::record::RunResult`]: CSV files ([`csv`]) and the terminal
//! summary ([`terminal`]); JMeter's JTL format both ways ([`jtl`]).

pub mod csv;
pub mod jtl;
pub mod terminal;

use std::path::Path;

use crate::record::RunResult;

/// Writes `result.json` and every report derived from it into `dir` (created if needed).
///
/// # Errors
/// I/O errors naming the file.
pub fn write_outputs(r: &RunResult, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let rj = dir.join("result.json");
    r.write(&rj)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", rj.display())))?;
    csv::write_all(r, dir)
}
