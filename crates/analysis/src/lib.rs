//! surge-analysis: facts computed from results, numbers and enums, never sentences. The derived
//! statistics of a run ([`figures`]), the 429 diagnosis ([`diagnosis`]), limit fits and the pace
//! under a limit ([`limit`]), threshold verdicts and the live gate ([`threshold_eval`]), baseline
//! checks ([`baseline`]) and the statistics behind them ([`stats`]), run comparisons ([`compare`]),
//! transactions ([`transactions`]). Everything a user sees as a figure is computed here, once, from
//! a result alone; `surge-report` puts it into words and formats.
//!
//! Depends on `surge-record` and `surge-plan` (threshold expressions); never on the engine,
//! transport or report. See `ARCHITECTURE.md` at the repository's root.

pub mod baseline;
pub mod compare;
pub mod diagnosis;
pub mod figures;
pub mod limit;
pub mod stats;
pub mod threshold_eval;
pub mod transactions;

use surge_record::RunResult;

/// Everything the reports show about one result, computed once: its figures and its diagnosis.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// Counts, shares, rows and quantiles.
    pub figures: figures::Figures,
    /// The 429 diagnosis.
    pub diagnosis: diagnosis::Diagnosis,
}

impl Facts {
    /// Computes the facts of `r`.
    pub fn of(r: &RunResult) -> Facts {
        Facts {
            figures: figures::Figures::of(r),
            diagnosis: diagnosis::diagnose(r),
        }
    }
}
