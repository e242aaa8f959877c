//! The [`Hub`]: the run's latest snapshot, replaced once a second by the tick and once more by
//! the result, read by every scrape. One lock taken once a second by the writer and once per
//! scrape by a reader: never per request.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use surge_record::result::{Cell, Second};
use surge_record::{RunResult, Tick};

/// The timeline rows the hub keeps for the live page: the last hour (a longer run's page shows
/// its last hour; `result.json` keeps every second).
pub const ROWS_KEPT: usize = 3_600;

/// What names the run in every series (`surge_run_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// The scenario's name.
    pub scenario: String,
    /// The run's id: the distributed run's id for a segment, else the output folder's name.
    pub run_id: String,
    /// `I/N` for a segment of a distributed run, else empty.
    pub segment: String,
}

/// The probe's search as it goes (`surge probe`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProbeNow {
    /// The arrival rate being tried now, requests per second.
    pub rate: f64,
}

/// The run as of the last tick (or its end).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The run's names; empty until the run begins.
    pub info: RunInfo,
    /// Time since the start.
    pub elapsed: Duration,
    /// Users active now.
    pub active_users: u32,
    /// One cell per label × status so far, with its histograms.
    pub cells: Vec<Cell>,
    /// The last Retry-After a 429 carried (whole seconds, rounded up), if any did.
    pub last_retry_after_s: Option<u32>,
    /// The probe's search, when a probe runs.
    pub probe: Option<ProbeNow>,
    /// The timeline rows so far (the last [`ROWS_KEPT`]), as the recorder made them.
    pub rows: VecDeque<Second>,
    /// The measurement has ended and the cells are the result's.
    pub finished: bool,
    /// report.html, once written.
    pub report: Option<PathBuf>,
    /// Nothing more will come (the run ended, or failed before it began): live feeds end.
    pub closed: bool,
}

/// Shared by the run (writer, once a second) and the servers (readers, per scrape).
#[derive(Debug)]
pub struct Hub {
    state: Mutex<Snapshot>,
    /// Bumped at every change, so live feeds wake.
    changed: watch::Sender<u64>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            state: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

impl Hub {
    /// An empty hub: it serves `surge_run_info` and zeros until the run begins.
    pub fn new() -> Hub {
        Hub::default()
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Wakes at every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The run begins: names its series. A hub serving several runs in turn (a sweep) starts
    /// each from zero, as Prometheus expects of a counter whose labels changed.
    pub fn begin(&self, info: RunInfo) {
        {
            let mut s = self.lock();
            *s = Snapshot {
                info,
                probe: s.probe,
                ..Snapshot::default()
            };
        }
        self.bump();
    }

    /// A second has passed: takes the tick's cells and live figures.
    pub fn tick(&self, t: &Tick) {
        let retry_after = t
            .second
            .as_ref()
            .and_then(|s| s.retry_after.keys().next_back().copied());
        {
            let mut s = self.lock();
            s.elapsed = t.elapsed;
            s.active_users = t.active_users;
            s.cells.clone_from(&t.cells);
            if retry_after.is_some() {
                s.last_retry_after_s = retry_after;
            }
            if let Some(row) = &t.second {
                push_row(&mut s.rows, row.clone());
            }
        }
        self.bump();
    }

    /// The probe's search moved on.
    pub fn probe(&self, now: ProbeNow) {
        self.lock().probe = Some(now);
        self.bump();
    }

    /// The measurement has ended: from now on the hub serves the result's own cells, so what
    /// a last scrape reads equals `result.json`.
    pub fn finish(&self, result: &RunResult) {
        {
            let mut s = self.lock();
            s.cells.clone_from(&result.cells);
            s.elapsed = Duration::from_secs_f64(result.duration_s.max(0.0));
            s.active_users = 0;
            // The result's timeline: the seconds the last tick had not drained yet, and the
            // late answers merged into seconds already shown.
            s.rows.clear();
            let skip = result.timeline.len().saturating_sub(ROWS_KEPT);
            for row in result.timeline.iter().skip(skip) {
                push_row(&mut s.rows, row.clone());
            }
            if let Some(r) = result
                .timeline
                .iter()
                .rev()
                .find_map(|r| r.retry_after.keys().next_back().copied())
            {
                s.last_retry_after_s = Some(r);
            }
            s.finished = true;
        }
        self.bump();
    }

    /// report.html has been written here.
    pub fn report_written(&self, path: PathBuf) {
        self.lock().report = Some(path);
        self.bump();
    }

    /// Nothing more will come: live feeds send what they have not sent and end.
    pub fn close(&self) {
        self.lock().closed = true;
        self.bump();
    }

    /// A copy of the snapshot (a reader holds the lock only while copying).
    pub fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    /// Runs `f` on the snapshot under the lock (no copy of the cells).
    pub fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.lock())
    }
}

fn push_row(rows: &mut VecDeque<Second>, row: Second) {
    if rows.len() == ROWS_KEPT {
        rows.pop_front();
    }
    rows.push_back(row);
}

#[cfg(test)]
mod tests;
