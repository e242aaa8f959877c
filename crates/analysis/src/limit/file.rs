//! `limit.json`: what `surge probe` found. The limit (model, sustained rate, burst, window, the
//! fit's error), its scope (per token or shared, when tested), the evidence (requests spent,
//! seconds, 429s seen), each search with its steps over time and its own `result.json`, and the
//! pace that keeps under the limit (`surge run --pace-from limit.json`).

use serde::{Deserialize, Serialize};

use super::advice::{self, Advice, Basis, Measured};
use super::bounds::{reconcile, RateBounds};
use super::scope::{scope_of, Scope, ScopeFinding};
use super::{Estimate, Model};
use surge_record::pace::LIMIT_SCHEMA;
use surge_record::result::{ScenarioInfo, TargetInfo, Tool};

/// The `schema_version` of `limit.json`. Version 2 added the rate's bounds (`rate_bounds`,
/// each search's `bounds`), `refused_throughout` and the advice's `from_lower_bound`; a version 1
/// file reads as one without them.
pub const LIMIT_SCHEMA_VERSION: u32 = 2;

/// A change of a search's rate or pause, for the page that shows the search over time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// When, seconds from the search's start.
    pub t_s: f64,
    /// The rate from then on, requests per second.
    pub rate_per_s: f64,
    /// Factor per second the rate grows by from then on (1: steady; more while ramping).
    pub growth: f64,
    /// Paused until then, seconds from the start (a Retry-After).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_until_s: Option<f64>,
    /// The search's estimate of the sustained rate then, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_per_s: Option<f64>,
}

impl Step {
    /// The rate in force at `t` (at or after this step's time).
    pub fn rate_at(&self, t: f64) -> f64 {
        self.rate_per_s * self.growth.powf((t - self.t_s).max(0.0))
    }
}

/// Why a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchEnd {
    /// The estimate was stable.
    Stable,
    /// No 429 at the most it sends.
    NotReached,
    /// The request budget ran out first.
    MaxRequests,
    /// The time budget ran out first.
    MaxDuration,
    /// Stopped from outside (Ctrl-C).
    Cancelled,
    /// The scenario stopped it (its data ran out, or `on_error = "stop_test"`).
    Stopped,
}

/// One search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Tokens its requests were spread over.
    pub tokens: u32,
    /// Its recording, relative to `limit.json` (`search-1-token/result.json`).
    pub result: String,
    /// What it found.
    pub estimate: Estimate,
    /// Why it ended.
    pub end: SearchEnd,
    /// Requests it sent.
    pub requests: u64,
    /// 429s among them.
    pub throttled: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// Its rate and pauses over time.
    pub steps: Vec<Step>,
    /// What its requests proved of the sustained rate, whatever the model (absent in files of
    /// schema version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<RateBounds>,
}

/// Whether the scope experiment ran, and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "tested", rename_all = "snake_case")]
pub enum ScopeTest {
    /// Not asked for (`--scope tokens` not given), or not possible; says why.
    No {
        /// Why not.
        why: String,
    },
    /// Ran: two tokens against one.
    Yes(ScopeFinding),
}

/// What all the searches spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Requests sent.
    pub requests: u64,
    /// Seconds.
    pub seconds: f64,
    /// 429s seen.
    pub throttled: u64,
}

/// `limit.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitFile {
    /// Always `surge/limit`.
    pub schema: String,
    /// [`LIMIT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// The scenario probed.
    pub scenario: ScenarioInfo,
    /// Where.
    pub target: TargetInfo,
    /// When, RFC 3339 UTC.
    pub started_at: String,
    /// On virtual time against the in-process mock.
    pub simulated: bool,
    /// The model that fits the one-token search best (None: no limit reached).
    pub model: Option<Model>,
    /// Its sustained rate, requests per second, for one token (shared or per token: `scope`).
    pub sustained_rate_per_s: Option<f64>,
    /// Relative standard error of that rate (the bounds' half-width when the model's own
    /// reading falls outside them).
    pub rate_error: Option<f64>,
    /// The one-token search's bounds on the sustained rate: what it proved whatever the model,
    /// and all it knows when its budget ran out first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_bounds: Option<RateBounds>,
    /// Requests a rested limiter admits at once (fixed window: per window).
    pub burst: Option<f64>,
    /// The window, seconds (fixed or sliding window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Requests in flight at once the limiter admits (a concurrency limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// The limiter counts refused requests (each 429 costs the future), or refused every
    /// request for a second or more at some rate.
    #[serde(default)]
    pub penalty: bool,
    /// The fit's error (see `analysis::limit::Fit::fit_error`).
    pub fit_error: Option<f64>,
    /// `per_token`, `shared`, `unclear` or `not_tested`.
    pub scope: Scope,
    /// The scope experiment.
    pub scope_test: ScopeTest,
    /// What the searches spent.
    pub evidence: Spent,
    /// Each search, one token first.
    pub searches: Vec<SearchRecord>,
    /// The pace that keeps under the limit (`surge run --pace-from limit.json`).
    pub advice: Option<Advice>,
    /// The summary in words, as the terminal printed it (`headline`, `recommendation`).
    pub words: Words,
}

/// The words `limit.json` keeps, as the terminal printed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Words {
    /// The summary lines.
    pub headline: Vec<String>,
    /// The recommendation, or why there is none.
    pub recommendation: String,
}

impl LimitFile {
    /// The schema name a limit file carries.
    pub const SCHEMA: &'static str = LIMIT_SCHEMA;
}

/// Builds `limit.json` (its words left empty, for the phrasing to fill) from the searches, one
/// token first: the limit is the one-token search's fit, the scope the two searches' comparison,
/// the pace advised for a batch of `batch` requests over `tokens` tokens (the scenario's).
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    scenario: &ScenarioInfo,
    target: TargetInfo,
    started: time::OffsetDateTime,
    simulated: bool,
    searches: Vec<SearchRecord>,
    scope_asked: bool,
    batch: Option<u64>,
    tokens: u32,
) -> LimitFile {
    let fit = searches.first().and_then(|s| s.estimate.fit()).cloned();
    let scope_test = match (searches.first(), searches.get(1)) {
        (Some(one), Some(two)) => match scope_of(
            &one.estimate,
            one.bounds.as_ref(),
            &two.estimate,
            two.bounds.as_ref(),
        ) {
            Some(f) => ScopeTest::Yes(f),
            None => ScopeTest::No {
                why: "the one-token search found no limit to compare with".into(),
            },
        },
        _ if scope_asked => ScopeTest::No {
            why: "the budget ran out before the two-token search".into(),
        },
        _ => ScopeTest::No {
            why: "not asked for: add --scope tokens".into(),
        },
    };
    let per_token = matches!(&scope_test, ScopeTest::Yes(f) if f.scope == Scope::PerToken);
    let bounds = searches.first().and_then(|s| s.bounds);
    // The rate as the fit and the bounds agree on it.
    let rate = fit.as_ref().map(|f| match &bounds {
        Some(b) => reconcile(f.sustained_rate_per_s, f.rate_error, b),
        None => (f.sustained_rate_per_s, f.rate_error),
    });
    let batch_of = batch.map(|n| (n, tokens));
    let advice = fit.as_ref().zip(rate).and_then(|(f, (r, e))| {
        let span = f.evidence.burst_span_s;
        let penalty = is_penalty(f, bounds.as_ref());
        let m = Measured {
            model: f.model,
            rate_per_s: r,
            rate_error: e,
            burst: f.burst,
            burst_error: match f.model {
                Model::FixedWindow | Model::SlidingWindow | Model::Concurrency => 0.0,
                _ => r * e * span + 1.0,
            },
            window_s: f.window_s,
            per_token,
            tokens: 1,
            penalty,
        };
        advice::advise(&m, Basis::Probe, batch_of)
            .ok()
            .or_else(|| advice::from_lower_bound(bounds.as_ref()?, &m, batch_of))
    });
    let spent = Spent {
        requests: searches.iter().map(|s| s.requests).sum(),
        seconds: searches.iter().map(|s| s.seconds).sum(),
        throttled: searches.iter().map(|s| s.throttled).sum(),
    };
    LimitFile {
        schema: LIMIT_SCHEMA.into(),
        schema_version: LIMIT_SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: scenario.clone(),
        target,
        started_at: started
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        simulated,
        model: fit.as_ref().map(|f| f.model),
        sustained_rate_per_s: rate.map(|r| r.0),
        rate_error: rate.map(|r| r.1),
        rate_bounds: bounds,
        burst: fit.as_ref().map(|f| f.burst),
        window_s: fit.as_ref().and_then(|f| f.window_s),
        max_in_flight: fit.as_ref().and_then(|f| f.max_in_flight),
        penalty: fit.as_ref().is_some_and(|f| is_penalty(f, bounds.as_ref())),
        fit_error: fit.as_ref().map(|f| f.fit_error),
        scope: match &scope_test {
            ScopeTest::Yes(f) => f.scope,
            ScopeTest::No { .. } => Scope::NotTested,
        },
        scope_test,
        evidence: spent,
        searches,
        advice,
        words: Words {
            headline: Vec::new(),
            recommendation: String::new(),
        },
    }
}

/// Each 429 costs the future: the fit found refused requests counted, or the limiter refused
/// everything for a while at some rate and no fixed window (which refuses until it reopens
/// whatever the client does) explains it.
fn is_penalty(f: &super::Fit, bounds: Option<&RateBounds>) -> bool {
    f.refusals_counted
        || (f.model != Model::FixedWindow && bounds.is_some_and(|b| b.refused_throughout))
}
