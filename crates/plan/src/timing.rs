//! How long a user waits before each request: its think time (constant, uniform, Gaussian,
//! Poisson, drawn as JMeter's timers draw them) and its group's pace.

use std::time::Duration;

use serde::Serialize;

use super::plan::secs;

/// Think time after each request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThinkTime {
    /// No pause.
    None,
    /// Always this long.
    Constant {
        /// The pause.
        #[serde(with = "secs")]
        pause: Duration,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        #[serde(with = "secs")]
        min: Duration,
        /// Upper bound.
        #[serde(with = "secs")]
        max: Duration,
    },
    /// `|mean + N(0, 1) × deviation|`, as JMeter's Gaussian Random Timer.
    Gaussian {
        /// The mean.
        #[serde(with = "secs")]
        mean: Duration,
        /// The standard deviation.
        #[serde(with = "secs")]
        deviation: Duration,
    },
    /// `offset + Poisson(λ)` in ms, as JMeter's Poisson Random Timer.
    Poisson {
        /// λ, the random part's mean.
        #[serde(with = "secs")]
        lambda: Duration,
        /// Added to each pause.
        #[serde(with = "secs")]
        offset: Duration,
    },
}

impl ThinkTime {
    /// One pause drawn from `rng`.
    pub fn draw(&self, rng: &mut impl rand::Rng) -> Duration {
        use rand::RngExt as _;
        use rand_distr::Distribution as _;
        match *self {
            ThinkTime::None => Duration::ZERO,
            ThinkTime::Constant { pause } => pause,
            ThinkTime::Uniform { min, max } if max > min => rng.random_range(min..=max),
            ThinkTime::Uniform { min, .. } => min,
            ThinkTime::Gaussian { mean, deviation } => {
                let z: f64 = rand_distr::StandardNormal.sample(rng);
                let ms = (z * deviation.as_secs_f64() * 1000.0 + mean.as_secs_f64() * 1000.0).abs();
                Duration::from_micros((ms * 1000.0) as u64)
            }
            ThinkTime::Poisson { lambda, offset } => {
                // JMeter rounds λ to whole milliseconds and draws whole milliseconds.
                let l = lambda.as_millis() as f64;
                let k = match rand_distr::Poisson::new(l) {
                    Ok(p) if l > 0.0 => p.sample(rng),
                    _ => 0.0,
                };
                offset + Duration::from_millis(k as u64)
            }
        }
    }
}

/// Who shares a pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaceScope {
    /// Each user at the rate (JMeter's "this thread only").
    User,
    /// The group's users together.
    Group,
    /// Every group whose pace is shared by `all` (at the same rate) together.
    All,
}

/// A group's pace: each request waits for its slot at this rate (a slot not taken in time is
/// not saved up, as JMeter's Constant Throughput Timer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupPace {
    /// Requests per second.
    pub per_second: f64,
    /// Who shares it.
    pub per: PaceScope,
}
