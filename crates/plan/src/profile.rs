//! The checked load of a group, as the engine reads it: the profile (JMeter's thread group, a
//! user curve or an arrival curve), think time, pace, what a failure does, and the run's limits.

use std::time::Duration;

use serde::Serialize;

use super::plan::{opt_secs, secs};
use super::timing::{GroupPace, ThinkTime};

/// What a user does after a failed sample (transport error or unexpected status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Go on with the next request.
    Continue,
    /// Skip the rest of this iteration.
    NextLoop,
    /// This user stops.
    StopThread,
    /// Every user stops.
    StopTest,
}

/// A JMeter thread group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadGroup {
    /// Number of users.
    pub threads: u32,
    /// Users start evenly over this time.
    #[serde(with = "secs")]
    pub ramp_up: Duration,
    /// Iterations per user; None is forever.
    pub loops: Option<u64>,
    /// Scheduler duration: users stop at `delay + duration`.
    #[serde(with = "opt_secs")]
    pub duration: Option<Duration>,
    /// Scheduler start delay.
    #[serde(with = "secs")]
    pub delay: Duration,
}

/// A piecewise-linear curve: `(time offset, value)` points in time order, linear between
/// them; two points at the same time make a step.
pub type Curve = Vec<(Duration, f64)>;

/// The profile a closed-model user curve was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserShape {
    /// `stepping`: users added step by step, held, then removed.
    Stepping,
    /// `spike`: a base load, a spike, back to the base.
    Spike,
    /// `stages`: users ramped linearly between targets.
    Stages,
}

/// The profile an open-model arrival curve was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalShape {
    /// `constant_arrival_rate`: one rate for a duration.
    ConstantArrivalRate,
    /// `ramping_arrival_rate`: rates ramped linearly between stages.
    RampingArrivalRate,
    /// `surge probe`'s search: a rate its feedback moves while it runs.
    #[serde(rename = "probe")]
    ProbeSearch,
}

/// Closed-model users over time (stepping, spike and stages all become one curve).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserCurve {
    /// The profile it was written as.
    pub shape: UserShape,
    /// Users over time; the run ends at the last point.
    #[serde(serialize_with = "ser_curve")]
    pub points: Curve,
}

/// Open-model arrivals over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrivalCurve {
    /// The profile it was written as.
    pub shape: ArrivalShape,
    /// Arrivals per second over time; the run ends at the last point.
    #[serde(serialize_with = "ser_curve")]
    pub points: Curve,
    /// Users started at the beginning.
    pub pre_allocated_users: u32,
    /// Most users ever; an arrival with none free is dropped (and counted).
    pub max_users: u32,
}

/// The load profile: one schedule read by the one executor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "profile", rename_all = "snake_case")]
pub enum Profile {
    /// JMeter's thread group.
    ThreadGroup(ThreadGroup),
    /// Closed model: users follow a curve (stepping, spike, stages).
    Users(UserCurve),
    /// Open model: iterations arrive at a rate, whatever the server does.
    Arrivals(ArrivalCurve),
}

fn ser_curve<S: serde::Serializer>(c: &Curve, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(c.len()))?;
    for (t, v) in c {
        seq.serialize_element(&(t.as_secs_f64(), v))?;
    }
    seq.end()
}

/// The end of a curve.
pub fn curve_end(c: &Curve) -> Duration {
    c.last().map_or(Duration::ZERO, |p| p.0)
}

/// ∫ of a rate curve (per second) over the whole curve: the expected number of arrivals.
pub fn curve_integral(c: &Curve) -> f64 {
    c.windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64() * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// `[load]`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Load {
    /// The schedule.
    #[serde(flatten)]
    pub profile: Profile,
    /// Pause after each request.
    pub think_time: ThinkTime,
    /// Each request held to a rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pace: Option<GroupPace>,
    /// Failed-sample behaviour.
    pub on_error: OnError,
}

/// `[limits]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Limits {
    /// Stop issuing after this many requests.
    pub max_requests: Option<u64>,
    /// Stop the run after this long.
    #[serde(with = "opt_secs")]
    pub max_duration: Option<Duration>,
}
