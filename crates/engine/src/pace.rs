//! Client-side pacing shared by users: the `pace` policy's limit, shaped like the server's (a
//! token bucket of a rate and a burst, or a fixed window of a count), for all users together or
//! one per token; and the one gate a user passes before each paced request, whichever of `pace`
//! and `adaptive` the plan chose ([`Gate`]), told of each answer afterwards. The adaptive
//! policy's rate per token is [`adaptive`]'s, seen by nothing but this gate.

mod adaptive;

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use adaptive::AdaptivePacer;
use surge_plan::{Pace, Policy};
use surge_record::RateLimitHeaders;

/// One client-side limit: when may the next request go?
#[derive(Debug)]
enum Shape {
    /// GCRA: one request per `interval`, up to `tolerance` ahead of schedule (a burst).
    Bucket {
        interval: Duration,
        tolerance: Duration,
        tat: Option<Instant>,
    },
    /// At most `limit` requests per `window`, the window opening at the first request after
    /// the previous one closed.
    Window {
        limit: u32,
        window: Duration,
        start: Option<Instant>,
        count: u32,
    },
}

impl Shape {
    /// Reserves the next slot at or after `now` and returns it.
    fn reserve(&mut self, now: Instant) -> Instant {
        match self {
            Shape::Bucket {
                interval,
                tolerance,
                tat,
            } => {
                let t = tat.unwrap_or(now);
                let slot = now.max(t.checked_sub(*tolerance).unwrap_or(now));
                *tat = Some(t.max(slot) + *interval);
                slot
            }
            Shape::Window {
                limit,
                window,
                start,
                count,
            } => {
                let mut s = match *start {
                    Some(s) if now < s + *window => s,
                    _ => {
                        *count = 0;
                        now
                    }
                };
                if *count >= *limit {
                    // The next window opens when this one closes, with this request.
                    s += *window;
                    *count = 0;
                }
                *start = Some(s);
                *count += 1;
                s.max(now)
            }
        }
    }
}

/// A client-side limit shared by the users that pass it.
#[derive(Debug)]
pub(crate) struct Pacer {
    shape: Mutex<Shape>,
}

impl Pacer {
    /// `per_second` sustained, `burst` at once; or with `window`, `burst` per window.
    pub(crate) fn new(per_second: f64, burst: u32, window: Option<Duration>) -> Pacer {
        let shape = match window {
            Some(window) => Shape::Window {
                limit: burst.max(1),
                window,
                start: None,
                count: 0,
            },
            None => {
                let interval = Duration::from_secs_f64(1.0 / per_second);
                Shape::Bucket {
                    interval,
                    tolerance: interval * burst.max(1).saturating_sub(1),
                    tat: None,
                }
            }
        };
        Pacer {
            shape: Mutex::new(shape),
        }
    }

    /// Waits for this request's slot; the time waited, or None when stopped while waiting.
    pub(crate) async fn acquire(&self, stop: &CancellationToken) -> Option<Duration> {
        let now = Instant::now();
        let slot = self
            .shape
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(now);
        if slot > now {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return None,
                _ = sleep_until(slot) => {}
            }
        }
        Some(slot - now)
    }
}

/// The gate of a plan's paced requests: `pace` (one pacer, or one per token) or `adaptive`.
#[derive(Debug)]
pub(crate) enum Gate {
    /// Fixed pacers: all users share `pacers[0]`, or user `u` uses `pacers[u mod n]` (none: no
    /// rate bound); and as many bounds on the requests in flight (none: no such bound).
    Pace {
        pacers: Vec<Pacer>,
        in_flight: Vec<Semaphore>,
        steps: Option<Vec<usize>>,
    },
    /// The adaptive policy's per-token rates.
    Adaptive(AdaptivePacer),
}

impl Gate {
    /// The gate of `policy`, for users spread over `tokens` tokens, in a process that runs one of
    /// `segments` segments (their pacers together keep the plan's pace).
    pub(crate) fn of(policy: &Policy, tokens: u32, segments: u32) -> Option<Gate> {
        let share = f64::from(segments.max(1));
        if let Some(a) = &policy.adaptive {
            let mut a = a.clone();
            a.start_rate /= share;
            return Some(Gate::Adaptive(AdaptivePacer::new(a, tokens)));
        }
        let p: &Pace = policy.pace.as_ref()?;
        let n = if p.per_token { tokens.max(1) } else { 1 };
        let burst = ((f64::from(p.burst) / share).floor() as u32).max(1);
        let pacers = if p.per_second > 0.0 {
            (0..n)
                .map(|_| Pacer::new(p.per_second / share, burst, p.window))
                .collect()
        } else {
            Vec::new()
        };
        // N segments share the count in flight as they share the rate.
        let in_flight = p
            .max_in_flight
            .map(|m| {
                let each = ((f64::from(m) / share).floor() as usize).max(1);
                (0..n).map(|_| Semaphore::new(each)).collect()
            })
            .unwrap_or_default();
        Some(Gate::Pace {
            pacers,
            in_flight,
            steps: p.steps.clone(),
        })
    }

    /// Does the gate hold request `step`?
    pub(crate) fn applies(&self, step: usize) -> bool {
        match self {
            Gate::Pace { steps, .. } => steps.as_ref().is_none_or(|s| s.contains(&step)),
            Gate::Adaptive(a) => a.applies(step),
        }
    }

    /// Waits for `user`'s next slot; the time waited, or None when stopped while waiting.
    pub(crate) async fn acquire(&self, user: u32, stop: &CancellationToken) -> Option<Duration> {
        match self {
            Gate::Pace {
                pacers, in_flight, ..
            } => {
                let started = Instant::now();
                if !in_flight.is_empty() {
                    let slots = &in_flight[user as usize % in_flight.len()];
                    // A slot held until the answer comes (`observe` gives it back).
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => return None,
                        p = slots.acquire() => p.ok()?.forget(),
                    }
                }
                let paced = match pacers.len() {
                    0 => Some(Duration::ZERO),
                    n => pacers[user as usize % n].acquire(stop).await,
                };
                if paced.is_none() && !in_flight.is_empty() {
                    in_flight[user as usize % in_flight.len()].add_permits(1);
                }
                paced.map(|_| started.elapsed())
            }
            Gate::Adaptive(a) => a.acquire(user, stop).await,
        }
    }

    /// Tells the gate what a request `user` sent at `sent` got back (the adaptive policy moves
    /// its rate on it; a fixed pace ignores it).
    pub(crate) fn observe(
        &self,
        user: u32,
        sent: Instant,
        status: Option<u16>,
        retry_after_ms: Option<u32>,
        headers: Option<RateLimitHeaders>,
    ) {
        match self {
            Gate::Adaptive(a) => a.observe(user, sent, status, retry_after_ms, headers),
            Gate::Pace { in_flight, .. } if !in_flight.is_empty() => {
                in_flight[user as usize % in_flight.len()].add_permits(1);
            }
            Gate::Pace { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets in ms of `n` back-to-back acquires from time 0.
    async fn slots(p: &Pacer, n: usize) -> Vec<u64> {
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for _ in 0..n {
            p.acquire(&stop).await.unwrap();
            out.push((Instant::now() - t0).as_millis() as u64);
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_its_burst_go_then_spaces_the_rest() {
        // (rate, burst) → slots of 6 back-to-back requests, ms
        let table: &[(f64, u32, [u64; 6])] = &[
            (10.0, 1, [0, 100, 200, 300, 400, 500]),
            (10.0, 3, [0, 0, 0, 100, 200, 300]),
            (2.0, 2, [0, 0, 500, 1000, 1500, 2000]),
        ];
        for (rate, burst, want) in table {
            let p = Pacer::new(*rate, *burst, None);
            assert_eq!(slots(&p, 6).await, want.to_vec(), "{rate}/s burst {burst}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_lets_its_count_go_then_waits_for_the_next_window() {
        let p = Pacer::new(3.0 / 60.0, 3, Some(Duration::from_secs(60)));
        assert_eq!(
            slots(&p, 7).await,
            vec![0, 0, 0, 60_000, 60_000, 60_000, 120_000]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_n_in_flight_wait_for_an_answer_not_for_a_rate() {
        let policy = Policy {
            pace: Some(Pace {
                per_second: 0.0,
                burst: 1,
                window: None,
                per_token: false,
                max_in_flight: Some(2),
                steps: None,
                from: None,
            }),
            ..Policy::default()
        };
        let g = Gate::of(&policy, 1, 1).unwrap();
        let stop = CancellationToken::new();
        // Two go at once, with no rate between them.
        assert_eq!(g.acquire(0, &stop).await, Some(Duration::ZERO));
        assert_eq!(g.acquire(1, &stop).await, Some(Duration::ZERO));
        // The third waits until an answer gives a slot back.
        let third = g.acquire(2, &stop);
        tokio::pin!(third);
        assert!(tokio::time::timeout(Duration::from_secs(5), &mut third)
            .await
            .is_err());
        g.observe(0, Instant::now(), Some(200), None, None);
        assert!(third.await.is_some());
        // Stopped while waiting: no slot, None.
        stop.cancel();
        assert_eq!(g.acquire(3, &stop).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn per_token_pacers_are_apart_and_segments_share_the_pace() {
        let policy = Policy {
            pace: Some(Pace {
                per_second: 10.0,
                burst: 1,
                window: None,
                per_token: true,
                max_in_flight: None,
                steps: None,
                from: None,
            }),
            ..Policy::default()
        };
        let g = Gate::of(&policy, 2, 1).unwrap();
        let stop = CancellationToken::new();
        // Users 0 and 1 use tokens 0 and 1: neither waits for the other.
        assert_eq!(g.acquire(0, &stop).await, Some(Duration::ZERO));
        assert_eq!(g.acquire(1, &stop).await, Some(Duration::ZERO));
        assert_eq!(g.acquire(2, &stop).await, Some(Duration::from_millis(100)));
        // One of 2 segments paces at half the rate.
        let g = Gate::of(&policy, 1, 2).unwrap();
        assert_eq!(g.acquire(0, &stop).await, Some(Duration::ZERO));
        assert_eq!(g.acquire(0, &stop).await, Some(Duration::from_millis(200)));
        assert!(Gate::of(&Policy::default(), 1, 1).is_none());
    }
}
