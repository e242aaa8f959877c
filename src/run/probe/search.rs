//! `surge probe`'s search: the rule that moves the probe's rate as answers come, a pure function
//! of what it has seen (tested against simulated limiters).
//!
//! It ramps (×`growth` per second from `start_rate`) until the first 429, then narrows two bounds
//! on the sustained rate ([`surge_analysis::limit::bounds`]): refusals between admitted stretches
//! bound it on both sides, a stretch held without a 429 for longer than any burst explains raises
//! the lower bound, and a rate refused throughout lowers the upper one. While refusals keep coming
//! between admissions it sends a little above the upper bound (each pair of 429s reads the rate
//! again); a rate that draws no 429 makes it climb (bisecting towards the upper bound); a rate
//! refused throughout makes it stop sending (a limiter that counts refusals would refuse it
//! forever), wait (the Retry-After, or pauses growing from a second until a single request is
//! admitted), and resume between the bounds. Every Retry-After is honoured. It stops when the
//! bounds are within the precision asked (`target_error`), or a fixed window has been seen open
//! twice and nothing else explains the 429s. Answers are fitted only once every answer to the
//! requests sent before them can have come (answers arrive in their latency's order).

use surge_analysis::limit::bounds::{bounds, burst_bound, persistent, quiet_s, RateBounds};
use surge_analysis::limit::file::Step;
use surge_analysis::limit::fit::fit;
use surge_analysis::limit::{Estimate, Event, Model, Verdict};

/// The longest pause the search waits for a limiter to let a single request through, seconds.
const MAX_BACKOFF_S: f64 = 64.0;
/// While refusals keep coming, it sends this much above the upper bound.
const ABOVE: f64 = 1.15;

/// The search's knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchConfig {
    /// Requests per second at the start.
    pub start_rate: f64,
    /// Factor the rate grows by per second while no 429 has come.
    pub growth: f64,
    /// The most it sends per second.
    pub max_rate: f64,
    /// Seconds at `max_rate` without a 429 before it says the limit is above it.
    pub hold_at_max_s: f64,
    /// The precision asked: the bounds' half-width over their middle that is stable enough.
    pub target_error: f64,
    /// Requests admitted between 429s the estimate needs at the least.
    pub min_admitted: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            start_rate: 2.0,
            growth: 1.5,
            max_rate: 1_000.0,
            hold_at_max_s: 5.0,
            target_error: 0.05,
            min_admitted: 30,
        }
    }
}

/// Why the search stopped on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// The estimate is stable.
    Stable,
    /// No 429 at the most it sends.
    NotReached,
}

/// What the search tells the dial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// Requests per second from now on.
    pub rate: f64,
    /// Factor per second the rate grows by (1: steady).
    pub growth: f64,
    /// No request before this, seconds from the start.
    pub pause_until: f64,
    /// Stop now.
    pub stop: Option<Done>,
}

/// The search's state.
#[derive(Debug, Clone)]
pub struct Search {
    cfg: SearchConfig,
    events: Vec<Event>,
    /// The first 429 so far, seconds (None: ramping).
    throttled_since: Option<f64>,
    rate: f64,
    pause_until: f64,
    /// When the current steady stretch began sending (a rate set, a pause ended).
    stretch_from: f64,
    last_fit: f64,
    max_latency: f64,
    at_max_since: Option<f64>,
    /// The next pause when the limiter gives no Retry-After, seconds.
    backoff: f64,
    /// Waiting for a single request sent at or after this to be admitted.
    single: Option<f64>,
    /// The lowest rate the limiter asked the search to stop at (a Retry-After, refusals
    /// throughout).
    refused_rate: f64,
    /// When a Retry-After's pause ends: the search then resumes between the bounds.
    resume_at: Option<f64>,
    bounds: RateBounds,
    estimate: Option<f64>,
    done: Option<Done>,
    steps: Vec<Step>,
}

impl Search {
    /// A search ramping from `cfg.start_rate`.
    pub fn new(cfg: SearchConfig) -> Search {
        Search {
            cfg,
            events: Vec::new(),
            throttled_since: None,
            rate: cfg.start_rate,
            pause_until: 0.0,
            stretch_from: 0.0,
            last_fit: 0.0,
            max_latency: 0.0,
            at_max_since: None,
            backoff: 1.0,
            single: None,
            refused_rate: f64::INFINITY,
            resume_at: None,
            bounds: RateBounds::default(),
            estimate: None,
            done: None,
            steps: vec![Step {
                t_s: 0.0,
                rate_per_s: cfg.start_rate,
                growth: cfg.growth,
                paused_until_s: None,
                estimate_per_s: None,
            }],
        }
    }

    /// The rate the ramp has reached at `t`.
    fn ramp_rate(&self, t: f64) -> f64 {
        (self.cfg.start_rate * self.cfg.growth.powf(t)).min(self.cfg.max_rate)
    }

    /// Every answer so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The rate and pause changes so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The bounds on the sustained rate at the last fit.
    pub fn bounds(&self) -> RateBounds {
        self.bounds
    }

    fn step(&mut self, t_s: f64) {
        let ramping = self.throttled_since.is_none();
        self.stretch_from = t_s.max(self.pause_until);
        self.steps.push(Step {
            t_s,
            rate_per_s: if ramping {
                self.ramp_rate(t_s)
            } else {
                self.rate
            },
            growth: if ramping { self.cfg.growth } else { 1.0 },
            paused_until_s: (self.pause_until > t_s).then_some(self.pause_until),
            estimate_per_s: self.estimate,
        });
    }

    /// Sends at `rate` from `now` on (a new stretch), when it differs from the current one.
    fn set_rate(&mut self, now: f64, rate: f64) {
        let rate = rate.clamp(0.1, self.cfg.max_rate);
        if (rate / self.rate - 1.0).abs() > 0.02 {
            self.rate = rate;
            self.step(now);
        }
    }

    /// No answer came, but time passed (the search is ticked a few times a second, so that a
    /// pause with nothing in flight still ends in a decision): what to send next.
    pub fn tick(&mut self, now: f64) -> Command {
        match self.throttled_since {
            None => self.ramp(now),
            Some(_) => self.throttled(now),
        }
        self.command()
    }

    /// An answer came at `now` (seconds from the start): what to send next.
    pub fn observe(&mut self, now: f64, ev: Event) -> Command {
        self.events.push(ev);
        if ev.verdict == Verdict::Admitted {
            self.max_latency = self.max_latency.max(ev.latency_s);
        }
        if ev.verdict == Verdict::Refused {
            self.on_refusal(now, ev);
        }
        if self.single.is_some_and(|s| ev.t_s >= s - 1e-6) {
            match ev.verdict {
                Verdict::Admitted => {
                    // The limiter let one through: resume between the bounds.
                    self.single = None;
                    self.backoff = 1.0;
                    let r = self.between();
                    self.rate = 0.0;
                    self.set_rate(now, r);
                }
                Verdict::Refused if now >= self.pause_until => {
                    self.backoff = (self.backoff * 2.0).min(MAX_BACKOFF_S);
                    self.wait(now, ev.retry_after_s);
                }
                _ => {}
            }
        }
        self.tick(now)
    }

    fn on_refusal(&mut self, now: f64, ev: Event) {
        if self.throttled_since.is_none() {
            // Hold the rate the ramp had reached when that request went.
            self.throttled_since = Some(ev.t_s);
            self.rate = self.ramp_rate(ev.t_s);
            self.step(now);
        }
        let paused = ev.retry_after_s.map(|ra| now + ra);
        if let Some(p) = paused.filter(|p| *p > self.pause_until) {
            // Asked to wait: the rate it was sent at is too high to keep; after the wait the
            // search resumes between the bounds, below it.
            if ev.t_s >= self.stretch_from - 1e-9 && self.single.is_none() {
                self.refused_rate = self.refused_rate.min(self.rate);
                self.resume_at = Some(p);
            }
            self.pause_until = p;
            self.step(now);
        }
    }

    /// Stops sending until the limiter has cleared: its Retry-After, else the current backoff;
    /// then a single request.
    fn wait(&mut self, now: f64, retry_after: Option<f64>) {
        self.refused_rate = self.refused_rate.min(self.rate);
        let pause = retry_after.unwrap_or(0.0).max(self.backoff);
        self.pause_until = self.pause_until.max(now + pause);
        self.single = Some(self.pause_until);
        // One request at the end of the pause; the next only if its answer is slow.
        self.rate = 1.0 / pause.max(1.0);
        self.step(now);
    }

    /// The next rate to try between the working bounds (the upper one also the lowest rate the
    /// limiter asked the search to stop at).
    fn between(&self) -> f64 {
        let lo = self.bounds.lower_per_s;
        let hi = self.bounds.upper_per_s.map(|u| u.min(self.refused_rate));
        match hi {
            Some(hi) if lo > 0.0 => (lo + hi) / 2.0,
            Some(hi) => hi / 2.0,
            None => (lo * 1.5).max(self.cfg.start_rate),
        }
    }

    fn ramp(&mut self, now: f64) {
        let r = self.ramp_rate(now);
        if r >= self.cfg.max_rate {
            let since = *self.at_max_since.get_or_insert(now);
            if now - since >= self.cfg.hold_at_max_s {
                self.done = Some(Done::NotReached);
            }
        }
    }

    fn throttled(&mut self, now: f64) {
        // Refit at most twice a second, on what can no longer be missing an answer.
        if now - self.last_fit < 0.5 || self.done.is_some() {
            return;
        }
        self.last_fit = now;
        let cutoff = now - 1.5 * self.max_latency - 0.01;
        let answered: Vec<Event> = self
            .events
            .iter()
            .copied()
            .filter(|e| e.t_s <= cutoff)
            .collect();
        let est = fit(&answered);
        let f = est.fit();
        self.bounds = bounds(&answered, &self.steps, f);
        self.estimate = self.bounds.middle().or(f.map(|f| f.sustained_rate_per_s));
        if self.converged(&answered, &est) {
            self.done = Some(Done::Stable);
            return;
        }
        if self.single.is_some() || now < self.pause_until {
            return;
        }
        if self.resume_at.take().is_some() {
            let r = self.between();
            self.set_rate(now, r);
            return;
        }
        let stretch: Vec<&Event> = answered
            .iter()
            .filter(|e| e.t_s >= self.stretch_from - 1e-9)
            .collect();
        let refused = stretch
            .iter()
            .filter(|e| e.verdict == Verdict::Refused)
            .count();
        if persistent(&stretch, self.rate) {
            // Refused throughout: stop hammering, let it clear, resume lower.
            let ra = stretch
                .iter()
                .filter_map(|e| e.retry_after_s)
                .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |x| x.max(r))));
            self.wait(now, ra);
            self.backoff = (self.backoff * 2.0).min(MAX_BACKOFF_S);
            return;
        }
        let burst = burst_bound(&answered, self.bounds.lower_per_s);
        let span = stretch.last().map_or(0.0, |l| l.t_s) - self.stretch_from;
        if refused == 0 && span >= quiet_s(self.rate, burst) {
            // No 429 at this rate for longer than any burst explains: climb.
            let hi = self.bounds.upper_per_s.unwrap_or(f64::INFINITY);
            let next = if hi.is_finite() && hi > self.rate {
                ((self.rate + hi) / 2.0).max(self.rate * 1.05)
            } else {
                self.rate * 1.5
            };
            self.set_rate(now, next);
            return;
        }
        // Refusals come between admissions: come down to a little above the upper bound, so
        // that each pair of 429s reads the rate again without wasting requests far above it.
        if let Some(hi) = self.bounds.upper_per_s {
            if refused > 0 && self.rate > 1.4 * hi {
                self.set_rate(now, ABOVE * hi);
            }
        }
    }

    /// Stable: the bounds within the precision asked over enough admitted requests, or a fixed
    /// window confirmed that no other model explains as well.
    fn converged(&self, answered: &[Event], est: &Estimate) -> bool {
        let Some(f) = est.fit() else {
            return false;
        };
        let admitted = f.evidence.admitted - f.evidence.admitted_before_429;
        let tight = self
            .bounds
            .relative_half_width()
            .is_some_and(|w| w <= self.cfg.target_error);
        if tight && admitted >= self.cfg.min_admitted {
            return true;
        }
        // A window is confirmed by three full ones, or by one the headers show opened at the
        // first request (its length then read from them).
        let rested = answered
            .first()
            .and_then(|e| e.headers)
            .is_some_and(|h| h.count <= 1);
        let windows = if rested { 1 } else { 3 };
        // And no other length explains the 429s as well (the client may have paused where
        // lengths differ), unless the headers said it.
        let length_settled = rested
            || f.evidence
                .other_window_error
                .is_none_or(|e| e >= 3.0 * f.fit_error && e - f.fit_error >= 1e-4);
        matches!(f.model, Model::FixedWindow | Model::SlidingWindow)
            && length_settled
            && f.evidence.full_windows >= windows
            && (rested || (admitted >= self.cfg.min_admitted && f.evidence.refused >= 5))
            && f.rate_error <= self.cfg.target_error
            && f.fit_error <= 0.01
            && f.alternatives.iter().all(|a| {
                // A fixed and a sliding window of the same count are paced alike.
                // A model whose rate is far from the window's is no rival reading of it (a
                // concurrency of one answer in flight explains a few 429s, at 500 req/s).
                let far = a.sustained_rate_per_s > 2.0 * f.sustained_rate_per_s
                    || a.sustained_rate_per_s < 0.5 * f.sustained_rate_per_s;
                matches!(a.model, Model::FixedWindow | Model::SlidingWindow)
                    || far
                    || a.ruled_out
                    || a.fit_error >= 3.0 * f.fit_error + 0.01
            })
    }

    fn command(&self) -> Command {
        let ramping = self.throttled_since.is_none();
        Command {
            rate: if ramping {
                self.cfg.start_rate
            } else {
                self.rate
            },
            growth: if ramping { self.cfg.growth } else { 1.0 },
            pause_until: self.pause_until,
            stop: self.done,
        }
    }
}

#[cfg(test)]
mod tests;
