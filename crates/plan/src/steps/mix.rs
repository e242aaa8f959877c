//! The request mix: blocks that choose which of their items run (`interleave`, `random`,
//! `random_order`, `switch`), how often (`percent`, `total`: JMeter's Throughput Controller),
//! over which values (`foreach`), and the `rendezvous` step (JMeter's Synchronizing Timer).
//! Each item of a block is one entry of its `steps`: a request label or a whole block.

use std::time::Duration;

use serde::Serialize;

use super::{Comp, Op};
use crate::template::Template;

/// A `switch` block: its value (a template) and its items' names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchSpec {
    /// The value, rendered when the block is reached.
    #[serde(serialize_with = "ser_template")]
    pub value: Template,
    /// Each item's name: a request's label, or a block's `name`/`transaction`.
    pub names: Vec<Option<String>>,
}

fn ser_template<S: serde::Serializer>(t: &Template, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.source())
}

impl SwitchSpec {
    /// The item `value` selects, as JMeter's Switch Controller does: a number from 0 picks that
    /// item (out of range or empty: the first); a name picks the item of that name, else the
    /// one named `default` (any case), else none.
    pub fn select(&self, value: &str) -> Option<usize> {
        if value.is_empty() {
            return Some(0);
        }
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < self.names.len())
                    .unwrap_or(0),
            );
        }
        let named =
            |f: &dyn Fn(&str) -> bool| self.names.iter().position(|n| n.as_deref().is_some_and(f));
        named(&|n| n == value).or_else(|| named(&|n| n.eq_ignore_ascii_case("default")))
    }
}

/// How a Throughput Controller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateRule {
    /// Run on this share of the passes, in hundredths of a percent (JMeter's percent
    /// executions: the n-th pass runs when `(100 × runs + 50) / n < percent`).
    Percent(u32),
    /// Run the first `n` passes only (JMeter's total executions).
    Total(u64),
}

/// A Throughput Controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// Its rule.
    pub rule: GateRule,
    /// Counted per user (else over every user of the group together).
    pub per_user: bool,
    /// Per user: the slot counting passes; the next slot counts runs.
    pub slot: u16,
}

impl Gate {
    /// Whether pass number `passes` (from 0, before this one) runs, after `runs` runs.
    pub fn decide(&self, runs: u64, passes: u64) -> bool {
        match self.rule {
            GateRule::Total(n) => runs < n,
            GateRule::Percent(p) => (100 * runs + 50) * 100 < u64::from(p) * (passes + 1),
        }
    }
}

/// What a `foreach` goes over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForSource {
    /// The values a variable holds: every match of an extractor with `match = "all"`, else its
    /// one value when it is not empty.
    Var(usize),
    /// These values.
    Values(Vec<String>),
}

/// A `foreach` loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForEachSpec {
    /// What it goes over.
    pub source: ForSource,
    /// The variable each pass sets.
    pub out: usize,
}

/// A rendezvous point (JMeter's Synchronizing Timer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RendezvousSpec {
    /// Its name.
    pub name: String,
    /// Users released together; None: every user of the group.
    pub users: Option<u32>,
    /// The first user waiting releases everyone waiting after this long (None: no limit).
    #[serde(with = "crate::plan::opt_secs")]
    pub timeout: Option<Duration>,
}

/// The variables `foreach` steps set (`as = "name"`), anywhere in `steps`: they join the
/// plan's variables.
pub fn foreach_vars(steps: &[toml::Value], out: &mut Vec<String>) {
    for s in steps {
        let Some(t) = s.as_table() else { continue };
        if t.contains_key("foreach") {
            if let Some(v) = t.get("as").and_then(toml::Value::as_str) {
                if !v.trim().is_empty() && !out.iter().any(|o| o == v) {
                    out.push(v.to_string());
                }
            }
        }
        if let Some(inner) = t.get("steps").and_then(toml::Value::as_array) {
            foreach_vars(inner, out);
        }
    }
}

/// The name of an item (for `switch`): a label, or a block's `name` or `transaction`.
fn item_name(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Table(t) => t
            .get("name")
            .or_else(|| t.get("transaction"))
            .and_then(toml::Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

impl Comp<'_, '_, '_> {
    /// Compiles each item of `body` followed by a jump to the block's end (patched by the
    /// caller through the returned positions); returns where the items start in `tables`.
    fn items(
        &mut self,
        p: &str,
        body: &[toml::Value],
        loop_slot: Option<u16>,
        back_to: Option<u32>,
    ) -> (u32, Vec<usize>) {
        let table = self.prog.tables.len() as u32;
        self.prog.tables.extend(std::iter::repeat_n(0, body.len()));
        let mut jumps = Vec::new();
        for (i, item) in body.iter().enumerate() {
            self.prog.tables[table as usize + i] = self.here();
            self.block(&format!("{p}.steps"), std::slice::from_ref(item), loop_slot);
            jumps.push(self.ops.len());
            self.ops.push(Op::Jump {
                to: back_to.unwrap_or(0),
            });
        }
        (table, jumps)
    }

    /// A block that runs one of its items per pass: the op `make(table, n, end)` chooses (it
    /// stands before the items), each item then jumps to the block's end.
    fn one_of(
        &mut self,
        p: &str,
        body: &[toml::Value],
        loop_slot: Option<u16>,
        make: impl FnOnce(u32, u16, u32) -> Op,
    ) {
        let n = self.n_items(p, body);
        let at = self.ops.len();
        self.ops.push(Op::Jump { to: 0 });
        let (table, jumps) = self.items(p, body, loop_slot, None);
        let end = self.here();
        self.patch_jumps(&jumps, end);
        self.ops[at] = make(table, n, end);
    }

    fn patch_jumps(&mut self, jumps: &[usize], to: u32) {
        for &j in jumps {
            self.ops[j] = Op::Jump { to };
        }
    }

    fn n_items(&mut self, p: &str, body: &[toml::Value]) -> u16 {
        if body.len() > usize::from(u16::MAX) {
            self.c.err(&format!("{p}.steps"), "has too many items");
        }
        body.len().min(usize::from(u16::MAX)) as u16
    }

    fn flag(&mut self, p: &str, t: &toml::Table, key: &str, default: bool) -> bool {
        match t.get(key) {
            None => default,
            Some(v) => v.as_bool().unwrap_or_else(|| {
                self.c.err(&format!("{p}.{key}"), "is true or false");
                default
            }),
        }
    }

    /// `interleave = true` / `random = true`: one item per pass.
    pub(super) fn pick(
        &mut self,
        p: &str,
        t: &toml::Table,
        body: &[toml::Value],
        random: bool,
        loop_slot: Option<u16>,
    ) {
        let kind = if random { "random" } else { "interleave" };
        if t.get(kind).and_then(toml::Value::as_bool) != Some(true) {
            self.c
                .err(&format!("{p}.{kind}"), format!("is written {kind} = true"));
        }
        let across = self.flag(p, t, "across_users", false);
        let slot = self.slot();
        self.one_of(p, body, loop_slot, |table, n, end| Op::Pick {
            random,
            across,
            slot,
            table,
            n,
            end,
        });
    }

    /// `random_order = true`: every item once per pass, in a new random order.
    pub(super) fn shuffle(
        &mut self,
        p: &str,
        t: &toml::Table,
        body: &[toml::Value],
        loop_slot: Option<u16>,
    ) {
        if t.get("random_order").and_then(toml::Value::as_bool) != Some(true) {
            self.c.err(
                &format!("{p}.random_order"),
                "is written random_order = true",
            );
        }
        let slot = self.slot();
        let n = self.n_items(p, body);
        self.ops.push(Op::Shuffle { slot, n });
        let next = self.here();
        self.ops.push(Op::Jump { to: 0 });
        let (table, jumps) = self.items(p, body, loop_slot, Some(next));
        let end = self.here();
        self.patch_jumps(&jumps, next);
        self.ops[next as usize] = Op::ShuffleNext {
            slot,
            table,
            n,
            end,
        };
    }

    /// `percent = 25` / `total = 10`: JMeter's Throughput Controller.
    pub(super) fn throughput(
        &mut self,
        p: &str,
        t: &toml::Table,
        body: &[toml::Value],
        percent: bool,
        loop_slot: Option<u16>,
    ) {
        let v = t.get(if percent { "percent" } else { "total" });
        let rule = if percent {
            match v.and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64))) {
                Some(x) if (0.0..=100.0).contains(&x) => {
                    GateRule::Percent((x * 100.0).round() as u32)
                }
                _ => {
                    self.c.err(
                        &format!("{p}.percent"),
                        "takes a share of the passes from 0 to 100",
                    );
                    return;
                }
            }
        } else {
            match v.and_then(toml::Value::as_integer) {
                Some(n) if n >= 0 => GateRule::Total(n as u64),
                _ => {
                    self.c.err(
                        &format!("{p}.total"),
                        "takes a number of passes (0 or more)",
                    );
                    return;
                }
            }
        };
        let per_user = self.flag(p, t, "per_user", true);
        let slot = self.slot();
        let _runs = self.slot();
        let gate = self.prog.gates.len() as u16;
        self.prog.gates.push(Gate {
            rule,
            per_user,
            slot,
        });
        let at = self.ops.len();
        self.ops.push(Op::Throughput { gate, end: 0 });
        self.block(&format!("{p}.steps"), body, loop_slot);
        let end = self.here();
        self.ops[at] = Op::Throughput { gate, end };
    }

    /// `switch = "{var}"`: the item the value names.
    pub(super) fn switch(
        &mut self,
        p: &str,
        t: &toml::Table,
        body: &[toml::Value],
        loop_slot: Option<u16>,
    ) {
        let Some(src) = t.get("switch").and_then(toml::Value::as_str) else {
            self.c.err(
                &format!("{p}.switch"),
                "takes a value in quotes: an item's index from 0 or its name, e.g. \"{choice}\"",
            );
            return;
        };
        let value = match Template::compile(src, self.x.vars) {
            Ok(v) => v,
            Err(e) => {
                self.c.err(&format!("{p}.switch"), e.to_string());
                return;
            }
        };
        let switch = self.prog.switches.len() as u16;
        self.prog.switches.push(SwitchSpec {
            value,
            names: body.iter().map(item_name).collect(),
        });
        self.one_of(p, body, loop_slot, |table, n, end| Op::Switch {
            switch,
            table,
            n,
            end,
        });
    }

    /// `foreach = "ids"` (a variable's values) or `foreach = ["a", "b"]`, `as = "id"`.
    pub(super) fn foreach(&mut self, p: &str, t: &toml::Table, body: &[toml::Value]) {
        let source = match t.get("foreach") {
            Some(toml::Value::String(v)) => match self.x.vars.iter().position(|x| x == v) {
                Some(i) => ForSource::Var(i),
                None => {
                    let hint =
                        surge_record::text::did_you_mean(v, self.x.vars.iter().map(String::as_str));
                    self.c.err(
                        &format!("{p}.foreach"),
                        format!("no variable is named {v:?}{hint}"),
                    );
                    return;
                }
            },
            Some(toml::Value::Array(a)) if a.iter().all(toml::Value::is_str) => ForSource::Values(
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => {
                self.c.err(
                    &format!("{p}.foreach"),
                    "takes a variable's name (\"ids\") or a list of values ([\"a\", \"b\"])",
                );
                return;
            }
        };
        let Some(out) = t
            .get("as")
            .and_then(toml::Value::as_str)
            .and_then(|v| self.x.vars.iter().position(|x| x == v))
        else {
            self.c.err(
                &format!("{p}.as"),
                "is required: the variable each pass sets, e.g. as = \"id\"",
            );
            return;
        };
        let each = self.prog.foreach.len() as u16;
        self.prog.foreach.push(ForEachSpec { source, out });
        let slot = self.slot();
        self.ops.push(Op::ForInit { slot });
        let next = self.here();
        self.ops.push(Op::ForNext { each, slot, end: 0 });
        self.block(&format!("{p}.steps"), body, Some(slot));
        self.ops.push(Op::Jump { to: next });
        let end = self.here();
        self.ops[next as usize] = Op::ForNext { each, slot, end };
    }

    /// `{ during = "10s", steps = [...] }`: the steps again and again until the time is up,
    /// checked before each item (JMeter's Runtime Controller).
    pub(super) fn during(&mut self, p: &str, t: &toml::Table, body: &[toml::Value]) {
        let raw = match t.get("during") {
            Some(toml::Value::String(s)) => crate::spec::RawDuration::Text(s.clone()),
            Some(toml::Value::Integer(i)) => crate::spec::RawDuration::Seconds(*i as f64),
            Some(toml::Value::Float(f)) => crate::spec::RawDuration::Seconds(*f),
            _ => {
                self.c
                    .err(&format!("{p}.during"), "takes a duration, e.g. \"10s\"");
                return;
            }
        };
        let d = self
            .c
            .duration(&format!("{p}.during"), Some(&raw), Duration::ZERO);
        let ms = d.as_millis().min(u128::from(u32::MAX)) as u32;
        let slot = self.slot();
        let at = self.ops.len();
        self.ops.push(Op::TimedInit { slot, ms, end: 0 });
        let body_at = self.here();
        let mut checks = Vec::new();
        for item in body {
            checks.push(self.ops.len());
            self.ops.push(Op::TimedCheck { slot, end: 0 });
            self.block(
                &format!("{p}.steps"),
                std::slice::from_ref(item),
                Some(slot),
            );
        }
        self.ops.push(Op::TimedBack {
            slot,
            body: body_at,
        });
        let end = self.here();
        self.ops[at] = Op::TimedInit { slot, ms, end };
        for c in checks {
            self.ops[c] = Op::TimedCheck { slot, end };
        }
    }

    /// `{ rendezvous = "name", users = 10, timeout = "5s" }`.
    pub(super) fn rendezvous(&mut self, p: &str, t: &toml::Table) {
        let name = t
            .get("rendezvous")
            .and_then(toml::Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() {
            self.c.err(
                &format!("{p}.rendezvous"),
                "takes the rendezvous point's name, e.g. \"publish_together\"",
            );
            return;
        }
        let users = match t.get("users") {
            None => None,
            Some(v) => match v.as_integer() {
                Some(n) if (1..=100_000).contains(&n) => Some(n as u32),
                _ => {
                    self.c.err(
                        &format!("{p}.users"),
                        "takes the number of users released together (1 or more; default: all the group's)",
                    );
                    return;
                }
            },
        };
        let timeout = match t.get("timeout") {
            None => None,
            Some(v) => {
                let raw = match v {
                    toml::Value::String(s) => crate::spec::RawDuration::Text(s.clone()),
                    toml::Value::Integer(i) => crate::spec::RawDuration::Seconds(*i as f64),
                    toml::Value::Float(f) => crate::spec::RawDuration::Seconds(*f),
                    _ => crate::spec::RawDuration::Text(String::new()),
                };
                let d = self
                    .c
                    .duration(&format!("{p}.timeout"), Some(&raw), Duration::ZERO);
                (!d.is_zero()).then_some(d)
            }
        };
        let spec = RendezvousSpec {
            name: name.clone(),
            users,
            timeout,
        };
        let field = format!("{p}.rendezvous");
        let Some(point) = super::intern(self.c, &field, &mut self.prog.points, spec, |r| &r.name)
        else {
            return;
        };
        self.ops.push(Op::Rendezvous { point });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_percent_runs_as_jmeter_decides() {
        // JMeter runs the n-th pass when (100 × runs + 50) / n < percent.
        let g = Gate {
            rule: GateRule::Percent(5000),
            per_user: true,
            slot: 0,
        };
        let (mut runs, mut pattern) = (0, Vec::new());
        for pass in 0..8 {
            let run = g.decide(runs, pass);
            runs += u64::from(run);
            pattern.push(run);
        }
        assert_eq!(
            pattern,
            [false, true, false, true, false, true, false, true]
        );
        let g = Gate {
            rule: GateRule::Percent(2500),
            ..g
        };
        let mut runs = 0;
        for pass in 0..100 {
            runs += u64::from(g.decide(runs, pass));
        }
        assert_eq!(runs, 25);
        let g = Gate {
            rule: GateRule::Total(3),
            ..g
        };
        assert!(g.decide(2, 10) && !g.decide(3, 10));
    }

    #[test]
    fn switch_selects_as_jmeter() {
        let s = SwitchSpec {
            value: Template::compile("x", &[]).unwrap(),
            names: vec![Some("a".into()), None, Some("Default".into())],
        };
        assert_eq!(s.select(""), Some(0));
        assert_eq!(s.select("1"), Some(1));
        assert_eq!(s.select("7"), Some(0));
        assert_eq!(s.select("a"), Some(0));
        assert_eq!(s.select("zzz"), Some(2));
        let s = SwitchSpec {
            names: vec![Some("a".into())],
            ..s
        };
        assert_eq!(s.select("zzz"), None);
    }
}
