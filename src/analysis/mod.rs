//! Facts computed from results: the 429 diagnosis, thresholds (live and after the run),
//! baseline checks and the statistics behind them ([`stats`]), run comparisons, and the verdicts'
//! CI outputs ([`gate_report`]). Everything a user sees as a figure is computed here, once.
//!
//! Reads `record` only (the result and the per-second snapshot). Must not import `engine`,
//! `transport`, `run` or `cli` (an analysis never depends on how a run was driven), nor `report`
//! outside tests (reports format these facts, not the other way round).

pub mod baseline;
pub mod compare;
pub mod diagnosis;
pub mod gate_report;
pub mod stats;
pub mod threshold;
pub mod threshold_eval;
