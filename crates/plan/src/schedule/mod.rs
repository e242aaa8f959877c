//! Pure pacers: a schedule says *when* things are due, never sleeps, and is tested as a table.
//! The executor (`surge-engine`) reads one schedule, whatever the profile; a [`feedback`]
//! schedule's rate is moved from outside (`surge probe`).
//!
//! Reads the plan's load profiles (`scenario`) only. Must not import `engine`, `transport`,
//! `record` or anything with a clock: time is an argument, never read.

use std::time::Duration;

use crate::{Profile, ThreadGroup};

mod arrival;
mod curve;
pub mod feedback;
pub mod segment;

pub use arrival::ArrivalSchedule;
pub use curve::CurveSchedule;
pub use segment::{for_segment, Segment};

/// Something the executor must do at a time offset from the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Start user `user` (from 0); it runs its iterations.
    StartUser {
        /// Offset from the run's start.
        at: Duration,
        /// User index.
        user: u32,
    },
    /// User `user` stops before its next request (a closed-model ramp down).
    StopUser {
        /// Offset from the run's start.
        at: Duration,
        /// User index.
        user: u32,
    },
    /// One iteration is due (open model): a free user runs it, or it is dropped.
    Arrival {
        /// Offset from the run's start.
        at: Duration,
    },
    /// Every user stops issuing (the scheduler's or the profile's end).
    StopAll {
        /// Offset from the run's start.
        at: Duration,
    },
}

impl Event {
    /// When it is due.
    pub fn at(&self) -> Duration {
        match *self {
            Event::StartUser { at, .. }
            | Event::StopUser { at, .. }
            | Event::Arrival { at }
            | Event::StopAll { at } => at,
        }
    }
}

/// How users get their iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Each user loops on its own (this many iterations, or until stopped).
    Closed {
        /// Iterations per user (None: until stopped).
        loops: Option<u64>,
    },
    /// Users wait for arrivals; at most `max_users` exist.
    Open {
        /// Users started at the beginning.
        pre_allocated: u32,
        /// Most users ever.
        max_users: u32,
    },
}

/// A profile's events, in non-decreasing time order.
pub trait Schedule: Send {
    /// The next event, or None when the schedule has nothing more.
    fn next_event(&mut self) -> Option<Event>;

    /// How users get their iterations.
    fn model(&self) -> Model;
}

/// JMeter's thread group: user `i` starts at `delay + i × ramp_up / threads`; with the
/// scheduler on, every user stops at `delay + duration`.
#[derive(Debug, Clone)]
pub struct ThreadGroupSchedule {
    tg: ThreadGroup,
    next_user: u32,
    stop_sent: bool,
}

impl ThreadGroupSchedule {
    /// A schedule for `tg`.
    pub fn new(tg: ThreadGroup) -> Self {
        ThreadGroupSchedule {
            tg,
            next_user: 0,
            stop_sent: false,
        }
    }

    /// Start offset of user `i` (exact to the nanosecond).
    pub fn start_of(tg: &ThreadGroup, i: u32) -> Duration {
        let ramp = tg.ramp_up.as_nanos();
        let off = ramp * u128::from(i) / u128::from(tg.threads.max(1));
        tg.delay + Duration::from_nanos(off as u64)
    }
}

impl Schedule for ThreadGroupSchedule {
    fn next_event(&mut self) -> Option<Event> {
        let stop_at = self.tg.duration.map(|d| self.tg.delay + d);
        if self.next_user < self.tg.threads {
            let at = Self::start_of(&self.tg, self.next_user);
            // A user due after the scheduler's end never starts.
            if stop_at.is_none_or(|s| at < s) {
                let user = self.next_user;
                self.next_user += 1;
                return Some(Event::StartUser { at, user });
            }
            self.next_user = self.tg.threads;
        }
        match stop_at {
            Some(at) if !self.stop_sent => {
                self.stop_sent = true;
                Some(Event::StopAll { at })
            }
            _ => None,
        }
    }

    fn model(&self) -> Model {
        Model::Closed {
            loops: self.tg.loops,
        }
    }
}

/// The schedule for a plan's profile.
pub fn for_profile(p: &Profile) -> Box<dyn Schedule> {
    match p {
        Profile::ThreadGroup(tg) => Box::new(ThreadGroupSchedule::new(tg.clone())),
        Profile::Users(c) => Box::new(CurveSchedule::new(&c.points)),
        Profile::Arrivals(a) => Box::new(ArrivalSchedule::new(
            &a.points,
            a.pre_allocated_users,
            a.max_users,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg(threads: u32, ramp_ms: u64, delay_ms: u64, duration_ms: Option<u64>) -> ThreadGroup {
        ThreadGroup {
            threads,
            ramp_up: Duration::from_millis(ramp_ms),
            loops: Some(1),
            duration: duration_ms.map(Duration::from_millis),
            delay: Duration::from_millis(delay_ms),
        }
    }

    fn events(t: ThreadGroup) -> Vec<Event> {
        let mut s = ThreadGroupSchedule::new(t);
        std::iter::from_fn(|| s.next_event()).collect()
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn thread_group_start_times_follow_jmeter_arithmetic() {
        // (threads, ramp, delay, duration) → expected events
        let table: Vec<(ThreadGroup, Vec<Event>)> = vec![
            (
                tg(5, 10_000, 0, None),
                (0..5)
                    .map(|i| Event::StartUser {
                        at: ms(2_000 * i as u64),
                        user: i,
                    })
                    .collect(),
            ),
            (
                tg(3, 0, 0, None),
                (0..3)
                    .map(|i| Event::StartUser { at: ms(0), user: i })
                    .collect(),
            ),
            (
                tg(2, 1_000, 500, Some(3_000)),
                vec![
                    Event::StartUser {
                        at: ms(500),
                        user: 0,
                    },
                    Event::StartUser {
                        at: ms(1_000),
                        user: 1,
                    },
                    Event::StopAll { at: ms(3_500) },
                ],
            ),
            // Users due after the scheduler's end never start.
            (
                tg(4, 8_000, 0, Some(3_000)),
                vec![
                    Event::StartUser { at: ms(0), user: 0 },
                    Event::StartUser {
                        at: ms(2_000),
                        user: 1,
                    },
                    Event::StopAll { at: ms(3_000) },
                ],
            ),
        ];
        for (t, want) in table {
            assert_eq!(events(t.clone()), want, "{t:?}");
        }
    }

    #[test]
    fn seed_ramp_is_exact_to_the_nanosecond() {
        // 50 threads over 10 s: 200 ms apart; 3 threads over 1 s: 333_333_333 ns apart.
        let seed = tg(50, 10_000, 0, None);
        assert_eq!(ThreadGroupSchedule::start_of(&seed, 49), ms(9_800));
        let odd = tg(3, 1_000, 0, None);
        assert_eq!(
            ThreadGroupSchedule::start_of(&odd, 2),
            Duration::from_nanos(666_666_666)
        );
        let ev = events(seed);
        assert_eq!(ev.len(), 50);
        assert!(ev.windows(2).all(|w| w[0].at() <= w[1].at()));
    }
}
