//! A run's shared state ([`Ctx`]), one part per concern, each hiding its own fields: the plan as
//! users read it ([`PlanRt`]), the groups ([`Groups`]) and where their users start
//! ([`Launch`]), the transport and authentication ([`Client`]), the 429 policy ([`PolicyRt`]),
//! the counters ([`Counters`]), where measurements go ([`Recording`]), and how the run stops
//! ([`Stops`]). Built once per run and shared by every task behind one `Arc`.

use std::sync::Arc;

use tokio::time::Instant;

use super::client::{Client, PolicyRt};
use super::cores::Cores;
use super::counters::Counters;
use super::drive::Launch;
use super::executor::ExecOptions;
use super::group::Groups;
use super::plan_rt::PlanRt;
use super::recording::Recording;
use super::stops::Stops;
use surge_plan::schedule::Segment;
use surge_plan::Plan;
use surge_record::StopReason;
use surge_transport::auth::AuthRuntime;
use surge_transport::Transport;

/// The run's shared state, over transport `T`.
pub(crate) struct Ctx<T> {
    pub(crate) plan: PlanRt,
    pub(crate) groups: Groups,
    pub(crate) launch: Launch,
    pub(crate) client: Client<T>,
    pub(crate) policy: PolicyRt,
    pub(crate) counters: Counters,
    pub(crate) recording: Recording,
    pub(crate) stops: Stops,
}

impl<T: Transport> Ctx<T> {
    /// The state of a run of `plan` over `transport`, its users on `cores` (or the caller's
    /// runtime); its epoch is now.
    pub(crate) fn new(
        plan: &Plan,
        transport: Arc<T>,
        auth: AuthRuntime,
        opts: &ExecOptions,
        cores: Option<Cores>,
    ) -> Arc<Ctx<T>> {
        let segment = opts.segment.unwrap_or(Segment::WHOLE);
        let stops = Stops::new();
        let groups = Groups::new(plan, segment, &stops);
        let plan_rt = PlanRt::new(plan, &opts.base_url, opts.seed, segment);
        let launch = Launch::new(cores, segment, opts.dial.clone());
        // One recorder shard per core (or several), so a core's users share theirs with no other.
        let recording = Recording::start(plan.total_users(), launch.shards(), opts.samples.clone());
        Arc::new(Ctx {
            plan: plan_rt,
            groups,
            launch,
            client: Client::new(transport, auth),
            // N segments pace together at the plan's rate.
            policy: PolicyRt::new(&plan.on_429, plan.auth.tokens(), segment.count),
            counters: Counters::new(
                plan.limits
                    .max_requests
                    .map_or(u64::MAX, |m| segment.share(m)),
            ),
            recording,
            stops,
        })
    }

    /// Takes one request slot under `max_requests`; the run stops when none is left.
    pub(crate) fn take_slot(&self) -> bool {
        if self.counters.take_slot() {
            return true;
        }
        self.stops.stop_with(StopReason::MaxRequests);
        false
    }

    /// A user became active (`+1`) or idle/stopped (`-1`): counted, and recorded now.
    pub(crate) fn user_event(&self, delta: i32) {
        self.counters.user_event(delta);
        self.recording.user_event(Instant::now(), delta);
    }
}
