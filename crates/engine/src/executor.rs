//! The one executor: reads a schedule, starts users as tokio tasks (on per-core runtimes when
//! asked, see [`super::cores`]), and is the only place that sleeps. Each user runs the request
//! sequence once per iteration and records every attempt.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::cores::{spawn_user, Cores, Workers};
use super::data::SharedData;
use super::pace::{Gate, Pacer};
use super::phases::run_groups;
use super::user::{closed_user, open_user};
use super::watch::{spawn_ticker, spawn_watchdog};
use surge_plan::cond::Cond;
use surge_plan::schedule::feedback::{Dial, FeedbackSchedule};
use surge_plan::schedule::{self, Event, Model, Schedule, Segment};
use surge_plan::steps::{Program, TransactionSpec};
use surge_plan::template::{Scope, Template};
use surge_plan::{OnError, PaceScope, Phase, Plan, Policy, RequestSpec, ThinkTime};
use surge_record::samples::Streamed;
use surge_record::{Aggregate, Recorder, StopReason, Tick};
use surge_transport::auth::AuthRuntime;
use surge_transport::{Capture, Transport};

/// Users started for a dial's arrivals at first, and at most (a slow answer holds one each).
const FEEDBACK_USERS: (u32, u32) = (8, 2_000);

/// How long requests in flight may finish after a stop before they are cancelled.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// Executor options that are not part of the plan.
#[derive(Clone)]
pub struct ExecOptions {
    /// API base URL (no trailing slash).
    pub base_url: String,
    /// Fired by Ctrl-C (or a caller): stop issuing, then cancel what is in flight after `grace`.
    pub cancel: CancellationToken,
    /// Grace for requests in flight after a stop.
    pub grace: Duration,
    /// Fired by a second Ctrl-C: cancel requests in flight at once (no grace).
    pub stop_now: CancellationToken,
    /// Raw samples go here too, when asked (`--samples`, `--jtl`).
    pub samples: Option<mpsc::Sender<Streamed>>,
    /// Called about once a second with the live view; returning `Some(reason)` aborts the run
    /// (stop reason `aborted: <reason>`), e.g. on a sustained threshold breach.
    pub on_tick: Option<OnTick>,
    /// Seed for think-time randomness (None: from entropy).
    pub seed: Option<u64>,
    /// The segment of a distributed run this process runs (None: the whole plan, alone).
    pub segment: Option<Segment>,
    /// Where users run: the caller's runtime, or per-core runtimes of their own.
    pub workers: Workers,
    /// Every group's arrivals follow this dial instead of its profile (open model; `surge
    /// probe`'s search turns it as answers come).
    pub dial: Option<Arc<Dial>>,
}

impl std::fmt::Debug for ExecOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecOptions")
            .field("base_url", &self.base_url)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// The per-second callback: progress, live thresholds.
pub type OnTick = Arc<dyn Fn(&Tick) -> Option<String> + Send + Sync>;

/// What the executor hands back.
#[derive(Debug)]
pub struct ExecOutput {
    /// Everything recorded, merged.
    pub aggregate: Aggregate,
    /// How long the run took.
    pub duration: Duration,
    /// Why it ended.
    pub stop_reason: StopReason,
    /// True when it did not run its plan to the end.
    pub partial: bool,
    /// Iterations begun.
    pub iterations: u64,
    /// Attempts issued (equals attempts recorded).
    pub issued: u64,
}

pub(super) struct Prepared {
    pub(super) method: http::Method,
    pub(super) path: Template,
    pub(super) const_headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) dyn_headers: Vec<(HeaderName, Template)>,
    pub(super) body: Option<Template>,
    pub(super) spec: RequestSpec,
    /// What of the answer the transport keeps (nothing for a plain request).
    pub(super) capture: Capture,
    /// No extractor, assertion or poll: the status alone judges it.
    pub(super) plain: bool,
}

/// A group's pace at run time.
pub(super) enum GroupPaceRt {
    /// Each user at this interval.
    User(Duration),
    /// Shared by the group's users (or by every `all` group at the same rate).
    Shared(Arc<Pacer>),
}

pub(super) struct GroupRt {
    profile: surge_plan::Profile,
    pub(super) program: Program,
    pub(super) think: ThinkTime,
    pub(super) pace: Option<GroupPaceRt>,
    pub(super) on_error: OnError,
    pub(super) user_base: u32,
    stop: CancellationToken,
    /// What the group's users share of its request mix.
    pub(super) mix: super::mix::MixRt,
    /// When it runs.
    pub(super) phase: Phase,
    /// setup: the variables its users hand to the later groups.
    pub(super) export: Vec<usize>,
    /// Its index in `Plan::groups` (the data sources bound to it).
    pub(super) index: usize,
}

pub(super) struct Ctx<T> {
    pub(super) transport: Arc<T>,
    pub(super) auth: AuthRuntime,
    pub(super) base_url: String,
    pub(super) requests: Vec<Prepared>,
    pub(super) transactions: Vec<TransactionSpec>,
    pub(super) conditions: Vec<Cond>,
    pub(super) cookies: surge_plan::Cookies,
    pub(super) cache: surge_plan::HttpCache,
    pub(super) groups: Vec<GroupRt>,
    pub(super) serialize_groups: bool,
    pub(super) data: SharedData,
    pub(super) nvars: usize,
    pub(super) recorder: Recorder,
    pub(super) epoch: Instant,
    pub(super) stop: CancellationToken,
    pub(super) abort: CancellationToken,
    /// Stops the teardown groups (a cancel), apart from the run's stop.
    pub(super) teardown_stop: CancellationToken,
    /// Cancels what teardown users have in flight after the grace.
    pub(super) teardown_abort: CancellationToken,
    /// The variables setup groups exported: the later groups' users start with them.
    pub(super) exports: Mutex<Vec<(usize, String)>>,
    pub(super) stop_reason: Mutex<Option<StopReason>>,
    issued: AtomicU64,
    max_requests: u64,
    pub(super) iterations: AtomicU64,
    dropped: AtomicU64,
    pub(super) active: AtomicU32,
    pub(super) samples: Option<mpsc::Sender<Streamed>>,
    pub(super) seed: Option<u64>,
    pub(super) policy: Policy,
    pub(super) gate: Option<Gate>,
    cores: Option<Cores>,
    segment: Segment,
    dial: Option<Arc<Dial>>,
}

impl<T> Ctx<T> {
    pub(super) fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_micros() as u64
    }

    pub(super) fn stop_with(&self, reason: StopReason) {
        let mut r = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        // The first reason wins, but a failure of surge itself is always said.
        if r.is_none() || reason.is_failed() && !r.as_ref().is_some_and(StopReason::is_failed) {
            *r = Some(reason);
        }
        drop(r);
        self.stop.cancel();
    }

    /// A user task ended by a panic (or was cancelled from outside): the run stops and fails
    /// loudly (stop reason `failed: …`, exit 1), keeping everything already recorded.
    pub(super) fn task_died(&self, what: &str, e: tokio::task::JoinError) {
        let why = match e.try_into_panic() {
            Ok(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("{what} panicked: {msg}")
            }
            Err(_) => format!("{what} was cancelled"),
        };
        self.stop_with(StopReason::Failed(why));
        self.abort.cancel();
    }

    /// Takes one request slot under `max_requests`.
    pub(super) fn take_slot(&self) -> bool {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if n >= self.max_requests {
            self.issued.fetch_sub(1, Ordering::Relaxed);
            self.stop_with(StopReason::MaxRequests);
            return false;
        }
        true
    }

    /// Returns a slot taken for an attempt that was never sent.
    pub(super) fn give_back_slot(&self) {
        self.issued.fetch_sub(1, Ordering::Relaxed);
    }

    /// A user became active (`+1`) or idle/stopped (`-1`).
    pub(super) fn user_event(&self, delta: i32) {
        if delta > 0 {
            self.active.fetch_add(1, Ordering::Relaxed);
        } else {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
        self.recorder.user_event(self.us(Instant::now()), delta);
    }
}

fn prepare(plan: &Plan) -> Vec<Prepared> {
    let scope = Scope {
        vars: &[],
        thread: 0,
        iteration: 0,
    };
    plan.requests
        .iter()
        .map(|r| {
            let mut const_headers = Vec::new();
            let mut dyn_headers = Vec::new();
            for (k, t) in &r.headers {
                if t.is_constant() {
                    match HeaderValue::try_from(t.render(&scope)) {
                        Ok(mut v) => {
                            v.set_sensitive(surge_plan::is_sensitive_header(k.as_str()));
                            const_headers.push((k.clone(), v));
                        }
                        Err(_) => dyn_headers.push((k.clone(), t.clone())),
                    }
                } else {
                    dyn_headers.push((k.clone(), t.clone()));
                }
            }
            let (body, headers) = r.needs();
            Prepared {
                method: r.method.clone(),
                path: r.path.clone(),
                const_headers,
                dyn_headers,
                body: r.body.clone(),
                capture: Capture {
                    body_limit: body.then_some(surge_plan::conversation::BODY_LIMIT),
                    // Digest: a 401's challenge is read from its headers; a cached GET's
                    // validators and freshness too.
                    headers: headers
                        || matches!(plan.auth, surge_plan::Auth::Digest { .. })
                        || (plan.cache.enabled && r.method == http::Method::GET),
                    cookies: plan.cookies.enabled,
                },
                plain: r.extract.is_empty() && r.asserts.is_empty() && r.poll.is_none(),
                spec: r.clone(),
            }
        })
        .collect()
}

/// Runs `plan` to its end (or a stop) over `transport`.
pub async fn execute<T: Transport>(
    plan: &Plan,
    transport: Arc<T>,
    auth: AuthRuntime,
    opts: ExecOptions,
) -> ExecOutput {
    // Per-core runtimes, at most one per user; without them (a thread could not start) the
    // users run on the caller's runtime.
    let (cores, threads) = match opts.workers {
        Workers::Ambient => (None, None),
        Workers::PerCore(n) => match Cores::start(n.min(plan.total_users().max(1) as usize)) {
            Ok((c, t)) => (Some(c), Some(t)),
            Err(_) => (None, None),
        },
    };
    let ctx = build_ctx(plan, transport, auth, &opts, cores);
    let labels: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let mut agg = Aggregate::new(labels);
    agg.set_names(
        plan.transactions.iter().map(|t| t.name.clone()).collect(),
        plan.checks.clone(),
    );
    // A segment keeps every second's histograms: the merge recomputes quantiles from them.
    agg.keep_second_hists(opts.segment.is_some());
    let agg = Arc::new(Mutex::new(agg));
    let ticker = spawn_ticker(ctx.clone(), agg.clone(), opts.on_tick.clone());
    let watchdog = spawn_watchdog(ctx.clone(), opts.cancel.clone(), plan.limits.max_duration);
    run_groups(
        ctx.clone(),
        opts.grace,
        opts.cancel.clone(),
        opts.stop_now.clone(),
    )
    .await;
    let duration = ctx.epoch.elapsed();
    watchdog.abort();
    ticker.abort();
    if let Err(e) = ticker.await {
        if e.is_panic() {
            ctx.task_died("the per-second aggregator", e);
        }
    }
    if let Some(t) = threads {
        t.shutdown().await;
    }
    let a = Arc::try_unwrap(agg)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|arc| {
            let mut g = arc.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *g)
        });
    finish(&ctx, a, duration)
}

/// The run's shared state: prepared requests, groups, recorder, counters, stop signals.
fn build_ctx<T: Transport>(
    plan: &Plan,
    transport: Arc<T>,
    auth: AuthRuntime,
    opts: &ExecOptions,
    cores: Option<Cores>,
) -> Arc<Ctx<T>> {
    let stop = CancellationToken::new();
    let teardown_stop = CancellationToken::new();
    let segment = opts.segment.unwrap_or(Segment::WHOLE);
    let mut user_base = 0;
    // Paces shared by every `all` group, one per rate.
    let mut all_paces: Vec<(f64, Arc<Pacer>)> = Vec::new();
    let groups = plan
        .groups
        .iter()
        .enumerate()
        .map(|(index, g)| {
            let pace = g.load.pace.map(|p| {
                let per_second = p.per_second / f64::from(segment.count.max(1));
                match p.per {
                    PaceScope::User => {
                        GroupPaceRt::User(Duration::from_secs_f64(1.0 / p.per_second))
                    }
                    PaceScope::Group => {
                        GroupPaceRt::Shared(Arc::new(Pacer::new(per_second, 1, None)))
                    }
                    PaceScope::All => {
                        let shared = match all_paces.iter().find(|(r, _)| *r == p.per_second) {
                            Some((_, shared)) => shared.clone(),
                            None => {
                                let shared = Arc::new(Pacer::new(per_second, 1, None));
                                all_paces.push((p.per_second, shared.clone()));
                                shared
                            }
                        };
                        GroupPaceRt::Shared(shared)
                    }
                }
            });
            let rt = GroupRt {
                profile: g.load.profile.clone(),
                program: g.program.clone(),
                pace,
                think: g.load.think_time,
                on_error: g.load.on_error,
                user_base,
                stop: if g.phase == Phase::Teardown {
                    teardown_stop.child_token()
                } else {
                    stop.child_token()
                },
                mix: super::mix::MixRt::new(&g.program, g.max_users()),
                phase: g.phase,
                export: g.export.clone(),
                index,
            };
            user_base += g.max_users();
            rt
        })
        .collect();
    // One recorder shard per core (or several), so a core's users share theirs with no other.
    let recorder = match &cores {
        Some(c) => Recorder::with_shards(plan.total_users(), c.len()),
        None => Recorder::new(plan.total_users()),
    };
    Arc::new(Ctx {
        transport,
        auth,
        base_url: opts.base_url.trim_end_matches('/').to_string(),
        requests: prepare(plan),
        transactions: plan.transactions.clone(),
        conditions: plan.conditions.clone(),
        cookies: plan.cookies,
        cache: plan.cache,
        groups,
        serialize_groups: plan.serialize_groups,
        data: SharedData::for_segment(&plan.data, segment),
        nvars: plan.vars.len(),
        recorder,
        epoch: Instant::now(),
        stop,
        abort: CancellationToken::new(),
        teardown_stop,
        teardown_abort: CancellationToken::new(),
        exports: Mutex::new(Vec::new()),
        stop_reason: Mutex::new(None),
        issued: AtomicU64::new(0),
        max_requests: plan
            .limits
            .max_requests
            .map_or(u64::MAX, |m| segment.share(m)),
        iterations: AtomicU64::new(0),
        active: AtomicU32::new(0),
        samples: opts.samples.clone(),
        seed: opts.seed,
        dropped: AtomicU64::new(0),
        policy: plan.on_429.clone(),
        // N segments pace together at the plan's rate.
        gate: Gate::of(&plan.on_429, plan.auth.tokens(), segment.count),
        cores,
        segment,
        dial: opts.dial.clone(),
    })
}

/// The last drain, and what the run hands back.
fn finish<T>(ctx: &Ctx<T>, mut a: Aggregate, duration: Duration) -> ExecOutput {
    ctx.recorder.drain_into(u32::MAX, &mut a);
    a.set_dropped(ctx.dropped.load(Ordering::Relaxed));
    let reason = ctx
        .stop_reason
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    ExecOutput {
        aggregate: a,
        duration,
        partial: reason.is_partial(),
        stop_reason: reason,
        iterations: ctx.iterations.load(Ordering::Relaxed),
        issued: ctx.issued.load(Ordering::Relaxed),
    }
}

/// Reads group `g`'s schedule from `start`, starts and stops its users, hands arrivals to free
/// users (open model), and waits for its users.
pub(super) async fn drive_group<T: Transport>(ctx: Arc<Ctx<T>>, g: usize, start: Instant) {
    let grp = &ctx.groups[g];
    // Every segment of a distributed run runs the setup and teardown groups whole, as every
    // JMeter server of a distributed test does.
    let segment = if grp.phase == Phase::Main {
        ctx.segment
    } else {
        Segment::WHOLE
    };
    let mut sched: Box<dyn Schedule> = match &ctx.dial {
        Some(d) => Box::new(FeedbackSchedule::new(
            d.clone(),
            FEEDBACK_USERS.0,
            FEEDBACK_USERS.1,
        )),
        None => schedule::for_segment(&grp.profile, segment, grp.user_base),
    };
    let model = sched.model();
    let loops = match model {
        Model::Closed { loops } => loops,
        Model::Open { .. } => None,
    };
    let mut users = tokio::task::JoinSet::new();
    let mut user_stops: std::collections::HashMap<u32, CancellationToken> =
        std::collections::HashMap::new();
    // Open model: arrivals go to idle users over a channel; `idle` counts users free for one.
    let (tx, rx) = async_channel::unbounded::<Instant>();
    let idle = Arc::new(AtomicU32::new(0));
    let mut allocated: u32 = 0;
    if let Model::Open { pre_allocated, .. } = model {
        for j in 0..pre_allocated {
            let local = schedule::segment::pool_user(ctx.segment, grp.user_base, j);
            let (c, rx, idle, stop) = (ctx.clone(), rx.clone(), idle.clone(), grp.stop.clone());
            let fut = async move { open_user(c, g, local, None, rx, idle, stop).await };
            spawn_user(ctx.cores.as_ref(), &mut users, grp.user_base + local, fut);
        }
        idle.store(pre_allocated, Ordering::Release);
        allocated = pre_allocated;
    }
    let dial_stopped = async {
        match &ctx.dial {
            Some(d) => d.stopped().cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(dial_stopped);
    while let Some(ev) = sched.next_event() {
        tokio::select! {
            biased;
            _ = grp.stop.cancelled() => break,
            // A dial stopped during a long pause ends the schedule now, as its end would.
            _ = &mut dial_stopped => {
                grp.stop.cancel();
                break;
            }
            _ = sleep_until(start + ev.at()) => {}
        }
        match ev {
            Event::StartUser { user, at } => {
                let stop = grp.stop.child_token();
                user_stops.insert(user, stop.clone());
                let c = ctx.clone();
                let fut = async move { closed_user(c, g, user, start + at, loops, stop).await };
                spawn_user(ctx.cores.as_ref(), &mut users, grp.user_base + user, fut);
            }
            Event::StopUser { user, .. } => {
                if let Some(t) = user_stops.remove(&user) {
                    t.cancel();
                }
            }
            Event::Arrival { at } => {
                let due = start + at;
                let Model::Open { max_users, .. } = model else {
                    continue;
                };
                if idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1))
                    .is_ok()
                {
                    let _ = tx.try_send(due);
                } else if allocated < max_users {
                    let (c, rx, idle, stop) =
                        (ctx.clone(), rx.clone(), idle.clone(), grp.stop.clone());
                    let local = schedule::segment::pool_user(ctx.segment, grp.user_base, allocated);
                    allocated += 1;
                    let fut =
                        async move { open_user(c, g, local, Some(due), rx, idle, stop).await };
                    spawn_user(ctx.cores.as_ref(), &mut users, grp.user_base + local, fut);
                } else {
                    ctx.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            // The schedule's end: a planned stop of this group, not a partial run.
            Event::StopAll { .. } => {
                grp.stop.cancel();
                break;
            }
        }
    }
    drop(tx);
    while let Some(done) = users.join_next().await {
        if let Err(e) = done {
            ctx.task_died("a user task", e);
        }
    }
}
