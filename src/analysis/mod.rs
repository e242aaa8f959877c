//! Facts derived from results, never text: the derived statistics of a run ([`figures`]), the
//! 429 diagnosis ([`diagnosis`]), thresholds, baseline checks, comparisons of runs and their CI
//! outputs. `report` formats what this module computes; this module never imports `report`.

pub mod baseline;
pub mod compare;
pub mod diagnosis;
pub mod figures;
pub mod gate_report;
pub mod stats;
pub mod threshold;
pub mod threshold_eval;

use crate::record::RunResult;

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
