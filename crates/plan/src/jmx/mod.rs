//! JMeter test plans (`.jmx`) → surge scenarios.
//!
//! The import reads the XML ([`xml`]), walks the tree with JMeter's scoping ([`walk`], samplers
//! in [`http`]), converts JMeter expressions ([`expr`]) into a [`model::Model`], and writes that
//! as a commented scenario file ([`emit`]). `surge import plan.jmx` writes the text;
//! `surge run plan.jmx` loads it in memory through [`crate::load_str`], so both paths
//! give the same [`crate::Plan`]. What is approximated or not run is reported as a
//! [`Finding`] naming the element and its place in the tree; `--strict` turns warnings into
//! errors. `docs/jmeter.md` lists every mapping.
//!
//! ```no_run
//! use surge_plan::jmx::{self, ImportOptions};
//! let opts = ImportOptions { properties: vec![("token".into(), "t0k3n".into())], out_dir: None };
//! let (plan, imported) = jmx::load(std::path::Path::new("plan.jmx"), &opts, &[]).unwrap();
//! for w in &imported.warnings {
//!     eprintln!("warning: {w}");
//! }
//! # let _ = plan;
//! ```

pub mod config;
pub mod conversation;
pub mod emit;
pub mod enterprise;
pub mod expr;
pub mod groups;
pub mod http;
pub mod mix;
pub mod model;
pub mod state;
pub mod timers;
mod upload;
pub mod walk;
pub mod xml;

use std::path::{Path, PathBuf};

pub use model::Finding;

use super::error::{ConfigError, Problem};
use super::Plan;
use walk::{Ctx, Scope, Walker};

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// JMeter properties (`-J name=value`), read by `${__P(…)}` and `${__property(…)}`.
    pub properties: Vec<(String, String)>,
    /// The folder the scenario will be written to (CSV paths are written relative to it);
    /// default: the `.jmx` file's folder.
    pub out_dir: Option<PathBuf>,
}

/// An imported test plan.
#[derive(Clone)]
pub struct Imported {
    /// The scenario, as TOML text (no secrets).
    pub toml: String,
    /// Approximations and elements surge does not run (`--strict` makes them errors).
    pub warnings: Vec<Finding>,
    /// Harmless differences, disabled elements and ignored listeners.
    pub notes: Vec<Finding>,
    bearer_token: Option<String>,
}

impl std::fmt::Debug for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imported")
            .field("warnings", &self.warnings)
            .field("notes", &self.notes)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Imported {
    /// The bearer token read from a `-J` property (or the plan's default for it), for running
    /// the `.jmx` directly. Never written to the scenario.
    pub fn bearer_token(&self) -> Option<&str> {
        self.bearer_token.as_deref()
    }

    /// With `--strict`: every warning as an error naming the `.jmx` file; `None` without warnings.
    pub fn strict_error(&self, jmx: &Path) -> Option<ConfigError> {
        if self.warnings.is_empty() {
            return None;
        }
        Some(ConfigError {
            file: jmx.to_path_buf(),
            problems: self
                .warnings
                .iter()
                .map(|w| Problem {
                    line: None,
                    column: None,
                    field: w.place.clone(),
                    message: format!("{} (--strict)", w.message),
                })
                .collect(),
        })
    }
}

/// True when `path` names a JMeter test plan (`.jmx`, any case).
pub fn is_jmx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jmx"))
}

/// A `-J` that is not `NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("-J {0:?}: expected NAME=VALUE, e.g. -J threads=20")]
pub struct PropertyError(pub String);

/// Parses `-J name=value`.
///
/// # Errors
/// [`PropertyError`]: no `=`, or an empty name.
pub fn parse_property(s: &str) -> Result<(String, String), PropertyError> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.to_string())),
        _ => Err(PropertyError(s.to_string())),
    }
}

fn scenario_name(jmx: &Path) -> String {
    let stem = jmx
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "jmeter-plan".into()
    } else {
        out
    }
}

/// Imports a test plan from its text; `jmx` names it in errors and locates relative files.
///
/// # Errors
/// Malformed XML (with line and column), a file that is not a JMeter test plan, or a plan with
/// no thread group surge can run (with the warnings that explain why).
pub fn import_str(text: &str, jmx: &Path, opts: &ImportOptions) -> Result<Imported, ConfigError> {
    let fail = |line: Option<usize>, column: Option<usize>, message: String| ConfigError {
        file: jmx.to_path_buf(),
        problems: vec![Problem {
            line,
            column,
            field: String::new(),
            message,
        }],
    };
    let root = xml::parse(text).map_err(|e| fail(Some(e.line), Some(e.column), e.message))?;
    if root.tag != "jmeterTestPlan" {
        return Err(fail(
            Some(root.line),
            None,
            format!(
                "not a JMeter test plan: the root element is <{}>, not <jmeterTestPlan>",
                root.tag
            ),
        ));
    }
    let top = root.children.iter().find(|c| c.tag == "hashTree");
    let jmx_dir = jmx.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut includes = Vec::new();
    mix::read_includes(top, &jmx_dir, &mut includes);
    let mut w = Walker {
        jmx_dir: &jmx_dir,
        mix: Vec::new(),
        top,
        includes: &includes,
        expanding: Vec::new(),
        all_matches: Vec::new(),
        env: expr::Env {
            props: opts.properties.iter().cloned().collect(),
            ..Default::default()
        },
        m: model::Model::default(),
        steps: Vec::new(),
        tree: Vec::new(),
        group_places: Vec::new(),
        group_elements: Vec::new(),
        seen_hosts: None,
        keystore_place: None,
        connect_timeouts: Vec::new(),
        response_timeouts: Vec::new(),
        keep_alive: Vec::new(),
        follow_redirects: 0,
        auth_from: None,
        prepass_group: None,
    };
    w.m.name = scenario_name(jmx);
    w.m.jmeter = root.attr("jmeter").map(str::to_string);
    let mut found_plan = false;
    let mut plan_path = "Test Plan".to_string();
    for (el, sub) in walk::pairs(top) {
        if el.tag != "TestPlan" {
            let place = walk::place_of("", el);
            let place = place.trim_start_matches('/').to_string();
            if el.tag == "WorkBench" {
                w.note(&place, "ignored (workbench: not part of a run)");
            } else {
                w.warn(&place, format!("{} outside the test plan: ignored", el.tag));
            }
            continue;
        }
        found_plan = true;
        let path = el.testname().to_string();
        plan_path = path.clone();
        let comments = el.prop("TestPlan.comments").unwrap_or_default();
        w.m.description = if comments.trim().is_empty() {
            format!("Imported from the JMeter test plan \"{path}\"")
        } else {
            format!("{path}: {}", comments.trim())
        };
        w.m.serialize = el
            .prop_bool("TestPlan.serialize_threadgroups")
            .unwrap_or(false);
        if let Some(udv) = el.prop_el("TestPlan.user_defined_variables") {
            let place = format!("{path}/User Defined Variables");
            w.udvs(udv, &place);
        }
        w.prepass(sub, &path);
        let _ = w.level(sub, &Scope::default(), &path, Ctx::Plan);
    }
    if !found_plan {
        let saved = walk::pairs(top)
            .first()
            .map(|(el, _)| format!(": a saved {} {:?} (JMeter merges such a file into a plan; alone it has no thread group to run)", el.tag, el.testname()))
            .unwrap_or_default();
        return Err(fail(
            None,
            None,
            format!("no <TestPlan> element: not a JMeter test plan{saved}"),
        ));
    }
    w.finish_groups();
    bind_data(&mut w);
    finish_target(&mut w, &plan_path);
    if w.m.groups.is_empty() {
        let mut e = fail(
            None,
            None,
            "no thread group with an HTTP sampler surge can run".into(),
        );
        e.problems.extend(w.m.warnings.iter().map(|f| Problem {
            line: None,
            column: None,
            field: f.place.clone(),
            message: f.message.clone(),
        }));
        return Err(e);
    }
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| jmx_dir.clone());
    let toml = emit::to_toml(&w.m, jmx, &out_dir);
    Ok(Imported {
        toml,
        warnings: w.m.warnings,
        notes: w.m.notes,
        bearer_token: w.m.bearer_token,
    })
}

/// A CSV data set inside a thread group is read by that group's threads only: with several
/// groups, its source names its group. One inside a group not imported goes with it.
fn bind_data(w: &mut Walker<'_>) {
    if w.m.groups.len() < 2 {
        return;
    }
    let (elements, groups) = (&w.group_elements, &w.m.groups);
    w.m.data.retain_mut(|d| {
        let Some(gp) = d.group_element else {
            return true;
        };
        match elements.iter().position(|e| *e == gp) {
            Some(i) => {
                d.group = Some(groups[i].name.clone());
                true
            }
            None => false,
        }
    });
}

/// Settings surge keeps per target, from every sampler's.
fn finish_target(w: &mut Walker<'_>, plan_place: &str) {
    for (list, what, slot) in [
        (&w.connect_timeouts, "connect_timeout", 0),
        (&w.response_timeouts, "response_timeout", 1),
    ] {
        let Some(max) = list.iter().copied().filter(|t| *t > 0).max() else {
            continue;
        };
        let differs = list.iter().any(|t| *t != max);
        let line = if differs {
            format!("approximated: samplers set {what} differently; the largest, {max} ms, applies to every request")
        } else {
            format!("HTTPSampler.{what} = {max} ms")
        };
        if slot == 0 {
            w.m.target.connect_timeout_ms = Some(max);
        } else {
            // JMeter's response timeout bounds each read; surge's bounds the whole request.
            w.m.target.timeout_ms = Some(max);
        }
        w.m.target.comments.push(line);
    }
    if w.m.target.timeout_ms.is_some() {
        w.m.target.comments.push("approximated: JMeter's response_timeout bounds each read; surge's timeout bounds the whole request".into());
    }
    if !w.keep_alive.is_empty() {
        let off = w.keep_alive.iter().filter(|k| !**k).count();
        if off == w.keep_alive.len() {
            w.m.target.keep_alive = Some(false);
            w.m.target
                .comments
                .push("HTTPSampler.use_keepalive = false on every sampler".into());
        } else if off > 0 {
            let msg = format!(
                "{} keep-alive off and others on; surge sets it per target: kept on",
                walk::samplers(off, "turns", "turn")
            );
            w.warn(plan_place, msg);
        }
    }
    if w.follow_redirects > 0 {
        let msg = format!(
            "{} redirects in JMeter; surge records a 3xx as it is (redirects are not followed)",
            walk::samplers(w.follow_redirects, "follows", "follow")
        );
        w.note(plan_place, msg);
    }
    w.keystore_from_properties(plan_place);
    if w.m.target.base_url.is_none() {
        w.warn(plan_place, "no sampler or HTTP Request Defaults names a server: base_url is http://localhost (use --target)");
    }
}

/// Reads and imports a `.jmx` file.
///
/// # Errors
/// As [`import_str`], and an unreadable file.
pub fn import_file(jmx: &Path, opts: &ImportOptions) -> Result<Imported, ConfigError> {
    let text = surge_record::limits::read_to_string(jmx, surge_record::limits::JMX_BYTES)
        .map_err(|e| ConfigError::single(jmx, "", format!("cannot read the test plan: {e}")))?;
    import_str(&text, jmx, opts)
}

/// Imports a `.jmx` file in memory and checks the scenario into a [`Plan`], applying `--set`
/// overrides to the imported scenario.
///
/// # Errors
/// As [`import_file`]; then any problem of the imported scenario, named after
/// `<plan>.imported.toml` (write it with `surge import` to see the lines).
pub fn load(
    jmx: &Path,
    opts: &ImportOptions,
    overrides: &[String],
) -> Result<(Plan, Imported), ConfigError> {
    let imported = import_file(jmx, opts)?;
    let stem = jmx
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    let as_toml = jmx.with_file_name(format!("{stem}.imported.toml"));
    let mut plan = super::load_str(&imported.toml, &as_toml, overrides)?;
    plan.source = jmx.to_path_buf();
    Ok((plan, imported))
}

#[cfg(test)]
mod tests;
