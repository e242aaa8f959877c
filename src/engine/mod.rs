//! The engine: the one executor ([`executor`]) that reads a schedule and runs users as tokio
//! tasks (on per-core runtimes, [`cores`]), and run-time data sources ([`data`]).

pub mod cores;
pub mod data;
pub mod executor;
pub mod rlimit;
mod user;

pub use cores::Workers;
pub use executor::{execute, ExecOptions, ExecOutput, OnTick, Tick, DEFAULT_GRACE};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_profiles;
