//! Driving one group: its schedule ([`Launch`]: the share of a distributed run's segment, or the
//! dial that replaces every profile), its users started and stopped on time and spread over the
//! per-core runtimes, and (open model) its arrivals handed to free users ([`drive_group`]).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::cores::{spawn_user, Cores};
use super::ctx::Ctx;
use super::group::GroupRt;
use super::user::{closed_user, open_user};
use surge_plan::schedule::feedback::{Dial, FeedbackSchedule};
use surge_plan::schedule::{self, Event, Model, Schedule, Segment};
use surge_plan::Phase;
use surge_transport::Transport;

/// Users started for a dial's arrivals at first, and at most (a slow answer holds one each).
const FEEDBACK_USERS: (u32, u32) = (8, 2_000);

/// Where and by which schedule the groups' users start.
pub(crate) struct Launch {
    /// Per-core runtimes, or None: the caller's.
    cores: Option<Cores>,
    /// The segment of a distributed run this process runs.
    segment: Segment,
    /// Every group's arrivals follow this dial instead of its profile.
    dial: Option<Arc<Dial>>,
}

impl Launch {
    pub(crate) fn new(cores: Option<Cores>, segment: Segment, dial: Option<Arc<Dial>>) -> Launch {
        Launch {
            cores,
            segment,
            dial,
        }
    }

    /// How many recorder shards suit the runtimes: one per core, or None (one in all).
    pub(crate) fn shards(&self) -> Option<usize> {
        self.cores.as_ref().map(Cores::len)
    }

    /// `grp`'s schedule: the dial's, or its profile's share for this segment. Every segment of
    /// a distributed run runs the setup and teardown groups whole, as every JMeter server of a
    /// distributed test does.
    fn schedule(&self, grp: &GroupRt) -> Box<dyn Schedule> {
        let segment = if grp.phase() == Phase::Main {
            self.segment
        } else {
            Segment::WHOLE
        };
        match &self.dial {
            Some(d) => Box::new(FeedbackSchedule::new(
                d.clone(),
                FEEDBACK_USERS.0,
                FEEDBACK_USERS.1,
            )),
            None => schedule::for_segment(grp.profile(), segment, grp.user_base()),
        }
    }

    /// The local number of `grp`'s `j`-th pooled user (open model) in this segment.
    fn pool_user(&self, grp: &GroupRt, j: u32) -> u32 {
        schedule::segment::pool_user(self.segment, grp.user_base(), j)
    }

    /// Spawns user `user`'s task: on its core's runtime, or on the caller's.
    fn spawn<F>(&self, set: &mut JoinSet<()>, user: u32, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        spawn_user(self.cores.as_ref(), set, user, fut);
    }

    /// Resolves when the dial stops (never without one).
    async fn dial_stopped(&self) {
        match &self.dial {
            Some(d) => d.stopped().cancelled().await,
            None => std::future::pending().await,
        }
    }
}

/// Reads group `g`'s schedule from `start`, starts and stops its users, hands arrivals to free
/// users (open model), and waits for its users.
pub(crate) async fn drive_group<T: Transport>(ctx: Arc<Ctx<T>>, g: usize, start: Instant) {
    let grp = ctx.groups.get(g);
    let launch = &ctx.launch;
    let mut sched = launch.schedule(grp);
    let model = sched.model();
    let loops = match model {
        Model::Closed { loops } => loops,
        Model::Open { .. } => None,
    };
    let mut users = JoinSet::new();
    let mut user_stops: std::collections::HashMap<u32, CancellationToken> =
        std::collections::HashMap::new();
    // Open model: arrivals go to idle users over a channel; `idle` counts users free for one.
    let (tx, rx) = async_channel::unbounded::<Instant>();
    let idle = Arc::new(AtomicU32::new(0));
    let mut allocated: u32 = 0;
    if let Model::Open { pre_allocated, .. } = model {
        for j in 0..pre_allocated {
            let local = launch.pool_user(grp, j);
            let (c, rx, idle, stop) = (ctx.clone(), rx.clone(), idle.clone(), grp.stop().clone());
            let fut = async move { open_user(c, g, local, None, rx, idle, stop).await };
            launch.spawn(&mut users, grp.user_base() + local, fut);
        }
        idle.store(pre_allocated, Ordering::Release);
        allocated = pre_allocated;
    }
    let dial_stopped = launch.dial_stopped();
    tokio::pin!(dial_stopped);
    while let Some(ev) = sched.next_event() {
        tokio::select! {
            biased;
            _ = grp.stop().cancelled() => break,
            // A dial stopped during a long pause ends the schedule now, as its end would.
            _ = &mut dial_stopped => {
                grp.stop().cancel();
                break;
            }
            _ = sleep_until(start + ev.at()) => {}
        }
        match ev {
            Event::StartUser { user, at } => {
                let stop = grp.stop().child_token();
                user_stops.insert(user, stop.clone());
                let c = ctx.clone();
                let fut = async move { closed_user(c, g, user, start + at, loops, stop).await };
                launch.spawn(&mut users, grp.user_base() + user, fut);
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
                        (ctx.clone(), rx.clone(), idle.clone(), grp.stop().clone());
                    let local = launch.pool_user(grp, allocated);
                    allocated += 1;
                    let fut =
                        async move { open_user(c, g, local, Some(due), rx, idle, stop).await };
                    launch.spawn(&mut users, grp.user_base() + local, fut);
                } else {
                    ctx.counters.arrival_dropped();
                }
            }
            // The schedule's end: a planned stop of this group, not a partial run.
            Event::StopAll { .. } => {
                grp.stop().cancel();
                break;
            }
        }
    }
    drop(tx);
    while let Some(done) = users.join_next().await {
        if let Err(e) = done {
            ctx.stops.task_died("a user task", e);
        }
    }
}
