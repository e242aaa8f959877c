//! Walks a `.jmx` tree the way JMeter scopes it: a `hashTree` holds the children of the element
//! before it; config elements, header managers, timers and assertions apply to every sampler at
//! their level and below, wherever they sit among their siblings. Thread groups become groups,
//! samplers requests ([`super::http`]), config elements are read by [`super::config`];
//! everything else is reported with its place.

use std::path::Path;

use super::expr::{self, Env, Pieces};
use super::model::{Finding, GroupOut, Model};
use super::xml::Element;

/// A timer in scope of a sampler.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Timer {
    /// A pause in `[min, max]` ms.
    Range(f64, f64),
    /// Constant Throughput Timer: samples per minute, and its calcMode.
    Throughput(f64, i64),
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
    pub group_places: Vec<String>,
    pub seen_hosts: Option<(String, String)>,
    pub connect_timeouts: Vec<u64>,
    pub response_timeouts: Vec<u64>,
    pub keep_alive: Vec<bool>,
    pub follow_redirects: usize,
    pub auth_from: Option<String>,
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

/// `path/Tag "name"`: how findings name an element.
/// `1 sampler runs`, `3 samplers run`: a count of samplers with its verb agreeing.
pub(super) fn samplers(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        crate::plural(n as u64, "sampler"),
        if n == 1 { one } else { many }
    )
}

pub(super) fn place_of(path: &str, el: &Element) -> String {
    format!("{path}/{} \"{}\"", el.tag, el.testname())
}

/// What kind of element a tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ThreadGroup,
    OtherThreadGroup,
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
        "ThreadGroup" => Kind::ThreadGroup,
        "HTTPSamplerProxy" | "HTTPSampler" | "HTTPSampler2" => Kind::HttpSampler,
        "HeaderManager" => Kind::HeaderManager,
        "ConfigTestElement" if el.attr("guiclass") == Some("HttpDefaultsGui") => Kind::HttpDefaults,
        "CSVDataSet" => Kind::Csv,
        "Arguments" => Kind::Udv,
        "ConstantTimer"
        | "UniformRandomTimer"
        | "GaussianRandomTimer"
        | "PoissonRandomTimer"
        | "ConstantThroughputTimer" => Kind::Timer,
        "ResponseAssertion"
            if el.prop("Assertion.test_field").as_deref() == Some("Assertion.response_code") =>
        {
            Kind::Assertion
        }
        "ResponseAssertion" | "JSONPathAssertion" | "DurationAssertion" => Kind::Check,
        "JSONPostProcessor" | "RegexExtractor" | "BoundaryExtractor" => Kind::Extractor,
        "WorkBench" => Kind::WorkBench,
        "TestFragmentController" => Kind::Fragment,
        "ResultCollector" | "BackendListener" | "Summariser" => Kind::Listener,
        _ if t.ends_with("ThreadGroup") => Kind::OtherThreadGroup,
        _ if t.ends_with("Controller")
            || t.ends_with("ControllerGui")
            || t == "InterleaveControl"
            || t == "RandomOrderController" =>
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
            message: message.into(),
        });
    }

    pub(super) fn note(&mut self, place: &str, message: impl Into<String>) {
        self.m.notes.push(Finding {
            place: place.to_string(),
            message: message.into(),
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

    /// First pass over the whole tree: user-defined variables and CSV data sets define the
    /// variables every expression may use, wherever they sit (JMeter reads them at the start).
    pub(super) fn prepass(&mut self, tree: Option<&Element>, path: &str) {
        for (el, sub) in pairs(tree) {
            if !el.enabled() {
                continue;
            }
            let place = place_of(path, el);
            match kind(el) {
                Kind::Udv => self.udvs(el, &place),
                Kind::Csv => self.csv(el, &place),
                Kind::Extractor => {
                    for v in Self::extractor_vars(el) {
                        if !self.env.data_vars.contains(&v) {
                            self.env.data_vars.push(v);
                        }
                    }
                }
                Kind::WorkBench => continue,
                _ => {}
            }
            self.prepass(sub, &format!("{path}/{}", el.testname()));
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
                (Kind::HeaderManager | Kind::HttpDefaults | Kind::Timer | Kind::Assertion | Kind::Check | Kind::Extractor | Kind::Udv, _) => {}
                (Kind::Csv, Ctx::Sampler) => self.note(&place, "a CSV data set under a sampler: surge reads the next line once per iteration"),
                (Kind::Csv, _) => {}
                (Kind::ThreadGroup, Ctx::Plan) => self.thread_group(el, sub, &sc, path),
                (Kind::OtherThreadGroup, _) => self.warn(&place, "this kind of thread group is not supported: not imported, with everything under it"),
                (Kind::HttpSampler, Ctx::Group(g)) => self.sampler(el, sub, &sc, path, g),
                (Kind::Controller, Ctx::Group(g)) => self.controller(el, sub, &sc, path, g),
                (Kind::Other, Ctx::Group(g)) if sub.is_some_and(|s| !s.children.is_empty()) => self.controller(el, sub, &sc, path, g),
                (Kind::ThreadGroup | Kind::HttpSampler | Kind::Controller, _) => {
                    self.warn(&place, "not where JMeter runs it (a thread group holds samplers and controllers): not imported");
                }
                (Kind::Listener, _) => self.note(&place, "ignored (listener)"),
                (Kind::WorkBench, _) => self.note(&place, "ignored (workbench: not part of a run)"),
                (Kind::Fragment, _) => self.warn(&place, "a test fragment runs only through a Module or Include controller: not imported"),
                (Kind::OtherSampler, _) => self.warn(&place, "only HTTP samplers are supported: not imported"),
                (Kind::OtherAssertion, _) => self.warn(&place, "only Response Assertions on the response code are supported: not imported"),
                (Kind::Other, _) => self.warn(&place, format!("{} is not supported by surge: ignored", el.tag)),
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

    fn controller<'e>(
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
        let _ = self.level(sub, scope, &child_path, Ctx::Group(g));
        let added = self.steps[g].len() - before;
        let inner: Vec<super::model::StepOut> = self.tree[g].drain(tree_before..).collect();
        if inner.is_empty() {
            return;
        }
        let head = self.controller_head(el, &place, added);
        match head {
            Some(h) => self.tree[g].push(super::model::StepOut::Block(h, inner)),
            None => self.tree[g].extend(inner),
        }
    }

    fn thread_group<'e>(
        &mut self,
        el: &'e Element,
        sub: Option<&'e Element>,
        scope: &Scope<'e>,
        path: &str,
    ) {
        let place = place_of(path, el);
        let mut name = el.testname().trim().to_string();
        if name.is_empty() {
            name = "Thread Group".into();
        }
        let mut n = 2;
        let base = name.clone();
        while self.m.groups.iter().any(|g| g.name == name) {
            name = format!("{base} {n}");
            n += 1;
        }
        let mut gout = GroupOut {
            name,
            comments: vec![place.clone()],
            on_error: "continue",
            ..GroupOut::default()
        };
        let threads = self
            .number(el, "ThreadGroup.num_threads", &place)
            .unwrap_or(1.0);
        if !(0.0..=100_000.0).contains(&threads) || threads.fract() != 0.0 {
            self.warn(
                &place,
                format!("ThreadGroup.num_threads = {threads} is not a thread count surge runs (a whole number from 1 to 100000)"),
            );
        }
        // Saturating: a value beyond i64 reaches the scenario's check as the largest one.
        gout.threads = threads as i64;
        gout.ramp_up_s = self
            .number(el, "ThreadGroup.ramp_time", &place)
            .unwrap_or(0.0)
            .max(0.0);
        let main = el.prop_el("ThreadGroup.main_controller");
        let loops = main.and_then(|m| {
            let p = place.clone();
            self.number(m, "LoopController.loops", &p)
        });
        let forever_flag = main
            .and_then(|m| m.prop_bool("LoopController.continue_forever"))
            .unwrap_or(false);
        gout.loops = match loops.map(|l| l as i64) {
            Some(-1) => None,
            Some(l) if l < 0 && forever_flag => None,
            Some(l) if l >= 1 => Some(l),
            Some(l) => {
                self.warn(
                    &place,
                    format!(
                        "LoopController.loops = {l}: JMeter runs no iteration; group not imported"
                    ),
                );
                return;
            }
            None => Some(1),
        };
        let scheduler = el.prop_bool("ThreadGroup.scheduler").unwrap_or(false);
        if scheduler {
            gout.duration_s = self
                .number(el, "ThreadGroup.duration", &place)
                .filter(|d| *d > 0.0);
            gout.delay_s = self
                .number(el, "ThreadGroup.delay", &place)
                .filter(|d| *d > 0.0);
            if gout.duration_s.is_none() && el.prop_nonempty("ThreadGroup.end_time").is_some() {
                self.warn(
                    &place,
                    "the scheduler's absolute start/end times are not supported: set a duration",
                );
            }
        } else if el.prop_nonempty("ThreadGroup.duration").is_some()
            || el.prop_nonempty("ThreadGroup.delay").is_some()
        {
            self.note(
                &place,
                "the scheduler is off: duration and delay are ignored, as JMeter does",
            );
        }
        if gout.loops.is_none() && gout.duration_s.is_none() {
            self.warn(&place, "loops forever with no scheduler duration (JMeter runs until stopped); surge needs an end: add --set limits.max_duration=10m");
        }
        gout.on_error = match el
            .prop("ThreadGroup.on_sample_error")
            .as_deref()
            .unwrap_or("continue")
        {
            "continue" => "continue",
            "startnextloop" | "startnextithread" => "next_loop",
            "stopthread" => "stop_thread",
            "stoptest" => "stop_test",
            "stoptestnow" => {
                self.note(
                    &place,
                    "stoptestnow: surge stops the test and gives requests in flight a short grace",
                );
                "stop_test"
            }
            other => {
                self.warn(
                    &place,
                    format!("on_sample_error {other:?} is not known: continue"),
                );
                "continue"
            }
        };
        if el.prop_bool("ThreadGroup.same_user_on_next_iteration") == Some(false) {
            gout.comments.push("same_user_on_next_iteration = false: surge keeps no cookies or cache between iterations either".into());
        }
        self.m.groups.push(gout);
        self.steps.push(Vec::new());
        self.tree.push(Vec::new());
        self.group_places.push(place.clone());
        let g = self.m.groups.len() - 1;
        let _ = self.level(
            sub,
            scope,
            &format!("{path}/{}", el.testname()),
            Ctx::Group(g),
        );
        if self.steps[g].is_empty() {
            self.warn(&place, "no HTTP sampler surge can run: group not imported");
            self.m.groups.pop();
            self.steps.pop();
            self.tree.pop();
            self.group_places.pop();
        }
    }

    /// Turns each group's per-step timers into one think time.
    pub(super) fn finish_groups(&mut self) {
        let all_threads: i64 = self.m.groups.iter().map(|g| g.threads).sum();
        for (g, steps) in self.steps.clone().iter().enumerate() {
            let threads = self.m.groups[g].threads;
            let place = self.group_places[g].clone();
            let mut per_step: Vec<(f64, f64)> = Vec::new();
            let mut ctt = false;
            for s in steps {
                let (mut lo, mut hi) = (0.0, 0.0);
                for t in &s.timers {
                    let (a, b) = match *t {
                        Timer::Range(a, b) => (a, b),
                        Timer::Throughput(per_min, mode) => {
                            ctt = true;
                            let share = match mode {
                                1 | 3 => all_threads.max(1),
                                2 | 4 => threads.max(1),
                                _ => 1,
                            } as f64;
                            let every = 60_000.0 / per_min * share;
                            (every, every)
                        }
                    };
                    lo += a;
                    hi += b;
                }
                per_step.push((lo, hi));
            }
            self.m.groups[g].steps = steps.iter().map(|s| s.label.clone()).collect();
            if self.tree[g]
                .iter()
                .any(|s| matches!(s, super::model::StepOut::Block(..)))
            {
                self.m.groups[g].program = Some(self.tree[g].clone());
            }
            if per_step.iter().all(|p| *p == (0.0, 0.0)) {
                continue;
            }
            let n = per_step.len() as f64;
            let same = per_step.windows(2).all(|w| w[0] == w[1]);
            let think = if same {
                per_step[0]
            } else {
                let lo = per_step.iter().map(|p| p.0).sum::<f64>() / n;
                let hi = per_step.iter().map(|p| p.1).sum::<f64>() / n;
                self.warn(&place, format!("timers differ between samplers; surge pauses the same before every request: approximated by their average ({} ms to {} ms), which keeps each iteration as long", lo.round(), hi.round()));
                self.m.groups[g].think_comments.push("approximated: the average of the timers of each sampler (JMeter's timers differ by sampler)".into());
                (lo, hi)
            };
            if ctt {
                self.warn(&place, format!("Constant Throughput Timer: surge has no client-side pacer yet; approximated as a pause of {} ms before each request, so the rate falls short by the response time", think.0.round()));
                self.m.groups[g].think_comments.push("approximated: a Constant Throughput Timer as a fixed pause (no pacer yet); the rate falls short by the response time".into());
            }
            self.m.groups[g].think_ms = Some(think);
        }
    }
}
