//! Threshold expressions (`p95(publish) < 800ms`, `rate(429) > 5% for 10s`): the grammar, the
//! parser with positioned messages, and the checked form that [`super::threshold_eval`] evaluates.
//!
//! # Grammar
//! ```text
//! threshold := metric compare value [ "for" duration ]
//! metric    := NAME [ "(" arg { "," arg } ")" ]
//! arg       := WORD | "quoted label" | 'quoted label'
//! compare   := "<" | "<=" | ">" | ">=" | "==" | "!="
//! value     := NUMBER [ unit ]      unit: us ms s m h | % pp | /s /m | (none)
//! ```
//! Metrics (labels are the scenario's request names; `*` means every label):
//! - latency: `p50 p75 p90 p95 p99 p99.9` (any `pNN`), `median`, `min`, `max`, `avg`:
//!   `p95`, `p95(LABEL)`, `p95(LABEL, OUTCOME)`, `p95(*, OUTCOME)`, and `response` as a further
//!   argument for the response time from the intended start (default: service time). The default
//!   outcome is `success`: percentiles never mix successes with fast 429s.
//! - shares of attempts: `rate(SEL[, LABEL])` where SEL is an outcome (`2xx`, `429`, `4xx`, `5xx`,
//!   `error`, `success`, `throttled`, …) or a status (`503`, `error:timeout`);
//!   `error_rate[(LABEL)]` = (5xx + transport errors) / attempts; `final_rate(OUTCOME)` = share of
//!   logical requests whose last attempt ended so (whole run, every label).
//! - `count(SEL[, LABEL])`, `throughput([SEL[, LABEL]])` (per second of the run),
//!   `retries_per_success[(LABEL)]`, `first_429`, `completion` (batch completion time).
//!
//! Without `for`, an expression says what must hold over the whole run. With `for N`, it says
//! what must NOT hold for N consecutive seconds (Taurus semantics): `rate(429) > 5% for 10s` fails
//! the run when more than 5% of the attempts of each of 10 consecutive seconds were 429s.

use std::fmt;

use serde::Serialize;

use crate::record::{Outcome, StatusKey};

/// A positioned problem in an expression. Displays as one line:
/// `p95(publsh) < 800ms: at character 5: unknown label "publsh" (labels: publish)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_text}: at character {pos}: {message}")]
pub struct ParseError {
    /// The expression as written.
    pub source_text: String,
    /// 1-based character position of the problem.
    pub pos: usize,
    /// What was expected or what is wrong.
    pub message: String,
}

/// Which responses a rate or count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sel {
    /// An outcome class.
    Outcome(Outcome),
    /// One status code or transport error class.
    Status(StatusKey),
}

impl Sel {
    /// Parses `2xx`, `429`, `throttled`, `503`, `error:timeout`.
    pub fn parse(s: &str) -> Option<Sel> {
        if let Some(o) = Outcome::from_name(s) {
            return Some(Sel::Outcome(o));
        }
        match StatusKey::parse(s)? {
            StatusKey::Http(c) if (100..=599).contains(&c) => Some(Sel::Status(StatusKey::Http(c))),
            StatusKey::Http(_) => None,
            k => Some(Sel::Status(k)),
        }
    }

    /// Does a status belong to this selection?
    pub fn matches(self, k: StatusKey) -> bool {
        match self {
            Sel::Outcome(o) => k.outcome() == o,
            Sel::Status(s) => s == k,
        }
    }
}

/// Which statistic of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// A percentile, 0 < p < 100.
    Pct(f64),
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Mean.
    Avg,
}

impl Stat {
    /// Parses `p95`, `p99.9`, `median`, `min`, `max`, `avg`/`mean`.
    pub fn parse(s: &str) -> Option<Stat> {
        match s {
            "min" => return Some(Stat::Min),
            "max" => return Some(Stat::Max),
            "avg" | "mean" => return Some(Stat::Avg),
            "median" => return Some(Stat::Pct(50.0)),
            _ => {}
        }
        let n: f64 = s.strip_prefix('p')?.parse().ok()?;
        (n > 0.0 && n < 100.0).then_some(Stat::Pct(n))
    }

    /// The quantile (0..=1) for percentiles, min and max; None for the mean.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Stat::Pct(p) => Some(p / 100.0),
            Stat::Min => Some(0.0),
            Stat::Max => Some(1.0),
            Stat::Avg => None,
        }
    }

    /// `p95`, `p99.9`, `max`, …
    pub fn name(self) -> String {
        match self {
            Stat::Pct(p) => format!("p{p}"),
            Stat::Min => "min".into(),
            Stat::Max => "max".into(),
            Stat::Avg => "avg".into(),
        }
    }
}

/// Service time (sent → received) or response time from the intended start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Sent → fully received (default).
    Service,
    /// From the schedule's intended start (coordinated omission corrected).
    Response,
}

/// A measurable quantity of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metric {
    /// A latency statistic (seconds).
    Latency {
        /// Which statistic.
        stat: Stat,
        /// One label, or every label.
        label: Option<String>,
        /// Whose latency (default success).
        outcome: Outcome,
        /// Service or response time.
        timing: Timing,
    },
    /// Share of attempts (0..=1).
    Rate {
        /// What is counted.
        sel: Sel,
        /// One label, or every label.
        label: Option<String>,
    },
    /// (5xx + transport errors) / attempts.
    ErrorRate {
        /// One label, or every label.
        label: Option<String>,
    },
    /// Share of logical requests whose final attempt had this outcome.
    FinalRate {
        /// The outcome.
        outcome: Outcome,
    },
    /// A number of attempts.
    Count {
        /// What is counted.
        sel: Sel,
        /// One label, or every label.
        label: Option<String>,
    },
    /// Attempts per second of the run.
    Throughput {
        /// What is counted (None: every attempt).
        sel: Option<Sel>,
        /// One label, or every label.
        label: Option<String>,
    },
    /// Retries / successful requests.
    RetriesPerSuccess {
        /// One label, or every label.
        label: Option<String>,
    },
    /// Seconds from the start to the first 429 (none: infinitely late).
    First429,
    /// Seconds from the start to the end of the last response.
    Completion,
}

/// What unit a metric's limit is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A time, in seconds.
    Time,
    /// A share, 0..=1.
    Share,
    /// Per second.
    PerSecond,
    /// A plain number.
    Number,
}

impl Metric {
    /// The unit family of the metric's value.
    pub fn kind(&self) -> Kind {
        match self {
            Metric::Latency { .. } | Metric::First429 | Metric::Completion => Kind::Time,
            Metric::Rate { .. } | Metric::ErrorRate { .. } | Metric::FinalRate { .. } => {
                Kind::Share
            }
            Metric::Throughput { .. } => Kind::PerSecond,
            Metric::Count { .. } | Metric::RetriesPerSuccess { .. } => Kind::Number,
        }
    }

    /// The label it is restricted to, if any.
    pub fn label(&self) -> Option<&str> {
        match self {
            Metric::Latency { label, .. }
            | Metric::Rate { label, .. }
            | Metric::ErrorRate { label }
            | Metric::Count { label, .. }
            | Metric::Throughput { label, .. }
            | Metric::RetriesPerSuccess { label } => label.as_deref(),
            _ => None,
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cmp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl Cmp {
    /// `a <op> b`.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }
}

/// A parsed, checked expression. Values are in base units: seconds, shares (0..=1), per second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    /// The expression as written (trimmed).
    pub source: String,
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub cmp: Cmp,
    /// The limit, in base units.
    pub value: f64,
    /// `for N`: whole seconds the condition must hold in a row to fail the threshold.
    pub sustain_s: Option<u32>,
}

/// A threshold of a plan: an expression, a name and whether a breach stops the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// Shown in verdicts (default: the expression).
    pub name: String,
    /// The checked expression.
    pub expr: Expr,
    /// Stop the run as soon as this (sustained) threshold fails.
    pub abort_on_fail: bool,
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Comma,
    Op(Cmp),
    Bad(char),
}

/// Splits into tokens with their 1-based character positions.
fn lex(src: &str) -> Vec<(usize, Tok)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let special = |c: char| c.is_whitespace() || "(),<>=!\"'".contains(c);
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                out.push((
                    pos,
                    match c {
                        '(' => Tok::Open,
                        ')' => Tok::Close,
                        _ => Tok::Comma,
                    },
                ));
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('<', true) => Some(Cmp::Le),
                    ('<', false) => Some(Cmp::Lt),
                    ('>', true) => Some(Cmp::Ge),
                    ('>', false) => Some(Cmp::Gt),
                    ('=', true) => Some(Cmp::Eq),
                    ('!', true) => Some(Cmp::Ne),
                    _ => None,
                };
                match op {
                    Some(op) => out.push((pos, Tok::Op(op))),
                    None => out.push((pos, Tok::Bad(c))),
                }
                i += if eq { 2 } else { 1 };
            }
            '"' | '\'' => {
                let end = chars[i + 1..].iter().position(|&d| d == c);
                match end {
                    Some(n) => {
                        out.push((pos, Tok::Quoted(chars[i + 1..i + 1 + n].iter().collect())));
                        i += n + 2;
                    }
                    None => {
                        out.push((pos, Tok::Bad(c)));
                        i = chars.len();
                    }
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && !special(chars[i]) {
                    i += 1;
                }
                out.push((pos, Tok::Word(chars[start..i].iter().collect())));
            }
        }
    }
    out
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end".into(),
        Some(Tok::Word(w)) => format!("{w:?}"),
        Some(Tok::Quoted(w)) => format!("\"{w}\" (quoted)"),
        Some(Tok::Open) => "\"(\"".into(),
        Some(Tok::Close) => "\")\"".into(),
        Some(Tok::Comma) => "\",\"".into(),
        Some(Tok::Op(c)) => format!("{:?}", c.symbol()),
        Some(Tok::Bad('=')) => "\"=\" (write == to compare)".into(),
        Some(Tok::Bad(c)) => format!("{c:?}"),
    }
}

/// Every metric name, for messages and suggestions.
pub const METRICS: &[&str] = &[
    "p50",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "median",
    "min",
    "max",
    "avg",
    "rate",
    "error_rate",
    "final_rate",
    "count",
    "throughput",
    "retries_per_success",
    "first_429",
    "completion",
];

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> String {
    let best = options.into_iter().map(|o| (distance(word, o), o)).min();
    match best {
        Some((d, o)) if d <= 2.max(word.len() / 3) => format!("; did you mean {o:?}?"),
        _ => String::new(),
    }
}

/// Splits `800ms` into (800, "ms").
fn split_number(w: &str) -> Option<(f64, &str)> {
    let end = w
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(w.len(), |(i, _)| i);
    let n: f64 = w[..end].parse().ok()?;
    n.is_finite().then_some((n, &w[end..]))
}

/// Parses a value of a given kind into base units.
///
/// # Errors
/// A message saying which units the kind takes.
pub fn parse_value(w: &str, kind: Kind, what: &str) -> Result<f64, String> {
    let Some((n, unit)) = split_number(w) else {
        return Err(format!("expected a number for {what}, found {w:?}"));
    };
    let unit = unit.trim();
    match kind {
        Kind::Time => match unit {
            "us" | "µs" => Ok(n / 1e6),
            "ms" => Ok(n / 1e3),
            "s" => Ok(n),
            "m" | "min" => Ok(n * 60.0),
            "h" => Ok(n * 3600.0),
            "" => Err(format!(
                "{what} is a time: write {n} with a unit (us, ms, s, m, h), e.g. {n}ms"
            )),
            u => Err(format!(
                "{what} is a time: unit {u:?} is not one of us, ms, s, m, h"
            )),
        },
        Kind::Share => match unit {
            "%" | "pp" => Ok(n / 100.0),
            "" => Err(format!(
                "{what} is a share: write it in percent, e.g. {n}% (a bare number is ambiguous)"
            )),
            u => Err(format!("{what} is a share: unit {u:?} is not % or pp")),
        },
        Kind::PerSecond => match unit {
            "/s" => Ok(n),
            "/m" | "/min" => Ok(n / 60.0),
            "" => Err(format!("{what} is a rate per time: write e.g. {n}/s")),
            u => Err(format!(
                "{what} is a rate per time: unit {u:?} is not /s or /m"
            )),
        },
        Kind::Number => match unit {
            "" => Ok(n),
            u => Err(format!("{what} is a plain number: remove the unit {u:?}")),
        },
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(usize, Tok)>,
    i: usize,
    labels: Option<&'a [String]>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }
    fn pos(&self) -> usize {
        self.toks
            .get(self.i)
            .map_or(self.src.chars().count() + 1, |(p, _)| *p)
    }
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            source_text: self.src.to_string(),
            pos,
            message: message.into(),
        })
    }

    fn label(&self, pos: usize, l: &str) -> Result<Option<String>, ParseError> {
        if l == "*" {
            return Ok(None);
        }
        if let Some(labels) = self.labels {
            if !labels.iter().any(|x| x == l) {
                let list = if labels.is_empty() {
                    "none".to_string()
                } else {
                    labels.join(", ")
                };
                return self.err(
                    pos,
                    format!(
                        "unknown label {l:?} (labels: {list}){}",
                        suggest(l, labels.iter().map(String::as_str))
                    ),
                );
            }
        }
        Ok(Some(l.to_string()))
    }

    fn sel(&self, pos: usize, s: &str) -> Result<Sel, ParseError> {
        Sel::parse(s).map_or_else(
            || self.err(pos, format!("expected an outcome (2xx, 429, 4xx, 5xx, error, success, throttled, client_error, server_error, transport_error) or a status (503, error:timeout), found {s:?}")),
            Ok,
        )
    }

    fn args(&mut self) -> Result<Vec<(usize, String)>, ParseError> {
        let mut args = Vec::new();
        if self.peek() != Some(&Tok::Open) {
            return Ok(args);
        }
        self.i += 1;
        if self.peek() == Some(&Tok::Close) {
            self.i += 1;
            return Ok(args);
        }
        loop {
            let pos = self.pos();
            match self.peek().cloned() {
                Some(Tok::Word(w) | Tok::Quoted(w)) => args.push((pos, w)),
                t => {
                    return self.err(
                        pos,
                        format!(
                            "expected an argument (a label, an outcome or a status), found {}",
                            describe(t.as_ref())
                        ),
                    )
                }
            }
            self.i += 1;
            let pos = self.pos();
            match self.peek() {
                Some(Tok::Comma) => self.i += 1,
                Some(Tok::Close) => {
                    self.i += 1;
                    return Ok(args);
                }
                t => {
                    return self.err(
                        pos,
                        format!("expected \",\" or \")\", found {}", describe(t)),
                    )
                }
            }
        }
    }

    fn metric(&mut self) -> Result<Metric, ParseError> {
        let pos = self.pos();
        let name = match self.peek().cloned() {
            Some(Tok::Word(w)) => w,
            t => {
                return self.err(
                    pos,
                    format!(
                        "expected a metric ({}), found {}",
                        METRICS.join(", "),
                        describe(t.as_ref())
                    ),
                )
            }
        };
        self.i += 1;
        let args = self.args()?;
        let at_most = |p: &Self, n: usize, shape: &str| -> Result<(), ParseError> {
            match args.get(n) {
                Some((ap, _)) => p.err(*ap, format!("too many arguments: {name} takes {shape}")),
                None => Ok(()),
            }
        };
        let opt_label = |p: &Self, i: usize| -> Result<Option<String>, ParseError> {
            args.get(i).map_or(Ok(None), |(ap, l)| p.label(*ap, l))
        };
        if let Some(stat) = Stat::parse(&name) {
            let label = opt_label(self, 0)?;
            let (mut outcome, mut timing) = (None, None);
            for (ap, a) in args.iter().skip(1) {
                match a.as_str() {
                    "response" | "service" if timing.is_none() => {
                        timing = Some(if a == "response" { Timing::Response } else { Timing::Service });
                    }
                    _ if outcome.is_none() && Outcome::from_name(a).is_some() => outcome = Outcome::from_name(a),
                    _ => return self.err(*ap, format!("expected an outcome (success, 429, 4xx, 5xx, error) or service/response after the label, found {a:?}; write {name}(LABEL[, OUTCOME][, response]) with * for every label")),
                }
            }
            return Ok(Metric::Latency {
                stat,
                label,
                outcome: outcome.unwrap_or(Outcome::Success),
                timing: timing.unwrap_or(Timing::Service),
            });
        }
        let no_args = |p: &Self| at_most(p, 0, "no arguments");
        Ok(match name.as_str() {
            "rate" | "count" => {
                let Some((ap, s)) = args.first() else {
                    return self.err(
                        self.pos(),
                        format!(
                            "{name} needs what to count, e.g. {name}(429) or {name}(5xx, LABEL)"
                        ),
                    );
                };
                let sel = self.sel(*ap, s)?;
                let label = opt_label(self, 1)?;
                at_most(self, 2, "(OUTCOME_OR_STATUS[, LABEL])")?;
                if name == "rate" {
                    Metric::Rate { sel, label }
                } else {
                    Metric::Count { sel, label }
                }
            }
            "throughput" => {
                let sel = match args.first() {
                    Some((_, s)) if s == "*" => None,
                    Some((ap, s)) => Some(self.sel(*ap, s)?),
                    None => None,
                };
                let label = opt_label(self, 1)?;
                at_most(self, 2, "([OUTCOME_OR_STATUS[, LABEL]])")?;
                Metric::Throughput { sel, label }
            }
            "error_rate" | "retries_per_success" => {
                let label = opt_label(self, 0)?;
                at_most(self, 1, "([LABEL])")?;
                if name == "error_rate" {
                    Metric::ErrorRate { label }
                } else {
                    Metric::RetriesPerSuccess { label }
                }
            }
            "final_rate" => {
                let outcome = match args.first() {
                    Some((ap, a)) => Outcome::from_name(a).map_or_else(
                        || {
                            self.err(
                                *ap,
                                format!(
                                    "expected an outcome (2xx, 429, 4xx, 5xx, error), found {a:?}"
                                ),
                            )
                        },
                        Ok,
                    )?,
                    None => {
                        return self.err(
                            self.pos(),
                            "final_rate needs an outcome, e.g. final_rate(2xx)",
                        )
                    }
                };
                at_most(
                    self,
                    1,
                    "(OUTCOME): final outcomes are kept for the whole run, not per label",
                )?;
                Metric::FinalRate { outcome }
            }
            "first_429" => {
                no_args(self)?;
                Metric::First429
            }
            "completion" => {
                no_args(self)?;
                Metric::Completion
            }
            _ => {
                return self.err(
                    pos,
                    format!(
                        "unknown metric {name:?}; one of: {}{}",
                        METRICS.join(", "),
                        suggest(&name, METRICS.iter().copied())
                    ),
                )
            }
        })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        if self.toks.is_empty() {
            return self.err(1, "empty expression; write e.g. p95(LABEL) < 800ms");
        }
        let metric = self.metric()?;
        let pos = self.pos();
        let cmp = match self.peek() {
            Some(Tok::Op(c)) => *c,
            t => {
                return self.err(
                    pos,
                    format!(
                        "expected a comparison (<, <=, >, >=, ==, !=), found {}",
                        describe(t)
                    ),
                )
            }
        };
        self.i += 1;
        let pos = self.pos();
        let what = self
            .src
            .split(['<', '>', '=', '!'])
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let value = match self.peek() {
            Some(Tok::Word(w)) => {
                parse_value(w, metric.kind(), &what).or_else(|m| self.err(pos, m))?
            }
            t => {
                return self.err(
                    pos,
                    format!(
                        "expected a value after {:?}, found {}",
                        cmp.symbol(),
                        describe(t)
                    ),
                )
            }
        };
        self.i += 1;
        let mut sustain_s = None;
        let pos = self.pos();
        match self.peek() {
            None => {}
            Some(Tok::Word(w)) if w == "for" => {
                self.i += 1;
                let dpos = self.pos();
                let secs = match self.peek() {
                    Some(Tok::Word(w)) => parse_value(w, Kind::Time, "the duration after \"for\"")
                        .or_else(|m| self.err(dpos, m))?,
                    t => {
                        return self.err(
                            dpos,
                            format!(
                                "expected a duration after \"for\" (e.g. 10s), found {}",
                                describe(t)
                            ),
                        )
                    }
                };
                if secs < 1.0 || secs.fract() != 0.0 {
                    return self.err(dpos, "the duration after \"for\" must be whole seconds, at least 1s (the timeline has one row per second)");
                }
                self.i += 1;
                sustain_s = Some(secs as u32);
                check_sustainable(self, pos, &metric)?;
            }
            t => {
                return self.err(
                    pos,
                    format!(
                        "expected \"for DURATION\" or the end, found {}",
                        describe(t)
                    ),
                )
            }
        }
        if self.i < self.toks.len() {
            return self.err(
                self.pos(),
                format!("unexpected {} after the expression", describe(self.peek())),
            );
        }
        Ok(Expr {
            source: self.src.trim().to_string(),
            metric,
            cmp,
            value,
            sustain_s,
        })
    }
}

fn check_sustainable(p: &Parser<'_>, pos: usize, m: &Metric) -> Result<(), ParseError> {
    if m.label().is_some() {
        return p.err(pos, "\"for\" reads the per-second timeline, which is kept for the whole run, not per label: use * or no label");
    }
    match m {
        Metric::Latency { stat: Stat::Pct(x), .. } if [50.0, 95.0, 99.0].contains(x) => Ok(()),
        Metric::Latency { stat: Stat::Max, .. } => Ok(()),
        Metric::Latency { .. } => p.err(pos, "\"for\" with latency takes p50, p95, p99 or max (the percentiles kept per second)"),
        Metric::Rate { .. } | Metric::ErrorRate { .. } | Metric::Count { .. } | Metric::Throughput { .. } => Ok(()),
        _ => p.err(pos, "\"for\" applies to per-second metrics: rate, error_rate, count, throughput, p50/p95/p99/max"),
    }
}

/// Parses an expression. With `labels`, every label it names must be one of them.
///
/// # Errors
/// [`ParseError`] with the character position and what was expected.
///
/// # Example
/// ```
/// use surge::analysis::threshold::parse;
/// let e = parse("p95(publish) < 800ms", Some(&["publish".to_string()])).unwrap();
/// assert_eq!(e.value, 0.8);
/// let err = parse("p95(publsh) < 800ms", Some(&["publish".to_string()])).unwrap_err();
/// assert!(err.to_string().contains("did you mean \"publish\""));
/// ```
pub fn parse(src: &str, labels: Option<&[String]>) -> Result<Expr, ParseError> {
    Parser {
        src,
        toks: lex(src),
        i: 0,
        labels,
    }
    .expr()
}

/// Parses a metric alone (`p95(publish)`, `rate(429)`), as `--max-regression` names them.
///
/// # Errors
/// As [`parse`].
pub fn parse_metric(src: &str, labels: Option<&[String]>) -> Result<Metric, ParseError> {
    let mut p = Parser {
        src,
        toks: lex(src),
        i: 0,
        labels,
    };
    if p.toks.is_empty() {
        return p.err(1, "expected a metric");
    }
    let m = p.metric()?;
    if p.i < p.toks.len() {
        return p.err(
            p.pos(),
            format!("unexpected {} after the metric", describe(p.peek())),
        );
    }
    Ok(m)
}

impl Threshold {
    /// A threshold named by its expression.
    ///
    /// # Errors
    /// As [`parse`]; `abort_on_fail` on an expression without `for` is an error, since only a
    /// sustained condition can be decided while the run goes on.
    pub fn new(
        src: &str,
        name: Option<String>,
        abort_on_fail: bool,
        labels: Option<&[String]>,
    ) -> Result<Threshold, ParseError> {
        let expr = parse(src, labels)?;
        if abort_on_fail && expr.sustain_s.is_none() {
            return Err(ParseError {
                source_text: src.to_string(),
                pos: 1,
                message: "abort_on_fail needs a sustained condition (… for 10s): a whole-run value is known only at the end".into(),
            });
        }
        Ok(Threshold {
            name: name.unwrap_or_else(|| expr.source.clone()),
            expr,
            abort_on_fail,
        })
    }
}

#[cfg(test)]
#[path = "threshold_tests.rs"]
mod tests;
