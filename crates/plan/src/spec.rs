//! The scenario file as written (TOML, deserialized with serde): raw values, not yet checked.
//!
//! [`super::plan`] turns this into a validated [`super::Plan`]; every field here is documented in
//! `scenarios/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A duration as written: a number of seconds, or text in the one duration grammar
/// ([`surge_record::duration::GRAMMAR`]). Checked by [`super::parse_duration`].
#[derive(Debug, Clone, PartialEq)]
pub enum RawDuration {
    /// Text such as `"1m 30s"`.
    Text(String),
    /// Seconds.
    Seconds(f64),
}

/// A loop count: a number, or `"forever"`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLoops {
    /// That many iterations per user (a number beyond i64 is `i64::MAX`, refused as too large).
    Count(i64),
    /// `"forever"` (or `-1`, JMeter's spelling, as a number).
    Text(String),
}

/// Think time: a constant, a uniform range, or a Gaussian or Poisson pause.
#[derive(Debug, Clone, PartialEq)]
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
    /// `|gaussian + N(0, 1) × deviation|` (JMeter's Gaussian Random Timer).
    Gaussian {
        /// The mean (JMeter's constant delay offset).
        gaussian: RawDuration,
        /// The standard deviation.
        deviation: RawDuration,
    },
    /// `offset + Poisson(λ)` ms (JMeter's Poisson Random Timer).
    Poisson {
        /// λ, the mean of the random part.
        poisson: RawDuration,
        /// Added to each pause (default 0).
        offset: Option<RawDuration>,
    },
}

/// `pace`: a rate each request of the group is held to.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawPace {
    /// Requests per second (a number) or `"30/m"`, `"4.5/s"`.
    pub rate: Option<RawRate>,
    /// `user` (each user at the rate; default), `group` (the group's users together) or
    /// `all` (every group with `per = "all"` together).
    pub per: Option<String>,
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
    /// What the client does on HTTP 429 (and optionally 503).
    pub on_429: Option<RawOn429>,
    /// Pass/fail gates (`[[threshold]]`).
    #[serde(default)]
    pub threshold: Vec<RawThreshold>,
    /// The step program of one iteration (labels and control tables); default: every request
    /// once, in order.
    pub steps: Option<Vec<toml::Value>>,
    /// Each user's cookie jar.
    pub cookies: Option<RawCookies>,
    /// Each user's HTTP cache.
    pub cache: Option<RawCache>,
}

/// `[cache]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawCache {
    /// Keep an HTTP cache per user for GET requests (default false).
    pub enabled: Option<bool>,
    /// A fresh entry (`Cache-Control: max-age`, `Expires`) is not requested again (default true).
    pub use_expires: Option<bool>,
    /// Empty each user's cache when it starts an iteration (default false).
    pub clear_each_iteration: Option<bool>,
    /// Most URLs a user keeps (default 5000).
    pub max_entries: Option<i64>,
}

/// `[cookies]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawCookies {
    /// Keep a cookie jar per user: store what answers set, send what applies (default true).
    pub enabled: Option<bool>,
    /// Empty each user's jar when it starts an iteration (default false).
    pub clear_each_iteration: Option<bool>,
}

/// One `[[threshold]]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawThreshold {
    /// The expression, e.g. `"p95(publish) < 800ms"` or `"rate(429) > 5% for 10s"`.
    pub expr: Option<String>,
    /// Shown in verdicts instead of the expression.
    pub name: Option<String>,
    /// Stop the run as soon as this sustained threshold fails (default false).
    pub abort_on_fail: Option<bool>,
}

/// A pacing rate: a number per second, or text such as `"270/m"`, `"4.5/s"`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawRate {
    /// Per second.
    PerSecond(f64),
    /// `N/s`, `N/m`, `N/h`.
    Text(String),
}

/// `[on_429]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawOn429 {
    /// `none` (default), `retry_after`, `backoff`, `pace`, `adaptive`.
    pub policy: Option<String>,
    /// With `pace`: the retry policy for 429s that still come (`none`, `retry_after`, `backoff`).
    pub retry: Option<String>,
    /// Attempts in all, the first included (default 5).
    pub max_attempts: Option<i64>,
    /// retry_after: wait when the header is missing, 0 or unusable (default 3s, as the Java SDK).
    pub fallback: Option<RawDuration>,
    /// Longest single wait (default 60s): longer Retry-After values are clamped to it.
    pub cap: Option<RawDuration>,
    /// retry_after: give up at once when Retry-After exceeds this (the SDKs use 180s).
    pub give_up_above: Option<RawDuration>,
    /// backoff: the first wait's upper bound (default 1s); doubles each attempt, full jitter.
    pub base: Option<RawDuration>,
    /// Also retry 503 responses (default false).
    pub also_503: Option<bool>,
    /// pace: the client-side rate shared by every user, or `"from:FILE"` (a result.json or
    /// limit.json whose recommended pace to use); adaptive: the rate to start from.
    pub rate: Option<RawRate>,
    /// pace: requests that may go at once (default 1: evenly spaced).
    pub burst: Option<i64>,
    /// pace: a fixed window: at most `rate × window` requests per window, instead of a bucket.
    pub window: Option<RawDuration>,
    /// pace: one pacer per token (default false: one for all users together).
    pub per_token: Option<bool>,
    /// pace: at most this many paced requests in flight at once (a concurrency limit); with it,
    /// `rate` may be left out.
    pub max_in_flight: Option<i64>,
    /// adaptive: share of the rate at the last 429 added per second of 2xx answers (default 0.05).
    pub increase: Option<f64>,
    /// adaptive: factor the rate is multiplied by on a 429 (default 0.5).
    pub decrease: Option<f64>,
    /// pace and adaptive: only these request labels are paced (default all).
    pub labels: Option<Vec<String>>,
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
    /// Mock preset when `base_url = "mock"` (`seed`, `documented`, `unlimited`, `bucket`).
    pub mock_preset: Option<String>,
    /// Forward proxy `http://host:port`, or `"none"` (default: the environment's).
    pub proxy: Option<String>,
    /// Hosts that go direct (`NO_PROXY` forms), added to the environment's `NO_PROXY`.
    pub no_proxy: Option<String>,
    /// Environment variable holding the proxy's `user:password`.
    pub proxy_credentials_env: Option<String>,
    /// PEM file of extra certificate authorities (relative to the scenario).
    pub ca_cert: Option<String>,
    /// PEM client certificate for mutual TLS (with `client_key`).
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<String>,
    /// PKCS#12 bundle of a client certificate and its key (instead of the two PEM files).
    pub client_p12: Option<String>,
    /// Environment variable holding the password of `client_p12`.
    pub client_p12_password_env: Option<String>,
    /// `HOST:PORT:ADDRESS` mappings, as curl's `--resolve`.
    pub resolve: Option<Vec<String>>,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawAuth {
    /// `none`, `bearer`, `client_credentials`, `basic` or `digest`.
    pub kind: Option<String>,
    /// basic/digest: environment variable holding the user name.
    pub username_env: Option<String>,
    /// basic/digest: environment variable holding the password.
    pub password_env: Option<String>,
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
    /// `csv`, `uuid`, `counter`, `list`, `random`, `per_user` or `env`.
    pub kind: Option<String>,
    /// env: the environment variable holding the value (a secret, read at run time).
    pub env: Option<String>,
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
    /// counter: the last value; the next one starts again at `start` (JMeter's maximum).
    pub end: Option<i64>,
    /// counter/random: how values are written, JMeter's number format: `"000"` pads to three
    /// digits, other text is kept (`"user_000"`).
    pub format: Option<String>,
    /// random: the smallest value.
    pub min: Option<i64>,
    /// random: the largest value.
    pub max: Option<i64>,
    /// per_user: one row of values per user (user n takes row (n - 1) mod rows).
    pub rows: Option<Vec<Vec<String>>>,
    /// list: the values.
    pub values: Option<Vec<String>>,
    /// `all` (one cursor shared by every user; default) or `per_thread`.
    pub share: Option<String>,
    /// `recycle` (default), `stop_thread` or `stop_test`.
    pub on_eof: Option<String>,
    /// With `[[group]]`s: only these groups' users draw from it (default: every group), as a
    /// JMeter CSV Data Set placed inside one thread group.
    pub groups: Option<Vec<String>>,
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
    /// A `multipart/form-data` body: form fields and files (`[[request.multipart]]`).
    #[serde(default)]
    pub multipart: Vec<super::multipart::RawPart>,
    /// Status codes counted as success for `on_error` (default: any 2xx or 3xx).
    pub expect_status: Option<Vec<u16>>,
    /// Values read from the answer into the user's variables (`[[request.extract]]`).
    #[serde(default)]
    pub extract: Vec<super::conversation::RawExtract>,
    /// Named checks of the answer (`[[request.assert]]`).
    #[serde(default)]
    pub assert: Vec<super::conversation::RawAssert>,
    /// Repeat the request until a condition on its answer holds (`[request.poll]`).
    pub poll: Option<super::conversation::RawPoll>,
}

/// One `[[group]]`: a thread group with its own requests.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawGroup {
    /// Its name (reports show it beside user numbers).
    pub name: Option<String>,
    /// Labels of the `[[request]]`s it runs, in order (default: all).
    pub requests: Option<Vec<String>>,
    /// Its step program (labels and control tables), instead of `requests`.
    pub steps: Option<Vec<toml::Value>>,
    /// Its users and pacing.
    pub load: Option<RawLoad>,
    /// `setup` (runs before the main groups, as JMeter's setUp Thread Group), `main`
    /// (default) or `teardown` (after them).
    pub phase: Option<String>,
    /// setup: variables whose values the main and teardown groups' users start with (JMeter's
    /// properties set in a setUp group, e.g. a token fetched once).
    pub export: Option<Vec<String>>,
}

/// One stage of a `stages` or `ramping_arrival_rate` profile.
#[derive(Debug, Clone, Deserialize)]
pub struct RawStage {
    /// How long the stage lasts.
    pub duration: RawDuration,
    /// Users (closed) or arrivals per `time_unit` (open) reached at its end.
    pub target: f64,
}

/// `[load]`: a profile (JMeter thread group by default).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawLoad {
    /// `thread_group` (default), `stepping`, `spike`, `stages`, `constant_arrival_rate`,
    /// `ramping_arrival_rate`.
    pub profile: Option<String>,
    /// stepping/stages: users at the start (default 0).
    pub start_users: Option<i64>,
    /// stepping: users added at each step.
    pub step_users: Option<i64>,
    /// stepping: time between steps.
    pub step_every: Option<RawDuration>,
    /// stepping: users at the top; arrival rates: most users ever allocated.
    pub max_users: Option<i64>,
    /// stepping: how long to hold the top.
    pub hold: Option<RawDuration>,
    /// stepping: users removed at each step down (optional).
    pub step_down_users: Option<i64>,
    /// stepping: time between steps down (default `step_every`).
    pub step_down_every: Option<RawDuration>,
    /// spike: users before and after the spike.
    pub base_users: Option<i64>,
    /// spike: users during the spike.
    pub peak_users: Option<i64>,
    /// spike: when the spike starts.
    pub spike_at: Option<RawDuration>,
    /// spike: how long it lasts at its peak.
    pub spike_for: Option<RawDuration>,
    /// spike: time to go up to the peak and back down (default 0: a jump).
    pub spike_ramp: Option<RawDuration>,
    /// stages / ramping_arrival_rate: the stages.
    pub stages: Option<Vec<RawStage>>,
    /// constant_arrival_rate: iterations per `time_unit`.
    pub rate: Option<f64>,
    /// ramping_arrival_rate: iterations per `time_unit` at the start (default 0).
    pub start_rate: Option<f64>,
    /// arrival rates: the unit of `rate` (default `1s`).
    pub time_unit: Option<RawDuration>,
    /// arrival rates: users started before the first arrival (default: enough for 1 s of rate).
    pub pre_allocated_users: Option<i64>,
    /// thread_group: number of users (threads).
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
    /// Hold each request to a rate (JMeter's Constant and Precise Throughput Timers).
    pub pace: Option<RawPace>,
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

/// The fields serde expects of the table at `parent` (a dotted path, indices ignored:
/// `group[1].load` → `group.load`), read from the derived `Deserialize` impls themselves, so
/// they never drift from the structs above. None for a table with free keys (`headers`) or an
/// unknown path.
pub fn known_fields(parent: &str) -> Option<&'static [&'static str]> {
    let segs: Vec<&str> = parent
        .split('.')
        .filter(|s| !s.is_empty())
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    match segs.as_slice() {
        [] => fields_of::<RawScenario>(),
        ["target"] => fields_of::<RawTarget>(),
        ["auth"] => fields_of::<RawAuth>(),
        ["data"] => fields_of::<RawData>(),
        ["request"] => fields_of::<RawRequest>(),
        ["request", "extract"] => fields_of::<super::conversation::RawExtract>(),
        ["request", "assert"] => fields_of::<super::conversation::RawAssert>(),
        ["request", "poll"] => fields_of::<super::conversation::RawPoll>(),
        ["load"] | ["group", "load"] => fields_of::<RawLoad>(),
        ["load", "pace"] | ["group", "load", "pace"] => fields_of::<RawPace>(),
        ["load", "stages"] | ["group", "load", "stages"] => fields_of::<RawStage>(),
        ["group"] => fields_of::<RawGroup>(),
        ["limits"] => fields_of::<RawLimits>(),
        ["on_429"] => fields_of::<RawOn429>(),
        ["threshold"] => fields_of::<RawThreshold>(),
        ["cookies"] => fields_of::<RawCookies>(),
        ["cache"] => fields_of::<RawCache>(),
        _ => None,
    }
}

/// The field list a derived `Deserialize` struct hands to `deserialize_struct`.
fn fields_of<T: for<'de> Deserialize<'de>>() -> Option<&'static [&'static str]> {
    use serde::de::value::Error;
    use serde::de::{Error as _, Visitor};

    struct Probe<'a>(&'a mut Option<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            *self.0 = Some(fields);
            Err(Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields = None;
    let _ = T::deserialize(Probe(&mut fields));
    fields
}
