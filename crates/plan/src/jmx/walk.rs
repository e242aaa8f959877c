//! Walks a `.jmx` tree the way JMeter scopes it: a `hashTree` holds the children of the element
//! before it; config elements, header managers, timers and assertions apply to every sampler at
//! their level and below, wherever they sit among their siblings. Thread groups become groups,
//! samplers requests ([`super::http`]), config elements are read by [`super::config`];
//! everything else is reported with its place.

use std::path::Path;

use super::expr::{self, Env, Pieces};
use super::model::{Finding, Model};
use super::xml::Element;

/// A timer in scope of a sampler.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Timer {
    /// A pause in `[min, max]` ms.
    Range(f64, f64),
    /// Gaussian Random Timer: offset and deviation, ms.
    Gaussian(f64, f64),
    /// Poisson Random Timer: offset and λ, ms.
    Poisson(f64, f64),
    /// Constant Throughput Timer: samples per minute, and its calcMode.
    Throughput(f64, i64),
    /// Precise Throughput Timer: samples per second over every thread.
    Precise(f64),
    /// Synchronizing Timer: the rendezvous step written before each sampler in scope.
    Sync(String),
}

/// What is in scope at one level of the tree.
#[derive(Debug, Clone, Default)]
pub(super) struct Scope<'e> {
    /// Header managers, outermost first.
    pub headers: Vec<&'e Element>,
    /// HTTP Request Defaults, outermost first.
    pub defaults: Vec<&'e Element>,
    /// Timers.
    pub timers: Vec<Timer>,
    /// Response codes every assertion in scope accepts (their intersection).
    pub codes: Option<Vec<u16>>,
    /// Extractors in scope (inline TOML tables).
    pub post: Vec<String>,
    /// Assertions in scope other than on the code (inline TOML tables).
    pub checks: Vec<String>,
}

/// Where a level of the tree sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    /// Directly under the test plan.
    Plan,
    /// Inside thread group `g` (possibly inside controllers).
    Group(usize),
    /// Under a sampler.
    Sampler,
}

/// One step of a group while walking: the request label and the timers before it.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub label: String,
    pub timers: Vec<Timer>,
}

/// The walk's state.
pub(super) struct Walker<'a> {
    pub jmx_dir: &'a Path,
    pub env: Env,
    pub m: Model,
    pub steps: Vec<Vec<Step>>,
    /// Each group's program as a tree (controllers as blocks).
    pub tree: Vec<Vec<super::model::StepOut>>,
    /// For each controller being walked: whether it chooses among its children (interleave,
    /// random, switch, …), whose blocks then keep their names and stay whole.
    pub mix: Vec<bool>,
    /// The test plan's top `hashTree` (Module Controllers find their target in it).
    pub top: Option<&'a Element>,
    /// Plans read by Include Controllers, by the path as written.
    pub includes: &'a [(String, Element)],
    /// Module and Include Controllers being expanded (a cycle is reported, not followed).
    pub expanding: Vec<String>,
    /// Variables an extractor sets with every match (match number -1), for ForEach.
    pub all_matches: Vec<String>,
    pub group_places: Vec<String>,
    /// Each imported group's thread group element (its identity: the same element in both
    /// passes, whatever its name), beside `group_places`.
    pub group_elements: Vec<usize>,
    pub seen_hosts: Option<(String, String)>,
    /// Where a Keystore Configuration sits, when the plan has one.
    pub keystore_place: Option<String>,
    pub connect_timeouts: Vec<u64>,
    pub response_timeouts: Vec<u64>,
    pub keep_alive: Vec<bool>,
    pub follow_redirects: usize,
    pub auth_from: Option<String>,
    /// The thread group the prepass is in ([`element_id`]), for the CSV data sets inside it.
    pub prepass_group: Option<usize>,
}

/// The children of a `hashTree`, each with its own `hashTree` (when present).
pub(super) fn pairs(tree: Option<&Element>) -> Vec<(&Element, Option<&Element>)> {
    let mut out: Vec<(&Element, Option<&Element>)> = Vec::new();
    let Some(tree) = tree else { return out };
    for c in &tree.children {
        if c.tag == "hashTree" {
            if let Some(last) = out.last_mut() {
                if last.1.is_none() {
                    last.1 = Some(c);
                }
            }
        } else {
            out.push((c, None));
        }
    }
    out
}

/// A finding on one line (a regex error's caret display spans several).
fn one_line(s: String) -> String {
    if !s.contains('\n') {
        return s;
    }
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `path/Tag "name"`: how findings name an element.
/// `1 sampler runs`, `3 samplers run`: a count of samplers with its verb agreeing.
pub(super) fn samplers(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        surge_record::plural(n as u64, "sampler"),
        if n == 1 { one } else { many }
    )
}

/// An element's identity within one import (thread groups often share a name).
pub(super) fn element_id(el: &Element) -> usize {
    std::ptr::from_ref(el) as usize
}

pub(super) fn place_of(path: &str, el: &Element) -> String {
    format!("{path}/{} \"{}\"", el.tag, el.testname())
}

/// What kind of element a tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ThreadGroup(super::groups::GroupKind),
    OtherThreadGroup,
    /// Cookie Manager, Authorization Manager, Counter, User Parameters, Random Variable: read
    /// in the first pass.
    UserState,
    HttpSampler,
    OtherSampler,
    HeaderManager,
    HttpDefaults,
    Csv,
    Udv,
    Timer,
    Assertion,
    Check,
    Extractor,
    OtherAssertion,
    Controller,
    Listener,
    WorkBench,
    Fragment,
    Other,
}

fn kind(el: &Element) -> Kind {
    let t = el.tag.as_str();
    match t {
        _ if super::groups::GroupKind::of(t).is_some() => {
            Kind::ThreadGroup(super::groups::GroupKind::of(t).expect("checked"))
        }
        "CookieManager"
        | "AuthManager"
        | "CounterConfig"
        | "UserParameters"
        | "RandomVariableConfig"
        | "CacheManager" => Kind::UserState,
        "HTTPSamplerProxy" | "HTTPSampler" | "HTTPSampler2" => Kind::HttpSampler,
        "HeaderManager" => Kind::HeaderManager,
        "ConfigTestElement" if el.attr("guiclass") == Some("HttpDefaultsGui") => Kind::HttpDefaults,
        "CSVDataSet" => Kind::Csv,
        "Arguments" => Kind::Udv,
        "ConstantTimer"
        | "UniformRandomTimer"
        | "GaussianRandomTimer"
        | "PoissonRandomTimer"
        | "ConstantThroughputTimer"
        | "SyncTimer"
        | "kg.apc.jmeter.timers.VariableThroughputTimer" => Kind::Timer,
        _ if t.ends_with("PreciseThroughputTimer") => Kind::Timer,
        "ResponseAssertion"
            if el.prop("Assertion.test_field").as_deref() == Some("Assertion.response_code") =>
        {
            Kind::Assertion
        }
        "ResponseAssertion" | "JSONPathAssertion" | "DurationAssertion" => Kind::Check,
        "JSONPostProcessor" | "RegexExtractor" | "BoundaryExtractor" | "XPathExtractor"
        | "XPath2Extractor" | "HtmlExtractor" => Kind::Extractor,
        "WorkBench" => Kind::WorkBench,
        "TestFragmentController" => Kind::Fragment,
        "ResultCollector" | "BackendListener" | "Summariser" => Kind::Listener,
        _ if t.ends_with("ThreadGroup") => Kind::OtherThreadGroup,
        _ if t.ends_with("Controller")
            || t.ends_with("ControllerGui")
            || t == "InterleaveControl"
            || t == "RandomOrderController"
            || t == "RunTime"
            || t == "com.blazemeter.jmeter.controller.ParallelSampler" =>
        {
            Kind::Controller
        }
        _ if t.ends_with("Sampler") || t.ends_with("SamplerProxy") => Kind::OtherSampler,
        _ if t.ends_with("Assertion") => Kind::OtherAssertion,
        _ if t.ends_with("Listener") || t.ends_with("Visualizer") || t.ends_with("Collector") => {
            Kind::Listener
        }
        _ => Kind::Other,
    }
}

impl<'a> Walker<'a> {
    pub(super) fn warn(&mut self, place: &str, message: impl Into<String>) {
        self.m.warnings.push(Finding {
            place: place.to_string(),
            message: one_line(message.into()),
        });
    }

    pub(super) fn note(&mut self, place: &str, message: impl Into<String>) {
        self.m.notes.push(Finding {
            place: place.to_string(),
            message: one_line(message.into()),
        });
    }

    /// Converts an expression, reporting what cannot be converted.
    pub(super) fn expr(&mut self, raw: &str, place: &str) -> Pieces {
        let mut problems = Vec::new();
        let p = expr::convert(raw, &self.env, &mut problems);
        for pr in problems {
            self.warn(place, pr);
        }
        p
    }

    /// A value that must be fixed at import time (counts, hosts, timer delays).
    pub(super) fn constant(&mut self, raw: &str, place: &str, what: &str) -> Option<String> {
        let p = self.expr(raw, place);
        if !expr::is_constant(&p) {
            self.warn(
                place,
                format!(
                    "{what} = {raw:?} changes per request; surge needs a fixed value here: ignored"
                ),
            );
            return None;
        }
        Some(expr::plain(&p))
    }

    /// A number property (any property form), `None` when absent or empty.
    pub(super) fn number(&mut self, el: &Element, prop: &str, place: &str) -> Option<f64> {
        let raw = el.prop_nonempty(prop)?;
        let v = self.constant(&raw, place, prop)?;
        match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.warn(place, format!("{prop} = {v:?} is not a number: ignored"));
                None
            }
        }
    }

    /// A script or sampler that only sets properties a setup group exports.
    fn sets_exported(el: &Element) -> bool {
        let script = [
            "script",
            "BeanShellSampler.query",
            "BeanShellPreProcessor.script",
        ]
        .iter()
        .find_map(|k| el.prop_nonempty(k));
        script.is_some_and(|s| super::state::only_sets_properties(&s))
    }

    /// First pass over the whole tree: user-defined variables and CSV data sets define the
    /// variables every expression may use, wherever they sit (JMeter reads them at the start).
    pub(super) fn prepass(&mut self, tree: Option<&Element>, path: &str) {
        for (el, sub) in pairs(tree) {
            if !el.enabled() {
                continue;
            }
            if el.tag == "SetupThreadGroup" {
                let mut found = Vec::new();
                if let Some(sub) = sub {
                    super::state::set_properties(sub, &mut found);
                }
                self.env.exported.extend(found);
            }
            let place = place_of(path, el);
            match kind(el) {
                Kind::Udv => self.udvs(el, &place),
                Kind::Csv => self.csv(el, &place),
                Kind::UserState => self.user_state(el, &place),
                Kind::Extractor => {
                    let all = Self::extracts_all(el);
                    for v in Self::extractor_vars(el) {
                        if all && !self.all_matches.contains(&v) {
                            self.all_matches.push(v.clone());
                        }
                        if !self.env.data_vars.contains(&v) {
                            self.env.data_vars.push(v);
                        }
                    }
                }
                Kind::Controller if el.tag == "ForeachController" => {
                    if let Some(v) = el.prop_nonempty("ForeachController.returnVal") {
                        let v = v.trim().to_string();
                        if !self.env.data_vars.contains(&v) {
                            self.env.data_vars.push(v);
                        }
                    }
                }
                Kind::WorkBench => continue,
                _ => {}
            }
            let inside = matches!(kind(el), Kind::ThreadGroup(_)).then(|| element_id(el));
            let outer = match inside {
                Some(g) => self.prepass_group.replace(g),
                None => self.prepass_group,
            };
            self.prepass(sub, &format!("{path}/{}", el.testname()));
            self.prepass_group = outer;
        }
    }

    /// Walks one level; returns the scope its config elements make (samplers use it).
    pub(super) fn level<'e>(
        &mut self,
        tree: Option<&'e Element>,
        scope: &Scope<'e>,
        path: &str,
        ctx: Ctx,
    ) -> Scope<'e> {
        let items = pairs(tree);
        let mut sc = scope.clone();
        for (el, _) in &items {
            if !el.enabled() {
                continue;
            }
            let place = place_of(path, el);
            match kind(el) {
                Kind::HeaderManager => sc.headers.push(el),
                Kind::HttpDefaults => sc.defaults.push(el),
                Kind::Timer => {
                    if let Some(t) = self.timer(el, &place) {
                        sc.timers.push(t);
                    }
                }
                Kind::Assertion => self.assertion(el, &place, &mut sc.codes),
                Kind::Check => {
                    let c = self.check(el, &place);
                    sc.checks.extend(c);
                }
                Kind::Extractor => {
                    let e = self.extractor(el, &place);
                    sc.post.extend(e);
                }
                _ => {}
            }
        }
        for (el, sub) in items {
            let place = place_of(path, el);
            let child_path = format!("{path}/{}", el.testname());
            if !el.enabled() {
                self.note(&place, "disabled: skipped");
                continue;
            }
            match (kind(el), ctx) {
                (Kind::HeaderManager | Kind::HttpDefaults | Kind::Timer | Kind::Assertion | Kind::Check | Kind::Extractor | Kind::Udv | Kind::UserState, _) => {}
                (Kind::Csv, Ctx::Sampler) => self.note(&place, "a CSV data set under a sampler: surge reads the next line once per iteration"),
                (Kind::Csv, _) => {}
                (Kind::ThreadGroup(k), Ctx::Plan) => self.thread_group(el, sub, &sc, path, k),
                (Kind::OtherThreadGroup, _) => self.warn(&place, "this kind of thread group is not supported: not imported, with everything under it"),
                (Kind::HttpSampler, Ctx::Group(g)) => self.sampler(el, sub, &sc, path, g),
                (Kind::Controller, Ctx::Group(g)) => self.controller(el, sub, &sc, path, g),
                (Kind::Other, Ctx::Group(g)) if sub.is_some_and(|s| !s.children.is_empty()) => self.controller(el, sub, &sc, path, g),
                (Kind::ThreadGroup(_) | Kind::HttpSampler | Kind::Controller, _) => {
                    self.warn(&place, "not where JMeter runs it (a thread group holds samplers and controllers): not imported");
                }
                (Kind::Listener, _) => self.note(&place, "ignored (listener)"),
                (Kind::WorkBench, _) => self.note(&place, "ignored (workbench: not part of a run)"),
                (Kind::Fragment, Ctx::Group(g)) if !self.expanding.is_empty() => {
                    // An included plan's fragment: its elements run where it is included.
                    let _ = self.level(sub, &sc, &child_path, Ctx::Group(g));
                }
                (Kind::Fragment, Ctx::Plan) => self.note(&place, "a test fragment runs only where a Module or Include Controller names it"),
                (Kind::Fragment, _) => self.warn(&place, "a test fragment runs only through a Module or Include controller: not imported"),
                (Kind::OtherSampler | Kind::Other, _) if Self::sets_exported(el) => self.note(&place, "sets properties from variables: the setup group exports them, the main groups read them"),
                (Kind::OtherSampler, _) => self.warn(&place, "only HTTP samplers are supported: not imported"),
                (Kind::OtherAssertion, _) => self.warn(&place, "only Response Assertions on the response code are supported: not imported"),
                (Kind::Other, _) => {
                    match el.tag.as_str() {
                        "DNSCacheManager" => self.dns_cache(el, &place),
                        "KeystoreConfig" => self.keystore_config(el, &place),
                        t => self.warn(&place, format!("{t} is not supported by surge: ignored")),
                    }
                }
            }
            if matches!(
                kind(el),
                Kind::Other | Kind::OtherSampler | Kind::OtherAssertion | Kind::Listener
            ) {
                // Anything under an unsupported element is reported too.
                let _ = self.level(sub, &sc, &child_path, Ctx::Sampler);
            }
        }
        sc
    }

    pub(super) fn controller<'e>(
        &mut self,
        el: &'e Element,
        sub: Option<&'e Element>,
        scope: &Scope<'e>,
        path: &str,
        g: usize,
    ) {
        let place = place_of(path, el);
        let child_path = format!("{path}/{}", el.testname());
        let before = self.steps[g].len();
        let tree_before = self.tree[g].len();
        let in_mix = self.mix.last().copied().unwrap_or(false);
        self.mix.push(Self::is_mix(el));
        match el.tag.as_str() {
            "ModuleController" | "IncludeController" => {
                self.expand(el, scope, &child_path, &place, g)
            }
            _ => {
                let _ = self.level(sub, scope, &child_path, Ctx::Group(g));
            }
        }
        self.mix.pop();
        let added = self.steps[g].len() - before;
        let inner: Vec<super::model::StepOut> = self.tree[g].drain(tree_before..).collect();
        if inner.is_empty() {
            return;
        }
        let head = self.controller_head(el, &place, added);
        let q = |s: &str| toml_edit::Value::from(s).to_string().trim().to_string();
        // An item of a choosing controller stays whole and keeps its name (Switch picks by it).
        let named = |h: String| format!("name = {}, {h}", q(el.testname().trim()));
        match head {
            Some(h) if in_mix => self.tree[g].push(super::model::StepOut::Block(named(h), inner)),
            Some(h) => self.tree[g].push(super::model::StepOut::Block(h, inner)),
            None if in_mix => self.tree[g].push(super::model::StepOut::Block(
                format!("name = {}", q(el.testname().trim())),
                inner,
            )),
            None => self.tree[g].extend(inner),
        }
    }
}
