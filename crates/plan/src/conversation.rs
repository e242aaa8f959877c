//! What a request reads of its answer, as plan data: extractors (JSON path, regular expression,
//! boundaries, a header, the status) into per-user variables, named assertions, and polling
//! until a condition holds. Checked from `[[request.extract]]`, `[[request.assert]]` and
//! `[request.poll]`; the engine applies them to each answer.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json_path::JsonPath;

use super::build::Checker;
use super::cond::Cond;

mod raw;
pub use self::raw::*;

/// The most of a body kept for extractors and assertions (the rest is read and counted).
pub const BODY_LIMIT: usize = 1 << 20;

/// Where an extractor reads.
#[derive(Debug, Clone)]
pub enum Source {
    /// The JSON body, by an RFC 9535 path.
    Json(Arc<JsonPath>),
    /// The body, by a regular expression; the value is `template` with `$n$` replaced by group n.
    Regex {
        /// The expression.
        re: Arc<regex::Regex>,
        /// JMeter's template: `$1$`, `$1$-$2$`.
        template: String,
    },
    /// The text between two boundaries of the body.
    Between(String, String),
    /// A response header (first value).
    Header(http::HeaderName),
    /// The status code.
    Status,
    /// XPath over XML or HTML, or a CSS selector over HTML.
    Markup(super::markup::Markup),
}

/// Which match an extractor takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nth {
    /// The n-th (from 1).
    Index(u32),
    /// One at random (JMeter's match number 0).
    Random,
    /// Every match, for `foreach` (JMeter's match number -1); the variable holds their count.
    All,
}

/// What an extractor does when nothing matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The answer fails with the `extract` outcome (the default without `default`).
    Fail,
    /// The variable gets this value.
    Default(String),
    /// The variable keeps its value (JMeter's extractor with an empty default).
    Keep,
}

/// One `[[request.extract]]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Extractor {
    /// Index of the variable in the plan's variables.
    pub var: usize,
    /// Its name.
    pub var_name: String,
    /// Where it reads, as written (`json $.id`).
    pub from: String,
    /// Where it reads.
    #[serde(skip)]
    pub source: Source,
    /// Which match.
    pub nth: Nth,
    /// No match.
    pub missing: Missing,
    /// The check id a failure is recorded under (`label: extract var`).
    pub check: u16,
}

/// What an assertion tests.
#[derive(Debug, Clone)]
pub enum Test {
    /// The status is one of these.
    Status(Vec<u16>),
    /// A JSON path's first match equals this JSON value (text compares to text).
    JsonEquals(Arc<JsonPath>, serde_json::Value),
    /// A JSON path's first match (as text) matches.
    JsonMatches(Arc<JsonPath>, Arc<regex::Regex>),
    /// A JSON path matches something.
    JsonExists(Arc<JsonPath>),
    /// The body holds this text.
    Contains(String),
    /// The body matches.
    BodyMatches(Arc<regex::Regex>),
    /// The response time (sent → received) is at most this.
    MaxTime(Duration),
}

/// One `[[request.assert]]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Assertion {
    /// Its name, as reports show it.
    pub name: String,
    /// What it tests.
    #[serde(skip)]
    pub test: Test,
    /// Passes when the test fails.
    pub negate: bool,
    /// The check id a failure is recorded under.
    pub check: u16,
}

/// `[request.poll]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Poll {
    /// Done when this holds.
    pub until: Cond,
    /// Ends the poll as failed (`assertion` outcome) when this holds, e.g. the operation said
    /// FAILURE.
    pub fail_if: Option<Cond>,
    /// The check id a `fail_if` is recorded under.
    pub fail_check: u16,
    /// Wait after an answer that is not done.
    #[serde(with = "super::plan::secs")]
    pub interval: Duration,
    /// Give up this long after the first poll was sent.
    #[serde(with = "super::plan::opt_secs")]
    pub timeout: Option<Duration>,
    /// Give up after this many polls.
    pub max_polls: Option<u32>,
}

/// Check names of the plan (`label: what`), indexed by the ids samples carry.
#[derive(Debug, Default)]
pub(super) struct CheckNames(pub Vec<String>);

impl CheckNames {
    fn add(&mut self, name: String) -> u16 {
        self.0.push(name);
        (self.0.len() - 1).min(usize::from(u16::MAX)) as u16
    }
}

fn json_path(c: &mut Checker<'_>, path: &str, src: &str) -> Option<Arc<JsonPath>> {
    match JsonPath::parse(src) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            c.err(path, format!("{src:?} is not a JSON path (RFC 9535): {e}"));
            None
        }
    }
}

fn regex(c: &mut Checker<'_>, path: &str, src: &str) -> Option<Arc<regex::Regex>> {
    match regex::Regex::new(src) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            c.err(path, format!("not a regular expression: {e}"));
            None
        }
    }
}

/// The variables the extractors of every request set, in file order (they join the plan's
/// variables, so templates and conditions may use them).
pub(super) fn extracted_vars(raw: &[super::spec::RawRequest]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        for e in &r.extract {
            if let Some(v) = e.var.as_ref().filter(|v| !v.trim().is_empty()) {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    out
}

/// Checks a request's extractors.
pub(super) fn build_extractors(
    c: &mut Checker<'_>,
    p: &str,
    label: &str,
    raw: Vec<RawExtract>,
    vars: &[String],
    checks: &mut CheckNames,
) -> Vec<Extractor> {
    let mut out = Vec::new();
    for (i, e) in raw.into_iter().enumerate() {
        let ep = format!("{p}.extract[{i}]");
        let Some(var_name) = e.var.clone().filter(|v| !v.trim().is_empty()) else {
            c.err(&format!("{ep}.var"), "is required: the variable it sets");
            continue;
        };
        let kinds = [
            e.json.is_some(),
            e.regex.is_some(),
            e.between.is_some(),
            e.header.is_some(),
            e.from.is_some(),
            e.xpath.is_some(),
            e.css.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            c.err(
                &ep,
                "needs exactly one of json, regex, between, header, xpath, css, from = \"status\"",
            );
            continue;
        }
        if e.html.is_some() && e.xpath.is_none() {
            c.err(&format!("{ep}.html"), "goes with xpath");
        }
        if e.attribute.is_some() && e.css.is_none() {
            c.err(&format!("{ep}.attribute"), "goes with css");
        }
        let (source, from) = match extract_source(c, &ep, &e) {
            Some(s) => s,
            None => continue,
        };
        if (e.group.is_some() || e.template.is_some()) && e.regex.is_none() {
            c.err(&ep, "group and template go with regex");
        }
        let nth = match &e.nth {
            None => Nth::Index(1),
            Some(RawMatch::Number(0)) => Nth::Random,
            Some(RawMatch::Number(-1)) => Nth::All,
            Some(RawMatch::Text(t)) if t == "all" => Nth::All,
            Some(RawMatch::Number(n)) if *n >= 1 => {
                Nth::Index((*n).min(i64::from(u32::MAX)) as u32)
            }
            Some(other) => {
                c.err(
                    &format!("{ep}.match"),
                    format!("must be a match number from 1, 0 (random) or \"all\", got {other:?}"),
                );
                Nth::Index(1)
            }
        };
        let missing = match (e.on_missing.as_deref(), e.default.clone()) {
            (None, None) | (Some("fail"), None) => Missing::Fail,
            (None, Some(d)) | (Some("default"), Some(d)) => Missing::Default(d),
            (Some("default"), None) => Missing::Default(String::new()),
            (Some("keep"), None) => Missing::Keep,
            (Some(o), d) => {
                let msg = match o {
                    "fail" | "keep" => {
                        format!("{o:?} leaves no place for a default ({d:?}); remove one")
                    }
                    _ => format!(
                        "{o:?} is not one of: fail, default, keep{}",
                        surge_record::text::did_you_mean(o, ["fail", "default", "keep"])
                    ),
                };
                c.err(&format!("{ep}.on_missing"), msg);
                Missing::Fail
            }
        };
        let var = vars.iter().position(|v| *v == var_name).unwrap_or(0);
        let check = checks.add(format!("{label}: extract {var_name}"));
        out.push(Extractor {
            var,
            var_name,
            from,
            source,
            nth,
            missing,
            check,
        });
    }
    out
}

fn extract_source(c: &mut Checker<'_>, ep: &str, e: &RawExtract) -> Option<(Source, String)> {
    if let Some(j) = &e.json {
        return Some((
            Source::Json(json_path(c, &format!("{ep}.json"), j)?),
            format!("json {j}"),
        ));
    }
    if let Some(r) = &e.regex {
        let re = regex(c, &format!("{ep}.regex"), r)?;
        let template = match (&e.template, e.group) {
            (Some(t), None) => t.clone(),
            (None, g) => {
                let g = g.unwrap_or(1);
                if g < 0 || g as usize >= re.captures_len() {
                    c.err(
                        &format!("{ep}.group"),
                        format!(
                            "the expression has groups 0 to {}, got {g}",
                            re.captures_len() - 1
                        ),
                    );
                    return None;
                }
                format!("${g}$")
            }
            (Some(_), Some(_)) => {
                c.err(ep, "set group or template, not both");
                return None;
            }
        };
        return Some((Source::Regex { re, template }, format!("regex {r}")));
    }
    if let Some(b) = &e.between {
        if b.len() != 2 {
            c.err(&format!("{ep}.between"), "takes two texts: [left, right]");
            return None;
        }
        return Some((
            Source::Between(b[0].clone(), b[1].clone()),
            format!("between {:?} and {:?}", b[0], b[1]),
        ));
    }
    if let Some(h) = &e.header {
        return match http::HeaderName::from_bytes(h.as_bytes()) {
            Ok(n) => Some((Source::Header(n), format!("header {h}"))),
            Err(_) => {
                c.err(&format!("{ep}.header"), "is not a valid header name");
                None
            }
        };
    }
    if let Some(x) = &e.xpath {
        let html = e.html.unwrap_or(false);
        return match super::markup::Markup::xpath(x, html) {
            Ok(m) => Some((
                Source::Markup(m),
                format!("xpath{} {x}", if html { " (html)" } else { "" }),
            )),
            Err(err) => {
                c.err(&format!("{ep}.xpath"), err.to_string());
                None
            }
        };
    }
    if let Some(sel) = &e.css {
        return match super::markup::Markup::css(sel, e.attribute.as_deref()) {
            Ok(m) => Some((Source::Markup(m), format!("css {sel}"))),
            Err(err) => {
                c.err(&format!("{ep}.css"), err.to_string());
                None
            }
        };
    }
    match e.from.as_deref() {
        Some("status") => Some((Source::Status, "status".into())),
        Some(o) => {
            c.err(
                &format!("{ep}.from"),
                format!("{o:?}: only \"status\" (use json, regex, between or header for the rest)"),
            );
            None
        }
        None => None,
    }
}

/// Checks a request's assertions.
pub(super) fn build_asserts(
    c: &mut Checker<'_>,
    p: &str,
    label: &str,
    raw: Vec<RawAssert>,
    checks: &mut CheckNames,
) -> Vec<Assertion> {
    let mut out = Vec::new();
    for (i, a) in raw.into_iter().enumerate() {
        let ap = format!("{p}.assert[{i}]");
        let kinds = [
            a.status.is_some(),
            a.json.is_some(),
            a.contains.is_some(),
            a.max_time.is_some(),
            a.matches.is_some() && a.json.is_none(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            c.err(
                &ap,
                "needs exactly one of status, json, contains, matches, max_time",
            );
            continue;
        }
        if a.equals.is_some() && a.json.is_none() {
            c.err(&format!("{ap}.equals"), "goes with json");
            continue;
        }
        let Some((test, what)) = assert_test(c, &ap, &a) else {
            continue;
        };
        let negate = a.negate.unwrap_or(false);
        let name = a
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| if negate { format!("not {what}") } else { what });
        let check = checks.add(format!("{label}: {name}"));
        out.push(Assertion {
            name,
            test,
            negate,
            check,
        });
    }
    out
}

fn assert_test(c: &mut Checker<'_>, ap: &str, a: &RawAssert) -> Option<(Test, String)> {
    if let Some(list) = &a.status {
        if list.is_empty() || list.iter().any(|s| !(100..=599).contains(s)) {
            c.err(
                &format!("{ap}.status"),
                "must list HTTP status codes between 100 and 599",
            );
            return None;
        }
        let shown: Vec<String> = list.iter().map(u16::to_string).collect();
        return Some((
            Test::Status(list.clone()),
            format!("status in [{}]", shown.join(", ")),
        ));
    }
    if let Some(j) = &a.json {
        let path = json_path(c, &format!("{ap}.json"), j)?;
        return match (&a.equals, &a.matches) {
            (Some(_), Some(_)) => {
                c.err(ap, "set equals or matches, not both");
                None
            }
            (Some(v), None) => {
                let want = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
                Some((
                    Test::JsonEquals(path, want.clone()),
                    format!("{j} == {want}"),
                ))
            }
            (None, Some(m)) => {
                let re = regex(c, &format!("{ap}.matches"), m)?;
                Some((Test::JsonMatches(path, re), format!("{j} =~ {m:?}")))
            }
            (None, None) => Some((Test::JsonExists(path), format!("{j} exists"))),
        };
    }
    if let Some(t) = &a.contains {
        return Some((Test::Contains(t.clone()), format!("body contains {t:?}")));
    }
    if let Some(m) = &a.matches {
        let re = regex(c, &format!("{ap}.matches"), m)?;
        return Some((Test::BodyMatches(re), format!("body =~ {m:?}")));
    }
    let d = c.duration(
        &format!("{ap}.max_time"),
        a.max_time.as_ref(),
        Duration::ZERO,
    );
    if d.is_zero() {
        c.err(&format!("{ap}.max_time"), "must be longer than 0s");
        return None;
    }
    Some((
        Test::MaxTime(d),
        format!("time <= {}", surge_record::duration::format(d)),
    ))
}

/// Checks `[request.poll]`.
pub(super) fn build_poll(
    c: &mut Checker<'_>,
    p: &str,
    label: &str,
    raw: RawPoll,
    vars: &[String],
    checks: &mut CheckNames,
) -> Option<Poll> {
    let pp = format!("{p}.poll");
    let cond = |c: &mut Checker<'_>, field: &str, src: &str| match Cond::parse(src, vars) {
        Ok(x) => Some(x),
        Err(e) => {
            c.err(
                &format!("{pp}.{field}"),
                format!("at character {}: {}", e.pos, e.message),
            );
            None
        }
    };
    let Some(until_src) = raw.until.as_deref() else {
        c.err(
            &format!("{pp}.until"),
            "is required, e.g. until = \"$.currentOperation.complete == true\"",
        );
        return None;
    };
    let until = cond(c, "until", until_src);
    let fail_if = raw.fail_if.as_deref().map(|s| cond(c, "fail_if", s));
    let interval = c.duration(
        &format!("{pp}.interval"),
        raw.interval.as_ref(),
        Duration::from_secs(1),
    );
    let timeout = c.duration(
        &format!("{pp}.timeout"),
        raw.timeout.as_ref(),
        Duration::from_secs(60),
    );
    if timeout.is_zero() {
        c.err(&format!("{pp}.timeout"), "must be longer than 0s");
    }
    let max_polls = match raw.max_polls {
        None => None,
        Some(n) if n >= 1 => Some(n.min(i64::from(u32::MAX)) as u32),
        Some(n) => {
            c.err(
                &format!("{pp}.max_polls"),
                format!("must be at least 1, got {n}"),
            );
            None
        }
    };
    let fail_check = checks.add(format!(
        "{label}: fail_if {}",
        raw.fail_if.as_deref().unwrap_or("")
    ));
    Some(Poll {
        until: until?,
        fail_if: match fail_if {
            Some(Some(f)) => Some(f),
            Some(None) => return None,
            None => None,
        },
        fail_check,
        interval,
        timeout: Some(timeout),
        max_polls,
    })
}
