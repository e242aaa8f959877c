//! The adaptive 429 policy: each token's users share one rate that the client finds while it
//! runs. It doubles each second of 2xx answers until the first sign of the limit (slow start),
//! then rises by a share of the rate it was cut from per second (additive increase) and halves on
//! a 429 (multiplicative decrease), once per congestion (a 429 to a request sent before the last
//! cut is the same one). A Retry-After holds every user of the token until it has passed; the
//! `inin-ratelimit-*` headers near exhaustion slow the token to what is left of its window before
//! any 429 comes.
//!
//! The rule ([`Aimd::on`]) is a pure function of the state, the time and the signal, tested as a
//! table; [`AdaptivePacer`] holds one state per token and makes users wait their turn.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use surge_plan::Adaptive;
use surge_record::RateLimitHeaders;

/// `inin-ratelimit-count / allowed` from which the headers slow the token down.
const NEAR_EXHAUSTION: f64 = 0.9;
/// The slowest the rate goes: one request every 20 s.
const MIN_RATE: f64 = 0.05;
/// How far ahead a waiting user reserves its slot, seconds: no further, so that the rate in force
/// when the slot comes is the one that spaced it.
const HORIZON_S: f64 = 0.25;

/// One token's rate and what it remembers. Times are seconds from the run's start.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Aimd {
    /// Requests per second the token's users may send now.
    rate: f64,
    /// Doubling each second, until the first sign of the limit.
    slow_start: bool,
    /// The rate the last cut was made from: the increase is a share of it.
    ceiling: f64,
    /// When the rate was last cut: a 429 to a request sent before is the same congestion.
    cut_at: f64,
    /// No request before this (a Retry-After).
    pause_until: f64,
    /// When the rate last rose.
    raised_at: f64,
    /// The rate before the headers' budget held it down, while they do.
    before_budget: Option<f64>,
    /// A request sent since the last cut was admitted: the limiter cleared, so the next 429
    /// opens a new episode. Until then 429s are the same episode (a limiter that counts refused
    /// requests keeps refusing for a while after the client slowed), cut again only when they
    /// persist [`PERSIST_S`] past the cut.
    admitted_since_cut: bool,
}

/// 429s to requests sent this long after a cut, with nothing admitted since, cut again.
const PERSIST_S: f64 = 2.0;

/// What an answer said.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Signal {
    /// Not a 429; maybe with the rate-limit headers.
    Admitted {
        /// When its request was sent.
        sent_at: f64,
        /// Its `inin-ratelimit-*` headers.
        headers: Option<RateLimitHeaders>,
    },
    /// A 429.
    Throttled {
        /// When its request was sent.
        sent_at: f64,
        /// Its Retry-After, seconds.
        retry_after: Option<f64>,
    },
}

impl Aimd {
    /// A token starting at `rate`, in slow start.
    fn new(rate: f64) -> Aimd {
        Aimd {
            rate,
            slow_start: true,
            ceiling: rate,
            cut_at: 0.0,
            pause_until: 0.0,
            raised_at: 0.0,
            before_budget: None,
            admitted_since_cut: true,
        }
    }

    /// The rule: moves the rate on `sig` at `now`. `sent_rate` is what the token's users sent
    /// over the last second: the rate does not grow past twice that (nor is it cut on that
    /// account), so a token its users leave idle does not bank a burst.
    fn on(&mut self, now: f64, sig: Signal, sent_rate: f64, p: &Adaptive) {
        match sig {
            Signal::Throttled {
                sent_at,
                retry_after,
            } => {
                self.pause_until = self.pause_until.max(now + retry_after.unwrap_or(0.0));
                let new_episode = self.admitted_since_cut
                    || sent_at >= self.cut_at + PERSIST_S.max(retry_after.unwrap_or(0.0));
                if sent_at >= self.cut_at && new_episode {
                    let sending = if sent_rate > 0.0 {
                        self.rate.min(sent_rate)
                    } else {
                        self.rate
                    };
                    self.ceiling = sending;
                    self.rate = (sending * p.decrease).max(MIN_RATE);
                    self.cut_at = now;
                    self.raised_at = now;
                    self.slow_start = false;
                    self.before_budget = None;
                    self.admitted_since_cut = false;
                }
            }
            Signal::Admitted { sent_at, headers } => {
                if sent_at >= self.cut_at {
                    self.admitted_since_cut = true;
                }
                if let Some(h) = headers.filter(|h| h.allowed > 0) {
                    let used = f64::from(h.count) / f64::from(h.allowed);
                    let left = f64::from(h.allowed.saturating_sub(h.count));
                    let budget = (left / f64::from(h.reset.max(1))).max(MIN_RATE);
                    if used >= NEAR_EXHAUSTION && budget < self.rate {
                        self.before_budget.get_or_insert(self.rate);
                        self.rate = budget;
                        self.slow_start = false;
                        self.raised_at = now;
                        return;
                    }
                    if used < NEAR_EXHAUSTION {
                        // A new window: the budget no longer binds.
                        if let Some(r) = self.before_budget.take() {
                            self.rate = r;
                            self.raised_at = now;
                            return;
                        }
                    }
                }
                if self.before_budget.is_some() || sent_at < self.cut_at {
                    return;
                }
                let dt = (now - self.raised_at).max(0.0);
                self.raised_at = now;
                let grown = if self.slow_start {
                    self.rate * 2f64.powf(dt)
                } else {
                    self.rate + p.increase * self.ceiling * dt
                };
                // Growth stops at twice what is sent; it never cuts the rate.
                let cap = (2.0 * sent_rate).max(p.start_rate).max(self.rate);
                self.rate = grown.min(cap);
            }
        }
    }
}

/// One token's pacing state.
#[derive(Debug)]
struct TokenState {
    aimd: Aimd,
    /// The next free slot, seconds.
    next: f64,
    /// Bumped when a cut or a pause voids the slots already handed out.
    generation: u64,
    /// Requests sent since `since`, and the rate measured over the last full second.
    sent: u32,
    since: f64,
    sent_rate: f64,
}

/// The adaptive pacer: one [`Aimd`] per token (user `u` uses token `u mod tokens`).
#[derive(Debug)]
pub(crate) struct AdaptivePacer {
    params: Adaptive,
    epoch: Instant,
    tokens: Vec<Mutex<TokenState>>,
}

impl AdaptivePacer {
    pub(super) fn new(params: Adaptive, tokens: u32) -> AdaptivePacer {
        let start = params.start_rate;
        AdaptivePacer {
            params,
            epoch: Instant::now(),
            tokens: (0..tokens.max(1))
                .map(|_| {
                    Mutex::new(TokenState {
                        aimd: Aimd::new(start),
                        next: 0.0,
                        generation: 0,
                        sent: 0,
                        since: 0.0,
                        sent_rate: 0.0,
                    })
                })
                .collect(),
        }
    }

    pub(super) fn applies(&self, step: usize) -> bool {
        self.params.steps.as_ref().is_none_or(|s| s.contains(&step))
    }

    fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.epoch).as_secs_f64()
    }

    fn state(&self, user: u32) -> std::sync::MutexGuard<'_, TokenState> {
        self.tokens[user as usize % self.tokens.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this user's token's next slot; the time waited, or None when stopped. A slot is
    /// reserved only when it is due within [`HORIZON_S`], so a rate that moves meanwhile applies
    /// to every user still waiting (a cut or a pause voids the reservations already made).
    pub(super) async fn acquire(&self, user: u32, stop: &CancellationToken) -> Option<Duration> {
        let start = Instant::now();
        loop {
            let (at, reserved, generation) = {
                let mut st = self.state(user);
                let now = self.secs(Instant::now());
                let head = now.max(st.next).max(st.aimd.pause_until);
                // (A millisecond of slack: waking just short of the horizon must not spin.)
                let reserved = head - now <= HORIZON_S + 0.001;
                if reserved {
                    st.next = head + 1.0 / st.aimd.rate.max(MIN_RATE);
                }
                (
                    if reserved { head } else { head - HORIZON_S },
                    reserved,
                    st.generation,
                )
            };
            let when = self.epoch + Duration::from_secs_f64(at);
            tokio::select! {
                biased;
                _ = stop.cancelled() => return None,
                _ = sleep_until(when) => {}
            }
            if !reserved {
                continue;
            }
            let mut st = self.state(user);
            if st.generation == generation {
                let now = self.secs(Instant::now());
                st.sent += 1;
                if now - st.since >= 1.0 {
                    st.sent_rate = f64::from(st.sent) / (now - st.since);
                    st.sent = 0;
                    st.since = now;
                }
                return Some(Instant::now() - start);
            }
            // A cut or a pause came while this user waited: its slot is void, take a new one.
        }
    }

    /// Tells the token of `user` what an answer said.
    pub(super) fn observe(
        &self,
        user: u32,
        sent: Instant,
        status: Option<u16>,
        retry_after_ms: Option<u32>,
        headers: Option<RateLimitHeaders>,
    ) {
        let Some(status) = status else { return };
        let (now, sent_at) = (self.secs(Instant::now()), self.secs(sent));
        let sig = if status == 429 {
            Signal::Throttled {
                sent_at,
                retry_after: retry_after_ms.map(|ms| f64::from(ms) / 1000.0),
            }
        } else {
            Signal::Admitted { sent_at, headers }
        };
        let mut st = self.state(user);
        let before = st.aimd;
        let sent_rate = st.sent_rate;
        st.aimd.on(now, sig, sent_rate, &self.params);
        if st.aimd.rate < before.rate || st.aimd.pause_until > before.pause_until {
            st.generation += 1;
            st.next = now.max(st.aimd.pause_until);
        }
    }
}

#[cfg(test)]
mod tests;
