//! The one executor: reads a schedule, starts users as tokio tasks, and is the only place that
//! sleeps. Each user runs the request sequence once per iteration and records every attempt.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use rand::RngExt as _;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::data::{Exhausted, SharedData, UserData};
use crate::record::samples::StreamedSample;
use crate::record::{Aggregate, ErrorClass, Recorder, Sample, StatusKey};
use crate::scenario::template::{Scope, Template};
use crate::scenario::{OnError, Plan, ThinkTime};
use crate::schedule::{self, Event};
use crate::transport::auth::AuthRuntime;
use crate::transport::{Exchange, OutRequest, Transport};

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

/// The live view passed to `on_tick`.
#[derive(Debug, Clone)]
pub struct Tick {
    /// Seconds since the start.
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
    pub second: Option<crate::record::result::Second>,
}

/// What the executor hands back.
#[derive(Debug)]
pub struct ExecOutput {
    /// Everything recorded, merged.
    pub aggregate: Aggregate,
    /// How long the run took.
    pub duration: Duration,
    /// Why it ended.
    pub stop_reason: String,
    /// True when it did not run its plan to the end.
    pub partial: bool,
    /// Iterations begun.
    pub iterations: u64,
    /// Attempts issued (equals attempts recorded).
    pub issued: u64,
}

struct Prepared {
    method: http::Method,
    path: Template,
    const_headers: Vec<(HeaderName, HeaderValue)>,
    dyn_headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
    expect: Box<dyn Fn(Option<u16>) -> bool + Send + Sync>,
}

struct GroupRt {
    profile: crate::scenario::Profile,
    steps: Vec<usize>,
    think: ThinkTime,
    on_error: OnError,
    loops: Option<u64>,
    user_base: u32,
    stop: CancellationToken,
}

struct Ctx<T> {
    transport: Arc<T>,
    auth: AuthRuntime,
    base_url: String,
    requests: Vec<Prepared>,
    groups: Vec<GroupRt>,
    serialize_groups: bool,
    data: SharedData,
    nvars: usize,
    recorder: Recorder,
    epoch: Instant,
    stop: CancellationToken,
    abort: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    issued: AtomicU64,
    max_requests: u64,
    iterations: AtomicU64,
    active: AtomicU32,
    samples: Option<mpsc::Sender<StreamedSample>>,
    seed: Option<u64>,
    stopping: AtomicBool,
}

impl<T> Ctx<T> {
    fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_micros() as u64
    }

    fn stop_with(&self, reason: &str) {
        let mut r = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason.to_string());
        }
        drop(r);
        self.stopping.store(true, Ordering::Relaxed);
        self.stop.cancel();
    }

    /// Takes one request slot under `max_requests`.
    fn take_slot(&self) -> bool {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if n >= self.max_requests {
            self.issued.fetch_sub(1, Ordering::Relaxed);
            self.stop_with("max_requests");
            return false;
        }
        true
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
            let spec = r.clone();
            Prepared {
                method: r.method.clone(),
                path: r.path.clone(),
                const_headers,
                dyn_headers,
                body: r.body.clone(),
                expect: Box::new(move |s| spec.is_success(s)),
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
                loops: schedule::for_profile(&g.load.profile).loops_per_user(),
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
        data: SharedData::new(&plan.data),
        nvars: plan.vars.len(),
        recorder: Recorder::new(plan.total_users()),
        epoch,
        stop,
        abort: CancellationToken::new(),
        stop_reason: Mutex::new(None),
        issued: AtomicU64::new(0),
        max_requests: plan.limits.max_requests.unwrap_or(u64::MAX),
        iterations: AtomicU64::new(0),
        active: AtomicU32::new(0),
        samples: opts.samples.clone(),
        seed: opts.seed,
        stopping: AtomicBool::new(false),
    });
    let labels: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let agg = Arc::new(Mutex::new(Aggregate::new(labels)));

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
                        ctx.stop_with(&format!("aborted: {reason}"));
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
                _ = cancel.cancelled() => ctx.stop_with("cancelled"),
                _ = deadline => ctx.stop_with("max_duration"),
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
    let reason = ctx
        .stop_reason
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(|| "completed".into());
    ExecOutput {
        aggregate: a,
        duration,
        partial: reason != "completed",
        stop_reason: reason,
        iterations: ctx.iterations.load(Ordering::Relaxed),
        issued: ctx.issued.load(Ordering::Relaxed),
    }
}

/// Reads group `g`'s schedule from `start`, starts its users, and waits for them.
async fn drive_group<T: Transport>(ctx: Arc<Ctx<T>>, g: usize, start: Instant) {
    let grp = &ctx.groups[g];
    let mut sched = schedule::for_profile(&grp.profile);
    let mut users = tokio::task::JoinSet::new();
    while let Some(ev) = sched.next_event() {
        tokio::select! {
            biased;
            _ = grp.stop.cancelled() => break,
            _ = sleep_until(start + ev.at()) => {}
        }
        match ev {
            Event::StartUser { user, at } => {
                let ctx = ctx.clone();
                users.spawn(async move { run_user(ctx, g, user, start + at).await });
            }
            // The scheduler's end: a planned stop of this group, not a partial run.
            Event::StopAll { .. } => {
                grp.stop.cancel();
                break;
            }
        }
    }
    while users.join_next().await.is_some() {}
}

enum Flow {
    Next,
    NextLoop,
    Stop,
}

async fn run_user<T: Transport>(ctx: Arc<Ctx<T>>, g: usize, local_user: u32, start_due: Instant) {
    let grp = &ctx.groups[g];
    let user = grp.user_base + local_user;
    let now = Instant::now();
    ctx.active.fetch_add(1, Ordering::Relaxed);
    ctx.recorder.user_event(ctx.us(now), 1);
    let mut data = UserData::new(&ctx.data, ctx.nvars);
    let mut rng: rand::rngs::StdRng = match ctx.seed {
        Some(s) => rand::SeedableRng::seed_from_u64(s ^ (u64::from(user) << 32 | 0x5eed)),
        None => rand::make_rng(),
    };
    let mut path = String::with_capacity(128);
    let mut due = start_due;
    let mut iteration: u64 = 0;
    'iterations: while grp.loops.is_none_or(|l| iteration < l) {
        if grp.stop.is_cancelled() {
            break;
        }
        match data.draw(&ctx.data) {
            Ok(()) => {}
            Err(Exhausted::StopThread) => break,
            Err(Exhausted::StopTest) => {
                ctx.stop_with("data_exhausted");
                break;
            }
        }
        iteration += 1;
        ctx.iterations.fetch_add(1, Ordering::Relaxed);
        for &step in &grp.steps {
            // Timers run before each sampler, as JMeter's do.
            let pause = match grp.think {
                ThinkTime::None => Duration::ZERO,
                ThinkTime::Constant { pause } => pause,
                ThinkTime::Uniform { min, max } => {
                    if max > min {
                        rng.random_range(min..=max)
                    } else {
                        min
                    }
                }
            };
            if !pause.is_zero() {
                due = Instant::now() + pause;
                tokio::select! {
                    _ = grp.stop.cancelled() => break 'iterations,
                    _ = sleep_until(due) => {}
                }
            }
            if grp.stop.is_cancelled() || !ctx.take_slot() {
                break 'iterations;
            }
            let vars: Vec<&str> = data.values.iter().map(String::as_str).collect();
            let scope = Scope {
                vars: &vars,
                thread: local_user + 1,
                iteration,
            };
            let ok = send_step(&ctx, user, step, &scope, &mut path, due).await;
            due = Instant::now();
            if !ok {
                match on_error_flow(grp.on_error) {
                    Flow::Next => {}
                    Flow::NextLoop => continue 'iterations,
                    Flow::Stop => {
                        if grp.on_error == OnError::StopTest {
                            ctx.stop_with("stop_test");
                        }
                        break 'iterations;
                    }
                }
            }
        }
    }
    ctx.active.fetch_sub(1, Ordering::Relaxed);
    ctx.recorder.user_event(ctx.us(Instant::now()), -1);
}

fn on_error_flow(o: OnError) -> Flow {
    match o {
        OnError::Continue => Flow::Next,
        OnError::NextLoop => Flow::NextLoop,
        OnError::StopThread | OnError::StopTest => Flow::Stop,
    }
}

/// Sends one step (and, with OAuth, one retry after a 401); records every attempt. True when
/// the final attempt succeeded.
async fn send_step<T: Transport>(
    ctx: &Ctx<T>,
    user: u32,
    step: usize,
    scope: &Scope<'_>,
    path: &mut String,
    intended: Instant,
) -> bool {
    let req = &ctx.requests[step];
    path.clear();
    path.push_str(&ctx.base_url);
    req.path.render_into(scope, path);
    let mut headers = Vec::with_capacity(req.const_headers.len() + req.dyn_headers.len());
    headers.extend(req.const_headers.iter().cloned());
    for (k, t) in &req.dyn_headers {
        let v =
            HeaderValue::try_from(t.render(scope)).unwrap_or_else(|_| HeaderValue::from_static(""));
        headers.push((k.clone(), v));
    }
    let body = req.body.as_ref().map(|b| Bytes::from(b.render(scope)));
    let mut authz = ctx.auth.header_for(user).await;
    let mut attempt: u16 = 1;
    loop {
        let out = OutRequest {
            method: &req.method,
            url: path,
            headers: &headers,
            authorization: authz.clone(),
            body: body.clone(),
        };
        let active = ctx.active.load(Ordering::Relaxed);
        let start = Instant::now();
        let x = tokio::select! {
            x = ctx.transport.send(out) => x,
            _ = ctx.abort.cancelled() => {
                let now = Instant::now();
                Exchange { status: Err(ErrorClass::Cancelled), ttfb: now, end: now, bytes_in: 0, bytes_out: 0, retry_after_ms: None, rate_limit: None }
            }
        };
        let retry_401 = x.status == Ok(401) && attempt == 1 && authz.is_some() && matches!(ctx.auth, AuthRuntime::OAuth(_)) && !ctx.stop.is_cancelled()
            // Reserve the retry's slot now, so the 401 is marked final when no retry can follow.
            && ctx.take_slot();
        let sample = Sample {
            step: step as u16,
            user,
            active,
            status: match x.status {
                Ok(s) => StatusKey::Http(s),
                Err(c) => StatusKey::Error(c),
            },
            intended_us: ctx.us(intended.min(start)),
            start_us: ctx.us(start),
            ttfb_us: ctx.us(x.ttfb),
            end_us: ctx.us(x.end),
            bytes_in: x.bytes_in,
            bytes_out: x.bytes_out,
            attempt,
            last: !retry_401,
            retry_after_ms: x.retry_after_ms,
            rate_limit: x.rate_limit,
        };
        ctx.recorder.record(&sample);
        if let Some(tx) = &ctx.samples {
            let _ = tx
                .send(StreamedSample {
                    sample,
                    url: path.clone(),
                })
                .await;
        }
        let status = x.status.ok();
        if retry_401 {
            // The 401 was recorded as not final: a retry must follow, even with a stale token.
            let used = authz.clone().expect("retry_401 implies a header");
            let fresh = ctx.auth.after_unauthorized(user, &used).await;
            authz = fresh.or(Some(used));
            attempt += 1;
            continue;
        }
        return (req.expect)(status);
    }
}
