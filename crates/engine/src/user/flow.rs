//! A user's place in its step program between requests ([`Flow`]): the control instructions of
//! the flat [`Op`] program (loops, `while`, `if`, `once`, `during`, jumps) and the request mix
//! (`interleave`, `random`, `random_order`, Throughput Controllers, `switch`, `foreach`), each
//! moving the program counter. Requests, transactions and rendezvous points are the user's own
//! ([`super`]); the state a group's users share of its mix is [`crate::mix::MixRt`].

use std::time::Duration;

use rand::seq::SliceRandom as _;
use rand::RngExt as _;
use tokio::time::Instant;

use super::Vars;
use crate::group::GroupRt;
use crate::plan_rt::PlanRt;
use surge_plan::steps::{ForSource, Op};

/// A user's loop counters, drawn orders and deadlines, kept across iterations.
pub(super) struct Flow {
    /// Loop counters, one per loop of the program (and the request mix's cursors).
    slots: Vec<u32>,
    /// The order drawn by each `random_order` block (indexed by its slot).
    orders: Vec<Vec<u16>>,
    /// Requests sent when each `while` (or `during`) pass began (a pass that sends none ends
    /// the loop).
    marks: Vec<u64>,
    /// Each `during` block's deadline.
    deadlines: Vec<Option<Instant>>,
    /// Requests sent so far.
    sent: u64,
}

impl Flow {
    /// The state of a program with `slots` slots.
    pub(super) fn new(slots: usize) -> Flow {
        Flow {
            slots: vec![0; slots],
            orders: vec![Vec::new(); slots],
            marks: vec![0; slots],
            deadlines: vec![None; slots],
            sent: 0,
        }
    }

    /// A request was sent (a request answered from the cache was not).
    pub(super) fn sent_one(&mut self) {
        self.sent += 1;
    }

    /// Steps through control instruction `op` (anything but a request, a transaction's begin or
    /// end, or a rendezvous): moves `pc` where the program goes on.
    pub(super) fn step(
        &mut self,
        op: Op,
        pc: &mut usize,
        vars: &mut Vars,
        plan: &PlanRt,
        grp: &GroupRt,
    ) {
        match op {
            Op::LoopInit { slot, count, end } => {
                self.slots[usize::from(slot)] = 0;
                if count == 0 {
                    *pc = end as usize;
                }
            }
            Op::LoopBack { slot, count, body } => {
                let n = &mut self.slots[usize::from(slot)];
                *n += 1;
                if *n < count {
                    *pc = body as usize;
                }
            }
            Op::WhileInit { slot } => self.slots[usize::from(slot)] = 0,
            Op::WhileTest {
                cond,
                slot,
                max,
                end,
            } => {
                let passes = self.slots[usize::from(slot)];
                if max.is_some_and(|m| passes >= m) || !vars.holds(plan, cond) {
                    *pc = end as usize;
                } else {
                    self.marks[usize::from(slot)] = self.sent;
                }
            }
            Op::WhileBack { slot, test } => {
                self.slots[usize::from(slot)] += 1;
                // A pass that sent no request changed nothing a condition reads: done.
                if self.sent != self.marks[usize::from(slot)] {
                    *pc = test as usize;
                }
            }
            Op::IfNot { cond, end } => {
                if !vars.holds(plan, cond) {
                    *pc = end as usize;
                }
            }
            Op::Once { slot, end } => {
                let first = match slot {
                    Some(s) => self.slots[usize::from(s)] == 0,
                    None => vars.iteration == 1,
                };
                if !first {
                    *pc = end as usize;
                }
            }
            Op::Jump { to } => *pc = to as usize,
            Op::TimedInit { slot, ms, end } => {
                let s = usize::from(slot);
                self.deadlines[s] = Some(Instant::now() + Duration::from_millis(u64::from(ms)));
                self.marks[s] = self.sent;
                if ms == 0 {
                    *pc = end as usize;
                }
            }
            Op::TimedCheck { slot, end }
                if self.deadlines[usize::from(slot)].is_none_or(|d| Instant::now() >= d) =>
            {
                *pc = end as usize;
            }
            Op::TimedBack { slot, body } => {
                let s = usize::from(slot);
                // A pass that sent no request would spin until the deadline: done.
                let sent = self.sent != self.marks[s];
                self.marks[s] = self.sent;
                if sent && self.deadlines[s].is_some_and(|d| Instant::now() < d) {
                    *pc = body as usize;
                }
            }
            op => self.mix(op, pc, vars, grp),
        }
    }

    /// Steps through request-mix instruction `op`: which item runs next (`pc` moved).
    fn mix(&mut self, op: Op, pc: &mut usize, vars: &mut Vars, grp: &GroupRt) {
        let prog = grp.program();
        let item = |table: u32, i: usize| prog.tables[table as usize + i] as usize;
        match op {
            Op::Pick {
                random,
                across,
                slot,
                table,
                n,
                end,
            } => {
                let n = usize::from(n);
                if n == 0 {
                    *pc = end as usize;
                } else if random {
                    *pc = item(table, vars.rng.random_range(0..n));
                } else {
                    let k = &mut self.slots[usize::from(slot)];
                    let offset = if across { vars.number as usize - 1 } else { 0 };
                    let i = (*k as usize + offset) % n;
                    *k = k.wrapping_add(1);
                    *pc = item(table, i);
                }
            }
            Op::Shuffle { slot, n } => {
                let order = &mut self.orders[usize::from(slot)];
                order.clear();
                order.extend(0..n);
                order.shuffle(&mut vars.rng);
                self.slots[usize::from(slot)] = 0;
            }
            Op::ShuffleNext {
                slot,
                table,
                n,
                end,
            } => {
                let k = self.slots[usize::from(slot)];
                if k >= u32::from(n) {
                    *pc = end as usize;
                } else {
                    self.slots[usize::from(slot)] += 1;
                    let i = self.orders[usize::from(slot)][k as usize];
                    *pc = item(table, usize::from(i));
                }
            }
            Op::Throughput { gate, end } => {
                let g = prog.gates[usize::from(gate)];
                let run = if g.per_user {
                    let s = usize::from(g.slot);
                    let (passes, runs) = (u64::from(self.slots[s]), u64::from(self.slots[s + 1]));
                    let run = g.decide(runs, passes);
                    self.slots[s] += 1;
                    self.slots[s + 1] += u32::from(run);
                    run
                } else {
                    grp.mix().throughput(gate, &g)
                };
                if !run {
                    *pc = end as usize;
                }
            }
            Op::Switch {
                switch,
                table,
                n: _,
                end,
            } => {
                let spec = &prog.switches[usize::from(switch)];
                let value = spec.value.render(&vars.scope());
                *pc = match spec.select(value.trim()) {
                    Some(i) => item(table, i),
                    None => end as usize,
                };
            }
            Op::ForInit { slot } => self.slots[usize::from(slot)] = 0,
            Op::ForNext { each, slot, end } => {
                let spec = &prog.foreach[usize::from(each)];
                let k = self.slots[usize::from(slot)] as usize;
                let next = match &spec.source {
                    ForSource::Values(v) => v.get(k).cloned(),
                    ForSource::Var(i) => {
                        let list = &vars.data.lists[*i];
                        if list.is_empty() {
                            let one = &vars.data.values[*i];
                            (k == 0 && !one.is_empty()).then(|| one.clone())
                        } else {
                            list.get(k).cloned()
                        }
                    }
                };
                match next {
                    Some(v) => {
                        vars.data.values[spec.out] = v;
                        self.slots[usize::from(slot)] += 1;
                    }
                    None => *pc = end as usize,
                }
            }
            _ => {}
        }
    }
}
