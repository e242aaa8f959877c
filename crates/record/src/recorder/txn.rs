//! Transactions in the aggregate: their cells over the run, their per-second rows (begun, ended,
//! time quantiles, late ones merged as cells are), the check names failures are counted under,
//! and the transactions a result keeps.

use super::super::hist::Hist;
use super::super::result::{Quantiles, Summary, Transaction, TxnCell};
use super::super::sample::Outcome;
use super::{Aggregate, Bucket, LATE_WINDOW_S};

/// One transaction × outcome within one second (or the whole run).
#[derive(Debug, Clone)]
pub(super) struct TxnAcc {
    pub(super) txn: u16,
    pub(super) outcome: Outcome,
    pub(super) count: u64,
    pub(super) time: Hist,
}

pub(super) fn txn_mut(v: &mut Vec<TxnAcc>, txn: u16, outcome: Outcome) -> &mut TxnAcc {
    match v.iter().position(|c| c.txn == txn && c.outcome == outcome) {
        Some(i) => &mut v[i],
        None => {
            v.push(TxnAcc {
                txn,
                outcome,
                count: 0,
                time: Hist::new(),
            });
            v.last_mut().expect("just pushed")
        }
    }
}

impl Aggregate {
    /// Names the plan's transactions (by index) and checks (by id), for the result.
    pub fn set_names(&mut self, transactions: Vec<String>, checks: Vec<String>) {
        self.txn_names = transactions;
        self.check_names = checks;
    }

    pub(super) fn txn_name(&self, i: u16) -> String {
        self.txn_names
            .get(usize::from(i))
            .cloned()
            .unwrap_or_else(|| format!("transaction{i}"))
    }

    pub(super) fn stage_txns(&mut self, t: u32, b: &Bucket) {
        for (id, n) in &b.checks {
            let name = self
                .check_names
                .get(usize::from(*id))
                .cloned()
                .unwrap_or_else(|| format!("check{id}"));
            *self.totals.failed_checks.entry(name).or_default() += n;
        }
        for (i, n) in &b.txn_unfinished {
            *self.txn_unfinished.entry(*i).or_default() += n;
        }
        for (i, n) in &b.txn_started {
            *self.txn_started.entry(*i).or_default() += n;
            let name = self.txn_name(*i);
            self.row(t).transactions.entry(name).or_default().started += n;
        }
        for c in &b.txns {
            let name = self.txn_name(c.txn);
            *self
                .row(t)
                .transactions
                .entry(name)
                .or_default()
                .ended
                .entry(c.outcome)
                .or_default() += c.count;
            let whole = txn_mut(&mut self.txns, c.txn, c.outcome);
            whole.count += c.count;
            whole.time.add(&c.time);
            let staged = txn_mut(self.staged_txn.entry(t).or_default(), c.txn, c.outcome);
            staged.count += c.count;
            staged.time.add(&c.time);
        }
    }

    /// Transaction quantiles of the staged seconds before `upto` (late ones merge as cells do).
    pub(super) fn finish_txn_seconds(&mut self, upto: u32) {
        let staged: Vec<u32> = self.staged_txn.range(..upto).map(|(k, _)| *k).collect();
        for t in staged {
            let accs = self.staged_txn.remove(&t).unwrap_or_default();
            let seen_before = self
                .timeline
                .get(&t)
                .is_some_and(|r| r.transactions.values().any(|x| !x.duration.is_empty()));
            if seen_before && !self.recent_txn.contains_key(&t) {
                continue;
            }
            let recent = self.recent_txn.entry(t).or_default();
            for c in &accs {
                txn_mut(recent, c.txn, c.outcome).time.add(&c.time);
            }
            let q: Vec<(u16, Outcome, Quantiles)> = recent
                .iter()
                .map(|c| (c.txn, c.outcome, Quantiles::of(&c.time)))
                .collect();
            for (i, o, q) in q {
                let name = self.txn_name(i);
                self.row(t)
                    .transactions
                    .entry(name)
                    .or_default()
                    .duration
                    .insert(o, q);
            }
        }
        let keep_from = upto.saturating_sub(LATE_WINDOW_S);
        let newer = self.recent_txn.split_off(&keep_from);
        let older = std::mem::replace(&mut self.recent_txn, newer);
        if self.keep_second_hists {
            self.kept_txn.extend(older);
        }
    }

    /// The transactions over the whole run, in plan order. Call after the final drain.
    pub fn take_transactions(&mut self) -> Vec<Transaction> {
        (0..self.txn_names.len())
            .map(|i| {
                let i = i as u16;
                let mut cells: Vec<TxnCell> = self
                    .txns
                    .iter()
                    .filter(|c| c.txn == i)
                    .map(|c| TxnCell {
                        outcome: c.outcome,
                        count: c.count,
                        duration: Summary::of(&c.time),
                        duration_hist: c.time.clone(),
                    })
                    .collect();
                cells.sort_by_key(|c| c.outcome);
                Transaction {
                    name: self.txn_name(i),
                    started: self.txn_started.get(&i).copied().unwrap_or(0),
                    unfinished: self.txn_unfinished.get(&i).copied().unwrap_or(0),
                    cells,
                }
            })
            .collect()
    }
}
