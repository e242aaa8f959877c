//! The step program of one iteration: requests, transactions, loops, `while`, `if` and `once`,
//! written as `steps = [...]` (labels and control tables) and compiled into a flat list of
//! [`Op`]s with jumps, so the engine runs it with a program counter: no recursion, no allocation.
//!
//! Each control table's kind is read once from its keys into a `Kind` (`kind`), which the
//! compiler matches exhaustively. The request mix of JMeter's controllers is here too (`mix`):
//! `interleave`, `random`, `random_order`, `percent`/`total` (Throughput Controller), `switch`,
//! `foreach`, and the `rendezvous` step (Synchronizing Timer).
//!
//! ```toml
//! steps = [
//!   { once = true, steps = ["login"] },
//!   "checkout", "update", "checkin",
//!   { transaction = "publish_to_success", steps = ["publish", "poll_publish"] },
//!   { loop = 3, steps = ["get_flow"] },
//!   { if = "{state} == 'SUCCESS'", steps = ["notify"] },
//!   { while = "{pending} != 'false'", max = 50, steps = ["check"] },
//! ]
//! ```

mod kind;
mod mix;
mod ops;

pub use mix::{foreach_vars, ForEachSpec, ForSource, Gate, GateRule, RendezvousSpec, SwitchSpec};
pub use ops::Op;

use serde::Serialize;

use super::build::Checker;
use super::cond::Cond;
use super::plan::RequestSpec;
use kind::Kind;

/// A transaction of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionSpec {
    /// Its name: a label in every report, beside the requests'.
    pub name: String,
    /// Subtract the think times and poll intervals waited inside it (JMeter's default: timers
    /// are not part of a transaction's time).
    pub exclude_pauses: bool,
    /// JMeter's "Generate parent sample": the JTL holds the transaction's row and not its
    /// requests' (surge still records every request).
    pub parent_sample: bool,
}

/// What `steps` compile into, for one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Program {
    /// The instructions.
    pub ops: Vec<Op>,
    /// Loop counters a user needs.
    pub slots: u16,
    /// Where the items of `Pick`, `ShuffleNext` and `Switch` blocks start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<u32>,
    /// The `switch` blocks' values and item names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<SwitchSpec>,
    /// The Throughput Controllers' rules.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<Gate>,
    /// What each `foreach` goes over.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreach: Vec<ForEachSpec>,
    /// Rendezvous points.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<RendezvousSpec>,
}

impl Program {
    /// The plain program: each request once, in order.
    pub fn plain(requests: &[usize]) -> Program {
        Program {
            ops: requests
                .iter()
                .map(|&request| Op::Request { request })
                .collect(),
            ..Program::default()
        }
    }

    /// The requests the program names, in program order (a request named twice, twice).
    pub fn requests(&self) -> Vec<usize> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Request { request } => Some(*request),
                _ => None,
            })
            .collect()
    }

    /// Requests one iteration sends when that is fixed (no poll, `while` or `if`; loops
    /// multiply), else None.
    pub fn fixed_requests(&self, requests: &[RequestSpec]) -> Option<u64> {
        let mut mult: Vec<u64> = vec![1];
        let mut n = 0u64;
        for op in &self.ops {
            match *op {
                Op::Request { request } if requests[request].poll.is_none() => {
                    n += mult.last().copied().unwrap_or(1)
                }
                Op::LoopInit { count, .. } => {
                    mult.push(mult.last().copied().unwrap_or(1) * u64::from(count))
                }
                Op::LoopBack { .. } => {
                    mult.pop();
                }
                Op::TxnBegin { .. } | Op::TxnEnd { .. } | Op::Rendezvous { .. } => {}
                _ => return None,
            }
        }
        Some(n)
    }
}

/// The plan-wide parts the compiler adds to.
pub(super) struct Compiled<'a> {
    pub labels: &'a [String],
    pub vars: &'a [String],
    pub transactions: &'a mut Vec<TransactionSpec>,
    pub conditions: &'a mut Vec<Cond>,
}

/// The index of `spec` in `list` (added when its name is new). Another of the same name with
/// other settings is an error at `field`, whose last part names the kind (`transaction`).
fn intern<T: PartialEq>(
    c: &mut Checker<'_>,
    field: &str,
    list: &mut Vec<T>,
    spec: T,
    name: impl Fn(&T) -> &String,
) -> Option<u16> {
    match list.iter().position(|x| name(x) == name(&spec)) {
        Some(i) if list[i] == spec => Some(i as u16),
        Some(_) => {
            let what = field.rsplit('.').next().unwrap_or(field);
            c.err(
                field,
                format!(
                    "{:?} is used by another {what} with other settings",
                    name(&spec)
                ),
            );
            None
        }
        None => {
            list.push(spec);
            Some((list.len() - 1) as u16)
        }
    }
}

struct Comp<'a, 'b, 'c> {
    c: &'a mut Checker<'b>,
    x: &'a mut Compiled<'c>,
    ops: Vec<Op>,
    slots: u16,
    prog: Program,
}

/// Compiles `steps` (at field `path`) into a program.
pub(super) fn compile(
    c: &mut Checker<'_>,
    path: &str,
    steps: &[toml::Value],
    x: &mut Compiled<'_>,
) -> Program {
    let mut comp = Comp {
        c,
        x,
        ops: Vec::new(),
        slots: 0,
        prog: Program::default(),
    };
    comp.block(path, steps, None);
    if !comp.ops.iter().any(|o| matches!(o, Op::Request { .. })) {
        comp.c.err(path, "needs at least one request");
    }
    Program {
        ops: comp.ops,
        slots: comp.slots,
        ..comp.prog
    }
}

impl Comp<'_, '_, '_> {
    fn here(&self) -> u32 {
        self.ops.len() as u32
    }

    fn block(&mut self, path: &str, steps: &[toml::Value], loop_slot: Option<u16>) {
        for (i, s) in steps.iter().enumerate() {
            let p = format!("{path}[{i}]");
            match s {
                toml::Value::String(label) => self.request(&p, label),
                toml::Value::Table(t) => self.control(&p, t, loop_slot),
                _ => self.c.err(
                    &p,
                    "a step is a request label or a table such as { loop = 3, steps = [...] }",
                ),
            }
        }
    }

    fn request(&mut self, p: &str, label: &str) {
        match self.x.labels.iter().position(|l| l == label) {
            Some(request) => self.ops.push(Op::Request { request }),
            None => {
                let hint = surge_record::text::did_you_mean(
                    label,
                    self.x.labels.iter().map(String::as_str),
                );
                self.c
                    .err(p, format!("no [[request]] is named {label:?}{hint}"));
            }
        }
    }

    fn slot(&mut self) -> u16 {
        self.slots += 1;
        self.slots - 1
    }

    fn cond(&mut self, p: &str, v: Option<&toml::Value>) -> Option<u16> {
        let Some(src) = v.and_then(toml::Value::as_str) else {
            self.c.err(
                p,
                "takes a condition in quotes, e.g. \"{state} == 'SUCCESS'\"",
            );
            return None;
        };
        match Cond::parse(src, self.x.vars) {
            Ok(cond) => {
                self.x.conditions.push(cond);
                Some((self.x.conditions.len() - 1) as u16)
            }
            Err(e) => {
                self.c
                    .err(p, format!("at character {}: {}", e.pos, e.message));
                None
            }
        }
    }

    fn control(&mut self, p: &str, t: &toml::Table, loop_slot: Option<u16>) {
        let kinds = Kind::named_in(t);
        // `{ steps = [...] }` alone (with a `name`, perhaps): a block that only groups its steps
        // (one item of an interleave, random or switch).
        if kinds.is_empty() && t.contains_key("steps") {
            for k in t
                .keys()
                .filter(|k| !["steps", "name"].contains(&k.as_str()))
            {
                self.c.err(&format!("{p}.{k}"), "unknown key in this block");
            }
            if let Some(toml::Value::Array(body)) = t.get("steps") {
                self.block(&format!("{p}.steps"), body, loop_slot);
            }
            return;
        }
        let [kind] = kinds[..] else {
            self.c
                .err(p, format!("needs exactly one of {}", Kind::listed()));
            return;
        };
        let allowed = kind.keys();
        for k in t.keys().filter(|k| *k != "name") {
            if !allowed.contains(&k.as_str()) {
                let hint = surge_record::text::did_you_mean(k, allowed.iter().copied());
                self.c.err(
                    &format!("{p}.{k}"),
                    format!("unknown key in this {kind} step{hint}"),
                );
            }
        }
        let body: &[toml::Value] = match t.get("steps") {
            _ if !kind.has_body() => &[],
            Some(toml::Value::Array(a)) if !a.is_empty() => a,
            _ => {
                self.c.err(
                    &format!("{p}.steps"),
                    "is required: the steps inside, e.g. steps = [\"publish\"]",
                );
                &[]
            }
        };
        match kind {
            Kind::Request => match t.get("request").and_then(toml::Value::as_str) {
                Some(l) => self.request(&format!("{p}.request"), l),
                None => self.c.err(&format!("{p}.request"), "takes a request label"),
            },
            Kind::Rendezvous => self.rendezvous(p, t),
            Kind::Transaction => self.transaction(p, t, body),
            Kind::Loop => self.counted(p, t, body),
            Kind::While => self.while_loop(p, t, body),
            Kind::If => self.if_block(p, t, body, loop_slot),
            Kind::Once => self.once(p, t, body, loop_slot),
            Kind::Interleave => self.pick(p, t, body, false, loop_slot),
            Kind::Random => self.pick(p, t, body, true, loop_slot),
            Kind::RandomOrder => self.shuffle(p, t, body, loop_slot),
            Kind::Percent => self.throughput(p, t, body, true, loop_slot),
            Kind::Total => self.throughput(p, t, body, false, loop_slot),
            Kind::Switch => self.switch(p, t, body, loop_slot),
            Kind::Foreach => self.foreach(p, t, body),
            Kind::During => self.during(p, t, body),
        }
    }

    /// `{ if = "cond", steps = [...] }`: the steps when the condition holds.
    fn if_block(&mut self, p: &str, t: &toml::Table, body: &[toml::Value], loop_slot: Option<u16>) {
        let Some(cond) = self.cond(&format!("{p}.if"), t.get("if")) else {
            return;
        };
        let at = self.ops.len();
        self.ops.push(Op::IfNot { cond, end: 0 });
        self.block(&format!("{p}.steps"), body, loop_slot);
        let end = self.here();
        self.ops[at] = Op::IfNot { cond, end };
    }

    /// `{ once = true, steps = [...] }`: the steps on the first pass of the enclosing loop only.
    fn once(&mut self, p: &str, t: &toml::Table, body: &[toml::Value], loop_slot: Option<u16>) {
        if t.get("once").and_then(toml::Value::as_bool) != Some(true) {
            self.c.err(&format!("{p}.once"), "is written once = true");
        }
        let at = self.ops.len();
        self.ops.push(Op::Once {
            slot: loop_slot,
            end: 0,
        });
        self.block(&format!("{p}.steps"), body, loop_slot);
        let end = self.here();
        self.ops[at] = Op::Once {
            slot: loop_slot,
            end,
        };
    }

    fn transaction(&mut self, p: &str, t: &toml::Table, body: &[toml::Value]) {
        let name = t
            .get("transaction")
            .and_then(toml::Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() {
            self.c.err(
                &format!("{p}.transaction"),
                "takes the transaction's name, e.g. \"publish_to_success\"",
            );
            return;
        }
        if self.x.labels.contains(&name) {
            self.c.err(
                &format!("{p}.transaction"),
                format!("{name:?} is a request's label; a transaction needs a name of its own"),
            );
        }
        let flag = |k: &str| t.get(k).and_then(toml::Value::as_bool).unwrap_or(false);
        for k in ["exclude_pauses", "parent_sample"] {
            if t.get(k).is_some_and(|v| v.as_bool().is_none()) {
                self.c.err(&format!("{p}.{k}"), "is true or false");
            }
        }
        let spec = TransactionSpec {
            name: name.clone(),
            exclude_pauses: flag("exclude_pauses"),
            parent_sample: flag("parent_sample"),
        };
        let field = format!("{p}.transaction");
        let Some(txn) = intern(self.c, &field, self.x.transactions, spec, |x| &x.name) else {
            return;
        };
        if self.ops.contains(&Op::TxnBegin { txn }) && self.open(txn) {
            self.c.err(
                &format!("{p}.transaction"),
                format!("{name:?} is already open around this step"),
            );
            return;
        }
        self.ops.push(Op::TxnBegin { txn });
        let slot = self.enclosing_slot();
        self.block(&format!("{p}.steps"), body, slot);
        self.ops.push(Op::TxnEnd { txn });
    }

    /// True when transaction `txn` has begun and not ended at this point of the program.
    fn open(&self, txn: u16) -> bool {
        let begun = self
            .ops
            .iter()
            .filter(|o| **o == Op::TxnBegin { txn })
            .count();
        let ended = self
            .ops
            .iter()
            .filter(|o| **o == Op::TxnEnd { txn })
            .count();
        begun > ended
    }

    /// The innermost loop open at this point (for a `once` inside a transaction inside a loop).
    fn enclosing_slot(&self) -> Option<u16> {
        let mut open: Vec<u16> = Vec::new();
        for op in &self.ops {
            match *op {
                Op::LoopInit { slot, .. }
                | Op::WhileInit { slot }
                | Op::ForInit { slot }
                | Op::TimedInit { slot, .. } => open.push(slot),
                Op::LoopBack { .. } | Op::WhileBack { .. } | Op::TimedBack { .. } => {
                    open.pop();
                }
                Op::Jump { to }
                    if matches!(self.ops.get(to as usize), Some(Op::ForNext { .. })) =>
                {
                    open.pop();
                }
                _ => {}
            }
        }
        open.last().copied()
    }

    fn counted(&mut self, p: &str, t: &toml::Table, body: &[toml::Value]) {
        let count = match t.get("loop").and_then(toml::Value::as_integer) {
            Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => n as u32,
            _ => {
                self.c.err(
                    &format!("{p}.loop"),
                    "takes the number of passes (0 or more)",
                );
                return;
            }
        };
        let slot = self.slot();
        let at = self.ops.len();
        self.ops.push(Op::LoopInit {
            slot,
            count,
            end: 0,
        });
        let body_at = self.here();
        self.block(&format!("{p}.steps"), body, Some(slot));
        self.ops.push(Op::LoopBack {
            slot,
            count,
            body: body_at,
        });
        let end = self.here();
        self.ops[at] = Op::LoopInit { slot, count, end };
    }

    fn while_loop(&mut self, p: &str, t: &toml::Table, body: &[toml::Value]) {
        let Some(cond) = self.cond(&format!("{p}.while"), t.get("while")) else {
            return;
        };
        let max = match t.get("max") {
            None => None,
            Some(v) => match v.as_integer() {
                Some(n) if n >= 1 => Some(n.min(i64::from(u32::MAX)) as u32),
                _ => {
                    self.c
                        .err(&format!("{p}.max"), "takes the most passes (1 or more)");
                    None
                }
            },
        };
        let slot = self.slot();
        self.ops.push(Op::WhileInit { slot });
        let test = self.here();
        self.ops.push(Op::WhileTest {
            cond,
            slot,
            max,
            end: 0,
        });
        self.block(&format!("{p}.steps"), body, Some(slot));
        self.ops.push(Op::WhileBack { slot, test });
        let end = self.here();
        self.ops[test as usize] = Op::WhileTest {
            cond,
            slot,
            max,
            end,
        };
    }
}
