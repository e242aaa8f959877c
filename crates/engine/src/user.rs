//! One user ([`User`]): draws data, then runs its group's step program once per iteration, an
//! interpreter over flat [`Op`]s with a program counter. The user sends requests (think time,
//! the group's pace, then its [`Session`]: the 429 policy, checks) and handles `on_error`,
//! begins and ends transactions ([`Txns`]), waits at rendezvous points, and leaves every other
//! instruction (loops, `while`, `if`, `once`, `during`, the request mix) to its [`Flow`]. What
//! its templates, conditions and extractors read and change ([`Vars`]: its numbers, variables
//! and random source) it keeps across iterations. The user's life as a task: [`closed_user`] and
//! [`open_user`].

mod attempt;
mod flow;
mod txn;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rand::rngs::StdRng;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::ctx::Ctx;
use super::data::{Exhausted, UserData};
use super::group::GroupRt;
use super::plan_rt::PlanRt;
use attempt::{Sent, Session};
use flow::Flow;
use surge_plan::cond::Answer;
use surge_plan::steps::Op;
use surge_plan::template::Scope;
use surge_plan::OnError;
use surge_record::StopReason;
use surge_transport::Transport;
use txn::Txns;

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IterEnd {
    /// Go on with the next iteration.
    Next,
    /// This user stops (its stop token, stop_thread, data exhausted, no request slot left).
    StopUser,
}

/// What a user's templates, conditions and extractors read and change: who it is, its
/// variables, whether its last request succeeded, and its random source.
struct Vars {
    /// Global user id (from 0, across groups).
    id: u32,
    /// Number within the group, from 1 (JMeter's thread number).
    number: u32,
    /// Iterations begun (the current one's number).
    iteration: u64,
    /// The last request succeeded (true before any): `last_ok` in conditions.
    last_ok: bool,
    /// Its variables: drawn from data sources, extracted, exported by setup groups.
    data: UserData,
    /// Think times, random picks, jitter.
    rng: StdRng,
}

impl Vars {
    /// Where templates render: its variables and numbers.
    fn scope(&self) -> Scope<'_> {
        Scope {
            vars: &self.data.values,
            thread: self.number,
            iteration: self.iteration,
        }
    }

    /// Whether the plan's condition `cond` holds between requests (no answer at hand).
    fn holds(&self, plan: &PlanRt, cond: u16) -> bool {
        plan.holds(
            cond,
            &Answer {
                status: None,
                json: None,
                vars: &self.data.values,
                last_ok: self.last_ok,
            },
        )
    }
}

/// A user's own state across iterations, with its own connection (`C`, the transport's).
struct User<C> {
    vars: Vars,
    /// Where it is in its program between requests.
    flow: Flow,
    /// Its open transactions.
    txns: Txns,
    /// Its side of its requests.
    session: Session<C>,
    /// With a pace per user: the next request's slot.
    pace_next: Option<Instant>,
}

impl<C> User<C> {
    /// User `local` (from 0) of group `grp`.
    fn new<T: Transport<Conn = C>>(ctx: &Ctx<T>, grp: &GroupRt, local: u32) -> User<C> {
        let id = grp.user_base() + local;
        let rng = ctx.plan.user_rng(id);
        let mut data = ctx.plan.user_data(grp.index());
        ctx.groups.import_into(grp, &mut data.values);
        let abort = ctx.stops.for_user(grp.phase());
        User {
            vars: Vars {
                id,
                number: local + 1,
                iteration: 0,
                last_ok: true,
                data,
                rng,
            },
            flow: Flow::new(usize::from(grp.program().slots)),
            txns: Txns::new(ctx.plan.transaction_count()),
            session: Session::new(ctx.client.conn(), &ctx.plan, abort),
            pace_next: None,
        }
    }

    /// A setup user hands its exported variables (those with a value) to the later groups.
    fn export<T>(&self, ctx: &Ctx<T>, grp: &GroupRt) {
        ctx.groups.export_from(grp, &self.vars.data.values);
    }

    /// Runs one iteration: the group's program, each request after its think time.
    async fn iteration<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        grp: &GroupRt,
        mut due: Instant,
        stop: &CancellationToken,
    ) -> IterEnd {
        let v = &mut self.vars;
        match v.data.draw_with(ctx.plan.data(), &mut v.rng, v.number) {
            Ok(()) => {}
            Err(Exhausted::StopThread) => return IterEnd::StopUser,
            Err(Exhausted::StopTest) => {
                ctx.stops.stop_with(StopReason::DataExhausted);
                return IterEnd::StopUser;
            }
        }
        v.iteration += 1;
        ctx.counters.iteration_begun();
        self.session.iteration_begins(&ctx.plan);
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
                Op::TxnBegin { txn } => self.txns.begin(ctx, self.vars.id, txn),
                Op::TxnEnd { txn } => self.txns.end(ctx, self.vars.id, txn).await,
                Op::Rendezvous { point } => {
                    if !grp.mix().arrive(point, stop).await {
                        return self.cut(ctx);
                    }
                }
                op => self.flow.step(op, &mut pc, &mut self.vars, &ctx.plan, grp),
            }
        }
        // Skipped to the next iteration inside a transaction: it ends with its failure.
        self.txns.end_all(ctx, self.vars.id).await;
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
        let pause = grp.think_time(&mut self.vars.rng);
        if !pause.is_zero() {
            *due = Instant::now() + pause;
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Some(self.cut(ctx)),
                _ = sleep_until(*due) => {}
            }
            self.txns.paused(pause);
        }
        // Then the group's pace: this request's slot at its rate.
        if let Some(pace) = grp.pace() {
            let Some(waited) = pace.wait(&mut self.pace_next, stop).await else {
                return Some(self.cut(ctx));
            };
            if !waited.is_zero() {
                *due = Instant::now();
                self.txns.paused(waited);
            }
        }
        if stop.is_cancelled() {
            return Some(self.cut(ctx));
        }
        let sent = self
            .session
            .request(ctx, &mut self.vars, &mut self.txns, request, *due, stop)
            .await;
        let v = match sent {
            Sent::Done(v) => {
                self.flow.sent_one();
                v
            }
            // Nothing sent, for a `while` pass that must send to go on.
            Sent::Cached(v) => v,
            Sent::Stop => return Some(self.cut(ctx)),
        };
        *due = Instant::now();
        self.vars.last_ok = v.ok;
        if v.ok {
            return None;
        }
        self.txns.fail(v.outcome, v.check);
        match grp.on_error() {
            OnError::Continue => None,
            OnError::NextLoop => Some(IterEnd::Next),
            OnError::StopThread => {
                self.txns.end_all(ctx, self.vars.id).await;
                Some(IterEnd::StopUser)
            }
            OnError::StopTest => {
                self.txns.end_all(ctx, self.vars.id).await;
                ctx.stops.stop_with(StopReason::StopTest);
                Some(IterEnd::StopUser)
            }
        }
    }

    /// The run stops this user inside its iteration: open transactions stay unfinished.
    fn cut<T>(&mut self, ctx: &Ctx<T>) -> IterEnd {
        self.txns.cut(ctx, self.vars.id);
        IterEnd::StopUser
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
