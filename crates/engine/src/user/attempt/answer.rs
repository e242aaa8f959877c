//! Reading a final answer: extractors set the user's variables, assertions judge it, and a
//! poll's conditions say whether it is done, failed, or goes on. Pure functions over the
//! answer; a plain request never comes here.

use std::time::Duration;

use rand::RngExt as _;
use serde_json::Value;

use surge_plan::cond::{Answer, Cond};
use surge_plan::conversation::{Extractor, Missing, Nth, Source, Test};
use surge_plan::RequestSpec;
use surge_record::{Failure, Outcome, StatusKey};
use surge_transport::Exchange;

/// Where a poll stands after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::user) enum PollNext {
    /// Not a poll, or its `until` held (or its `fail_if`): it is over.
    Over,
    /// Not done: poll again after the interval.
    Again,
    /// Not done, and no poll is left (time or attempts): it ran out.
    RanOut,
}

/// A poll's position, for deciding whether another poll may follow this answer.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollTurn {
    /// True when another poll fits (attempts left, and the interval ends before the timeout).
    pub another_fits: bool,
}

/// What an answer was judged.
#[derive(Debug, Clone, Copy)]
pub(in crate::user) struct Verdict {
    /// The sample's status key (a failed check turns a 2xx/3xx into `Failed`).
    pub key: StatusKey,
    /// The check that failed it.
    pub check: Option<u16>,
    /// The step succeeded (for `on_error` and transactions); meaningless while a poll goes on.
    pub ok: bool,
    /// The step's outcome: the sample's, or `timeout` for a poll that ran out.
    pub outcome: Outcome,
    /// The poll's next move.
    pub poll: PollNext,
}

/// A plain request's verdict: its status alone.
pub(super) fn plain(req: &RequestSpec, x: &Exchange) -> Verdict {
    let key = match x.status {
        Ok(s) => StatusKey::Http(s),
        Err(c) => StatusKey::Error(c),
    };
    Verdict {
        key,
        check: None,
        ok: req.is_success(x.status.ok()),
        outcome: key.outcome(),
        poll: PollNext::Over,
    }
}

/// A GET answered from the user's fresh cache: a success with no sample.
pub(super) fn cached() -> Verdict {
    Verdict {
        key: StatusKey::Http(200),
        check: None,
        ok: true,
        outcome: Outcome::Success,
        poll: PollNext::Over,
    }
}

/// Judges a final answer of a request with checks or a poll, setting the user's variables.
pub(super) fn judge(
    req: &RequestSpec,
    x: &Exchange,
    service: Duration,
    data: &mut crate::data::UserData,
    rng: &mut rand::rngs::StdRng,
    last_ok: bool,
    turn: Option<PollTurn>,
) -> Verdict {
    let base = plain(req, x);
    let (vars, lists) = (&mut data.values, &mut data.lists);
    let body = x
        .captured
        .as_ref()
        .and_then(|c| c.body.as_ref())
        .map(|b| String::from_utf8_lossy(b));
    let json: Option<Value> = body.as_deref().and_then(|b| serde_json::from_str(b).ok());
    // Only the answer that ends a request is held to its checks: a poll's "not yet" answers
    // only feed its extractors.
    let mut failed: Option<(Failure, u16)> = None;
    for e in &req.extract {
        let found = extract(e, x, body.as_deref(), json.as_ref(), rng, &mut lists[e.var]);
        match (found, &e.missing) {
            (Some(v), _) => set(&mut vars[e.var], &v),
            (None, Missing::Default(d)) => set(&mut vars[e.var], d),
            (None, Missing::Keep) => {}
            (None, Missing::Fail) => {
                failed = failed.or(Some((Failure::Extract, e.check)));
            }
        }
    }
    let answer = Answer {
        status: x.status.ok(),
        json: json.as_ref(),
        vars,
        last_ok,
    };
    let poll = match (&req.poll, turn) {
        (Some(p), Some(turn)) => {
            if p.fail_if.as_ref().is_some_and(|f: &Cond| f.eval(&answer)) {
                failed = failed.or(Some((Failure::Assertion, p.fail_check)));
                PollNext::Over
            } else if p.until.eval(&answer) {
                PollNext::Over
            } else if turn.another_fits {
                return Verdict {
                    poll: PollNext::Again,
                    ..base
                };
            } else {
                PollNext::RanOut
            }
        }
        _ => PollNext::Over,
    };
    for a in &req.asserts {
        if test(&a.test, x, service, body.as_deref(), json.as_ref()) == a.negate {
            failed = failed.or(Some((Failure::Assertion, a.check)));
        }
    }
    let answered_well = matches!(base.outcome, Outcome::Success | Outcome::Other);
    let failure = match (failed, poll) {
        (Some(f), _) => Some(f),
        (None, PollNext::RanOut) => Some((Failure::Timeout, u16::MAX)),
        (None, _) => None,
    };
    match (failure, x.status) {
        (Some((f, check)), Ok(code)) if answered_well => Verdict {
            key: StatusKey::Failed(f, code),
            check: (check != u16::MAX).then_some(check),
            ok: false,
            outcome: f.outcome(),
            poll,
        },
        (Some(_), _) => Verdict {
            ok: false,
            outcome: if poll == PollNext::RanOut {
                Outcome::Timeout
            } else {
                base.outcome
            },
            poll,
            ..base
        },
        (None, _) => Verdict { poll, ..base },
    }
}

fn set(slot: &mut String, v: &str) {
    slot.clear();
    slot.push_str(v);
}

fn pick(items: &[String], nth: Nth, rng: &mut rand::rngs::StdRng) -> Option<usize> {
    match nth {
        Nth::Index(n) => (n as usize <= items.len()).then(|| n as usize - 1),
        Nth::Random | Nth::All if items.is_empty() => None,
        Nth::Random | Nth::All => Some(rng.random_range(0..items.len())),
    }
}

/// A JSON value as a variable holds it: text as is, anything else as JSON.
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Every value the extractor's source finds in the answer, in order.
fn candidates(
    e: &Extractor,
    x: &Exchange,
    body: Option<&str>,
    json: Option<&Value>,
) -> Vec<String> {
    match &e.source {
        Source::Status => x.status.ok().map(|s| s.to_string()).into_iter().collect(),
        Source::Header(name) => x
            .captured
            .as_ref()
            .and_then(|c| c.headers.as_ref())
            .map(|h| {
                h.get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        Source::Json(path) => json
            .map(|j| path.query(j).all().into_iter().map(json_text).collect())
            .unwrap_or_default(),
        Source::Regex { re, template } => body
            .map(|b| re.captures_iter(b).map(|c| fill(template, &c)).collect())
            .unwrap_or_default(),
        Source::Between(left, right) => {
            let Some(body) = body else { return Vec::new() };
            let mut found = Vec::new();
            let mut rest = body;
            while let Some(l) = rest.find(left.as_str()) {
                let after = &rest[l + left.len()..];
                let Some(r) = after.find(right.as_str()) else {
                    break;
                };
                found.push(after[..r].to_string());
                rest = &after[r + right.len()..];
                if left.is_empty() && right.is_empty() {
                    break;
                }
            }
            found
        }
        Source::Markup(m) => body.map(|b| m.find(b)).unwrap_or_default(),
    }
}

/// The extractor's value: the match it asks for (None when there is none). With `match =
/// "all"`, every match goes to `list` and the value is their count.
fn extract(
    e: &Extractor,
    x: &Exchange,
    body: Option<&str>,
    json: Option<&Value>,
    rng: &mut rand::rngs::StdRng,
    list: &mut Vec<String>,
) -> Option<String> {
    let mut found = candidates(e, x, body, json);
    if e.nth == Nth::All {
        let n = found.len();
        *list = found;
        return (n > 0).then(|| n.to_string());
    }
    let i = pick(&found, e.nth, rng)?;
    Some(found.swap_remove(i))
}

/// JMeter's template: `$n$` is group n's text.
fn fill(template: &str, caps: &regex::Captures<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        match tail.find('$') {
            Some(j) if !tail[..j].is_empty() && tail[..j].chars().all(|c| c.is_ascii_digit()) => {
                let g: usize = tail[..j].parse().unwrap_or(0);
                out.push_str(caps.get(g).map_or("", |m| m.as_str()));
                rest = &tail[j + 1..];
            }
            _ => {
                out.push('$');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn test(
    t: &Test,
    x: &Exchange,
    service: Duration,
    body: Option<&str>,
    json: Option<&Value>,
) -> bool {
    let first = |p: &serde_json_path::JsonPath| json.and_then(|j| p.query(j).first());
    match t {
        Test::Status(list) => x.status.is_ok_and(|s| list.contains(&s)),
        Test::MaxTime(max) => service <= *max,
        Test::Contains(text) => body.is_some_and(|b| b.contains(text.as_str())),
        Test::BodyMatches(re) => body.is_some_and(|b| re.is_match(b)),
        Test::JsonExists(p) => first(p).is_some(),
        Test::JsonMatches(p, re) => first(p).is_some_and(|v| re.is_match(&json_text(v))),
        Test::JsonEquals(p, want) => first(p).is_some_and(|v| match (v, want) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (Value::String(a), b) if !b.is_string() => *a == json_text(b),
            (a, Value::String(b)) if !a.is_string() => json_text(a) == *b,
            (a, b) => a == b,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_groups_as_jmeter_does() {
        let re = regex::Regex::new(r"id=(\w+);v=(\d+)").unwrap();
        let caps = re.captures("x id=abc;v=7 y").unwrap();
        assert_eq!(fill("$1$", &caps), "abc");
        assert_eq!(fill("$1$-$2$", &caps), "abc-7");
        assert_eq!(fill("$0$", &caps), "id=abc;v=7");
        assert_eq!(fill("cost $5 $x$", &caps), "cost $5 $x$");
    }
}
