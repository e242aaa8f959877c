//! Where a run's measurements go ([`Recording`]): the recorder (per-second histograms, sharded
//! per core), the run's epoch every timestamp counts from, and the raw samples stream the caller
//! asked for (`--samples`, `--jtl`).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use surge_record::samples::Streamed;
use surge_record::{Aggregate, Outcome, Recorder, Sample, TxnSample};

/// The run's recorder, epoch and raw samples stream.
pub(crate) struct Recording {
    recorder: Recorder,
    /// The run's start: timestamps are µs since.
    epoch: Instant,
    /// Raw samples go here too, when asked.
    samples: Option<mpsc::Sender<Streamed>>,
}

impl Recording {
    /// Recording for `users` users from now, in `shards` recorder shards (one per core) or one.
    pub(crate) fn start(
        users: u32,
        shards: Option<usize>,
        samples: Option<mpsc::Sender<Streamed>>,
    ) -> Recording {
        let recorder = match shards {
            Some(n) => Recorder::with_shards(users, n),
            None => Recorder::new(users),
        };
        Recording {
            recorder,
            epoch: Instant::now(),
            samples,
        }
    }

    /// `t` in µs since the run's start.
    pub(crate) fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_micros() as u64
    }

    /// The run's start.
    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    /// How long the run has run.
    pub(crate) fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Records an attempt.
    pub(crate) fn record(&self, sample: &Sample) {
        self.recorder.record(sample);
    }

    /// Records an ended transaction.
    pub(crate) fn record_txn(&self, txn: &TxnSample) {
        self.recorder.record_txn(txn);
    }

    /// `user` began transaction `txn` at `at`.
    pub(crate) fn txn_begin(&self, user: u32, at: Instant, txn: u16) {
        self.recorder.txn_begin(user, self.us(at), txn);
    }

    /// `user`'s transaction `txn` was cut at `at` by the run's stop.
    pub(crate) fn txn_unfinished(&self, user: u32, at: Instant, txn: u16) {
        self.recorder.txn_unfinished(user, self.us(at), txn);
    }

    /// `user`'s request ended at `at` with `outcome` as its last recorded attempt had it (its
    /// retry never came).
    pub(crate) fn add_final(&self, user: u32, at: Instant, outcome: Outcome) {
        self.recorder.add_final(user, self.us(at), outcome);
    }

    /// A user became active (`+1`) or idle/stopped (`-1`) at `at`.
    pub(crate) fn user_event(&self, at: Instant, delta: i32) {
        self.recorder.user_event(self.us(at), delta);
    }

    /// Merges the seconds before `upto` into `agg`.
    pub(crate) fn drain_into(&self, upto: u32, agg: &mut Aggregate) {
        self.recorder.drain_into(upto, agg);
    }

    /// Streams what `item` makes, when raw samples were asked for (else `item` is not called).
    pub(crate) async fn stream(&self, item: impl FnOnce() -> Streamed) {
        if let Some(tx) = &self.samples {
            let _ = tx.send(item()).await;
        }
    }
}
