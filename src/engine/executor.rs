//! The one executor: reads a schedule, starts users as tokio tasks, and is the only place that
//! sleeps. Each user runs the request sequence once per iteration and records every attempt.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::data::SharedData;
use super::pace::Gate;
use super::user::{closed_user, open_user};
use crate::record::samples::StreamedSample;
use crate::record::{Aggregate, Recorder, StopReason, Tick};
use crate::scenario::template::{Scope, Template};
use crate::scenario::{OnError, Plan, Policy, RequestSpec, ThinkTime};
use crate::schedule::feedback::{Dial, FeedbackSchedule};
use crate::schedule::{self, Event, Model, Schedule, Segment};
use crate::transport::auth::AuthRuntime;
use crate::transport::Transport;

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
    /// Raw samples go here too, when asked (`--samples`, `--jtl`).
    pub samples: Option<mpsc::Sender<StreamedSample>>,
    /// Called about once a second with the live view; returning `Some(reason)` aborts the run
    /// (stop reason `aborted: <reason>`), e.g. on a sustained threshold breach.
    pub on_tick: Option<OnTick>,
    /// Seed for think-time randomness (None: from entropy).
    pub seed: Option<u64>,
    /// The segment of a distributed run this process runs (None: the whole plan, alone).
    pub segment: Option<Segment>,
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
    spec: RequestSpec,
}

impl Prepared {
    pub(super) fn is_success(&self, status: Option<u16>) -> bool {
        self.spec.is_success(status)
    }
}

pub(super) struct GroupRt {
    profile: crate::scenario::Profile,
    pub(super) steps: Vec<usize>,
    pub(super) think: ThinkTime,
    pub(super) on_error: OnError,
    pub(super) user_base: u32,
    stop: CancellationToken,
}

pub(super) struct Ctx<T> {
    pub(super) transport: Arc<T>,
    pub(super) auth: AuthRuntime,
    pub(super) base_url: String,
    pub(super) requests: Vec<Prepared>,
    pub(super) groups: Vec<GroupRt>,
    serialize_groups: bool,
    pub(super) data: SharedData,
    pub(super) nvars: usize,
    pub(super) recorder: Recorder,
    epoch: Instant,
    stop: CancellationToken,
    pub(super) abort: CancellationToken,
    stop_reason: Mutex<Option<StopReason>>,
    issued: AtomicU64,
    max_requests: u64,
    pub(super) iterations: AtomicU64,
    dropped: AtomicU64,
    pub(super) active: AtomicU32,
    pub(super) samples: Option<mpsc::Sender<StreamedSample>>,
    pub(super) seed: Option<u64>,
    pub(super) policy: Policy,
    pub(super) gate: Option<Gate>,
    segment: Segment,
    dial: Option<Arc<Dial>>,
}

impl<T> Ctx<T> {
    pub(super) fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_micros() as u64
    }

    pub(super) fn stop_with(&self, reason: StopReason) {
        let mut r = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
        drop(r);
        self.stop.cancel();
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
                            v.set_sensitive(crate::scenario::is_sensitive_header(k.as_str()));
                            const_headers.push((k.clone(), v));
                        }
                        Err(_) => dyn_headers.push((k.clone(), t.clone())),
                    }
                } else {
                    dyn_headers.push((k.clone(), t.clone()));
                }
            }
            Prepared {
                method: r.method.clone(),
                path: r.path.clone(),
                const_headers,
                dyn_headers,
                body: r.body.clone(),
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
    let epoch = Instant::now();
    let stop = CancellationToken::new();
    let segment = opts.segment.unwrap_or(Segment::WHOLE);
    let mut user_base = 0;
    let groups = plan
        .groups
        .iter()
        .map(|g| {
            let rt = GroupRt {
                profile: g.load.profile.clone(),
                steps: g.steps.clone(),
                think: g.load.think_time,
                on_error: g.load.on_error,
                user_base,
                stop: stop.child_token(),
            };
            user_base += g.max_users();
            rt
        })
        .collect();
    let ctx = Arc::new(Ctx {
        transport,
        auth,
        base_url: opts.base_url.trim_end_matches('/').to_string(),
        requests: prepare(plan),
        groups,
        serialize_groups: plan.serialize_groups,
        data: SharedData::for_segment(&plan.data, segment),
        nvars: plan.vars.len(),
        recorder: Recorder::new(plan.total_users()),
        epoch,
        stop,
        abort: CancellationToken::new(),
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
        segment,
        dial: opts.dial.clone(),
    });
    let labels: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let mut agg = Aggregate::new(labels);
    // A segment keeps every second's histograms: the merge recomputes quantiles from them.
    agg.keep_second_hists(opts.segment.is_some());
    let agg = Arc::new(Mutex::new(agg));

    // Aggregator: drains completed seconds once a second.
    let ticker = {
        let ctx = ctx.clone();
        let agg = agg.clone();
        let on_tick = opts.on_tick.clone();
        tokio::spawn(async move {
            let mut k: u32 = 1;
            loop {
                sleep_until(
                    ctx.epoch + Duration::from_secs(u64::from(k)) + Duration::from_millis(100),
                )
                .await;
                let tick = {
                    let mut a = agg.lock().unwrap_or_else(|e| e.into_inner());
                    ctx.recorder.drain_into(k, &mut a);
                    let (completed, ok, throttled, errors) = a.live();
                    Tick {
                        elapsed: ctx.epoch.elapsed(),
                        active_users: ctx.active.load(Ordering::Relaxed),
                        completed,
                        ok,
                        throttled,
                        errors,
                        last_second: a.completed_in(k - 1),
                        second: a.second(k - 1).cloned(),
                    }
                };
                if let Some(f) = &on_tick {
                    if let Some(reason) = f(&tick) {
                        ctx.stop_with(StopReason::Aborted(reason));
                    }
                }
                k += 1;
            }
        })
    };

    // Stop triggers: the caller's cancel (Ctrl-C) and max_duration.
    let watchdog = {
        let ctx = ctx.clone();
        let cancel = opts.cancel.clone();
        let max = plan.limits.max_duration;
        tokio::spawn(async move {
            let deadline = async {
                match max {
                    Some(d) => sleep_until(ctx.epoch + d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => ctx.stop_with(StopReason::Cancelled),
                _ = deadline => ctx.stop_with(StopReason::MaxDuration),
                _ = ctx.stop.cancelled() => {}
            }
        })
    };

    // Groups run together, or one after another; either way requests in flight get a grace
    // after a stop, then are cancelled.
    let drivers = {
        let ctx = ctx.clone();
        async move {
            if ctx.serialize_groups {
                for g in 0..ctx.groups.len() {
                    if ctx.stop.is_cancelled() {
                        break;
                    }
                    drive_group(ctx.clone(), g, Instant::now()).await;
                }
            } else {
                let all = (0..ctx.groups.len()).map(|g| drive_group(ctx.clone(), g, ctx.epoch));
                futures::future::join_all(all).await;
            }
        }
    };
    tokio::pin!(drivers);
    tokio::select! {
        biased;
        _ = &mut drivers => {}
        _ = async { ctx.stop.cancelled().await; tokio::time::sleep(opts.grace).await; } => {
            ctx.abort.cancel();
            drivers.await;
        }
    }
    let duration = epoch.elapsed();
    watchdog.abort();
    ticker.abort();
    let _ = ticker.await;

    let mut a = Arc::try_unwrap(agg)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|arc| {
            let mut g = arc.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *g)
        });
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
async fn drive_group<T: Transport>(ctx: Arc<Ctx<T>>, g: usize, start: Instant) {
    let grp = &ctx.groups[g];
    let mut sched: Box<dyn Schedule> = match &ctx.dial {
        Some(d) => Box::new(FeedbackSchedule::new(
            d.clone(),
            FEEDBACK_USERS.0,
            FEEDBACK_USERS.1,
        )),
        None => schedule::for_segment(&grp.profile, ctx.segment, grp.user_base),
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
            let (ctx, rx, idle, stop) = (ctx.clone(), rx.clone(), idle.clone(), grp.stop.clone());
            users.spawn(async move { open_user(ctx, g, local, None, rx, idle, stop).await });
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
                let ctx = ctx.clone();
                users
                    .spawn(async move { closed_user(ctx, g, user, start + at, loops, stop).await });
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
                    let (ctx, rx, idle, stop) =
                        (ctx.clone(), rx.clone(), idle.clone(), grp.stop.clone());
                    let local = schedule::segment::pool_user(ctx.segment, grp.user_base, allocated);
                    allocated += 1;
                    users.spawn(async move {
                        open_user(ctx, g, local, Some(due), rx, idle, stop).await
                    });
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
    while users.join_next().await.is_some() {}
}
