//! The plan's groups at run time ([`Groups`]): each group's program, think time, pace,
//! `on_error`, phase, own stop and shared request-mix state ([`GroupRt`]); whether they run one
//! after another; and the variables setup groups hand to the later groups' users.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::mix::MixRt;
use super::pace::Pacer;
use super::stops::Stops;
use surge_plan::schedule::Segment;
use surge_plan::steps::Program;
use surge_plan::{OnError, PaceScope, Phase, Plan, Profile, ThinkTime};

/// A group's pace at run time.
pub(crate) enum GroupPaceRt {
    /// Each user at this interval.
    User(Duration),
    /// Shared by the group's users (or by every `all` group at the same rate).
    Shared(Arc<Pacer>),
}

impl GroupPaceRt {
    /// Waits for a request's slot at this pace (`next`: the user's own next slot, for a pace per
    /// user); the time waited, or None when stopped while waiting.
    pub(crate) async fn wait(
        &self,
        next: &mut Option<Instant>,
        stop: &CancellationToken,
    ) -> Option<Duration> {
        match self {
            GroupPaceRt::User(interval) => {
                let now = Instant::now();
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(slot + *interval);
                if slot > now {
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => return None,
                        _ = sleep_until(slot) => {}
                    }
                }
                Some(slot - now)
            }
            GroupPaceRt::Shared(p) => p.acquire(stop).await,
        }
    }
}

/// One group at run time.
pub(crate) struct GroupRt {
    profile: Profile,
    program: Program,
    think: ThinkTime,
    pace: Option<GroupPaceRt>,
    on_error: OnError,
    /// Its first user's id (ids run on across groups).
    user_base: u32,
    /// Ends this group's schedule, under its phase's stop.
    stop: CancellationToken,
    /// What the group's users share of its request mix.
    mix: MixRt,
    /// When it runs.
    phase: Phase,
    /// setup: the variables its users hand to the later groups.
    export: Vec<usize>,
    /// Its index in `Plan::groups` (the data sources bound to it).
    index: usize,
}

impl GroupRt {
    /// Its profile, as planned.
    pub(crate) fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Its step program.
    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// What its users share of its request mix.
    pub(crate) fn mix(&self) -> &MixRt {
        &self.mix
    }

    /// The pause before a request, drawn with `rng`.
    pub(crate) fn think_time(&self, rng: &mut rand::rngs::StdRng) -> Duration {
        self.think.draw(rng)
    }

    /// Its pace, when it has one.
    pub(crate) fn pace(&self) -> Option<&GroupPaceRt> {
        self.pace.as_ref()
    }

    pub(crate) fn on_error(&self) -> OnError {
        self.on_error
    }

    /// Its first user's id.
    pub(crate) fn user_base(&self) -> u32 {
        self.user_base
    }

    /// Its own stop.
    pub(crate) fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Its index in the plan's groups.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// The run's groups, and what setup groups hand the later ones.
pub(crate) struct Groups {
    list: Vec<GroupRt>,
    /// Each phase's groups run one after another, not together.
    serialized: bool,
    /// The variables setup groups exported: the later groups' users start with them.
    exports: Mutex<Vec<(usize, String)>>,
}

impl Groups {
    /// `plan`'s groups, for the `segment` of a distributed run this process runs, each with its
    /// own stop under its phase's in `stops`.
    pub(crate) fn new(plan: &Plan, segment: Segment, stops: &Stops) -> Groups {
        let mut user_base = 0;
        // Paces shared by every `all` group, one per rate.
        let mut all_paces: Vec<(f64, Arc<Pacer>)> = Vec::new();
        let list = plan
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
                    stop: stops.for_group(g.phase),
                    mix: MixRt::new(&g.program, g.max_users()),
                    phase: g.phase,
                    export: g.export.clone(),
                    index,
                };
                user_base += g.max_users();
                rt
            })
            .collect();
        Groups {
            list,
            serialized: plan.serialize_groups,
            exports: Mutex::new(Vec::new()),
        }
    }

    /// Group `g`.
    pub(crate) fn get(&self, g: usize) -> &GroupRt {
        &self.list[g]
    }

    /// The groups of `phase`, in the plan's order.
    pub(crate) fn of_phase(&self, phase: Phase) -> Vec<usize> {
        (0..self.list.len())
            .filter(|g| self.list[*g].phase == phase)
            .collect()
    }

    /// True when some group runs in `phase`.
    pub(crate) fn any_in(&self, phase: Phase) -> bool {
        self.list.iter().any(|g| g.phase == phase)
    }

    /// Each phase's groups run one after another.
    pub(crate) fn serialized(&self) -> bool {
        self.serialized
    }

    /// A new user of `grp` starts with what the setup groups exported (a setup user with
    /// nothing).
    pub(crate) fn import_into(&self, grp: &GroupRt, values: &mut [String]) {
        if grp.phase == Phase::Setup {
            return;
        }
        let exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        for (var, value) in exports.iter() {
            values[*var].clone_from(value);
        }
    }

    /// A user of `grp` that is done hands its exported variables (those with a value) to the
    /// later groups.
    pub(crate) fn export_from(&self, grp: &GroupRt, values: &[String]) {
        if grp.export.is_empty() {
            return;
        }
        let mut exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        for &var in &grp.export {
            let v = &values[var];
            if v.is_empty() {
                continue;
            }
            match exports.iter_mut().find(|(i, _)| *i == var) {
                Some(e) => e.1.clone_from(v),
                None => exports.push((var, v.clone())),
            }
        }
    }
}
