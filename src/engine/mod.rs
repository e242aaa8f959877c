//! The engine: the one executor ([`executor`]) that reads a schedule and runs users as tokio
//! tasks, and run-time data sources ([`data`]).

pub mod data;
pub mod executor;
mod user;

pub use executor::{execute, ExecOptions, ExecOutput, OnTick, DEFAULT_GRACE};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_profiles;
