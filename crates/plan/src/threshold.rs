//! Threshold expressions (`p95(publish) < 800ms`, `rate(429) > 5% for 10s`): the grammar, the
//! parser with positioned messages, and the checked form that `surge_analysis::threshold_eval` evaluates.
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

use surge_record::{Outcome, StatusKey};

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

mod parse;
pub use parse::{parse, parse_metric, parse_value};

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
mod tests;
