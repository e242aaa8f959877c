//! JMeter's request-mix controllers → surge's mix steps: Interleave, Random, Random Order,
//! Throughput, Switch and ForEach Controllers; Module Controllers (the controller they name,
//! walked in place) and Include Controllers (the plan file they name, read relative to this
//! plan); the Parallel Controller plugin (its children in sequence, approximated).

use std::path::Path;

use super::walk::{Ctx, Scope, Walker};
use super::xml::Element;

fn q(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// The plans Include Controllers name, read once before the walk (and those they include),
/// by their path as written. A file that cannot be read or parsed is left out (the walk
/// reports it where the controller sits).
pub fn read_includes(top: Option<&Element>, dir: &Path, out: &mut Vec<(String, Element)>) {
    let Some(top) = top else { return };
    let mut stack = vec![top];
    while let Some(el) = stack.pop() {
        for c in &el.children {
            if c.tag == "IncludeController" && c.enabled() {
                if let Some(p) = c.prop_nonempty("IncludeController.includepath") {
                    let p = p.trim().to_string();
                    if out.iter().any(|(n, _)| *n == p) || out.len() >= 64 {
                        continue;
                    }
                    let path = dir.join(&p);
                    let parsed = surge_record::limits::read_to_string(
                        &path,
                        surge_record::limits::JMX_BYTES,
                    )
                    .ok()
                    .and_then(|t| super::xml::parse(&t).ok());
                    if let Some(root) = parsed {
                        out.push((p, root));
                        let last = out.len() - 1;
                        let mut nested = Vec::new();
                        read_includes(Some(&out[last].1), dir, &mut nested);
                        for n in nested {
                            if !out.iter().any(|(x, _)| *x == n.0) {
                                out.push(n);
                            }
                        }
                    }
                }
            }
            stack.push(c);
        }
    }
}

impl<'a> Walker<'a> {
    /// True for controllers that choose among their children (each child one item).
    pub(super) fn is_mix(el: &Element) -> bool {
        matches!(
            el.tag.as_str(),
            "InterleaveControl" | "RandomController" | "RandomOrderController" | "SwitchController"
        )
    }

    /// The head of a request-mix controller's block; None (with a finding) when it runs its
    /// children as they stand.
    pub(super) fn mix_head(&mut self, el: &Element, place: &str) -> Option<Option<String>> {
        Some(match el.tag.as_str() {
            "InterleaveControl" => {
                if el.prop("InterleaveControl.style").as_deref() == Some("0") {
                    self.warn(place, "\"ignore sub-controller blocks\": surge interleaves whole blocks (a sub-controller's samplers run together)");
                }
                let across = el.prop_bool("InterleaveControl.accrossThreads") == Some(true);
                Some(if across {
                    "interleave = true, across_users = true".into()
                } else {
                    "interleave = true".into()
                })
            }
            "RandomController" => {
                if el.prop("InterleaveControl.style").as_deref() == Some("0") {
                    self.warn(place, "\"ignore sub-controller blocks\": surge picks whole blocks (a sub-controller's samplers run together)");
                }
                Some("random = true".into())
            }
            "RandomOrderController" => Some("random_order = true".into()),
            "ThroughputController" => {
                let per_user = el
                    .prop_bool("ThroughputController.perThread")
                    .unwrap_or(true);
                let style = self
                    .number(el, "ThroughputController.style", place)
                    .unwrap_or(1.0) as i64;
                let per = if per_user { "" } else { ", per_user = false" };
                if style == 0 {
                    let n = self
                        .number(el, "ThroughputController.maxThroughput", place)
                        .unwrap_or(1.0)
                        .max(0.0);
                    Some(format!("total = {}{per}", n as u64))
                } else {
                    let p = self
                        .number(el, "ThroughputController.percentThroughput", place)
                        .unwrap_or(100.0)
                        .clamp(0.0, 100.0);
                    Some(format!("percent = {p}{per}"))
                }
            }
            "SwitchController" => {
                let raw = el.prop("SwitchController.value").unwrap_or_default();
                let v = self.expr(&raw, place);
                Some(format!(
                    "switch = {}",
                    q(&super::expr::to_template(&v, false))
                ))
            }
            "ForeachController" => self.foreach_head(el, place),
            "RunTime" => {
                let secs = self
                    .number(el, "RunTime.seconds", place)
                    .unwrap_or(0.0)
                    .max(0.0);
                Some(format!("during = \"{}ms\"", (secs * 1000.0).round() as u64))
            }
            "com.blazemeter.jmeter.controller.ParallelSampler" => {
                self.warn(place, "approximated: the Parallel Controller's children run one after another, not at once");
                None
            }
            _ => return None,
        })
    }

    fn foreach_head(&mut self, el: &Element, place: &str) -> Option<String> {
        let input = el
            .prop("ForeachController.inputVal")
            .unwrap_or_default()
            .trim()
            .to_string();
        let out = el
            .prop("ForeachController.returnVal")
            .unwrap_or_default()
            .trim()
            .to_string();
        let sep = el
            .prop_bool("ForeachController.useSeparator")
            .unwrap_or(true);
        if out.is_empty() || input.is_empty() {
            self.warn(place, "ForEach Controller without an input or output variable: its samplers run once per iteration");
            return None;
        }
        let start = self
            .number(el, "ForeachController.startIndex", place)
            .map(|n| n as i64);
        let end = self
            .number(el, "ForeachController.endIndex", place)
            .map(|n| n as i64);
        if start.is_some_and(|s| s > 0) || end.is_some() {
            self.warn(
                place,
                "ForEach start/end indexes are not supported: it goes over every value",
            );
        }
        // Values a plan defines itself (input_1, input_2, … as variables): a list.
        let join = if sep { "_" } else { "" };
        let mut values = Vec::new();
        while let Some(v) = self
            .env
            .udvs
            .get(&format!("{input}{join}{}", values.len() + 1))
        {
            values.push(super::expr::plain(v));
        }
        if !values.is_empty() {
            let list: Vec<String> = values.iter().map(|v| q(v)).collect();
            return Some(format!("foreach = [{}], as = {}", list.join(", "), q(&out)));
        }
        if self.all_matches.contains(&input) {
            return Some(format!("foreach = {}, as = {}", q(&input), q(&out)));
        }
        self.warn(place, format!("ForEach over {input:?}: no extractor with match number -1 and no {input}_1, {input}_2, … variables set it; its samplers run once per iteration"));
        None
    }

    /// A Module Controller's target, or an Include Controller's plan, walked in place.
    pub(super) fn expand<'e>(
        &mut self,
        el: &'e Element,
        scope: &Scope<'e>,
        child_path: &str,
        place: &str,
        g: usize,
    ) where
        'a: 'e,
    {
        let key = format!("{}:{}", el.tag, el.testname());
        if self.expanding.contains(&key) || self.expanding.len() > 16 {
            self.warn(
                place,
                "refers to itself (directly or through others): not expanded again",
            );
            return;
        }
        let includes = self.includes;
        let target: Option<(&'a Element, Option<&'a Element>, String)> = if el.tag
            == "ModuleController"
        {
            let names: Vec<String> = el
                .collection("ModuleController.node_path")
                .iter()
                .map(|n| n.text.trim().to_string())
                .collect();
            if names.len() < 2 {
                self.note(
                    place,
                    "names no controller: nothing runs here, as in JMeter",
                );
                return;
            }
            let found = self.module_target(&names);
            if found.is_none() {
                self.warn(
                    place,
                    format!(
                        "Module Controller: no controller at {:?} in this plan: nothing runs here",
                        names.join("/")
                    ),
                );
            }
            found.map(|(t, sub)| (t, sub, "module".to_string()))
        } else {
            let path = el
                .prop("IncludeController.includepath")
                .unwrap_or_default()
                .trim()
                .to_string();
            if path.is_empty() {
                self.note(place, "names no file: nothing runs here, as in JMeter");
                return;
            }
            match includes.iter().find(|(p, _)| *p == path) {
                Some((_, root)) => root
                    .children
                    .iter()
                    .find(|c| c.tag == "hashTree")
                    .map(|t| (t, None, format!("include {path}"))),
                None => {
                    self.warn(place, format!("Include Controller: {path:?} cannot be read as a JMeter plan (relative to this plan's folder): nothing runs here"));
                    None
                }
            }
        };
        let Some((tree, sub, what)) = target else {
            return;
        };
        self.expanding.push(key);
        if what == "module" {
            match tree.tag.as_str() {
                "TestFragmentController" | "GenericController" | "ThreadGroup" => {
                    let _ = self.level(sub, scope, child_path, Ctx::Group(g));
                }
                _ => self.controller(tree, sub, scope, child_path, g),
            }
        } else {
            // An included plan: the elements under its test plan (test fragments are
            // transparent).
            for (plan, sub) in super::walk::pairs(Some(tree)) {
                if plan.tag == "TestPlan" {
                    let _ = self.level(sub, scope, child_path, Ctx::Group(g));
                } else {
                    let _ = self.level(Some(tree), scope, child_path, Ctx::Group(g));
                    break;
                }
            }
        }
        self.expanding.pop();
    }

    /// The element a Module Controller's node path names, with its `hashTree`: the path starts
    /// at the root ("Test Plan", then the test plan's own name).
    fn module_target(&self, names: &[String]) -> Option<(&'a Element, Option<&'a Element>)> {
        let mut tree = self.top?;
        let mut rest = names.get(1..)?;
        if rest.is_empty() {
            return None;
        }
        loop {
            let (first, more) = rest.split_first()?;
            let (el, sub) = super::walk::pairs(Some(tree))
                .into_iter()
                .find(|(e, _)| e.testname().trim() == first)?;
            if more.is_empty() {
                return Some((el, sub));
            }
            tree = sub?;
            rest = more;
        }
    }
}
