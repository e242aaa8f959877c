//! `[load]` profiles: JMeter's thread group, closed-model user curves (stepping, spike,
//! stages) and open-model arrival rates, checked into a [`Load`]. Fields that do not apply to
//! the chosen profile are errors, so a typo never silently changes the load.

use std::time::Duration;

use super::build::Checker;
use super::plan::*;
use super::spec::{RawLoad, RawLoops, RawStage, RawThinkTime};
use super::timing::{GroupPace, PaceScope, ThinkTime};

/// The profiles a `[load]` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProfileKind {
    ThreadGroup,
    Users(UserShape),
    Arrivals(ArrivalShape),
}

/// Each profile by the name a scenario writes.
const PROFILES: [(&str, ProfileKind); 6] = [
    ("thread_group", ProfileKind::ThreadGroup),
    ("stepping", ProfileKind::Users(UserShape::Stepping)),
    ("spike", ProfileKind::Users(UserShape::Spike)),
    ("stages", ProfileKind::Users(UserShape::Stages)),
    (
        "constant_arrival_rate",
        ProfileKind::Arrivals(ArrivalShape::ConstantArrivalRate),
    ),
    (
        "ramping_arrival_rate",
        ProfileKind::Arrivals(ArrivalShape::RampingArrivalRate),
    ),
];

fn users(c: &mut Checker<'_>, path: &str, v: Option<i64>, default: Option<u32>) -> u32 {
    match (v, default) {
        (Some(n), _) if (0..=100_000).contains(&n) => n as u32,
        (Some(n), _) => {
            c.err(path, format!("must be between 0 and 100000, got {n}"));
            0
        }
        (None, Some(d)) => d,
        (None, None) => {
            c.err(path, "is required for this profile");
            0
        }
    }
}

fn required(c: &mut Checker<'_>, path: &str, v: Option<&super::spec::RawDuration>) -> Duration {
    match v {
        Some(d) => c.duration(path, Some(d), Duration::ZERO),
        None => {
            c.err(path, "is required for this profile");
            Duration::ZERO
        }
    }
}

/// Fields each profile accepts (besides think_time and on_error).
fn allowed(profile: ProfileKind) -> &'static [&'static str] {
    use ArrivalShape::*;
    use UserShape::*;
    match profile {
        ProfileKind::ThreadGroup => &["threads", "ramp_up", "loops", "duration", "delay"],
        ProfileKind::Users(Stepping) => &[
            "start_users",
            "step_users",
            "step_every",
            "max_users",
            "hold",
            "step_down_users",
            "step_down_every",
        ],
        ProfileKind::Users(Spike) => &[
            "base_users",
            "peak_users",
            "spike_at",
            "spike_for",
            "spike_ramp",
            "duration",
        ],
        ProfileKind::Users(Stages) => &["start_users", "stages"],
        ProfileKind::Arrivals(ConstantArrivalRate) => &[
            "rate",
            "time_unit",
            "duration",
            "pre_allocated_users",
            "max_users",
        ],
        ProfileKind::Arrivals(RampingArrivalRate) => &[
            "start_rate",
            "time_unit",
            "stages",
            "pre_allocated_users",
            "max_users",
        ],
        // Never written in a scenario: the probe builds its own profile.
        ProfileKind::Arrivals(ProbeSearch) => &[],
    }
}

fn set_fields(l: &RawLoad) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut f = |name: &'static str, set: bool| {
        if set {
            v.push(name);
        }
    };
    f("threads", l.threads.is_some());
    f("ramp_up", l.ramp_up.is_some());
    f("loops", l.loops.is_some());
    f("duration", l.duration.is_some());
    f("delay", l.delay.is_some());
    f("start_users", l.start_users.is_some());
    f("step_users", l.step_users.is_some());
    f("step_every", l.step_every.is_some());
    f("max_users", l.max_users.is_some());
    f("hold", l.hold.is_some());
    f("step_down_users", l.step_down_users.is_some());
    f("step_down_every", l.step_down_every.is_some());
    f("base_users", l.base_users.is_some());
    f("peak_users", l.peak_users.is_some());
    f("spike_at", l.spike_at.is_some());
    f("spike_for", l.spike_for.is_some());
    f("spike_ramp", l.spike_ramp.is_some());
    f("stages", l.stages.is_some());
    f("rate", l.rate.is_some());
    f("start_rate", l.start_rate.is_some());
    f("time_unit", l.time_unit.is_some());
    f("pre_allocated_users", l.pre_allocated_users.is_some());
    v
}

/// Checks `[load]` (or a group's `load`) at field path `at`.
pub(super) fn build_load(c: &mut Checker<'_>, at: &str, l: Option<RawLoad>) -> Load {
    let l = match l {
        Some(l) => l,
        None => {
            c.err(
                at,
                "is required: [load] with threads, ramp_up and loops (or another profile)",
            );
            RawLoad::default()
        }
    };
    let profile_name = l.profile.clone().unwrap_or_else(|| "thread_group".into());
    let kind = PROFILES
        .iter()
        .find(|(name, _)| *name == profile_name)
        .map(|(_, k)| *k);
    if let Some(kind) = kind {
        let ok = allowed(kind);
        for f in set_fields(&l) {
            if !ok.contains(&f) {
                c.err(
                    &format!("{at}.{f}"),
                    format!(
                        "does not apply to profile {profile_name:?} (it takes: {})",
                        ok.join(", ")
                    ),
                );
            }
        }
    } else {
        let names: Vec<&str> = PROFILES.iter().map(|(n, _)| *n).collect();
        c.err(
            &format!("{at}.profile"),
            format!("{profile_name:?} is not one of: {}", names.join(", ")),
        );
    }
    let profile = match kind {
        Some(ProfileKind::Users(UserShape::Stepping)) => stepping(c, at, &l),
        Some(ProfileKind::Users(UserShape::Spike)) => spike(c, at, &l),
        Some(ProfileKind::Users(UserShape::Stages)) => stages(c, at, &l),
        Some(ProfileKind::Arrivals(shape)) => arrivals(c, at, &l, shape),
        // An unknown profile is already an error; checking it as a thread group still names
        // the thread group's own mistakes.
        Some(ProfileKind::ThreadGroup) | None => Profile::ThreadGroup(thread_group(c, at, &l)),
    };
    let think_time = match &l.think_time {
        None => ThinkTime::None,
        Some(RawThinkTime::Constant(d)) => {
            let pause = c.duration(&format!("{at}.think_time"), Some(d), Duration::ZERO);
            if pause.is_zero() {
                ThinkTime::None
            } else {
                ThinkTime::Constant { pause }
            }
        }
        Some(RawThinkTime::Range { min, max }) => {
            let min = c.duration(&format!("{at}.think_time.min"), Some(min), Duration::ZERO);
            let max = c.duration(&format!("{at}.think_time.max"), Some(max), Duration::ZERO);
            if max < min {
                c.err(&format!("{at}.think_time.max"), "must not be less than min");
            }
            ThinkTime::Uniform { min, max }
        }
        Some(RawThinkTime::Gaussian {
            gaussian,
            deviation,
        }) => ThinkTime::Gaussian {
            mean: c.duration(
                &format!("{at}.think_time.gaussian"),
                Some(gaussian),
                Duration::ZERO,
            ),
            deviation: c.duration(
                &format!("{at}.think_time.deviation"),
                Some(deviation),
                Duration::ZERO,
            ),
        },
        Some(RawThinkTime::Poisson { poisson, offset }) => ThinkTime::Poisson {
            lambda: c.duration(
                &format!("{at}.think_time.poisson"),
                Some(poisson),
                Duration::ZERO,
            ),
            offset: c.duration(
                &format!("{at}.think_time.offset"),
                offset.as_ref(),
                Duration::ZERO,
            ),
        },
    };
    let pace = l.pace.as_ref().map(|p| build_pace(c, at, p));
    let on_error = c.choice(
        &format!("{at}.on_error"),
        l.on_error.as_deref(),
        OnError::Continue,
        &[
            ("continue", OnError::Continue),
            ("next_loop", OnError::NextLoop),
            ("stop_thread", OnError::StopThread),
            ("stop_test", OnError::StopTest),
        ],
    );
    Load {
        profile,
        think_time,
        pace: pace.flatten(),
        on_error,
    }
}

/// `pace = { rate = "30/m", per = "user" }`.
fn build_pace(c: &mut Checker<'_>, at: &str, p: &super::spec::RawPace) -> Option<GroupPace> {
    let per = c.choice(
        &format!("{at}.pace.per"),
        p.per.as_deref(),
        PaceScope::User,
        &[
            ("user", PaceScope::User),
            ("group", PaceScope::Group),
            ("all", PaceScope::All),
        ],
    );
    let Some(rate) = &p.rate else {
        c.err(
            &format!("{at}.pace.rate"),
            "is required: requests per second, or \"30/m\"",
        );
        return None;
    };
    match super::policy::parse_rate(rate) {
        Ok(per_second) => Some(GroupPace { per_second, per }),
        Err(e) => {
            c.err(&format!("{at}.pace.rate"), e);
            None
        }
    }
}

fn thread_group(c: &mut Checker<'_>, at: &str, l: &RawLoad) -> ThreadGroup {
    let threads = match l.threads {
        Some(n) if (1..=100_000).contains(&n) => n as u32,
        Some(n) => {
            c.err(
                &format!("{at}.threads"),
                format!("must be between 1 and 100000, got {n}"),
            );
            1
        }
        None => 1,
    };
    let ramp_up = c.duration(&format!("{at}.ramp_up"), l.ramp_up.as_ref(), Duration::ZERO);
    let loops = match &l.loops {
        None => Some(1),
        Some(RawLoops::Count(-1)) => None,
        Some(RawLoops::Count(n)) if *n >= 1 => Some(*n as u64),
        Some(RawLoops::Count(n)) => {
            c.err(
                &format!("{at}.loops"),
                format!("must be at least 1 (or \"forever\"), got {n}"),
            );
            Some(1)
        }
        Some(RawLoops::Text(t)) if t == "forever" => None,
        Some(RawLoops::Text(t)) => {
            c.err(
                &format!("{at}.loops"),
                format!("must be a number or \"forever\", got {t:?}"),
            );
            Some(1)
        }
    };
    let duration = l
        .duration
        .as_ref()
        .map(|d| c.duration(&format!("{at}.duration"), Some(d), Duration::ZERO));
    if duration == Some(Duration::ZERO) {
        c.err(&format!("{at}.duration"), "must be longer than 0s");
    }
    let delay = c.duration(&format!("{at}.delay"), l.delay.as_ref(), Duration::ZERO);
    ThreadGroup {
        threads,
        ramp_up,
        loops,
        duration,
        delay,
    }
}

/// Stepping: from `start_users`, add `step_users` every `step_every` up to `max_users`, hold,
/// then (optionally) remove `step_down_users` every `step_down_every` down to 0.
fn stepping(c: &mut Checker<'_>, at: &str, l: &RawLoad) -> Profile {
    let start = users(c, &format!("{at}.start_users"), l.start_users, Some(0));
    let step = users(c, &format!("{at}.step_users"), l.step_users, None);
    let every = required(c, &format!("{at}.step_every"), l.step_every.as_ref());
    let max = users(c, &format!("{at}.max_users"), l.max_users, None);
    let hold = required(c, &format!("{at}.hold"), l.hold.as_ref());
    if step == 0 {
        c.err(&format!("{at}.step_users"), "must be at least 1");
    }
    if max < start.max(1) {
        c.err(
            &format!("{at}.max_users"),
            "must be at least start_users and 1",
        );
    }
    if every.is_zero() {
        c.err(&format!("{at}.step_every"), "must be longer than 0s");
    }
    let mut pts: Curve = vec![(Duration::ZERO, f64::from(start))];
    if step == 0 || every.is_zero() || max < start.max(1) {
        return Profile::Users(UserCurve {
            shape: UserShape::Stepping,
            points: pts,
        });
    }
    let (mut t, mut n) = (Duration::ZERO, start);
    while n < max {
        t += every;
        pts.push((t, f64::from(n)));
        n = (n + step).min(max);
        pts.push((t, f64::from(n)));
    }
    t += hold;
    pts.push((t, f64::from(n)));
    if let Some(down) = l.step_down_users {
        let down = users(c, &format!("{at}.step_down_users"), Some(down), None);
        let down_every = match &l.step_down_every {
            Some(d) => c.duration(&format!("{at}.step_down_every"), Some(d), every),
            None => every,
        };
        if down == 0 || down_every.is_zero() {
            c.err(
                &format!("{at}.step_down_users"),
                "must be at least 1, with step_down_every longer than 0s",
            );
        } else {
            while n > 0 {
                n = n.saturating_sub(down);
                pts.push((t, f64::from(n)));
                t += down_every;
                pts.push((t, f64::from(n)));
            }
        }
    } else if l.step_down_every.is_some() {
        c.err(&format!("{at}.step_down_every"), "needs step_down_users");
    }
    Profile::Users(UserCurve {
        shape: UserShape::Stepping,
        points: pts,
    })
}

/// Spike: `base_users` until `spike_at`, up to `peak_users` (over `spike_ramp`), held for
/// `spike_for`, back down (over `spike_ramp`), then `base_users` until `duration`.
fn spike(c: &mut Checker<'_>, at: &str, l: &RawLoad) -> Profile {
    let base = users(c, &format!("{at}.base_users"), l.base_users, Some(0));
    let peak = users(c, &format!("{at}.peak_users"), l.peak_users, None);
    let when = required(c, &format!("{at}.spike_at"), l.spike_at.as_ref());
    let lasts = required(c, &format!("{at}.spike_for"), l.spike_for.as_ref());
    let ramp = c.duration(
        &format!("{at}.spike_ramp"),
        l.spike_ramp.as_ref(),
        Duration::ZERO,
    );
    let duration = required(c, &format!("{at}.duration"), l.duration.as_ref());
    if peak <= base {
        c.err(&format!("{at}.peak_users"), "must be more than base_users");
    }
    let down_end = when + ramp + lasts + ramp;
    if duration < down_end {
        c.err(
            &format!("{at}.duration"),
            format!(
                "must last at least until the spike is over ({})",
                surge_record::duration::format(down_end)
            ),
        );
    }
    let (b, p) = (f64::from(base), f64::from(peak));
    let points = vec![
        (Duration::ZERO, b),
        (when, b),
        (when + ramp, p),
        (when + ramp + lasts, p),
        (down_end, b),
        (duration.max(down_end), b),
    ];
    Profile::Users(UserCurve {
        shape: UserShape::Spike,
        points,
    })
}

fn stage_list(
    c: &mut Checker<'_>,
    at: &str,
    stages: Option<&Vec<RawStage>>,
    start: f64,
    unit: Duration,
) -> Curve {
    let mut pts: Curve = vec![(Duration::ZERO, start)];
    let Some(stages) = stages.filter(|s| !s.is_empty()) else {
        c.err(
            &format!("{at}.stages"),
            "is required for this profile: a list of { duration, target }",
        );
        return pts;
    };
    let mut t = Duration::ZERO;
    for (i, s) in stages.iter().enumerate() {
        let d = c.duration(
            &format!("{at}.stages[{i}].duration"),
            Some(&s.duration),
            Duration::ZERO,
        );
        if !(s.target.is_finite() && s.target >= 0.0) {
            c.err(&format!("{at}.stages[{i}].target"), "must be a number ≥ 0");
        }
        t += d;
        pts.push((t, s.target.max(0.0) / unit.as_secs_f64()));
    }
    pts
}

/// Stages (k6 ramping-vus): users move linearly to each stage's target over its duration.
fn stages(c: &mut Checker<'_>, at: &str, l: &RawLoad) -> Profile {
    let start = users(c, &format!("{at}.start_users"), l.start_users, Some(0));
    let points = stage_list(
        c,
        at,
        l.stages.as_ref(),
        f64::from(start),
        Duration::from_secs(1),
    );
    if let Some((i, _)) = l
        .stages
        .iter()
        .flatten()
        .enumerate()
        .find(|(_, s)| s.target > 100_000.0)
    {
        c.err(
            &format!("{at}.stages[{i}].target"),
            "must be at most 100000 users",
        );
    }
    if curve_end(&points).is_zero() {
        c.err(&format!("{at}.stages"), "must last longer than 0s in all");
    }
    Profile::Users(UserCurve {
        shape: UserShape::Stages,
        points,
    })
}

/// The highest arrival rate surge takes, per second: more than one process can start, and low
/// enough that the schedule keeps up with the clock.
pub const MAX_ARRIVALS_PER_S: f64 = 1_000_000.0;

/// Arrival rates (k6 constant-arrival-rate / ramping-arrival-rate).
fn arrivals(c: &mut Checker<'_>, at: &str, l: &RawLoad, shape: ArrivalShape) -> Profile {
    let unit = c.duration(
        &format!("{at}.time_unit"),
        l.time_unit.as_ref(),
        Duration::from_secs(1),
    );
    if unit.is_zero() {
        c.err(&format!("{at}.time_unit"), "must be longer than 0s");
    }
    let unit = if unit.is_zero() {
        Duration::from_secs(1)
    } else {
        unit
    };
    let per_sec = |r: f64| r / unit.as_secs_f64();
    let constant = shape == ArrivalShape::ConstantArrivalRate;
    let points = if constant {
        let rate = match l.rate {
            Some(r) if r.is_finite() && r > 0.0 => r,
            Some(r) => {
                c.err(
                    &format!("{at}.rate"),
                    format!("must be more than 0, got {r}"),
                );
                1.0
            }
            None => {
                c.err(
                    &format!("{at}.rate"),
                    "is required: iterations per time_unit",
                );
                1.0
            }
        };
        let d = required(c, &format!("{at}.duration"), l.duration.as_ref());
        vec![(Duration::ZERO, per_sec(rate)), (d, per_sec(rate))]
    } else {
        let start = l.start_rate.unwrap_or(0.0);
        if !(start.is_finite() && start >= 0.0) {
            c.err(&format!("{at}.start_rate"), "must be a number ≥ 0");
        }
        stage_list(c, at, l.stages.as_ref(), per_sec(start.max(0.0)), unit)
    };
    if curve_end(&points).is_zero() {
        c.err(
            &format!("{at}.duration"),
            "the profile must last longer than 0s",
        );
    }
    let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
    if peak > MAX_ARRIVALS_PER_S {
        let field = if constant { "rate" } else { "stages" };
        c.err(
            &format!("{at}.{field}"),
            format!("at most {MAX_ARRIVALS_PER_S} iterations a second (one process cannot start more), got {peak}/s"),
        );
    }
    let max_users = users(c, &format!("{at}.max_users"), l.max_users, None).max(1);
    let pre = match l.pre_allocated_users {
        Some(n) => users(c, &format!("{at}.pre_allocated_users"), Some(n), None),
        None => (peak.ceil() as u32).clamp(1, max_users),
    };
    if pre > max_users {
        c.err(
            &format!("{at}.pre_allocated_users"),
            "must not be more than max_users",
        );
    }
    Profile::Arrivals(ArrivalCurve {
        shape,
        points,
        pre_allocated_users: pre.min(max_users),
        max_users,
    })
}
