//! One user: draws data, then runs its group's step program once per iteration, an interpreter
//! over flat [`Op`]s with a program counter (requests, transactions, loops, `while`, `if`,
//! `once`). Requests go through [`super::attempt`] (the pace or adaptive
//! [`Gate`](super::pace::Gate), the 429 policy, checks); the user keeps its variables (data and
//! extracted) across iterations, its loop counters and its open transactions.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::attempt::Sent;
use super::ctx::Ctx;
use super::data::{Exhausted, UserData};
use super::group::GroupRt;
use surge_plan::cond::Answer;
use surge_plan::steps::Op;
use surge_plan::OnError;
use surge_record::samples::Streamed;
use surge_record::{Outcome, TxnSample};
use surge_transport::Transport;

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IterEnd {
    /// Go on with the next iteration.
    Next,
    /// This user stops (its stop token, stop_thread, data exhausted, no request slot left).
    StopUser,
}

/// A transaction the user is inside.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenTxn {
    pub txn: u16,
    start: Instant,
    paused_at_start: Duration,
    failed: Option<(Outcome, Option<u16>)>,
    pub samples: u32,
    pub failing: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub latency_us: u64,
}

/// A user's own state across iterations, with its own connection (`C`, the transport's).
pub(super) struct User<C> {
    /// Global user id (from 0, across groups).
    pub id: u32,
    /// Number within the group, from 1 (JMeter's thread number).
    pub number: u32,
    pub(super) data: UserData,
    pub(super) rng: rand::rngs::StdRng,
    pub(super) url: String,
    pub(super) iteration: u64,
    pub(super) auth: Option<surge_transport::auth::AuthCache>,
    /// The last request succeeded (true before any): `last_ok` in conditions.
    pub(super) last_ok: bool,
    /// Loop counters, one per loop of the program (and the request mix's cursors).
    pub(super) slots: Vec<u32>,
    /// The order drawn by each `random_order` block (indexed by its slot).
    pub(super) orders: Vec<Vec<u16>>,
    /// Requests sent when each `while` (or `during`) pass began (a pass that sends none ends
    /// the loop).
    pub(super) marks: Vec<u64>,
    /// Each `during` block's deadline.
    pub(super) deadlines: Vec<Option<Instant>>,
    pub(super) sent: u64,
    /// Transactions open now, outermost first.
    pub(super) open: Vec<OpenTxn>,
    /// Think times and poll intervals waited so far.
    paused_total: Duration,
    /// The current back-off after resource errors (zero when the last attempt had none).
    pub(super) resource_wait: Duration,
    /// With a pace per user: the next request's slot.
    pace_next: Option<Instant>,
    /// The server's Digest challenge this user answers (Digest authentication).
    pub(super) digest: Option<surge_transport::digest::Challenge>,
    /// This user's HTTP cache, when the plan keeps one.
    pub(super) cache: Option<super::cache::UserCache>,
    /// This user's cookie jar, when the plan keeps cookies.
    pub(super) jar: Option<cookie_store::CookieStore>,
    /// This user's connection.
    pub(super) conn: C,
    /// The run's abort, as this user's own child token: waiting on it per request touches no
    /// state shared with other users.
    pub(super) abort: CancellationToken,
}

impl<C> User<C> {
    pub(super) fn new<T: Transport<Conn = C>>(ctx: &Ctx<T>, grp: &GroupRt, local: u32) -> User<C> {
        let id = grp.user_base() + local;
        let rng = ctx.plan.user_rng(id);
        let slots = usize::from(grp.program().slots);
        let mut data = ctx.plan.user_data(grp.index());
        ctx.groups.import_into(grp, &mut data.values);
        let abort = ctx.stops.for_user(grp.phase());
        User {
            id,
            number: local + 1,
            data,
            rng,
            url: String::with_capacity(128),
            auth: None,
            iteration: 0,
            last_ok: true,
            slots: vec![0; slots],
            orders: vec![Vec::new(); slots],
            marks: vec![0; slots],
            deadlines: vec![None; slots],
            sent: 0,
            open: Vec::with_capacity(ctx.plan.transaction_count()),
            paused_total: Duration::ZERO,
            resource_wait: Duration::ZERO,
            pace_next: None,
            digest: None,
            cache: ctx.plan.user_cache(),
            jar: ctx.plan.cookie_jar(),
            conn: ctx.client.conn(),
            abort,
        }
    }

    /// A setup user hands its exported variables (those with a value) to the later groups.
    fn export<T>(&self, ctx: &Ctx<T>, grp: &GroupRt) {
        ctx.groups.export_from(grp, &self.data.values);
    }

    /// Adds a pause the open transactions may exclude.
    pub(super) fn paused(&mut self, d: Duration) {
        self.paused_total += d;
    }

    fn holds<T>(&self, ctx: &Ctx<T>, cond: u16) -> bool {
        ctx.plan.holds(
            cond,
            &Answer {
                status: None,
                json: None,
                vars: &self.data.values,
                last_ok: self.last_ok,
            },
        )
    }

    /// Runs one iteration: the group's program, each request after its think time.
    pub(super) async fn iteration<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        grp: &GroupRt,
        mut due: Instant,
        stop: &CancellationToken,
    ) -> IterEnd {
        match self
            .data
            .draw_with(ctx.plan.data(), &mut self.rng, self.number)
        {
            Ok(()) => {}
            Err(Exhausted::StopThread) => return IterEnd::StopUser,
            Err(Exhausted::StopTest) => {
                ctx.stops.stop_with(surge_record::StopReason::DataExhausted);
                return IterEnd::StopUser;
            }
        }
        self.iteration += 1;
        ctx.counters.iteration_begun();
        if ctx.plan.clears_cache_each_iteration() {
            if let Some(c) = &mut self.cache {
                c.clear();
            }
        }
        if ctx.plan.clears_cookies_each_iteration() {
            if let Some(jar) = &mut self.jar {
                jar.clear();
            }
        }
        let ops = &grp.program().ops;
        let mut pc = 0usize;
        while let Some(&op) = ops.get(pc) {
            pc += 1;
            match op {
                Op::Request { request } => {
                    match self.step(ctx, grp, request, &mut due, stop).await {
                        Some(IterEnd::Next) => break,
                        Some(IterEnd::StopUser) => return IterEnd::StopUser,
                        None => {}
                    }
                }
                Op::TxnBegin { txn } => self.txn_begin(ctx, txn),
                Op::TxnEnd { txn } => self.txn_end(ctx, txn).await,
                Op::LoopInit { slot, count, end } => {
                    self.slots[usize::from(slot)] = 0;
                    if count == 0 {
                        pc = end as usize;
                    }
                }
                Op::LoopBack { slot, count, body } => {
                    let n = &mut self.slots[usize::from(slot)];
                    *n += 1;
                    if *n < count {
                        pc = body as usize;
                    }
                }
                Op::WhileInit { slot } => self.slots[usize::from(slot)] = 0,
                Op::WhileTest {
                    cond,
                    slot,
                    max,
                    end,
                } => {
                    let passes = self.slots[usize::from(slot)];
                    if max.is_some_and(|m| passes >= m) || !self.holds(ctx, cond) {
                        pc = end as usize;
                    } else {
                        self.marks[usize::from(slot)] = self.sent;
                    }
                }
                Op::WhileBack { slot, test } => {
                    self.slots[usize::from(slot)] += 1;
                    // A pass that sent no request changed nothing a condition reads: done.
                    if self.sent != self.marks[usize::from(slot)] {
                        pc = test as usize;
                    }
                }
                Op::IfNot { cond, end } => {
                    if !self.holds(ctx, cond) {
                        pc = end as usize;
                    }
                }
                Op::Once { slot, end } => {
                    let first = match slot {
                        Some(s) => self.slots[usize::from(s)] == 0,
                        None => self.iteration == 1,
                    };
                    if !first {
                        pc = end as usize;
                    }
                }
                op => {
                    if let Some(end) = self.mix_op(ctx, grp, op, &mut pc, stop).await {
                        return end;
                    }
                }
            }
        }
        // Skipped to the next iteration inside a transaction: it ends with its failure.
        while let Some(t) = self.open.last().map(|t| t.txn) {
            self.txn_end(ctx, t).await;
        }
        IterEnd::Next
    }

    /// One request step: its think time, the request, then `on_error`. Some(end) when the
    /// iteration ends here.
    async fn step<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        grp: &GroupRt,
        request: usize,
        due: &mut Instant,
        stop: &CancellationToken,
    ) -> Option<IterEnd> {
        // Timers run before each sampler, as JMeter's do.
        let pause = grp.think_time(&mut self.rng);
        if !pause.is_zero() {
            *due = Instant::now() + pause;
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Some(self.cut(ctx)),
                _ = sleep_until(*due) => {}
            }
            self.paused(pause);
        }
        // Then the group's pace: this request's slot at its rate.
        if let Some(pace) = grp.pace() {
            let Some(waited) = pace.wait(&mut self.pace_next, stop).await else {
                return Some(self.cut(ctx));
            };
            if !waited.is_zero() {
                *due = Instant::now();
                self.paused(waited);
            }
        }
        if stop.is_cancelled() {
            return Some(self.cut(ctx));
        }
        self.sent += 1;
        let v = match self.request(ctx, request, *due, stop).await {
            Sent::Done(v) => v,
            Sent::Stop => return Some(self.cut(ctx)),
        };
        *due = Instant::now();
        self.last_ok = v.ok;
        if v.ok {
            return None;
        }
        for t in self.open.iter_mut() {
            t.failed = t.failed.or(Some((v.outcome, v.check)));
        }
        match grp.on_error() {
            OnError::Continue => None,
            OnError::NextLoop => Some(IterEnd::Next),
            OnError::StopThread => {
                self.close_all(ctx).await;
                Some(IterEnd::StopUser)
            }
            OnError::StopTest => {
                self.close_all(ctx).await;
                ctx.stops.stop_with(surge_record::StopReason::StopTest);
                Some(IterEnd::StopUser)
            }
        }
    }

    /// The run stops this user inside its iteration: open transactions stay unfinished.
    pub(super) fn cut<T>(&mut self, ctx: &Ctx<T>) -> IterEnd {
        let now = Instant::now();
        for t in self.open.drain(..) {
            ctx.recording.txn_unfinished(self.id, now, t.txn);
        }
        IterEnd::StopUser
    }

    async fn close_all<T>(&mut self, ctx: &Ctx<T>) {
        while let Some(t) = self.open.last().map(|t| t.txn) {
            self.txn_end(ctx, t).await;
        }
    }

    fn txn_begin<T>(&mut self, ctx: &Ctx<T>, txn: u16) {
        let start = Instant::now();
        ctx.recording.txn_begin(self.id, start, txn);
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

    /// Ends transaction `txn` (and any opened inside it), recording each.
    async fn txn_end<T>(&mut self, ctx: &Ctx<T>, txn: u16) {
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
                user: self.id,
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
}

/// A closed-model user: loops until its loops are done or it is stopped.
pub(crate) async fn closed_user<T: Transport>(
    ctx: Arc<Ctx<T>>,
    g: usize,
    local: u32,
    start_due: Instant,
    loops: Option<u64>,
    stop: CancellationToken,
) {
    let grp = ctx.groups.get(g);
    let mut user = User::new(&ctx, grp, local);
    ctx.user_event(1);
    let mut due = start_due;
    let mut n: u64 = 0;
    while loops.is_none_or(|l| n < l) && !stop.is_cancelled() {
        n += 1;
        if user.iteration(&ctx, grp, due, &stop).await == IterEnd::StopUser {
            break;
        }
        // An iteration whose every step completed without waiting (a failure returned at
        // once) must still let timers, stops and other users run.
        tokio::task::consume_budget().await;
        due = Instant::now();
    }
    user.export(&ctx, grp);
    ctx.user_event(-1);
}

/// An open-model user: runs one iteration per arrival it receives, until the arrivals end.
/// It counts as active while it runs an iteration.
pub(crate) async fn open_user<T: Transport>(
    ctx: Arc<Ctx<T>>,
    g: usize,
    local: u32,
    first: Option<Instant>,
    arrivals: async_channel::Receiver<Instant>,
    idle: Arc<AtomicU32>,
    stop: CancellationToken,
) {
    let grp = ctx.groups.get(g);
    let mut user = User::new(&ctx, grp, local);
    let mut next = first;
    loop {
        let due = match next.take() {
            Some(at) => at,
            None => {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    a = arrivals.recv() => match a {
                        Ok(at) => at,
                        Err(_) => break,
                    },
                }
            }
        };
        ctx.user_event(1);
        let end = user.iteration(&ctx, grp, due, &stop).await;
        ctx.user_event(-1);
        if end == IterEnd::StopUser {
            break;
        }
        tokio::task::consume_budget().await;
        idle.fetch_add(1, Ordering::AcqRel);
    }
}
