//! The engine: the one executor ([`executor`]) that reads a schedule and runs users as tokio
//! tasks, run-time data sources ([`data`]), and the gate a user passes before a paced request
//! (`pace`: the `pace` policy's client-side limit; `adaptive`: the adaptive policy's rate per
//! token). The only place that sleeps and spawns.
//!
//! Reads `scenario` (the plan), `schedule`, `transport` and `record` (where samples go). Must not
//! import `analysis`, `report`, `run` or `cli`: what a run does with its per-second snapshot
//! (progress, live thresholds) is its caller's, passed in as a callback.

mod adaptive;
pub mod data;
pub mod executor;
mod pace;
mod user;

pub use executor::{execute, ExecOptions, ExecOutput, OnTick, DEFAULT_GRACE};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_profiles;
