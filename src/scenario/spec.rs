//! The scenario file as written (TOML, deserialized with serde): raw values, not yet checked.
//!
//! [`super::plan`] turns this into a validated [`super::Plan`]; every field here is documented in
//! `scenarios/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A duration as written: `"10s"`, `"500ms"`, `"2m"`, or a number of seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDuration {
    /// humantime text such as `"1m 30s"`.
    Text(String),
    /// Seconds.
    Seconds(f64),
}

/// A loop count: a number, or `"forever"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawLoops {
    /// That many iterations per user.
    Count(i64),
    /// `"forever"` (or `-1`, JMeter's spelling, as a number).
    Text(String),
}

/// Think time: a constant, or a uniform range.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawThinkTime {
    /// Always this long.
    Constant(RawDuration),
    /// Uniform in `[min, max]`.
    Range {
        /// Lower bound.
        min: RawDuration,
        /// Upper bound.
        max: RawDuration,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawScenario {
    /// Short name: used in the report directory and every report.
    pub name: Option<String>,
    /// One or two sentences on what the scenario shows.
    pub description: Option<String>,
    /// Where requests go.
    pub target: Option<RawTarget>,
    /// How requests authenticate.
    pub auth: Option<RawAuth>,
    /// Variable sources.
    #[serde(default)]
    pub data: Vec<RawData>,
    /// The request sequence of one iteration.
    #[serde(default)]
    pub request: Vec<RawRequest>,
    /// Users and pacing (a single group running every request).
    pub load: Option<RawLoad>,
    /// Several groups, each with its own load and requests (instead of `[load]`).
    #[serde(default)]
    pub group: Vec<RawGroup>,
    /// Run groups one after another instead of together (JMeter's `serialize_threadgroups`).
    pub serialize_groups: Option<bool>,
    /// Hard caps.
    pub limits: Option<RawLimits>,
}

/// `[target]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawTarget {
    /// `https://api.example.com`, `http://127.0.0.1:8080` or `"mock"`.
    pub base_url: Option<String>,
    /// A Genesys Cloud region such as `us-east-1`.
    pub region: Option<String>,
    /// Where `/oauth/token` is served, when not derived from `region` or `base_url`.
    pub login_url: Option<String>,
    /// TCP connect timeout (default 10s).
    pub connect_timeout: Option<RawDuration>,
    /// Whole-request timeout (default 60s).
    pub timeout: Option<RawDuration>,
    /// `"auto"` (ALPN; default), `"http1"`, or `"http2"` (prior knowledge, for h2c).
    pub http: Option<String>,
    /// Keep connections alive between requests (default true).
    pub keep_alive: Option<bool>,
    /// Mock preset when `base_url = "mock"` (`seed`, `documented`, `unlimited`).
    pub mock_preset: Option<String>,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawAuth {
    /// `none`, `bearer` or `client_credentials`.
    pub kind: Option<String>,
    /// bearer: environment variable holding the token.
    pub token_env: Option<String>,
    /// bearer: file holding the token (relative to the scenario file).
    pub token_file: Option<String>,
    /// client_credentials: environment variable holding the client id.
    pub client_id_env: Option<String>,
    /// client_credentials: environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// client_credentials: how many tokens to spread users over (default 1).
    pub tokens: Option<i64>,
    /// client_credentials: refresh this long before `expires_in` runs out (default 60s).
    pub refresh_margin: Option<RawDuration>,
}

/// One `[[data]]` source.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawData {
    /// `csv`, `uuid`, `counter` or `list`.
    pub kind: Option<String>,
    /// csv: path relative to the scenario file.
    pub file: Option<String>,
    /// csv: field delimiter (default `,`).
    pub delimiter: Option<String>,
    /// csv: variable names for a file without a header row (JMeter's `variableNames`).
    pub columns: Option<Vec<String>>,
    /// csv with `columns`: the file still has a header row to skip (JMeter's `ignoreFirstLine`).
    pub skip_header: Option<bool>,
    /// uuid/counter/list: the variable name.
    pub var: Option<String>,
    /// counter: first value (default 1).
    pub start: Option<i64>,
    /// counter: increment (default 1).
    pub step: Option<i64>,
    /// list: the values.
    pub values: Option<Vec<String>>,
    /// `all` (one cursor shared by every user; default) or `per_thread`.
    pub share: Option<String>,
    /// `recycle` (default), `stop_thread` or `stop_test`.
    pub on_eof: Option<String>,
}

/// One `[[request]]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawRequest {
    /// The label in every report.
    pub name: Option<String>,
    /// HTTP method (default GET).
    pub method: Option<String>,
    /// Path and query, with `{var}` substitution.
    pub path: Option<String>,
    /// Extra headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template.
    pub body: Option<String>,
    /// Status codes counted as success for `on_error` (default: any 2xx or 3xx).
    pub expect_status: Option<Vec<u16>>,
}

/// One `[[group]]`: a thread group with its own requests.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawGroup {
    /// Its name (reports show it beside user numbers).
    pub name: Option<String>,
    /// Labels of the `[[request]]`s it runs, in order (default: all).
    pub requests: Option<Vec<String>>,
    /// Its users and pacing.
    pub load: Option<RawLoad>,
}

/// `[load]`: a JMeter thread group.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawLoad {
    /// Number of users (threads).
    pub threads: Option<i64>,
    /// Time over which the users start.
    pub ramp_up: Option<RawDuration>,
    /// Iterations per user: a number or `"forever"`.
    pub loops: Option<RawLoops>,
    /// Scheduler: stop every user this long after the delay.
    pub duration: Option<RawDuration>,
    /// Scheduler: wait this long before the first user starts.
    pub delay: Option<RawDuration>,
    /// Pause after each request.
    pub think_time: Option<RawThinkTime>,
    /// `continue`, `next_loop`, `stop_thread` or `stop_test`.
    pub on_error: Option<String>,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawLimits {
    /// Stop issuing after this many requests in all.
    pub max_requests: Option<i64>,
    /// Stop the run after this long.
    pub max_duration: Option<RawDuration>,
}
