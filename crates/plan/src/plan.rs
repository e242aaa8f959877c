//! The validated plan: pure data the engine runs, with every problem of the file reported at once.

use super::data::{DataKind, DataSource};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use super::profile::*;
use super::template::Template;

/// Genesys Cloud regions and their domains (`api.<domain>`, `login.<domain>`).
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
];

/// A checked scenario, ready to run.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// The file it came from.
    pub source: PathBuf,
    /// Where requests go.
    pub target: Target,
    /// How requests authenticate.
    pub auth: Auth,
    /// Variable sources, in file order.
    pub data: Vec<DataSource>,
    /// Every variable name; templates index into this.
    pub vars: Vec<String>,
    /// Every request; labels are unique. Groups index into this.
    pub requests: Vec<RequestSpec>,
    /// User groups (one for a plain `[load]`).
    pub groups: Vec<Group>,
    /// Groups run one after another instead of together.
    pub serialize_groups: bool,
    /// Hard caps.
    pub limits: Limits,
    /// What the client does on 429.
    pub on_429: super::policy::Policy,
    /// Pass/fail gates, checked against the request labels (scenario first, then `--threshold`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<crate::threshold::Threshold>,
    /// Transactions the step programs open, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<super::steps::TransactionSpec>,
    /// The conditions of `if` and `while` steps, indexed by the programs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<super::cond::Cond>,
    /// Names of the checks (extractors, assertions, poll `fail_if`) as `label: what`, indexed by
    /// the ids samples carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// Each user's cookie jar.
    pub cookies: Cookies,
    /// Each user's HTTP cache (GET requests).
    pub cache: HttpCache,
}

/// `[cache]`, checked: an HTTP cache per user for GET requests, as JMeter's HTTP Cache Manager
/// keeps one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HttpCache {
    /// On (default off).
    pub enabled: bool,
    /// A fresh entry is not requested again (no request, no sample).
    pub use_expires: bool,
    /// Empty the cache at each iteration's start.
    pub clear_each_iteration: bool,
    /// Most URLs a user keeps.
    pub max_entries: u32,
}

/// `[cookies]`, checked: a jar per user, as browsers and JMeter's HTTP Cookie Manager keep one
/// (RFC 6265: domain, path, expiry and `Secure` are honoured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cookies {
    /// Store what answers set and send what applies.
    pub enabled: bool,
    /// Empty the jar at each iteration's start.
    pub clear_each_iteration: bool,
}

impl Default for Cookies {
    fn default() -> Cookies {
        Cookies {
            enabled: true,
            clear_each_iteration: false,
        }
    }
}

/// A group of users running a sequence of requests under one load profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Users and pacing.
    pub load: Load,
    /// Indices into [`Plan::requests`]: the requests its program names, in program order.
    pub steps: Vec<usize>,
    /// One iteration's step program.
    pub program: super::steps::Program,
    /// When it runs.
    pub phase: Phase,
    /// setup: variables (indices into [`Plan::vars`](Plan::vars)) the later groups' users start with.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export: Vec<usize>,
}

/// When a group runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the main groups (they start when every setup group ended).
    Setup,
    /// The test.
    #[default]
    Main,
    /// After the main groups ended (unless the run was cancelled).
    Teardown,
}

impl Group {
    /// Most users at once.
    pub fn max_users(&self) -> u32 {
        match &self.load.profile {
            Profile::ThreadGroup(tg) => tg.threads,
            Profile::Users(c) => c
                .points
                .iter()
                .map(|p| p.1.floor() as u32)
                .max()
                .unwrap_or(0),
            Profile::Arrivals(a) => a.max_users,
        }
    }

    /// Requests the group issues at most (first attempts), when bounded by loops or arrivals
    /// and its program sends a fixed number per iteration (no poll, `while` or `if`).
    pub fn planned_requests(&self, requests: &[RequestSpec]) -> Option<u64> {
        let steps = self.program.fixed_requests(requests)?;
        match &self.load.profile {
            Profile::ThreadGroup(tg) => tg.loops.map(|l| l * u64::from(tg.threads) * steps),
            Profile::Users(_) => None,
            Profile::Arrivals(a) => Some(curve_integral(&a.points).ceil() as u64 * steps),
        }
    }

    /// How long the group runs at most, when bounded by its schedule.
    pub fn planned_duration(&self) -> Option<Duration> {
        match &self.load.profile {
            Profile::ThreadGroup(tg) => tg.duration.map(|d| tg.delay + d),
            Profile::Users(c) => Some(curve_end(&c.points)),
            Profile::Arrivals(a) => Some(curve_end(&a.points)),
        }
    }

    /// True when the group ends by itself (loops, scheduler or profile end).
    pub fn is_bounded(&self) -> bool {
        match &self.load.profile {
            Profile::ThreadGroup(tg) => tg.loops.is_some() || tg.duration.is_some(),
            Profile::Users(_) | Profile::Arrivals(_) => true,
        }
    }
}

/// Where the requests go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// A real server.
    Url {
        /// API base URL, no trailing slash.
        base_url: String,
        /// Where `/oauth/token` is served.
        login_url: String,
    },
    /// The built-in Architect mock, started in-process on a loopback port.
    Mock {
        /// The mock preset.
        preset: surge_record::Preset,
    },
}

/// HTTP protocol choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpVersion {
    /// HTTP/2 where ALPN offers it, else HTTP/1.1.
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 with prior knowledge (also over plain TCP).
    Http2,
}

/// `[target]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Real server or mock.
    pub endpoint: Endpoint,
    /// The region, when given.
    pub region: Option<String>,
    /// TCP connect timeout.
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// Protocol.
    pub http: HttpVersion,
    /// Keep each user's connection open between its requests.
    pub keep_alive: bool,
    /// The mock preset the scenario was written for, kept when `--target URL` sends it elsewhere:
    /// the run then asks the server there (a `surge mock`, presumably) which preset answers.
    pub written_for_mock: Option<surge_record::Preset>,
    /// Forward proxy: from the environment (default), none, or the one named.
    pub proxy: crate::proxy::ProxySetting,
    /// Hosts that go direct, added to `NO_PROXY` (same forms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    /// Environment variable holding the proxy's `user:password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_credentials_env: Option<String>,
    /// PEM file of extra certificate authorities to trust (added to the system's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// The client certificate presented on every TLS handshake (mutual TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<crate::identity::ClientCert>,
    /// Host names connected to at fixed addresses (curl's `--resolve`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolve: Vec<crate::resolve::HostMapping>,
}

/// Where a bearer token is read from. Only the source is kept, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// An environment variable.
    Env(String),
    /// A file.
    File(PathBuf),
}

/// `[auth]`, checked. Holds names of secrets, never secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Auth {
    /// No Authorization header.
    None,
    /// A fixed bearer token.
    Bearer {
        /// Where it is read from at run time.
        source: TokenSource,
    },
    /// OAuth client credentials.
    ClientCredentials {
        /// Variable holding the client id.
        client_id_env: String,
        /// Variable holding the client secret.
        client_secret_env: String,
        /// Users are spread over this many tokens.
        tokens: u32,
        /// Refresh this long before expiry.
        #[serde(with = "secs")]
        refresh_margin: Duration,
    },
    /// HTTP Basic: the same credentials on every request.
    Basic {
        /// Variable holding the user name.
        username_env: String,
        /// Variable holding the password.
        password_env: String,
    },
    /// HTTP Digest (MD5): each user answers the server's challenge.
    Digest {
        /// Variable holding the user name.
        username_env: String,
        /// Variable holding the password.
        password_env: String,
    },
}

impl Auth {
    /// Tokens users are spread over (user `u` uses token `u mod tokens`): 1 unless client
    /// credentials ask for more.
    pub fn tokens(&self) -> u32 {
        match self {
            Auth::ClientCredentials { tokens, .. } => (*tokens).max(1),
            _ => 1,
        }
    }
}

/// A `[[request]]`, checked and compiled.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSpec {
    /// The label in every report.
    pub name: String,
    /// HTTP method.
    #[serde(serialize_with = "ser_method")]
    pub method: http::Method,
    /// Path and query template.
    #[serde(serialize_with = "ser_template")]
    pub path: Template,
    /// Header templates.
    #[serde(serialize_with = "ser_headers")]
    pub headers: Vec<(http::HeaderName, Template)>,
    /// Body template.
    #[serde(serialize_with = "ser_opt_template")]
    pub body: Option<Template>,
    /// A `multipart/form-data` body instead of `body`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub multipart: Vec<super::multipart::Part>,
    /// Statuses counted as success (None: 2xx and 3xx).
    pub expect_status: Option<Vec<u16>>,
    /// Values read from the answer into the user's variables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extract: Vec<super::conversation::Extractor>,
    /// Named checks of the answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub asserts: Vec<super::conversation::Assertion>,
    /// Repeat until a condition on the answer holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<super::conversation::Poll>,
}

impl RequestSpec {
    /// What of the answer the request must keep: the body for JSON, regex, boundary and text
    /// checks and for a poll's conditions; the headers for header extractors. Nothing for a
    /// plain request.
    pub fn needs(&self) -> (bool, bool) {
        use super::conversation::{Source, Test};
        let mut body = self.poll.as_ref().is_some_and(|p| {
            p.until.needs_json() || p.fail_if.as_ref().is_some_and(|f| f.needs_json())
        });
        let mut headers = false;
        for e in &self.extract {
            match e.source {
                Source::Header(_) => headers = true,
                Source::Status => {}
                _ => body = true,
            }
        }
        body |= self
            .asserts
            .iter()
            .any(|a| !matches!(a.test, Test::Status(_) | Test::MaxTime(_)));
        (body, headers)
    }

    /// Is `status` a success for `on_error` purposes?
    pub fn is_success(&self, status: Option<u16>) -> bool {
        surge_record::meta::is_expected(status, self.expect_status.as_deref())
    }
}

impl Plan {
    /// What later stages read of the plan, as `result.json` keeps it: each group's load, the
    /// kind of authentication and its tokens, the thresholds as written. Never a secret.
    pub fn summary(&self) -> surge_record::PlanSummary {
        use surge_record::meta::{AuthKind, AuthSummary, GroupLoad, ThresholdSpec};
        let auth = match &self.auth {
            Auth::None => AuthSummary::default(),
            Auth::Bearer { .. } => AuthSummary {
                kind: AuthKind::Bearer,
                tokens: 1,
            },
            Auth::ClientCredentials { tokens, .. } => AuthSummary {
                kind: AuthKind::ClientCredentials,
                tokens: *tokens,
            },
            Auth::Basic { .. } => AuthSummary {
                kind: AuthKind::Basic,
                tokens: 0,
            },
            Auth::Digest { .. } => AuthSummary {
                kind: AuthKind::Digest,
                tokens: 0,
            },
        };
        surge_record::PlanSummary {
            groups: self
                .groups
                .iter()
                .map(|g| {
                    let load = serde_json::to_value(&g.load).unwrap_or_default();
                    GroupLoad::from_json(&g.name, &load)
                })
                .collect(),
            auth,
            thresholds: self
                .thresholds
                .iter()
                .map(|t| ThresholdSpec {
                    expr: t.expr.source.clone(),
                    name: t.name.clone(),
                    abort_on_fail: t.abort_on_fail,
                })
                .collect(),
            expect_status: self
                .requests
                .iter()
                .filter_map(|r| Some((r.name.clone(), r.expect_status.clone()?)))
                .collect(),
            paced_from: self
                .on_429
                .pace
                .as_ref()
                .and_then(|p| p.from.as_ref())
                .map(|f| f.display().to_string()),
        }
    }

    /// The names thresholds may name: request labels, then transactions.
    pub fn gate_labels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.requests.iter().map(|r| r.name.clone()).collect();
        v.extend(self.transactions.iter().map(|t| t.name.clone()));
        v
    }

    /// The first `[[data]] kind = "env"` source whose variable is not set: its index and name.
    pub fn missing_env(&self) -> Option<(usize, &str)> {
        self.data
            .iter()
            .enumerate()
            .find_map(|(i, d)| match &d.kind {
                DataKind::Env { name, value: None } => Some((i, name.as_str())),
                _ => None,
            })
    }

    /// The largest number of requests the plan can issue, when it is bounded.
    pub fn planned_requests(&self) -> Option<u64> {
        let by_groups: Option<u64> = self
            .groups
            .iter()
            .map(|g| g.planned_requests(&self.requests))
            .sum();
        match (by_groups, self.limits.max_requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The longest the plan can run, when it is bounded by time.
    pub fn planned_duration(&self) -> Option<Duration> {
        let each: Option<Vec<Duration>> = self.groups.iter().map(Group::planned_duration).collect();
        let by_sched = each.map(|v| {
            if self.serialize_groups {
                v.iter().sum()
            } else {
                v.into_iter().max().unwrap_or_default()
            }
        });
        match (by_sched, self.limits.max_duration) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Most users active at once.
    pub fn max_users(&self) -> u32 {
        let each = self.groups.iter().map(Group::max_users);
        if self.serialize_groups {
            each.max().unwrap_or(0)
        } else {
            each.sum()
        }
    }

    /// Users over all groups (user ids run from 0 to this).
    pub fn total_users(&self) -> u32 {
        self.groups.iter().map(Group::max_users).sum()
    }
}

pub(crate) mod secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

pub(crate) mod opt_secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

fn ser_method<S: serde::Serializer>(m: &http::Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}
fn ser_template<S: serde::Serializer>(t: &Template, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.source())
}
fn ser_opt_template<S: serde::Serializer>(t: &Option<Template>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(t.source()),
        None => s.serialize_none(),
    }
}
fn ser_headers<S: serde::Serializer>(
    h: &[(http::HeaderName, Template)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(h.len()))?;
    for (k, v) in h {
        // Header values may hold secrets written inline; only the names are kept.
        let shown = if is_sensitive_header(k.as_str()) {
            "<redacted>"
        } else {
            v.source()
        };
        m.serialize_entry(k.as_str(), shown)?;
    }
    m.end()
}

/// Headers whose values are never written to any output.
pub use surge_record::secrets::is_sensitive_header;
