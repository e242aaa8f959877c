//! `[[request.extract]]`, `[[request.assert]]` and `[request.poll]` as written, before they are
//! checked into the plan's extractors, assertions and polls.

use serde::Deserialize;

use crate::spec::RawDuration;

/// `[[request.extract]]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawExtract {
    /// The variable it sets.
    pub var: Option<String>,
    /// An RFC 9535 JSON path into the body.
    pub json: Option<String>,
    /// A regular expression over the body.
    pub regex: Option<String>,
    /// regex: the group whose text is the value (default 1; 0 the whole match).
    pub group: Option<i64>,
    /// regex: JMeter's template (`$1$-$2$`) instead of `group`.
    pub template: Option<String>,
    /// The text between a left and a right boundary: `["id=\"", "\""]`.
    pub between: Option<Vec<String>>,
    /// A response header.
    pub header: Option<String>,
    /// `"status"`: the status code.
    pub from: Option<String>,
    /// An XPath 1.0 expression over an XML body (or HTML with `html = true`).
    pub xpath: Option<String>,
    /// xpath: read the body as HTML, tolerantly (JMeter's "Use Tidy").
    pub html: Option<bool>,
    /// A CSS selector over an HTML body.
    pub css: Option<String>,
    /// css: the attribute to read (default: the element's text).
    pub attribute: Option<String>,
    /// Which match, from 1 (default 1); 0 takes one at random; `"all"` keeps every match.
    #[serde(rename = "match")]
    pub nth: Option<RawMatch>,
    /// The value when nothing matches (then a miss is not a failure).
    pub default: Option<String>,
    /// `fail` (default without `default`), `default`, or `keep` (leave the variable as it was).
    pub on_missing: Option<String>,
}

/// A match number as written: a number, or `"all"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawMatch {
    /// From 1; 0 random; -1 all (JMeter's numbers).
    Number(i64),
    /// `"all"`.
    Text(String),
}

/// `[[request.assert]]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawAssert {
    /// Shown in reports (default: what it tests).
    pub name: Option<String>,
    /// The status is one of these.
    pub status: Option<Vec<u16>>,
    /// A JSON path; with `equals`, `matches`, or alone (it must match something).
    pub json: Option<String>,
    /// json: the first match equals this value.
    pub equals: Option<toml::Value>,
    /// json: the first match, as text, matches this regular expression; alone: the body does.
    pub matches: Option<String>,
    /// The body holds this text.
    pub contains: Option<String>,
    /// The response time (sent → received) is at most this.
    pub max_time: Option<RawDuration>,
    /// Pass when the test fails (JMeter's "Not").
    pub negate: Option<bool>,
}

/// `[request.poll]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawPoll {
    /// Done when this condition holds.
    pub until: Option<String>,
    /// Failed when this holds.
    pub fail_if: Option<String>,
    /// Wait between an answer and the next poll (default 1s).
    pub interval: Option<RawDuration>,
    /// Give up this long after the first poll (default 60s).
    pub timeout: Option<RawDuration>,
    /// Give up after this many polls.
    pub max_polls: Option<i64>,
}
