//! The run's phases: setup groups, then the main groups, then teardown groups, each phase's
//! groups together or one after another, with the grace and the cancel of what is in flight
//! after a stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ctx::Ctx;
use super::drive::drive_group;
use surge_plan::Phase;
use surge_record::StopReason;
use surge_transport::Transport;

/// Runs the setup groups, then the main groups, then the teardown groups; in each phase the
/// groups run together, or one after another. Requests in flight get `grace` after a stop,
/// then are cancelled. Teardown groups run unless the run was cancelled (Ctrl-C) or aborted,
/// and a cancel during teardown stops them in turn.
pub(crate) async fn run_groups<T: Transport>(
    ctx: Arc<Ctx<T>>,
    grace: Duration,
    cancel: CancellationToken,
    stop_now: CancellationToken,
) {
    for phase in [Phase::Setup, Phase::Main] {
        if ctx.stops.is_stopped() {
            break;
        }
        let (stop, abort) = ctx.stops.of_phase(phase);
        run_phase(ctx.clone(), phase, grace, stop, abort, &stop_now).await;
    }
    if !ctx.groups.any_in(Phase::Teardown) {
        return;
    }
    let reason = ctx.stops.reason();
    if cancel.is_cancelled()
        || matches!(
            reason,
            Some(StopReason::Cancelled) | Some(StopReason::Aborted(_))
        )
    {
        return;
    }
    let (stop, abort) = ctx.stops.of_phase(Phase::Teardown);
    let watch = {
        let (td, cancel) = (stop.clone(), cancel.clone());
        tokio::spawn(async move {
            cancel.cancelled().await;
            td.cancel();
        })
    };
    run_phase(ctx.clone(), Phase::Teardown, grace, stop, abort, &stop_now).await;
    watch.abort();
}

/// The groups of one phase, together or one after another; `stop` (then `grace`, then
/// `abort`) ends them early.
async fn run_phase<T: Transport>(
    ctx: Arc<Ctx<T>>,
    phase: Phase,
    grace: Duration,
    stop: CancellationToken,
    abort: CancellationToken,
    stop_now: &CancellationToken,
) {
    let of_phase = ctx.groups.of_phase(phase);
    if of_phase.is_empty() {
        return;
    }
    let drivers = {
        let ctx = ctx.clone();
        let stop = stop.clone();
        async move {
            if ctx.groups.serialized() {
                for g in of_phase {
                    if stop.is_cancelled() {
                        break;
                    }
                    drive_group(ctx.clone(), g, Instant::now()).await;
                }
            } else {
                let start = if phase == Phase::Main && !ctx.groups.any_in(Phase::Setup) {
                    ctx.recording.epoch()
                } else {
                    Instant::now()
                };
                let all = of_phase
                    .into_iter()
                    .map(|g| drive_group(ctx.clone(), g, start));
                futures::future::join_all(all).await;
            }
        }
    };
    tokio::pin!(drivers);
    tokio::select! {
        biased;
        _ = &mut drivers => {}
        _ = async { stop.cancelled().await; tokio::time::sleep(grace).await; } => {
            abort.cancel();
            drivers.await;
        }
        // A second Ctrl-C: requests in flight are cancelled at once.
        _ = stop_now.cancelled() => {
            ctx.stops.stop_with(StopReason::Cancelled);
            abort.cancel();
            drivers.await;
        }
    }
}
