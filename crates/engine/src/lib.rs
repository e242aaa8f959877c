//! The engine: the one executor ([`executor`]) that reads a schedule and runs users as tokio
//! tasks (on per-core runtimes, [`cores`]); each user interprets its group's step program
//! (`user`), sends requests with the client's 429 policy (`attempt`), passing the gate of a paced
//! request first (`pace`: the `pace` policy's client-side limit; `adaptive`: the adaptive policy's
//! rate per token), and reads answers for extractors, assertions and polls (`answer`); run-time
//! data sources ([`data`]). The only place that sleeps and spawns.
//!
//! Reads `scenario` (the plan), `schedule`, `transport` and `record` (where samples go). Must not
//! import `analysis`, `report`, `run` or `cli`: what a run does with its per-second snapshot
//! (progress, live thresholds) is its caller's, passed in as a callback.

mod attempt;
mod cache;
mod client;
pub mod cores;
mod counters;
mod ctx;
pub mod data;
mod drive;
pub mod executor;
mod flow;
mod group;
mod mix;
mod pace;
mod phases;
mod plan_rt;
mod recording;
mod stops;
mod txn;
mod user;
mod watch;

pub use cores::Workers;
pub use executor::{execute, ExecOptions, ExecOutput, OnTick, DEFAULT_GRACE};

#[cfg(test)]
mod tests;
