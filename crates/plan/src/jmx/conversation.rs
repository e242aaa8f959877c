//! JMeter's conversation elements → surge's: JSON, Regular Expression and Boundary Extractors
//! (`extract = [...]`), Response (body), JSON and Duration Assertions (`assert = [...]`), and
//! the conditions of While and If Controllers (`${var}`, `${__jexl3(…)}`, `${__groovy(…)}`,
//! `${__javaScript(…)}` comparing variables to literals with `==`, `!=`, `&&`, `||`). Each is
//! written as an inline TOML table; what cannot be mapped is a warning naming its place.

use super::walk::{samplers, Walker};
use super::xml::Element;

fn q(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// JMeter's match number: 0 random, n the n-th, -1 every match (for a ForEach Controller).
fn match_no(w: &mut Walker<'_>, raw: Option<String>, place: &str) -> String {
    let raw = raw.filter(|r| !r.trim().is_empty());
    match raw.as_deref().map(str::trim).unwrap_or("1").parse::<i64>() {
        Ok(1) => String::new(),
        Ok(n) if n >= 0 => format!(", match = {n}"),
        Ok(-1) => ", match = \"all\"".into(),
        _ => {
            w.warn(
                place,
                "the match number is not a number: the first match is taken",
            );
            String::new()
        }
    }
}

/// JMeter's default rule: a non-empty default is set on a miss; an empty one leaves the
/// variable as it was, unless "use empty default value" is ticked.
fn missing(default: &str, empty_default: bool) -> String {
    if !default.is_empty() {
        format!(", default = {}", q(default))
    } else if empty_default {
        ", default = \"\"".into()
    } else {
        ", on_missing = \"keep\"".into()
    }
}

impl Walker<'_> {
    /// What a controller becomes: the head of a block (`loop = 3`), or None when its samplers
    /// run in order as they stand (with a note or warning saying so).
    pub(super) fn controller_head(
        &mut self,
        el: &Element,
        place: &str,
        added: usize,
    ) -> Option<String> {
        let q = |s: &str| toml_edit::Value::from(s).to_string().trim().to_string();
        match el.tag.as_str() {
            "GenericController" => {
                self.note(
                    place,
                    "Simple Controller: its samplers run in order, as in JMeter",
                );
                None
            }
            "LoopController" => {
                let loops = self
                    .number(el, "LoopController.loops", place)
                    .map(|n| n as i64);
                let forever = el.prop_bool("LoopController.continue_forever") == Some(true)
                    && loops.is_some_and(|n| n < 0);
                match loops {
                    Some(n) if n >= 0 && !forever => Some(format!("loop = {n}")),
                    _ => {
                        self.warn(place, format!("Loop Controller forever or with a variable count is not supported: its {} once per iteration", samplers(added, "runs", "run")));
                        None
                    }
                }
            }
            "TransactionController" => {
                let parent = el
                    .prop_bool("TransactionController.parent")
                    .unwrap_or(false);
                let timers = el
                    .prop_bool("TransactionController.includeTimers")
                    .unwrap_or(false);
                let mut h = format!("transaction = {}", q(el.testname().trim()));
                if parent {
                    h.push_str(", parent_sample = true");
                }
                if !timers {
                    h.push_str(", exclude_pauses = true");
                }
                Some(h)
            }
            "WhileController" => {
                let raw = el.prop("WhileController.condition").unwrap_or_default();
                let cond = match raw.trim() {
                    "" | "LAST" => {
                        self.note(place, "While Controller with a blank or LAST condition: loops while the last sample succeeds (last_ok)");
                        Some("last_ok".to_string())
                    }
                    r => self.condition(r, place, true),
                };
                cond.map(|c| format!("while = {}", q(&c)))
            }
            "IfController" => {
                let raw = el.prop("IfController.condition").unwrap_or_default();
                if el.prop_bool("IfController.evaluateAll") == Some(true) {
                    self.warn(place, "If Controller \"evaluate for all children\": surge evaluates the condition once, before the children");
                }
                self.condition(&raw, place, false)
                    .map(|c| format!("if = {}", q(&c)))
            }
            "OnceOnlyController" => Some("once = true".into()),
            "ModuleController" | "IncludeController" => None,
            _ => {
                if let Some(head) = self.mix_head(el, place) {
                    return head;
                }
                self.warn(
                    place,
                    format!(
                        "{} is not supported: its {} once per iteration, in order, unconditionally",
                        el.tag,
                        samplers(added, "runs", "run")
                    ),
                );
                None
            }
        }
    }

    /// True when an extractor keeps every match (match number -1).
    pub(super) fn extracts_all(el: &Element) -> bool {
        let key = match el.tag.as_str() {
            "JSONPostProcessor" => "JSONPostProcessor.match_numbers",
            "XPathExtractor" | "XPath2Extractor" | "HtmlExtractor" | "RegexExtractor"
            | "BoundaryExtractor" => {
                return el.children.iter().any(|c| {
                    c.attr("name")
                        .is_some_and(|n| n.ends_with("matchNumber") || n.ends_with("match_number"))
                        && c.text.trim() == "-1"
                })
            }
            _ => return false,
        };
        el.prop(key)
            .unwrap_or_default()
            .split(';')
            .any(|m| m.trim() == "-1")
    }

    /// The variable names an extractor sets (for the prepass).
    pub(super) fn extractor_vars(el: &Element) -> Vec<String> {
        let names = match el.tag.as_str() {
            "JSONPostProcessor" => el.prop("JSONPostProcessor.referenceNames"),
            "RegexExtractor" => el.prop("RegexExtractor.refname"),
            "BoundaryExtractor" => el.prop("BoundaryExtractor.refname"),
            "XPathExtractor" => el.prop("XPathExtractor.refname"),
            "XPath2Extractor" => el.prop("XPathExtractor2.refname"),
            "HtmlExtractor" => el.prop("HtmlExtractor.refname"),
            _ => None,
        };
        names
            .unwrap_or_default()
            .split(';')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// An extractor as `extract` entries.
    pub(super) fn extractor(&mut self, el: &Element, place: &str) -> Vec<String> {
        match el.tag.as_str() {
            "JSONPostProcessor" => self.json_extractor(el, place),
            "XPathExtractor" | "XPath2Extractor" | "HtmlExtractor" => {
                self.markup_extractor(el, place)
            }
            tag => {
                let p = if tag == "RegexExtractor" {
                    "RegexExtractor"
                } else {
                    "BoundaryExtractor"
                };
                let var = el.prop(&format!("{p}.refname")).unwrap_or_default();
                let from = el
                    .prop(&format!("{p}.useHeaders"))
                    .unwrap_or_else(|| "false".into());
                if from != "false" && from != "true" {
                    self.warn(place, format!("{p}.useHeaders = {from:?}: surge extracts from the body or the headers only; not imported"));
                    return vec![];
                }
                if from == "true" {
                    self.warn(place, "extracting from the response headers with a pattern: surge reads one named header (extract header = …); not imported");
                    return vec![];
                }
                let nth = match_no(self, el.prop(&format!("{p}.match_number")), place);
                let miss = missing(
                    &el.prop(&format!("{p}.default")).unwrap_or_default(),
                    el.prop_bool(&format!("{p}.default_empty_value"))
                        .unwrap_or(false),
                );
                let what = if tag == "RegexExtractor" {
                    let re = el.prop("RegexExtractor.regex").unwrap_or_default();
                    let t = el
                        .prop("RegexExtractor.template")
                        .unwrap_or_else(|| "$1$".into());
                    if let Err(e) = regex::Regex::new(&re) {
                        self.warn(place, format!("regular expression {re:?} is not one surge reads (Rust syntax, no look-around): {e}; not imported"));
                        return vec![];
                    }
                    format!("regex = {}, template = {}", q(&re), q(&t))
                } else {
                    let l = el.prop("BoundaryExtractor.lboundary").unwrap_or_default();
                    let r = el.prop("BoundaryExtractor.rboundary").unwrap_or_default();
                    format!("between = [{}, {}]", q(&l), q(&r))
                };
                vec![format!("{{ var = {}, {what}{nth}{miss} }}", q(&var))]
            }
        }
    }

    /// XPath (1.0, or 2.0 written in its 1.0 subset) and CSS Selector Extractors.
    fn markup_extractor(&mut self, el: &Element, place: &str) -> Vec<String> {
        let (p, key) = match el.tag.as_str() {
            "XPathExtractor" => ("XPathExtractor", "XPathExtractor.xpathQuery"),
            "XPath2Extractor" => ("XPathExtractor2", "XPathExtractor2.xpathQuery"),
            _ => ("HtmlExtractor", "HtmlExtractor.expr"),
        };
        let var = el.prop(&format!("{p}.refname")).unwrap_or_default();
        let expr = el.prop(key).unwrap_or_default();
        if expr.trim().is_empty() || var.trim().is_empty() {
            self.note(place, "no expression or no variable: nothing to extract");
            return vec![];
        }
        let nth_key = if p == "HtmlExtractor" {
            "match_number"
        } else {
            "matchNumber"
        };
        let nth = match_no(self, el.prop(&format!("{p}.{nth_key}")), place);
        let default = el.prop(&format!("{p}.default")).unwrap_or_default();
        let miss = missing(
            &default,
            el.prop_bool(&format!("{p}.default_empty_value"))
                .unwrap_or(false),
        );
        if el.prop("Sample.scope").is_some_and(|s| s != "parent") {
            self.warn(place, "extracting from sub-samples or a variable is not supported: it reads the answer's body");
        }
        let what = if p == "HtmlExtractor" {
            if el
                .prop("HtmlExtractor.extractor_impl")
                .is_some_and(|i| i.contains("JODD"))
            {
                self.note(place, "the Jodd implementation: surge's CSS selectors (html5ever) read the same selectors");
            }
            if let Err(e) = crate::markup::Markup::css(&expr, None) {
                self.warn(place, format!("CSS selector {expr:?}: {e}; not imported"));
                return vec![];
            }
            let attr = el.prop("HtmlExtractor.attribute").unwrap_or_default();
            if attr.trim().is_empty() {
                format!("css = {}", q(&expr))
            } else {
                format!("css = {}, attribute = {}", q(&expr), q(attr.trim()))
            }
        } else {
            let tolerant = el.prop_bool("XPathExtractor.tolerant") == Some(true);
            if p == "XPathExtractor2" && el.prop_nonempty("XPathExtractor2.namespaces").is_some() {
                self.warn(
                    place,
                    "XPath namespaces are not supported: the expression is read without them",
                );
            }
            if el.prop_bool("XPathExtractor.namespace") == Some(true) {
                self.warn(place, "namespace-aware XPath is not supported: the expression is read without namespaces");
            }
            if let Err(e) = crate::markup::Markup::xpath(&expr, tolerant) {
                self.warn(
                    place,
                    format!("XPath {expr:?} is not XPath 1.0 as surge reads it: {e}; not imported"),
                );
                return vec![];
            }
            if el.prop_bool(&format!("{p}.fragment")) == Some(true) {
                self.warn(
                    place,
                    "\"return entire XPath fragment\" is not supported: each node's text is taken",
                );
            }
            if tolerant {
                format!("xpath = {}, html = true", q(&expr))
            } else {
                format!("xpath = {}", q(&expr))
            }
        };
        vec![format!("{{ var = {}, {what}{nth}{miss} }}", q(var.trim()))]
    }

    fn json_extractor(&mut self, el: &Element, place: &str) -> Vec<String> {
        let split = |k: &str| -> Vec<String> {
            el.prop(k)
                .unwrap_or_default()
                .split(';')
                .map(str::to_string)
                .collect()
        };
        let (names, paths) = (
            split("JSONPostProcessor.referenceNames"),
            split("JSONPostProcessor.jsonPathExprs"),
        );
        let (defaults, matches) = (
            split("JSONPostProcessor.defaultValues"),
            split("JSONPostProcessor.match_numbers"),
        );
        if el.prop_bool("JSONPostProcessor.compute_concat") == Some(true) {
            self.warn(
                place,
                "compute concatenation (var_ALL) is not supported: ignored",
            );
        }
        let mut out = Vec::new();
        for (i, name) in names
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.trim().is_empty())
        {
            let path = paths.get(i).map_or("", |s| s.trim());
            if let Err(e) = serde_json_path::JsonPath::parse(path) {
                self.warn(
                    place,
                    format!(
                        "JSON path {path:?} is not RFC 9535 (surge's JSON path): {e}; not imported"
                    ),
                );
                continue;
            }
            let nth = match_no(self, matches.get(i).cloned(), place);
            // JMeter's JSON extractor sets its default (even empty) on a miss.
            let d = defaults.get(i).cloned().unwrap_or_default();
            out.push(format!(
                "{{ var = {}, json = {}{nth}, default = {} }}",
                q(name.trim()),
                q(path),
                q(&d)
            ));
        }
        out
    }

    /// An assertion as `assert` entries (empty when it is not one surge maps).
    pub(super) fn check(&mut self, el: &Element, place: &str) -> Vec<String> {
        let name = q(el.testname());
        match el.tag.as_str() {
            "DurationAssertion" => match self.number(el, "DurationAssertion.duration", place) {
                Some(ms) if ms > 0.0 => vec![format!(
                    "{{ name = {name}, max_time = \"{}ms\" }}",
                    ms.round()
                )],
                _ => vec![],
            },
            "JSONPathAssertion" => self.json_assertion(el, place, &name),
            _ => self.body_assertion(el, place, &name),
        }
    }

    fn json_assertion(&mut self, el: &Element, place: &str, name: &str) -> Vec<String> {
        let path = el.prop("JSON_PATH").unwrap_or_default();
        if let Err(e) = serde_json_path::JsonPath::parse(&path) {
            self.warn(
                place,
                format!("JSON path {path:?} is not RFC 9535: {e}; not imported"),
            );
            return vec![];
        }
        let invert = el.prop_bool("INVERT").unwrap_or(false);
        let neg = if invert { ", negate = true" } else { "" };
        let test = if el.prop_bool("EXPECT_NULL") == Some(true) {
            "equals = \"null\"".to_string()
        } else if el.prop_bool("JSONVALIDATION") == Some(true) {
            let want = el.prop("EXPECTED_VALUE").unwrap_or_default();
            if el.prop_bool("ISREGEX").unwrap_or(true) {
                format!("matches = {}", q(&format!("^(?:{want})$")))
            } else {
                format!("equals = {}", q(&want))
            }
        } else {
            String::new()
        };
        let sep = if test.is_empty() { "" } else { ", " };
        vec![format!(
            "{{ name = {name}, json = {}{sep}{test}{neg} }}",
            q(&path)
        )]
    }

    /// A Response Assertion on the body: substring, contains, matches, equals; NOT and OR.
    fn body_assertion(&mut self, el: &Element, place: &str, name: &str) -> Vec<String> {
        let ty = self
            .number(el, "Assertion.test_type", place)
            .unwrap_or(16.0) as i64;
        let strings = super::config::test_strings(el);
        let neg = if ty & 4 != 0 { ", negate = true" } else { "" };
        let pattern = |s: &str| -> String {
            match ty & !(4 | 32) {
                1 => format!("^(?:{s})$"),
                8 => format!("^{}$", regex::escape(s)),
                16 => regex::escape(s),
                _ => s.to_string(),
            }
        };
        let mut pats = Vec::new();
        for s in strings {
            let Some(s) = self.constant(&s, place, "pattern") else {
                continue;
            };
            let p = pattern(&s);
            if regex::Regex::new(&p).is_err() {
                self.warn(
                    place,
                    format!("pattern {s:?} is not a regular expression surge reads: not imported"),
                );
                continue;
            }
            pats.push(p);
        }
        if pats.is_empty() {
            return vec![];
        }
        if ty & 32 != 0 || pats.len() == 1 {
            let p = pats
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            let p = if pats.len() == 1 { pats[0].clone() } else { p };
            return vec![format!("{{ name = {name}, matches = {}{neg} }}", q(&p))];
        }
        pats.iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{{ name = {}, matches = {}{neg} }}",
                    q(&format!("{} #{}", el.testname(), i + 1)),
                    q(p)
                )
            })
            .collect()
    }

    /// A While or If condition as a surge condition; None (with a warning) when its form is not
    /// one surge maps. `while_rule`: JMeter's While runs until the value is `false`; an If runs
    /// when it is `true`.
    pub(super) fn condition(&mut self, raw: &str, place: &str, while_rule: bool) -> Option<String> {
        let raw = raw.trim();
        let known: Vec<String> = self.env.data_vars.clone();
        let bare = raw
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .filter(|v| !v.starts_with("__") && !v.contains(['$', '{', '(']));
        let converted = if let Some(v) = bare {
            Some(if while_rule {
                format!("{{{v}}} != 'false'")
            } else {
                format!("{{{v}}} == 'true'")
            })
        } else {
            let inner = [
                "__jexl3(",
                "__jexl2(",
                "__groovy(",
                "__javaScript(",
                "__javascript(",
            ]
            .iter()
            .find_map(|f| {
                raw.strip_prefix("${")
                    .and_then(|r| r.strip_prefix(f))
                    .and_then(|r| r.strip_suffix(")}"))
            })
            .unwrap_or(raw);
            // A function's optional second argument (a variable to store into) is dropped.
            let inner = inner
                .rsplit_once(',')
                .filter(|(_, b)| !b.contains(['"', '\'', '=', '&', '|']))
                .map_or(inner, |(a, _)| a);
            Some(expression(inner))
        };
        let c = converted?;
        match crate::cond::Cond::parse(&c, &known) {
            Ok(_) => Some(c),
            Err(e) => {
                self.warn(place, format!("condition {raw:?} is not a form surge maps (variables compared to literals with ==, !=, <, >, &&, ||): {}; its steps run unconditionally", e.message));
                None
            }
        }
    }
}

/// A JEXL/Groovy/JavaScript comparison rewritten in surge's condition syntax: `"${v}"`,
/// `'${v}'`, `${v}` and `vars.get("v")` become `{v}`; `"text"` becomes `'text'`;
/// `.equals("x")` becomes `== 'x'`.
fn expression(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let rest = |i: usize| chars[i..].iter().collect::<String>();
    while i < chars.len() {
        let r = rest(i);
        if let Some(v) = var_at(&r) {
            out.push_str(&format!("{{{}}}", v.0));
            i += v.1;
            continue;
        }
        if let Some(tail) = r.strip_prefix(".equals(") {
            if let Some(end) = tail.find(')') {
                out.push_str(" == ");
                out.push_str(&expression(&tail[..end]));
                i += ".equals(".len() + end + 1;
                continue;
            }
        }
        let c = chars[i];
        if c == '"' || c == '\'' {
            if let Some(end) = r[1..].find(c) {
                let text = &r[1..1 + end];
                out.push('\'');
                out.push_str(&text.replace('\'', "\\'"));
                out.push('\'');
                i += end + 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A variable reference at the start of `s`: its name and length.
fn var_at(s: &str) -> Option<(String, usize)> {
    for (open, close) in [
        ("\"${", "}\""),
        ("'${", "}'"),
        ("${", "}"),
        ("vars.get(\"", "\")"),
        ("vars.get('", "')"),
    ] {
        if let Some(tail) = s.strip_prefix(open) {
            let end = tail.find(close)?;
            let name = &tail[..end];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_.-".contains(c))
            {
                return Some((name.to_string(), open.len() + end + close.len()));
            }
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn conditions_in_the_forms_plans_use() {
        let cases = [
            (r#""${status}" != "SUCCESS""#, "{status} != 'SUCCESS'"),
            (r#"${n} < 10 && "${s}" == "x""#, "{n} < 10 && {s} == 'x'"),
            (r#"vars.get("s").equals("DONE")"#, "{s} == 'DONE'"),
            (r#"'${a}' == 'b' || ${c} > 2"#, "{a} == 'b' || {c} > 2"),
        ];
        for (src, want) in cases {
            assert_eq!(super::expression(src), want, "{src}");
        }
    }
}
