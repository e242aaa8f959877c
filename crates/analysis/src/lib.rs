//! Facts computed from results, never text: the derived statistics of a run ([`figures`]), the
//! 429 diagnosis ([`diagnosis`]), thresholds (live and after the run), baseline checks and the
//! statistics behind them ([`stats`]), run comparisons, and the verdicts' CI outputs
//! ([`gate_report`]). Everything a user sees as a figure is computed here, once.
//!
//! Reads `record` only (the result and the per-second snapshot). Must not import `engine`,
//! `transport`, `run` or `cli` (an analysis never depends on how a run was driven), nor `report`
//! outside tests (reports format these facts, not the other way round).

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
