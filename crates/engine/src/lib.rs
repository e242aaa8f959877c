//! The engine: the one executor, which reads a plan's schedules and runs its users as tokio
//! tasks; the only place that sleeps and spawns. Its modules, and what each owns:
//!
//! - [`executor`]: the entry point, [`execute`], with its options and what it hands back.
//! - `ctx`: the run's shared state (`Ctx`), built once per run, one part per concern, each
//!   hiding its fields: `plan_rt` (the plan as users read it: prepared requests, transactions,
//!   conditions, cookie and cache settings, data sources), `group` (the groups at run time and
//!   the variables setup groups export), `client` (the transport and authentication; the 429
//!   policy and its gate), `counters` (issued, iterations, dropped, active), `recording` (the
//!   recorder, the epoch, the raw samples stream) and `stops` (stop, abort, stop reason).
//! - `phases`: setup, main and teardown groups in turn, the grace after a stop and the abort.
//! - `drive`: one group's schedule, its users started and stopped, arrivals to free users.
//! - [`cores`]: the per-core runtimes users may run on.
//! - `watch`: the once-a-second ticker (drain, progress callback) and the watchdog
//!   (Ctrl-C, `max_duration`).
//! - `user`: one user's life and its step program's interpreter, over its parts, which nothing
//!   else sees: `user::flow` (loops, conditions, the request mix), `user::txn` (open
//!   transactions) and `user::attempt` (its side of its requests: attempts, retries, polls,
//!   cookies, cache, credentials; `user::attempt::answer` judges an answer).
//! - `mix`: what a group's users share of its request mix (throughput counters, rendezvous).
//! - `pace`: client-side pacing and the gate of paced requests (`pace::adaptive`: the
//!   adaptive policy's rate per token).
//! - `cache`: one user's HTTP cache.
//! - [`data`]: run-time data sources.
//!
//! Depends on `surge-plan` (the plan, its schedules), `surge-transport` and `surge-record`
//! (where samples go) only: what a run does with its per-second snapshot (progress, live
//! thresholds) is its caller's, passed in as a callback.

mod cache;
mod client;
pub mod cores;
mod counters;
mod ctx;
pub mod data;
mod drive;
pub mod executor;
mod group;
mod mix;
mod multipart;
mod pace;
mod phases;
mod plan_rt;
mod recording;
mod stops;
mod user;
mod watch;

pub use cores::Workers;
pub use executor::{
    execute, execute_http, execute_in_process, Compiled, ExecOptions, ExecOutput, OnTick,
    DEFAULT_GRACE,
};

#[cfg(test)]
mod tests;
