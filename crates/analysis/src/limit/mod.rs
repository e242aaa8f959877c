//! Limit fits: which limiter explains what a server admitted and refused, at what sustained rate
//! and with what burst. Numbers only, from requests as the limiter saw them ([`Event`]s: when each
//! started, whether it was admitted or refused, its Retry-After and `inin-ratelimit-*` headers).
//!
//! Three models ([`Model`]): a token bucket / GCRA (rate R, burst B: a rested limiter admits B at
//! once, then R per second), a fixed window (L requests per window of W seconds, the window opening
//! at the first request after the previous one closed), and a queue (admissions as a token bucket,
//! but admitted requests wait: latency rises before the first 429). Each model is a pure replay
//! ([`replay`]); [`fit::fit`] estimates each model's parameters from the events, replays the events
//! through it, and names the model that mispredicts the fewest decisions. [`scope`] compares the
//! sustained rate of two searches (one token, then two) to tell a per-token limit from a shared one.
//!
//! Reads nothing but its inputs: `surge probe` feeds it every request it sent; the run diagnosis
//! ([`crate::diagnosis`]) reads its own per-second form of the same idea.

pub mod advice;
pub mod bounds;
pub mod concurrency;
pub mod file;
pub mod fit;
pub mod replay;
pub mod scope;
pub mod window;

use serde::{Deserialize, Serialize};

use surge_record::RateLimitHeaders;

/// A limiter model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Token bucket / GCRA: R per second sustained, B at once from rested. A bounded queue whose
    /// answers do not wait for it (a backend that accepts work and drains it at R) admits alike.
    TokenBucket,
    /// L requests per window of W seconds; the window opens at the first request after the
    /// previous one closed.
    FixedWindow,
    /// Admissions as a token bucket, but admitted requests wait in line: their latency rises
    /// before the first 429.
    Queue,
    /// At most L requests in any W seconds (a sliding log or counter); with `refusals_counted`
    /// refused requests count too (a penalty: refused for as long as the client sends above).
    SlidingWindow,
    /// At most N requests in flight; one more is refused (nginx `limit_conn`, a worker pool):
    /// the rate it admits is N over the service time.
    Concurrency,
}

impl Model {
    /// The name as written in `limit.json`.
    pub fn name(self) -> &'static str {
        match self {
            Model::TokenBucket => "token_bucket",
            Model::FixedWindow => "fixed_window",
            Model::Queue => "queue",
            Model::SlidingWindow => "sliding_window",
            Model::Concurrency => "concurrency",
        }
    }
}

/// What the limiter did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answered, not with a 429.
    Admitted,
    /// A 429.
    Refused,
    /// No answer the limiter can be read from (a transport error, a 5xx): left out of fits.
    Other,
}

/// One request as the limiter saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// When it was sent, seconds from the search's start.
    pub t_s: f64,
    /// Sent → answered, seconds.
    pub latency_s: f64,
    /// What the limiter did.
    pub verdict: Verdict,
    /// The 429's Retry-After, seconds.
    pub retry_after_s: Option<f64>,
    /// The answer's `inin-ratelimit-*` headers.
    pub headers: Option<RateLimitHeaders>,
    /// The token it was sent with (0 without auth).
    pub token: u32,
}

impl Event {
    /// An admitted request at `t_s` answered in `latency_s`.
    pub fn admitted(t_s: f64, latency_s: f64) -> Event {
        Event {
            t_s,
            latency_s,
            verdict: Verdict::Admitted,
            retry_after_s: None,
            headers: None,
            token: 0,
        }
    }

    /// A 429 at `t_s` with an optional Retry-After.
    pub fn refused(t_s: f64, retry_after_s: Option<f64>) -> Event {
        Event {
            t_s,
            latency_s: 0.001,
            verdict: Verdict::Refused,
            retry_after_s,
            headers: None,
            token: 0,
        }
    }
}

/// A fitted limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The model that mispredicts the fewest decisions.
    pub model: Model,
    /// Requests per second the limiter admits over time (fixed window: L / W).
    pub sustained_rate_per_s: f64,
    /// Relative standard uncertainty of that rate (0.03: ±3 %).
    pub rate_error: f64,
    /// Requests a rested limiter admits at once (token bucket, queue: B; a window: L;
    /// concurrency: N).
    pub burst: f64,
    /// The window, seconds (fixed or sliding window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Refused requests count toward the limit (sliding window): each 429 costs the future.
    #[serde(default)]
    pub refusals_counted: bool,
    /// Requests in flight at once it admits (concurrency only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// How far the model, replayed over the same requests, is from the server's decisions from
    /// the first 429 on (before it, every model fitted admits all): the mean gap between its
    /// running count of admissions and the server's, as a share of all the server admitted
    /// (0.01: off by 1 % on average; [`replay::mismatch_from`]).
    pub fit_error: f64,
    /// The other models' errors over the same requests, best first.
    pub alternatives: Vec<Alternative>,
    /// Admitted requests' median latency before the load rose, and just before the first 429
    /// (seconds): the queue model's evidence.
    pub latency_before_s: f64,
    /// See `latency_before_s`.
    pub latency_at_onset_s: f64,
    /// What the fit stands on.
    pub evidence: Evidence,
}

/// Another model's fit over the same requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// The model.
    pub model: Model,
    /// Its sustained rate, requests per second.
    pub sustained_rate_per_s: f64,
    /// Its fit error ([`Fit::fit_error`]).
    pub fit_error: f64,
    /// Ruled out whatever its error: the 429s asked to wait far longer than it would.
    #[serde(default)]
    pub ruled_out: bool,
}

/// The requests a fit stands on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Requests sent (every verdict).
    pub requests: u64,
    /// Admitted.
    pub admitted: u64,
    /// 429s.
    pub refused: u64,
    /// First request to last, seconds.
    pub seconds: f64,
    /// Seconds from the first 429 to the last: the stretch the sustained rate is read from.
    pub throttled_s: f64,
    /// Admitted requests inside that stretch.
    pub admitted_while_throttled: u64,
    /// The first 429, seconds from the first request.
    pub first_429_s: Option<f64>,
    /// Admitted before the first 429.
    pub admitted_before_429: u64,
    /// Seconds before the first 429 the burst was read over (from the last moment the limiter
    /// was full): the rate's error weighs on the burst over this span.
    #[serde(default)]
    pub burst_span_s: f64,
    /// Smallest and largest Retry-After, seconds.
    pub retry_after_s: Option<(f64, f64)>,
    /// `inin-ratelimit-allowed` when the answers carried it (the most common value).
    pub header_allowed: Option<u32>,
    /// Windows of the fitted fixed window that filled up (refused), when one was fitted: its
    /// count is read from them, and two or more confirm its length.
    #[serde(default)]
    pub full_windows: u32,
    /// The fitted window's error at the best other length (a length is settled when this is
    /// clearly worse than the fit's own error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_window_error: Option<f64>,
}

/// What a search found: a fitted limit, or none reached.
// A handful per probe: boxing the fit would cost every reader a deref for no memory worth saving.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "snake_case")]
pub enum Estimate {
    /// Refusals came; a model was fitted.
    Limit(Fit),
    /// No 429 at all: the limit is above what was sent.
    NotReached {
        /// Requests admitted.
        admitted: u64,
        /// The highest admitted rate over any second, requests per second.
        peak_rate_per_s: f64,
        /// Seconds searched.
        seconds: f64,
    },
    /// Nothing the limiter answered.
    NoData,
}

impl Estimate {
    /// The fit, when one was made.
    pub fn fit(&self) -> Option<&Fit> {
        match self {
            Estimate::Limit(f) => Some(f),
            _ => None,
        }
    }
}
