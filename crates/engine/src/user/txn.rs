//! A user's open transactions ([`Txns`]): begun and ended by the program, nested, each counting
//! the attempts sent inside it and failing with the first request that fails inside it; the
//! pauses a transaction may exclude (think times, poll intervals); recorded when they end, or as
//! unfinished when the run stops the user inside them.

use std::time::Duration;

use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::plan_rt::PlanRt;
use surge_record::samples::Streamed;
use surge_record::{Outcome, Sample, TxnSample};

/// A transaction the user is inside.
#[derive(Debug, Clone, Copy)]
struct OpenTxn {
    txn: u16,
    start: Instant,
    paused_at_start: Duration,
    failed: Option<(Outcome, Option<u16>)>,
    samples: u32,
    failing: u32,
    bytes_in: u64,
    bytes_out: u64,
    latency_us: u64,
}

/// A user's open transactions and the pauses it waited.
pub(super) struct Txns {
    /// Transactions open now, outermost first.
    open: Vec<OpenTxn>,
    /// Think times and poll intervals waited so far.
    paused_total: Duration,
}

impl Txns {
    /// None open, room for `capacity` (the plan's transactions).
    pub(super) fn new(capacity: usize) -> Txns {
        Txns {
            open: Vec::with_capacity(capacity),
            paused_total: Duration::ZERO,
        }
    }

    /// Adds a pause the open transactions may exclude.
    pub(super) fn paused(&mut self, d: Duration) {
        self.paused_total += d;
    }

    /// User `user` begins transaction `txn` now.
    pub(super) fn begin<T>(&mut self, ctx: &Ctx<T>, user: u32, txn: u16) {
        let start = Instant::now();
        ctx.recording.txn_begin(user, start, txn);
        self.open.push(OpenTxn {
            txn,
            start,
            paused_at_start: self.paused_total,
            failed: None,
            samples: 0,
            failing: 0,
            bytes_in: 0,
            bytes_out: 0,
            latency_us: 0,
        });
    }

    /// A request failed with `outcome` (and `check`): every open transaction fails with the first
    /// such.
    pub(super) fn fail(&mut self, outcome: Outcome, check: Option<u16>) {
        for t in self.open.iter_mut() {
            t.failed = t.failed.or(Some((outcome, check)));
        }
    }

    /// Counts an attempt in every open transaction; true when one of them stands for its
    /// requests in the raw samples (JMeter's "Generate parent sample").
    pub(super) fn count(&mut self, plan: &PlanRt, sample: &Sample) -> bool {
        let mut in_parent = false;
        for t in self.open.iter_mut() {
            t.samples += 1;
            t.failing += u32::from(sample.status.outcome() != Outcome::Success);
            t.bytes_in += u64::from(sample.bytes_in);
            t.bytes_out += u64::from(sample.bytes_out);
            t.latency_us += sample.ttfb_us.saturating_sub(sample.start_us);
            in_parent |= plan.transaction(t.txn).parent_sample;
        }
        in_parent
    }

    /// User `user` ends transaction `txn` (and any opened inside it), recording each.
    pub(super) async fn end<T>(&mut self, ctx: &Ctx<T>, user: u32, txn: u16) {
        while let Some(t) = self.open.pop() {
            let spec = ctx.plan.transaction(t.txn);
            let end = Instant::now();
            let paused = if spec.exclude_pauses {
                self.paused_total.saturating_sub(t.paused_at_start)
            } else {
                Duration::ZERO
            };
            let (outcome, check) = t.failed.unwrap_or((Outcome::Success, None));
            let s = TxnSample {
                txn: t.txn,
                user,
                active: ctx.counters.active(),
                start_us: ctx.recording.us(t.start),
                end_us: ctx.recording.us(end),
                paused_us: paused.as_micros() as u64,
                outcome,
                check,
                samples: t.samples,
                failing: t.failing,
                bytes_in: t.bytes_in,
                bytes_out: t.bytes_out,
                latency_us: t.latency_us,
            };
            ctx.recording.record_txn(&s);
            // A failure inside an inner transaction fails the outer one too.
            if let (Some(f), Some(outer)) = (t.failed, self.open.last_mut()) {
                outer.failed = outer.failed.or(Some(f));
            }
            ctx.recording.stream(|| Streamed::Txn(s)).await;
            if t.txn == txn {
                break;
            }
        }
    }

    /// User `user` ends every open transaction, innermost first.
    pub(super) async fn end_all<T>(&mut self, ctx: &Ctx<T>, user: u32) {
        while let Some(t) = self.open.last().map(|t| t.txn) {
            self.end(ctx, user, t).await;
        }
    }

    /// The run stopped user `user` inside its iteration: its open transactions are recorded
    /// unfinished.
    pub(super) fn cut<T>(&mut self, ctx: &Ctx<T>, user: u32) {
        let now = Instant::now();
        for t in self.open.drain(..) {
            ctx.recording.txn_unfinished(user, now, t.txn);
        }
    }
}
