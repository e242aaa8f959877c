//! What an imported test plan becomes before it is written as TOML: plain data, one struct per
//! scenario section, each carrying the comments that say where it came from and what was
//! approximated.

use std::path::PathBuf;

/// Something the importer wants the user to know, with the element it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where: the test names from the test plan down, then the element's type and name, e.g.
    /// `Test Plan/Users/IfController "check"`.
    pub place: String,
    /// What was approximated, or not imported, and why.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// `[target]`.
#[derive(Debug, Clone, Default)]
pub struct TargetOut {
    /// `scheme://host[:port]`, when the plan names a server.
    pub base_url: Option<String>,
    /// Connect timeout, ms.
    pub connect_timeout_ms: Option<u64>,
    /// Response timeout, ms.
    pub timeout_ms: Option<u64>,
    /// Keep-alive (None: surge's default, on).
    pub keep_alive: Option<bool>,
    /// The DNS Cache Manager's static hosts: name and address(es).
    pub static_hosts: Vec<(String, String)>,
    /// The keystore presented as the client certificate.
    pub keystore: Option<super::enterprise::KeystoreOut>,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// `[auth]`: the kind and the environment variables holding the secrets, never a secret.
#[derive(Debug, Clone)]
pub struct AuthOut {
    /// `bearer`, `basic` or `digest`.
    pub kind: &'static str,
    /// Its fields (`token_env`, `username_env`, `password_env`) and their variables.
    pub fields: Vec<(&'static str, String)>,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// A generated `[[data]]` source (counter, random, per_user): its fields as TOML values.
#[derive(Debug, Clone)]
pub struct GenDataOut {
    /// `key = value` pairs, values already TOML.
    pub fields: Vec<(&'static str, String)>,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// `[cookies]`.
#[derive(Debug, Clone, Default)]
pub struct CookiesOut {
    /// An HTTP Cookie Manager is in the plan.
    pub enabled: bool,
    /// Its "clear cookies each iteration".
    pub clear_each_iteration: bool,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// A group's think time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThinkOut {
    /// Uniform in `[min, max]` ms (equal: constant).
    Range(f64, f64),
    /// Gaussian: mean and deviation, ms.
    Gaussian(f64, f64),
    /// Poisson: λ and offset, ms.
    Poisson(f64, f64),
}

/// One `[[data]]` CSV source.
#[derive(Debug, Clone)]
pub struct DataOut {
    /// The file, absolute (written relative to the scenario's folder when possible).
    pub file: PathBuf,
    /// Variable names, when the plan lists them (else the file's header row names them).
    pub columns: Option<Vec<String>>,
    /// Skip the first line (with `columns`).
    pub skip_header: bool,
    /// Field delimiter as JMeter wrote it (`,`, `;`, `\t`).
    pub delimiter: String,
    /// `all` or `per_thread`.
    pub share: &'static str,
    /// `recycle`, `stop_thread` or `stop_test`.
    pub on_eof: &'static str,
    /// Comment lines.
    pub comments: Vec<String>,
    /// The variables it sets.
    pub vars: Vec<String>,
    /// The thread group it sits in (`walk::element_id`; JMeter: only that group's threads read
    /// it).
    pub group_element: Option<usize>,
    /// That group's `[[group]]` name, when the plan has several (`groups = [...]`).
    pub group: Option<String>,
}

/// One `[[request]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOut {
    /// Label (the sampler's test name, made unique).
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path and query, as a surge template.
    pub path: String,
    /// Headers, as surge templates.
    pub headers: Vec<(String, String)>,
    /// Body, as a surge template.
    pub body: Option<String>,
    /// A `multipart/form-data` body's parts, instead of `body`.
    pub multipart: Vec<PartOut>,
    /// Response codes a Response Assertion accepts.
    pub expect_status: Option<Vec<u16>>,
    /// Extractors in scope, as inline TOML tables.
    pub extract: Vec<String>,
    /// Assertions in scope (other than on the code), as inline TOML tables.
    pub asserts: Vec<String>,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// One `[[request.multipart]]` part: a form field (`value`) or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartOut {
    /// The form field's name.
    pub name: String,
    /// A field's value, as a surge template.
    pub value: Option<String>,
    /// A file, absolute (written relative to the scenario's folder when possible).
    pub file: Option<PathBuf>,
    /// Its content type, when the plan names one.
    pub content_type: Option<String>,
}

/// One step of a group's program: a request, or a controller's block around steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOut {
    /// A request label.
    Request(String),
    /// `{ <head>, steps = [...] }`, e.g. head `loop = 3`.
    Block(String, Vec<StepOut>),
    /// `{ <head> }`, a step without steps (a rendezvous).
    Single(String),
}

/// One `[[group]]`: a JMeter thread group.
#[derive(Debug, Clone, Default)]
pub struct GroupOut {
    /// Its name (the thread group's test name, made unique).
    pub name: String,
    /// Request labels, in order, one iteration.
    pub steps: Vec<String>,
    /// The program, when a controller makes it more than the labels in order.
    pub program: Option<Vec<StepOut>>,
    /// Threads.
    pub threads: i64,
    /// Ramp-up, seconds.
    pub ramp_up_s: f64,
    /// Loops; None is forever.
    pub loops: Option<i64>,
    /// Scheduler duration, seconds.
    pub duration_s: Option<f64>,
    /// Scheduler delay, seconds.
    pub delay_s: Option<f64>,
    /// Think time before each request.
    pub think: Option<ThinkOut>,
    /// The group's pace: requests per second, and `user`, `group` or `all`.
    pub pace: Option<(f64, &'static str)>,
    /// Comment lines for its pace.
    pub pace_comments: Vec<String>,
    /// `setup` or `teardown` (None: main).
    pub phase: Option<&'static str>,
    /// setup: variables the later groups start with.
    pub export: Vec<String>,
    /// Another profile than a thread group: its `[group.load]` lines (`profile = …`,
    /// `stages = …`), written instead of threads, ramp-up and loops.
    pub profile: Option<Vec<String>>,
    /// `continue`, `next_loop`, `stop_thread` or `stop_test`.
    pub on_error: &'static str,
    /// Comment lines.
    pub comments: Vec<String>,
    /// Comment lines for its think time.
    pub think_comments: Vec<String>,
}

/// The whole imported plan.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Scenario name (from the file name).
    pub name: String,
    /// Description (the test plan's name and comments).
    pub description: String,
    /// The JMeter version that saved the file, when it says.
    pub jmeter: Option<String>,
    /// `TestPlan.serialize_threadgroups`.
    pub serialize: bool,
    /// `[target]`.
    pub target: TargetOut,
    /// `[auth]`.
    pub auth: Option<AuthOut>,
    /// `[[data]]`.
    pub data: Vec<DataOut>,
    /// `[[data]]` counters, random values and per-user rows.
    pub gen_data: Vec<GenDataOut>,
    /// `[cookies]`.
    pub cookies: CookiesOut,
    /// `[cache]`, when the plan has an HTTP Cache Manager: its lines.
    pub cache: Option<Vec<String>>,
    /// `[[request]]`.
    pub requests: Vec<RequestOut>,
    /// `[[group]]`.
    pub groups: Vec<GroupOut>,
    /// Approximations and elements surge does not run (`--strict` makes these errors).
    pub warnings: Vec<Finding>,
    /// Harmless differences and ignored listeners: listed, never errors.
    pub notes: Vec<Finding>,
    /// The bearer token given with `-J` (or the plan's default for it), for `surge run
    /// plan.jmx` only; never written to the scenario.
    pub bearer_token: Option<String>,
}
