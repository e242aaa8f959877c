//! A run's two background tasks: the ticker, which drains the recorder's completed seconds
//! once a second and tells the caller (and its thresholds) how the run goes, and the watchdog,
//! which turns Ctrl-C and `max_duration` into the run's stop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::ctx::Ctx;
use super::OnTick;
use surge_record::{Aggregate, StopReason, Tick};
use surge_transport::Transport;

/// The aggregator: drains completed seconds once a second and calls `on_tick`.
pub(crate) fn spawn_ticker<T: Transport>(
    ctx: Arc<Ctx<T>>,
    agg: Arc<Mutex<Aggregate>>,
    on_tick: Option<OnTick>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut k: u32 = 1;
        loop {
            sleep_until(
                ctx.recording.epoch()
                    + Duration::from_secs(u64::from(k))
                    + Duration::from_millis(100),
            )
            .await;
            let tick = {
                let mut a = agg.lock().unwrap_or_else(|e| e.into_inner());
                ctx.recording.drain_into(k, &mut a);
                let (completed, ok, throttled, errors) = a.live();
                Tick {
                    elapsed: ctx.recording.elapsed(),
                    active_users: ctx.counters.active(),
                    completed,
                    ok,
                    throttled,
                    errors,
                    last_second: a.completed_in(k - 1),
                    second: a.second(k - 1).cloned(),
                    cells: if on_tick.is_some() {
                        a.cells_so_far()
                    } else {
                        Vec::new()
                    },
                }
            };
            if let Some(f) = &on_tick {
                if let Some(reason) = f(&tick) {
                    ctx.stops.stop_with(StopReason::Aborted(reason));
                }
            }
            k += 1;
        }
    })
}

/// Stop triggers: the caller's cancel (Ctrl-C) and `max_duration`.
pub(crate) fn spawn_watchdog<T: Transport>(
    ctx: Arc<Ctx<T>>,
    cancel: CancellationToken,
    max: Option<Duration>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let deadline = async {
            match max {
                Some(d) => sleep_until(ctx.recording.epoch() + d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => ctx.stops.stop_with(StopReason::Cancelled),
            _ = deadline => ctx.stops.stop_with(StopReason::MaxDuration),
            _ = ctx.stops.stopped() => {}
        }
    })
}
