//! The executor's entry point: [`execute`] runs a plan over a transport. It starts the per-core
//! runtimes when asked (see [`super::cores`]), builds the run's shared state (`ctx`), starts the
//! per-second ticker and the watchdog (`watch`), runs the phases' groups (`phases`), and hands
//! back everything recorded ([`ExecOutput`]). Its options that are not part of the plan:
//! [`ExecOptions`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::cores::{Cores, Workers};
use super::ctx::Ctx;
use super::phases::run_groups;
use super::watch::{spawn_ticker, spawn_watchdog};
use surge_plan::schedule::feedback::Dial;
use surge_plan::schedule::Segment;
use surge_plan::Plan;
use surge_record::samples::Streamed;
use surge_record::{Aggregate, StopReason, Tick};
use surge_transport::auth::AuthRuntime;
use surge_transport::Transport;

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

/// [`execute`] over TCP. The engine is generic over its transport; this instance and
/// [`execute_in_process`] are compiled here, once and fully optimized, so the crates that run
/// plans (the binary's command line, compiled for build speed) never instantiate the hot path
/// themselves.
pub async fn execute_http(
    plan: &Plan,
    transport: Arc<surge_transport::http::HttpTransport>,
    auth: AuthRuntime,
    opts: ExecOptions,
) -> ExecOutput {
    execute(plan, transport, auth, opts).await
}

/// [`execute`] over the in-process mock (virtual time); see [`execute_http`].
pub async fn execute_in_process(
    plan: &Plan,
    transport: Arc<surge_transport::inprocess::InProcess>,
    auth: AuthRuntime,
    opts: ExecOptions,
) -> ExecOutput {
    execute(plan, transport, auth, opts).await
}

/// A transport the engine is compiled for in its own crate ([`execute_http`],
/// [`execute_in_process`]): code generic over the transport (`surge probe`'s searches) runs
/// plans through this without instantiating the engine itself.
pub trait Compiled: Transport + Sized {
    /// [`execute`] over this transport.
    fn execute_over(
        plan: &Plan,
        transport: Arc<Self>,
        auth: AuthRuntime,
        opts: ExecOptions,
    ) -> impl std::future::Future<Output = ExecOutput> + Send;
}

impl Compiled for surge_transport::http::HttpTransport {
    fn execute_over(
        plan: &Plan,
        transport: Arc<Self>,
        auth: AuthRuntime,
        opts: ExecOptions,
    ) -> impl std::future::Future<Output = ExecOutput> + Send {
        execute_http(plan, transport, auth, opts)
    }
}

impl Compiled for surge_transport::inprocess::InProcess {
    fn execute_over(
        plan: &Plan,
        transport: Arc<Self>,
        auth: AuthRuntime,
        opts: ExecOptions,
    ) -> impl std::future::Future<Output = ExecOutput> + Send {
        execute_in_process(plan, transport, auth, opts)
    }
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
    let ctx = Ctx::new(plan, transport, auth, &opts, cores);
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
    let duration = ctx.recording.elapsed();
    watchdog.abort();
    ticker.abort();
    if let Err(e) = ticker.await {
        if e.is_panic() {
            ctx.stops.task_died("the per-second aggregator", e);
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

/// The last drain, and what the run hands back.
fn finish<T>(ctx: &Ctx<T>, mut a: Aggregate, duration: Duration) -> ExecOutput {
    ctx.recording.drain_into(u32::MAX, &mut a);
    a.set_dropped(ctx.counters.dropped());
    let reason = ctx.stops.take_reason();
    ExecOutput {
        aggregate: a,
        duration,
        partial: reason.is_partial(),
        stop_reason: reason,
        iterations: ctx.counters.iterations(),
        issued: ctx.counters.issued(),
    }
}
