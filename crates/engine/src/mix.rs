//! The request-mix instructions of a user's program (`interleave`, `random`, `random_order`,
//! Throughput Controllers, `switch`, `foreach`) and rendezvous points: the per-group state
//! they share ([`MixRt`]: throughput counters over every user, rendezvous barriers) and how
//! a user steps through them.

use std::sync::Mutex;
use std::time::Duration;

use rand::seq::SliceRandom as _;
use rand::RngExt as _;
use tokio::sync::Notify;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::ctx::Ctx;
use super::group::GroupRt;
use super::user::{IterEnd, User};
use surge_plan::steps::{ForSource, Op, Program};
use surge_plan::template::Scope;

/// A rendezvous point of one group: releases its waiting users together when `size` have
/// arrived, or when the first of them has waited `timeout` (JMeter's Synchronizing Timer, a
/// cyclic barrier broken by a timeout); then it counts again from 0.
#[derive(Debug)]
pub(super) struct Barrier {
    size: u32,
    timeout: Option<Duration>,
    state: Mutex<(u32, u64)>,
    released: Notify,
}

impl Barrier {
    pub(super) fn new(size: u32, timeout: Option<Duration>) -> Barrier {
        Barrier {
            size: size.max(1),
            timeout,
            state: Mutex::new((0, 0)),
            released: Notify::new(),
        }
    }

    /// Waits for the release; false when `stop` came first.
    pub(super) async fn arrive(&self, stop: &CancellationToken) -> bool {
        let released = self.released.notified();
        tokio::pin!(released);
        let generation = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 += 1;
            if s.0 >= self.size {
                *s = (0, s.1 + 1);
                self.released.notify_waiters();
                return true;
            }
            // Registered before the lock is let go: a release from now on wakes this user.
            released.as_mut().enable();
            s.1
        };
        let timeout = async {
            match self.timeout {
                Some(t) => sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.1 == generation {
                    s.0 = s.0.saturating_sub(1);
                }
                false
            }
            _ = &mut released => true,
            _ = timeout => {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.1 == generation {
                    *s = (0, s.1 + 1);
                    self.released.notify_waiters();
                }
                true
            }
        }
    }
}

/// What a group's users share of its request mix.
#[derive(Debug, Default)]
pub(super) struct MixRt {
    /// (runs, passes) of each Throughput Controller counted over every user.
    gates: Vec<Mutex<(u64, u64)>>,
    /// One barrier per rendezvous point.
    pub(super) points: Vec<Barrier>,
}

impl MixRt {
    /// The shared state of `program`, for a group of at most `users` users.
    pub(super) fn new(program: &Program, users: u32) -> MixRt {
        MixRt {
            gates: program.gates.iter().map(|_| Mutex::new((0, 0))).collect(),
            points: program
                .points
                .iter()
                .map(|p| Barrier::new(p.users.unwrap_or(users), p.timeout))
                .collect(),
        }
    }
}

impl<C> User<C> {
    /// Steps through one request-mix instruction: where the program goes on (`pc` moved), or
    /// Some(end) when the user stops (its stop came while it waited at a rendezvous).
    pub(super) async fn mix_op<T>(
        &mut self,
        ctx: &Ctx<T>,
        grp: &GroupRt,
        op: Op,
        pc: &mut usize,
        stop: &CancellationToken,
    ) -> Option<IterEnd> {
        let prog = grp.program();
        let item = |table: u32, i: usize| prog.tables[table as usize + i] as usize;
        match op {
            Op::Jump { to } => *pc = to as usize,
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
                    *pc = item(table, self.rng.random_range(0..n));
                } else {
                    let k = &mut self.slots[usize::from(slot)];
                    let offset = if across { self.number as usize - 1 } else { 0 };
                    let i = (*k as usize + offset) % n;
                    *k = k.wrapping_add(1);
                    *pc = item(table, i);
                }
            }
            Op::Shuffle { slot, n } => {
                let order = &mut self.orders[usize::from(slot)];
                order.clear();
                order.extend(0..n);
                order.shuffle(&mut self.rng);
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
                    let mut c = grp.mix().gates[usize::from(gate)]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    let run = g.decide(c.0, c.1);
                    c.1 += 1;
                    c.0 += u64::from(run);
                    run
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
                let value = spec.value.render(&Scope {
                    vars: &self.data.values,
                    thread: self.number,
                    iteration: self.iteration,
                });
                *pc = match spec.select(value.trim()) {
                    Some(i) => item(table, i),
                    None => end as usize,
                };
            }
            Op::ForInit { slot } => self.slots[usize::from(slot)] = 0,
            Op::TimedInit { slot, ms, end } => {
                let s = usize::from(slot);
                self.deadlines[s] =
                    Some(tokio::time::Instant::now() + Duration::from_millis(u64::from(ms)));
                self.marks[s] = self.sent;
                if ms == 0 {
                    *pc = end as usize;
                }
            }
            Op::TimedCheck { slot, end }
                if self.deadlines[usize::from(slot)]
                    .is_none_or(|d| tokio::time::Instant::now() >= d) =>
            {
                *pc = end as usize;
            }
            Op::TimedBack { slot, body } => {
                let s = usize::from(slot);
                // A pass that sent no request would spin until the deadline: done.
                let sent = self.sent != self.marks[s];
                self.marks[s] = self.sent;
                if sent && self.deadlines[s].is_some_and(|d| tokio::time::Instant::now() < d) {
                    *pc = body as usize;
                }
            }
            Op::ForNext { each, slot, end } => {
                let spec = &prog.foreach[usize::from(each)];
                let k = self.slots[usize::from(slot)] as usize;
                let next = match &spec.source {
                    ForSource::Values(v) => v.get(k).cloned(),
                    ForSource::Var(i) => {
                        let list = &self.data.lists[*i];
                        if list.is_empty() {
                            let one = &self.data.values[*i];
                            (k == 0 && !one.is_empty()).then(|| one.clone())
                        } else {
                            list.get(k).cloned()
                        }
                    }
                };
                match next {
                    Some(v) => {
                        self.data.values[spec.out] = v;
                        self.slots[usize::from(slot)] += 1;
                    }
                    None => *pc = end as usize,
                }
            }
            Op::Rendezvous { point }
                if !grp.mix().points[usize::from(point)].arrive(stop).await =>
            {
                return Some(self.cut(ctx));
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_barrier_releases_together_or_at_the_first_waiters_timeout() {
        let b = Arc::new(Barrier::new(3, Some(Duration::from_secs(5))));
        let stop = CancellationToken::new();
        let t0 = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..3u64 {
            let (b, stop) = (b.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                sleep(Duration::from_secs(i)).await;
                b.arrive(&stop).await;
                t0.elapsed()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Duration::from_secs(2));
        }
        // Two of three: the first waiter's timeout releases both, and counting starts again.
        let mut tasks = Vec::new();
        for i in 0..2u64 {
            let (b, stop) = (b.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                sleep(Duration::from_secs(i)).await;
                b.arrive(&stop).await;
                t0.elapsed()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Duration::from_secs(2 + 5));
        }
        assert_eq!(b.state.lock().unwrap().0, 0);
        // A stop frees a waiter without a release.
        let stopped = {
            let (b, stop) = (b.clone(), stop.clone());
            tokio::spawn(async move { b.arrive(&stop).await })
        };
        tokio::task::yield_now().await;
        stop.cancel();
        assert!(!stopped.await.unwrap());
        assert_eq!(b.state.lock().unwrap().0, 0);
    }
}
