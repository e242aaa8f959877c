//! The threshold expression lexer and parser, with positioned messages and "did you mean" hints.

use super::*;

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
                        surge_record::text::did_you_mean(l, labels.iter().map(String::as_str))
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
                        surge_record::text::did_you_mean(&name, METRICS.iter().copied())
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
/// use surge_plan::threshold::parse;
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
