//! Checking a raw scenario into a [`Plan`]: every problem is collected with its field path,
//! and located to a line by the caller's [`Locator`]. [`build`] walks the sections in order;
//! each section is checked by its own function (`[target]` and `[auth]` in `target`, `[[data]]`
//! in `data`, `[[request]]` in `request`, loads in `load`, `[on_429]` in `policy`).

use std::path::Path;
use std::time::Duration;

use super::data::build_data;
use super::error::{Locator, Problem};
use super::load::build_load;
use super::plan::*;
use super::request::build_requests;
use super::spec::{RawDuration, RawGroup, RawLimits, RawLoad, RawScenario, RawThreshold};
use super::target::{build_auth, build_target};

pub use surge_record::duration::DurationError;

/// Checks a duration as written in a scenario ([`surge_record::duration::GRAMMAR`]).
///
/// # Errors
/// [`DurationError`], whose message shows the grammar.
pub fn parse_duration(raw: &RawDuration) -> Result<Duration, DurationError> {
    match raw {
        RawDuration::Seconds(s) => surge_record::duration::from_secs(*s),
        RawDuration::Text(t) => surge_record::duration::parse(t),
    }
}

/// Parses duration text in the one grammar ([`surge_record::duration::parse`]).
///
/// # Errors
/// [`DurationError`].
pub fn parse_duration_text(t: &str) -> Result<Duration, DurationError> {
    surge_record::duration::parse(t)
}

pub(super) struct Checker<'a> {
    loc: &'a Locator,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    /// Notes a problem at `path`; one per field: a value that could not be read is not blamed
    /// again by the checks that follow on its stand-in.
    pub(super) fn err(&mut self, path: &str, msg: impl Into<String>) {
        if self.problems.iter().any(|p| p.field == path) {
            return;
        }
        self.problems.push(self.loc.problem(path, msg));
    }

    pub(super) fn duration(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Duration {
        match raw.map(parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(path, e.to_string());
                default
            }
        }
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        path: &str,
        raw: Option<&str>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(v) = raw else { return default };
        if let Some((_, t)) = options.iter().find(|(n, _)| *n == v) {
            return *t;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.err(path, format!("{v:?} is not one of: {}", names.join(", ")));
        default
    }
}

/// Checks a raw scenario and builds the plan. `source` locates relative files.
pub fn build(mut raw: RawScenario, source: &Path, loc: &Locator) -> Result<Plan, Vec<Problem>> {
    let mut c = Checker {
        loc,
        problems: Vec::new(),
    };
    let base_dir = source.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = build_name(&mut c, raw.name);
    let description = raw.description.unwrap_or_default();
    if description.chars().count() > surge_record::limits::DESCRIPTION_CHARS {
        c.err(
            "description",
            format!(
                "is {} characters long; at most {} (it is copied into every result and report)",
                description.chars().count(),
                surge_record::limits::DESCRIPTION_CHARS
            ),
        );
    }
    let target = build_target(&mut c, raw.target.unwrap_or_default(), &base_dir);
    let auth = build_auth(&mut c, raw.auth.unwrap_or_default(), &base_dir);
    // Data sources first: they define the variables templates may use.
    let problems_before_data = c.problems.len();
    // The names `[[data]] groups` may bind to, as `build_groups` will name the groups.
    let group_names: Vec<String> = (raw.group.iter().enumerate())
        .map(|(i, g)| g.name.clone().unwrap_or_else(|| group_default_name(i)))
        .collect();
    let named = (!raw.group.is_empty()).then_some(group_names.as_slice());
    let (data, mut vars) = build_data(&mut c, raw.data, &base_dir, named);
    let data_ok = c.problems.len() == problems_before_data;
    // Variables set by extractors join the data's: templates and conditions may read them.
    let mut more = super::conversation::extracted_vars(&raw.request);
    // ... and so do the ones `foreach` steps set.
    for steps in raw
        .steps
        .iter()
        .chain(raw.group.iter().filter_map(|g| g.steps.as_ref()))
    {
        super::steps::foreach_vars(steps, &mut more);
    }
    for v in more {
        if !vars.contains(&v) {
            vars.push(v);
        }
    }
    let mut checks = super::conversation::CheckNames::default();
    let parts: Vec<_> = (raw.request.iter_mut())
        .map(|r| std::mem::take(&mut r.multipart))
        .collect();
    let mut requests = build_requests(&mut c, raw.request, &vars, data_ok, &auth, &mut checks);
    super::multipart::attach(&mut c, &mut requests, parts, &base_dir, &vars);
    super::request::check_header_data(&mut c, &requests, &data);
    let (mut transactions, mut conditions) = (Vec::new(), Vec::new());
    let req_labels: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
    let mut x = super::steps::Compiled {
        labels: &req_labels,
        vars: &vars,
        transactions: &mut transactions,
        conditions: &mut conditions,
    };
    let groups = build_groups(&mut c, raw.load, raw.group, raw.steps, &requests, &mut x);
    super::data::check_group_draws(&mut c, &data, &vars, &requests, &groups);
    let limits = build_limits(&mut c, raw.limits, &groups);
    let labels: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
    let on_429 = super::policy::build_policy(&mut c, raw.on_429, &labels, &base_dir);
    let mut gate_labels = labels.clone();
    gate_labels.extend(transactions.iter().map(|t| t.name.clone()));
    let thresholds = build_thresholds(&mut c, raw.threshold, &gate_labels);
    let cache = build_cache(&mut c, raw.cache);
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Plan {
        name,
        description,
        source: source.to_path_buf(),
        target,
        auth,
        data,
        vars,
        requests,
        groups,
        serialize_groups: raw.serialize_groups.unwrap_or(false),
        limits,
        on_429,
        thresholds,
        transactions,
        conditions,
        checks: checks.0,
        cache,
        cookies: raw.cookies.map_or_else(Cookies::default, |c| Cookies {
            enabled: c.enabled.unwrap_or(true),
            clear_each_iteration: c.clear_each_iteration.unwrap_or(false),
        }),
    })
}

/// `[cache]`.
fn build_cache(c: &mut Checker<'_>, raw: Option<super::spec::RawCache>) -> HttpCache {
    let raw = raw.unwrap_or_default();
    let max_entries = match raw.max_entries {
        None => 5000,
        Some(n) if (1..=1_000_000).contains(&n) => n as u32,
        Some(n) => {
            c.err(
                "cache.max_entries",
                format!("must be between 1 and 1000000, got {n}"),
            );
            5000
        }
    };
    HttpCache {
        enabled: raw.enabled.unwrap_or(false),
        use_expires: raw.use_expires.unwrap_or(true),
        clear_each_iteration: raw.clear_each_iteration.unwrap_or(false),
        max_entries,
    }
}

/// `name`: required, and safe as a folder name.
fn build_name(c: &mut Checker<'_>, raw: Option<String>) -> String {
    match raw {
        Some(n) if !n.trim().is_empty() => {
            if n.len() > 100 {
                c.err(
                    "name",
                    format!(
                        "is {} characters long; at most 100 (it names the report folder)",
                        n.len()
                    ),
                );
                return n;
            }
            if !n
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                c.err("name", format!("{n:?} may hold only letters, digits, '-', '_' and '.' (it names the report folder)"));
            }
            n
        }
        _ => {
            c.err(
                "name",
                "is required: a short name such as \"architect-publish-burst\"",
            );
            String::new()
        }
    }
}

/// The name of the `i`-th `[[group]]` (from 0) that names none.
fn group_default_name(i: usize) -> String {
    format!("group{}", i + 1)
}

/// A group's program: its `steps`, or its `requests` (default: every request) once each.
fn program(
    c: &mut Checker<'_>,
    p: &str,
    steps: Option<Vec<toml::Value>>,
    plain: Vec<usize>,
    x: &mut super::steps::Compiled<'_>,
) -> (Vec<usize>, super::steps::Program) {
    let prog = match steps {
        Some(s) => super::steps::compile(c, p, &s, x),
        None => super::steps::Program::plain(&plain),
    };
    (prog.requests(), prog)
}

/// `[load]` or `[[group]]`s: the user groups, each with its program over `requests`.
fn build_groups(
    c: &mut Checker<'_>,
    raw_load: Option<RawLoad>,
    raw_groups: Vec<RawGroup>,
    raw_steps: Option<Vec<toml::Value>>,
    requests: &[RequestSpec],
    x: &mut super::steps::Compiled<'_>,
) -> Vec<Group> {
    let mut groups = Vec::new();
    if raw_groups.is_empty() {
        let load = build_load(c, "load", raw_load);
        let (steps, program) = program(c, "steps", raw_steps, (0..requests.len()).collect(), x);
        groups.push(Group {
            name: "main".into(),
            load,
            steps,
            program,
            phase: Phase::Main,
            export: Vec::new(),
        });
    } else {
        if raw_load.is_some() {
            c.err("load", "set [load] or [[group]]s, not both");
        }
        if raw_steps.is_some() {
            c.err("steps", "with [[group]]s, each group has its own steps");
        }
        for (i, g) in raw_groups.into_iter().enumerate() {
            let p = format!("group[{i}]");
            let name = g.name.unwrap_or_else(|| group_default_name(i));
            if groups.iter().any(|x: &Group| x.name == name) {
                c.err(
                    &format!("{p}.name"),
                    format!("{name:?} is used by an earlier group"),
                );
            }
            let both = g.steps.is_some() && g.requests.is_some();
            let steps: Vec<usize> = match g.requests {
                None => (0..requests.len()).collect(),
                Some(labels) => labels
                    .iter()
                    .filter_map(|l| match requests.iter().position(|r| &r.name == l) {
                        Some(i) => Some(i),
                        None => {
                            c.err(
                                &format!("{p}.requests"),
                                format!("no [[request]] is named {l:?}"),
                            );
                            None
                        }
                    })
                    .collect(),
            };
            if steps.is_empty() && g.steps.is_none() {
                c.err(
                    &format!("{p}.requests"),
                    "a group needs at least one request",
                );
            }
            if both {
                c.err(&format!("{p}.steps"), "set requests or steps, not both");
            }
            let (steps, program) = program(c, &format!("{p}.steps"), g.steps, steps, x);
            let load = build_load(c, &format!("{p}.load"), g.load);
            let phase = c.choice(
                &format!("{p}.phase"),
                g.phase.as_deref(),
                Phase::Main,
                &[
                    ("setup", Phase::Setup),
                    ("main", Phase::Main),
                    ("teardown", Phase::Teardown),
                ],
            );
            let mut export = Vec::new();
            for v in g.export.iter().flatten() {
                match x.vars.iter().position(|n| n == v) {
                    Some(i) => export.push(i),
                    None => {
                        let hint =
                            surge_record::text::did_you_mean(v, x.vars.iter().map(String::as_str));
                        c.err(
                            &format!("{p}.export"),
                            format!("no variable is named {v:?}{hint}"),
                        );
                    }
                }
            }
            if g.export.is_some() && phase != Phase::Setup {
                c.err(
                    &format!("{p}.export"),
                    "only a setup group exports variables (phase = \"setup\")",
                );
            }
            groups.push(Group {
                name,
                load,
                steps,
                program,
                phase,
                export,
            });
        }
    }

    groups
}

/// `[limits]`, and an end for every group that would otherwise run forever.
fn build_limits(c: &mut Checker<'_>, raw: Option<RawLimits>, groups: &[Group]) -> Limits {
    let raw_limits = raw.unwrap_or_default();
    let max_requests = match raw_limits.max_requests {
        None => None,
        Some(n) if n >= 1 => Some(n as u64),
        Some(n) => {
            c.err(
                "limits.max_requests",
                format!("must be at least 1, got {n}"),
            );
            None
        }
    };
    let max_duration = raw_limits
        .max_duration
        .as_ref()
        .map(|d| c.duration("limits.max_duration", Some(d), Duration::ZERO));
    if max_duration == Some(Duration::ZERO) {
        c.err("limits.max_duration", "must be longer than 0s");
    }
    let limits = Limits {
        max_requests,
        max_duration,
    };

    for (i, g) in groups.iter().enumerate() {
        if !g.is_bounded() && limits.max_duration.is_none() && limits.max_requests.is_none() {
            let field = if groups.len() == 1 && g.name == "main" {
                "load.loops".to_string()
            } else {
                format!("group[{i}].load.loops")
            };
            c.err(&field, "\"forever\" needs an end: set a duration, limits.max_duration or limits.max_requests");
        }
    }

    limits
}

/// `[[threshold]]`s, checked against the request labels.
fn build_thresholds(
    c: &mut Checker<'_>,
    raw: Vec<RawThreshold>,
    labels: &[String],
) -> Vec<crate::threshold::Threshold> {
    let mut thresholds = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let p = format!("threshold[{i}]");
        let Some(expr) = t.expr else {
            c.err(&p, "needs expr, e.g. expr = \"p95(LABEL) < 800ms\"");
            continue;
        };
        let abort = t.abort_on_fail.unwrap_or(false);
        match crate::threshold::Threshold::new(&expr, t.name, abort, Some(labels)) {
            Ok(t) => thresholds.push(t),
            Err(e) => c.err(&format!("{p}.expr"), e.to_string()),
        }
    }

    thresholds
}
