//! Analyses of results: the 429 diagnosis, thresholds, baseline checks and their CI outputs.

pub mod baseline;
pub mod compare;
pub mod diagnosis;
pub mod gate_report;
pub mod stats;
pub mod threshold;
pub mod threshold_eval;
