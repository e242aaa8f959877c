//! `surge probe`'s search: the rule that moves the probe's rate as answers come, a pure function
//! of what it has seen (tested as a table of situations).
//!
//! It ramps (×`growth` per second from `start_rate`) until the first 429. From then on it honours
//! every Retry-After (the pause is the cheapest pacing there is: each costs one 429), holds its rate
//! until the fit has read the sustained rate between 429s, then sends at 1.25 × that estimate (so
//! the limiter stays busy and the estimate keeps improving, at one 429 in five), and stops when the
//! estimate is stable: its error at most `target_error` over at least `min_admitted` requests
//! admitted between 429s (a token bucket or a queue), or a fixed window sized from a rested start
//! or seen twice. Answers are fitted only once every answer to the requests sent before them can
//! have come (answers arrive in their latency's order, not in the order sent).

use surge_analysis::limit::file::Step;
use surge_analysis::limit::fit::fit;
use surge_analysis::limit::{Estimate, Event, Model, Verdict};

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
    /// The sustained rate's relative error that is stable enough.
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
            target_error: 0.03,
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
    last_refusal: f64,
    last_fit: f64,
    last_raise: f64,
    max_latency: f64,
    at_max_since: Option<f64>,
    /// A request admitted after a pause that followed 429s: a window reopened.
    reopened: bool,
    refused_after_reopen: bool,
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
            last_refusal: 0.0,
            last_fit: 0.0,
            last_raise: 0.0,
            max_latency: 0.0,
            at_max_since: None,
            reopened: false,
            refused_after_reopen: false,
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

    fn step(&mut self, t_s: f64) {
        let ramping = self.throttled_since.is_none();
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
            if ev.t_s > self.last_refusal && self.pause_until > self.last_refusal + 1.0 {
                self.reopened = self.throttled_since.is_some();
            }
        }
        if ev.verdict == Verdict::Refused {
            self.on_refusal(now, ev);
        }
        self.tick(now)
    }

    fn on_refusal(&mut self, now: f64, ev: Event) {
        if self.reopened {
            self.refused_after_reopen = true;
        }
        self.last_refusal = self.last_refusal.max(ev.t_s);
        let paused = ev.retry_after_s.map(|ra| now + ra);
        if let Some(p) = paused.filter(|p| *p > self.pause_until) {
            self.pause_until = p;
            self.step(now);
        }
        if self.throttled_since.is_none() {
            // Hold the rate the ramp had reached when that request went.
            self.throttled_since = Some(ev.t_s);
            self.rate = self.ramp_rate(ev.t_s);
            self.step(now);
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
        if now - self.last_fit >= 0.5 {
            self.last_fit = now;
            let cutoff = now - 1.5 * self.max_latency - 0.01;
            let answered: Vec<Event> = self
                .events
                .iter()
                .copied()
                .filter(|e| e.t_s <= cutoff)
                .collect();
            if let Estimate::Limit(f) = fit(&answered) {
                match f.model {
                    // A window is settled when the bucket cannot be it: its long Retry-After
                    // ruled it out, or it mispredicts clearly more. Else the search goes on.
                    Model::FixedWindow => {
                        let settled = f
                            .alternatives
                            .iter()
                            .all(|a| a.ruled_out || a.fit_error >= 3.0 * f.fit_error + 0.01);
                        let rested = answered
                            .first()
                            .and_then(|e| e.headers)
                            .is_some_and(|h| h.count <= 1);
                        if settled && (rested || self.refused_after_reopen) {
                            self.done = Some(Done::Stable);
                        }
                    }
                    _ if f.evidence.admitted_while_throttled >= 10 => {
                        self.estimate = Some(f.sustained_rate_per_s);
                        let want = (1.25 * f.sustained_rate_per_s).min(self.cfg.max_rate);
                        if (want / self.rate - 1.0).abs() > 0.05 {
                            self.rate = want;
                            self.last_raise = now;
                            self.step(now);
                        }
                        if f.rate_error <= self.cfg.target_error
                            && f.evidence.admitted_while_throttled >= self.cfg.min_admitted
                        {
                            self.done = Some(Done::Stable);
                        }
                    }
                    _ => {}
                }
            }
        }
        // No 429 for a while, and no pause to explain it: the limiter is not busy; send more.
        let quiet = (2.0f64).max(3.0 / self.rate);
        if now - self.last_refusal > quiet
            && now > self.pause_until + quiet
            && now - self.last_raise >= 1.0
        {
            self.rate = (self.rate * 1.25).min(self.cfg.max_rate);
            self.last_raise = now;
            self.step(now);
        }
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
