//! The live view of a run, once a second: totals so far and the last full second's row. The
//! executor builds it from the aggregate; callers read it (progress display, live thresholds),
//! never the hot path.

use std::time::Duration;

use super::result::{Cell, Second};

/// The per-second snapshot passed to a run's observer.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    /// Time since the start.
    pub elapsed: Duration,
    /// Users active now.
    pub active_users: u32,
    /// Attempts completed so far.
    pub completed: u64,
    /// 2xx so far.
    pub ok: u64,
    /// 429 so far.
    pub throttled: u64,
    /// Everything else so far.
    pub errors: u64,
    /// Attempts completed in the last full second.
    pub last_second: u64,
    /// The timeline row of the last full second.
    pub second: Option<Second>,
    /// One cell per label × status so far, with its histograms since the start (what the live
    /// metrics serve); empty when nobody watches the run.
    pub cells: Vec<Cell>,
}
