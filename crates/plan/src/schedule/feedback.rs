//! Feedback is a schedule too: open-model arrivals at a rate someone else moves while the run goes
//! on (`surge probe`'s search reads each answer and turns the [`Dial`]). The schedule itself stays
//! pure: it reads the dial's rate, its pause and its stop when asked for the next arrival, and
//! never a clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Event, Model, Schedule};

/// The rate, the pause and the stop a feedback loop sets for a [`FeedbackSchedule`].
#[derive(Debug)]
pub struct Dial {
    /// Arrivals per second at `since_us` (f64 bits).
    rate: AtomicU64,
    /// Factor the rate grows by per second from `since_us` (f64 bits; 1: steady).
    growth: AtomicU64,
    /// When `rate` was set, µs from the start.
    since_us: AtomicU64,
    /// No arrival before this offset from the start, µs.
    resume_us: AtomicU64,
    stop: CancellationToken,
}

impl Dial {
    /// A dial at `rate` arrivals per second, growing by `growth` per second.
    pub fn new(rate: f64, growth: f64) -> Arc<Dial> {
        Arc::new(Dial {
            rate: AtomicU64::new(rate.to_bits()),
            growth: AtomicU64::new(growth.to_bits()),
            since_us: AtomicU64::new(0),
            resume_us: AtomicU64::new(0),
            stop: CancellationToken::new(),
        })
    }

    /// Arrivals per second from `at` on, growing by `growth` per second (1: steady).
    pub fn set_rate(&self, rate: f64, growth: f64, at: Duration) {
        self.since_us
            .store(at.as_micros() as u64, Ordering::Relaxed);
        self.growth
            .store(growth.max(1.0).to_bits(), Ordering::Relaxed);
        self.rate.store(rate.max(1e-3).to_bits(), Ordering::Relaxed);
    }

    /// The rate at `at`.
    pub fn rate_at(&self, at: Duration) -> f64 {
        let since = Duration::from_micros(self.since_us.load(Ordering::Relaxed));
        let growth = f64::from_bits(self.growth.load(Ordering::Relaxed));
        let rate = f64::from_bits(self.rate.load(Ordering::Relaxed));
        rate * growth.powf(at.saturating_sub(since).as_secs_f64())
    }

    /// No arrival before `at` (an offset from the run's start).
    pub fn pause_until(&self, at: Duration) {
        self.resume_us
            .fetch_max(at.as_micros() as u64, Ordering::Relaxed);
    }

    /// Ends the schedule: at its next arrival, or at once for an executor that waits on
    /// [`Dial::stopped`].
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Fires when stopped.
    pub fn stopped(&self) -> &CancellationToken {
        &self.stop
    }
}

/// Arrivals one `1 / rate` after the last (or at the end of a pause), until the dial stops.
#[derive(Debug)]
pub struct FeedbackSchedule {
    dial: Arc<Dial>,
    last: Option<Duration>,
    pre_allocated: u32,
    max_users: u32,
    done: bool,
}

impl FeedbackSchedule {
    /// Arrivals as `dial` says, served by up to `max_users` users.
    pub fn new(dial: Arc<Dial>, pre_allocated: u32, max_users: u32) -> FeedbackSchedule {
        FeedbackSchedule {
            dial,
            last: None,
            pre_allocated,
            max_users,
            done: false,
        }
    }
}

impl Schedule for FeedbackSchedule {
    fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        let resume = Duration::from_micros(self.dial.resume_us.load(Ordering::Relaxed));
        if self.dial.stop.is_cancelled() {
            self.done = true;
            return Some(Event::StopAll {
                at: self.last.unwrap_or_default(),
            });
        }
        let at = match self.last {
            None => resume,
            Some(l) => {
                (l + Duration::from_secs_f64(1.0 / self.dial.rate_at(l).max(1e-3))).max(resume)
            }
        };
        self.last = Some(at);
        Some(Event::Arrival { at })
    }

    fn model(&self) -> Model {
        Model::Open {
            pre_allocated: self.pre_allocated,
            max_users: self.max_users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn arrivals_follow_the_dial_its_pause_and_its_stop() {
        let dial = Dial::new(10.0, 1.0);
        let mut s = FeedbackSchedule::new(dial.clone(), 1, 100);
        let mut next = || s.next_event();
        // (what the dial is turned to before the next arrival, the arrival)
        assert_eq!(next(), Some(Event::Arrival { at: ms(0) }));
        assert_eq!(next(), Some(Event::Arrival { at: ms(100) }));
        dial.set_rate(2.0, 1.0, ms(100));
        assert_eq!(next(), Some(Event::Arrival { at: ms(600) }));
        dial.pause_until(ms(3_000));
        assert_eq!(next(), Some(Event::Arrival { at: ms(3_000) }));
        // A pause that has passed changes nothing; an earlier one never moves it back.
        dial.pause_until(ms(1_000));
        assert_eq!(next(), Some(Event::Arrival { at: ms(3_500) }));
        dial.stop();
        assert_eq!(next(), Some(Event::StopAll { at: ms(3_500) }));
        assert_eq!(next(), None);
    }

    #[test]
    fn a_growing_rate_ramps_the_arrivals() {
        // 1/s doubling each second: the gaps halve each second.
        let dial = Dial::new(1.0, 2.0);
        assert!((dial.rate_at(ms(3_000)) - 8.0).abs() < 1e-9);
        let mut s = FeedbackSchedule::new(dial.clone(), 1, 100);
        let at: Vec<u128> = (0..4)
            .map(|_| s.next_event().unwrap().at().as_millis())
            .collect();
        // 0, then 1 s at 1/s, then 0.5 s at 2/s, then 1 / 2^1.5 s.
        assert_eq!(at, vec![0, 1_000, 1_500, 1_853]);
        // Turned steady at 4/s from 2 s.
        dial.set_rate(4.0, 1.0, ms(2_000));
        assert_eq!(s.next_event().unwrap().at().as_millis(), 2_103);
    }
}
