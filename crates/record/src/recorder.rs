//! Recording: each user writes into its shard (a mutex shared by a few users only, never by
//! all), bucketed by second; an aggregator drains completed seconds once a second and merges
//! them with `Histogram::add`. Memory is constant in the number of requests: a shard holds only
//! the seconds not yet drained, the aggregate one row per second and one histogram pair per
//! label × status.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::hist::Hist;
use super::result::{Cell, Quantiles, RateLimitSecond, Second, Summary, Totals};
use super::sample::{Outcome, Sample, StatusKey, TxnSample};

const US: u64 = 1_000_000;

mod txn;
use txn::{txn_mut, TxnAcc};

/// Seconds a finished second's histograms are kept for late samples (recorded > 100 ms after
/// their end, e.g. under CPU starvation). Later than that, counts still merge exactly, quantiles
/// keep what they had.
pub const LATE_WINDOW_S: u32 = 5;

/// One label × status within one second (or the whole run).
#[derive(Debug, Clone)]
struct CellAcc {
    step: u16,
    status: StatusKey,
    count: u64,
    retries: u64,
    bytes_in: u64,
    bytes_out: u64,
    service: Hist,
    response: Hist,
}

impl CellAcc {
    fn new(step: u16, status: StatusKey) -> Self {
        CellAcc {
            step,
            status,
            count: 0,
            retries: 0,
            bytes_in: 0,
            bytes_out: 0,
            service: Hist::new(),
            response: Hist::new(),
        }
    }

    fn add(&mut self, o: &CellAcc) {
        self.count += o.count;
        self.retries += o.retries;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.service.add(&o.service);
        self.response.add(&o.response);
    }
}

fn cell_mut(cells: &mut Vec<CellAcc>, step: u16, status: StatusKey) -> &mut CellAcc {
    match cells
        .iter()
        .position(|c| c.step == step && c.status == status)
    {
        Some(i) => &mut cells[i],
        None => {
            cells.push(CellAcc::new(step, status));
            cells.last_mut().expect("just pushed")
        }
    }
}

fn bump(v: &mut Vec<(u16, u64)>, id: u16) {
    match v.iter_mut().find(|(k, _)| *k == id) {
        Some((_, n)) => *n += 1,
        None => v.push((id, 1)),
    }
}

/// What one shard gathered for one second.
#[derive(Debug, Clone, Default)]
struct Bucket {
    second: u32,
    started: u64,
    cells: Vec<CellAcc>,
    retry_after: Vec<(u32, u64)>,
    throttled_without_retry_after: u64,
    first_429_us: Option<u64>,
    last_end_us: u64,
    first_by_outcome: [u64; Outcome::COUNT],
    final_by_outcome: [u64; Outcome::COUNT],
    retry_wait_ms: u64,
    pace_wait_ms: u64,
    limits: Vec<(u16, u64)>,
    rate_limit: Option<RateLimitSecond>,
    checks: Vec<(u16, u64)>,
    txn_started: Vec<(u16, u64)>,
    txn_unfinished: Vec<(u16, u64)>,
    txns: Vec<TxnAcc>,
}

#[derive(Debug, Default)]
struct Shard {
    open: Vec<Bucket>,
}

impl Shard {
    fn bucket(&mut self, second: u32) -> &mut Bucket {
        match self.open.iter().rposition(|b| b.second == second) {
            Some(i) => &mut self.open[i],
            None => {
                self.open.push(Bucket {
                    second,
                    ..Bucket::default()
                });
                self.open.last_mut().expect("just pushed")
            }
        }
    }
}

/// The per-run recorder shared by every user. Recording takes the shard's lock (shared by
/// `users / shards` users), never a global one, and sends nothing over a channel.
#[derive(Debug)]
pub struct Recorder {
    shards: Box<[Mutex<Shard>]>,
    user_events: Mutex<Vec<(u64, i32)>>,
}

impl Recorder {
    /// A recorder for up to `users` users.
    pub fn new(users: u32) -> Recorder {
        let par = std::thread::available_parallelism().map_or(2, |n| n.get());
        Recorder::with_shards(users, par)
    }

    /// A recorder for up to `users` users whose user `u` runs on worker `u % workers`: shard
    /// `u % shards` with `shards` a multiple of `workers` (or one shard per user), so no two
    /// workers ever record into the same shard and its lock is never contended on the hot path.
    pub fn with_shards(users: u32, workers: usize) -> Recorder {
        let n = (workers.max(1) * 4).clamp(1, users.max(1) as usize);
        Recorder {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            user_events: Mutex::new(Vec::new()),
        }
    }

    /// Records one attempt.
    #[inline]
    pub fn record(&self, s: &Sample) {
        let mut shard = self.shards[s.user as usize % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let end_sec = (s.end_us / US) as u32;
        let start_sec = (s.start_us / US) as u32;
        shard.bucket(start_sec).started += 1;
        let b = shard.bucket(end_sec);
        let c = cell_mut(&mut b.cells, s.step, s.status);
        c.count += 1;
        c.retries += u64::from(s.attempt > 1);
        c.bytes_in += u64::from(s.bytes_in);
        c.bytes_out += u64::from(s.bytes_out);
        c.service.record(s.service_us());
        c.response.record(s.response_us());
        b.last_end_us = b.last_end_us.max(s.end_us);
        let o = s.status.outcome().index();
        if s.attempt <= 1 {
            b.first_by_outcome[o] += 1;
        }
        if s.last {
            b.final_by_outcome[o] += 1;
        }
        b.retry_wait_ms += u64::from(s.retry_wait_ms);
        b.pace_wait_ms += u64::from(s.pace_wait_ms);
        if let Some(id) = s.limit_key {
            bump(&mut b.limits, id);
        }
        if let Some(id) = s.check {
            bump(&mut b.checks, id.index() as u16);
        }
        if s.status == StatusKey::Http(429) {
            if b.first_429_us.is_none_or(|t| s.end_us < t) {
                b.first_429_us = Some(s.end_us);
            }
            if s.retry_after_ms.is_none() {
                b.throttled_without_retry_after += 1;
            }
        }
        if let Some(ms) = s.retry_after_ms {
            let secs = ms.div_ceil(1000);
            match b.retry_after.iter_mut().find(|(v, _)| *v == secs) {
                Some((_, n)) => *n += 1,
                None => b.retry_after.push((secs, 1)),
            }
        }
        if let Some(rl) = s.rate_limit {
            let r = b.rate_limit.get_or_insert(RateLimitSecond {
                reset_min: u32::MAX,
                ..Default::default()
            });
            r.responses += 1;
            r.allowed = r.allowed.max(rl.allowed);
            r.count_max = r.count_max.max(rl.count);
            r.reset_min = r.reset_min.min(rl.reset);
        }
    }

    /// Notes that `user` began transaction `txn` at `at_us`.
    pub fn txn_begin(&self, user: u32, at_us: u64, txn: u16) {
        let mut shard = self.shards[user as usize % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        bump(&mut shard.bucket((at_us / US) as u32).txn_started, txn);
    }

    /// Notes that `user`'s transaction `txn` was cut by the end of the run at `at_us`.
    pub fn txn_unfinished(&self, user: u32, at_us: u64, txn: u16) {
        let mut shard = self.shards[user as usize % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        bump(&mut shard.bucket((at_us / US) as u32).txn_unfinished, txn);
    }

    /// Records a transaction that ended (in the second of its end).
    pub fn record_txn(&self, t: &TxnSample) {
        let mut shard = self.shards[t.user as usize % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let b = shard.bucket((t.end_us / US) as u32);
        let c = txn_mut(&mut b.txns, t.txn, t.outcome);
        c.count += 1;
        c.time.record(t.duration_us());
    }

    /// Counts the final outcome of a request whose last recorded attempt expected a retry that
    /// never came (the run stopped during the wait).
    pub fn add_final(&self, user: u32, at_us: u64, outcome: Outcome) {
        let mut shard = self.shards[user as usize % self.shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        shard.bucket((at_us / US) as u32).final_by_outcome[outcome.index()] += 1;
    }

    /// Notes that a user started (`+1`) or stopped (`-1`) at `at_us`. Rare: once per user.
    pub fn user_event(&self, at_us: u64, delta: i32) {
        self.user_events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((at_us, delta));
    }

    /// Moves every bucket of a second before `upto` into `agg`.
    pub fn drain_into(&self, upto: u32, agg: &mut Aggregate) {
        for shard in self.shards.iter() {
            let drained: Vec<Bucket> = {
                let mut sh = shard.lock().unwrap_or_else(|e| e.into_inner());
                let (done, keep): (Vec<Bucket>, Vec<Bucket>) =
                    sh.open.drain(..).partition(|b| b.second < upto);
                sh.open = keep;
                done
            };
            for b in drained {
                agg.stage(b);
            }
        }
        let mut events =
            std::mem::take(&mut *self.user_events.lock().unwrap_or_else(|e| e.into_inner()));
        let (now, later): (Vec<_>, Vec<_>) = events
            .drain(..)
            .partition(|(t, _)| ((t / US) as u32) < upto);
        self.user_events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(later);
        agg.finish_seconds(upto, now);
    }
}

/// The run so far: one timeline row per second, one cell per label × status.
#[derive(Debug, Default)]
pub struct Aggregate {
    labels: Vec<String>,
    cells: Vec<CellAcc>,
    timeline: BTreeMap<u32, Second>,
    staged: BTreeMap<u32, Vec<CellAcc>>,
    /// Per-outcome histograms of the last [`LATE_WINDOW_S`] finished seconds, so a sample
    /// recorded after its second was drained still merges into that second's quantiles.
    recent: BTreeMap<u32, BTreeMap<Outcome, (Hist, Hist)>>,
    totals: Totals,
    first_429_us: Option<u64>,
    last_end_us: u64,
    active: i64,
    /// The last second fully merged (exclusive).
    pub done_upto: u32,
    /// Keep every second's histograms (a segment of a distributed run: the merge needs them).
    keep_second_hists: bool,
    kept: BTreeMap<u32, BTreeMap<Outcome, (Hist, Hist)>>,
    /// Transaction names (by index) and check names (by id).
    txn_names: Vec<String>,
    check_names: Vec<String>,
    /// Transactions over the whole run, begun and cut per transaction.
    txns: Vec<TxnAcc>,
    txn_started: BTreeMap<u16, u64>,
    txn_unfinished: BTreeMap<u16, u64>,
    /// Transaction histograms of seconds not yet finished, and of the last finished ones.
    staged_txn: BTreeMap<u32, Vec<TxnAcc>>,
    recent_txn: BTreeMap<u32, Vec<TxnAcc>>,
    kept_txn: BTreeMap<u32, Vec<TxnAcc>>,
}

impl Aggregate {
    /// An empty aggregate for these request labels.
    pub fn new(labels: Vec<String>) -> Aggregate {
        Aggregate {
            labels,
            ..Aggregate::default()
        }
    }

    fn row(&mut self, t: u32) -> &mut Second {
        self.timeline.entry(t).or_insert_with(|| Second {
            t,
            ..Second::default()
        })
    }

    fn stage(&mut self, b: Bucket) {
        let t = b.second;
        if let Some(f) = b.first_429_us {
            if self.first_429_us.is_none_or(|x| f < x) {
                self.first_429_us = Some(f);
            }
        }
        self.totals.throttled_without_retry_after += b.throttled_without_retry_after;
        self.last_end_us = self.last_end_us.max(b.last_end_us);
        self.totals.retry_wait_s += b.retry_wait_ms as f64 / 1000.0;
        self.totals.pace_wait_s += b.pace_wait_ms as f64 / 1000.0;
        for o in Outcome::ALL {
            let (f, l) = (b.first_by_outcome[o.index()], b.final_by_outcome[o.index()]);
            if f > 0 {
                *self.totals.first_attempt_by_outcome.entry(o).or_default() += f;
            }
            if l > 0 {
                *self.totals.final_by_outcome.entry(o).or_default() += l;
            }
        }
        for (v, n) in &b.retry_after {
            *self.totals.retry_after.entry(*v).or_default() += n;
        }
        for (id, n) in &b.limits {
            *self
                .totals
                .throttled_by_limit
                .entry(super::limit_key::name(*id))
                .or_default() += n;
        }
        self.stage_txns(t, &b);
        let row = self.row(t);
        row.started += b.started;
        for (id, n) in &b.limits {
            *row.throttled_by_limit
                .entry(super::limit_key::name(*id))
                .or_default() += n;
        }
        for (v, n) in &b.retry_after {
            *row.retry_after.entry(*v).or_default() += n;
        }
        if let Some(rl) = b.rate_limit {
            let r = row.rate_limit.get_or_insert(RateLimitSecond {
                reset_min: u32::MAX,
                ..Default::default()
            });
            r.merge(&rl);
        }
        for c in &b.cells {
            row.completed += c.count;
            row.retries += c.retries;
            *row.by_status.entry(c.status).or_default() += c.count;
            *row.by_outcome.entry(c.status.outcome()).or_default() += c.count;
        }
        for c in b.cells {
            cell_mut(&mut self.cells, c.step, c.status).add(&c);
            let staged = self.staged.entry(t).or_default();
            cell_mut(staged, c.step, c.status).add(&c);
        }
    }

    /// Computes per-second quantiles for the staged seconds before `upto`, and the most users
    /// active in each second from the user events.
    fn finish_seconds(&mut self, upto: u32, mut events: Vec<(u64, i32)>) {
        self.finish_txn_seconds(upto);
        events.sort_by_key(|(t, d)| (*t, -*d));
        let staged: Vec<u32> = self.staged.range(..upto).map(|(k, _)| *k).collect();
        for t in staged {
            let cells = self.staged.remove(&t).unwrap_or_default();
            // A second older than the window already lost its histograms: keep its quantiles.
            let seen_before = self.timeline.get(&t).is_some_and(|r| !r.latency.is_empty());
            if seen_before && !self.recent.contains_key(&t) {
                continue;
            }
            let per_outcome = self.recent.entry(t).or_default();
            for c in &cells {
                let e = per_outcome.entry(c.status.outcome()).or_default();
                e.0.add(&c.service);
                e.1.add(&c.response);
            }
            let q: Vec<(Outcome, Quantiles, Quantiles)> = per_outcome
                .iter()
                .map(|(o, (s, r))| (*o, Quantiles::of(s), Quantiles::of(r)))
                .collect();
            let row = self.row(t);
            for (o, s, r) in q {
                row.latency.insert(o, s);
                row.response_latency.insert(o, r);
            }
        }
        let keep_from = upto.saturating_sub(LATE_WINDOW_S);
        let newer = self.recent.split_off(&keep_from);
        let older = std::mem::replace(&mut self.recent, newer);
        if self.keep_second_hists {
            self.kept.extend(older);
        }
        let last_event = events.last().map(|(t, _)| (t / US) as u32 + 1).unwrap_or(0);
        let last_row = self.timeline.keys().next_back().map_or(0, |k| k + 1);
        let end = upto.min(last_event.max(last_row)).max(self.done_upto);
        let mut i = 0;
        // Events of seconds already finished only move the level.
        while i < events.len() && ((events[i].0 / US) as u32) < self.done_upto {
            self.active += i64::from(events[i].1);
            i += 1;
        }
        for t in self.done_upto..end {
            let mut most = self.active;
            while i < events.len() && (events[i].0 / US) as u32 == t {
                self.active += i64::from(events[i].1);
                most = most.max(self.active);
                i += 1;
            }
            self.row(t).active_users = most.max(0) as u32;
        }
        self.done_upto = end;
    }

    /// Keeps every second's latency histograms for [`Aggregate::take_second_hists`] (a segment
    /// of a distributed run), instead of only the last few seconds'.
    pub fn keep_second_hists(&mut self, keep: bool) {
        self.keep_second_hists = keep;
    }

    /// Every second's latency histograms per outcome, when kept. Call after the final drain.
    pub fn take_second_hists(&mut self) -> Vec<super::distributed::SecondHists> {
        if !self.keep_second_hists {
            return Vec::new();
        }
        let mut all = std::mem::take(&mut self.kept);
        all.extend(std::mem::take(&mut self.recent));
        let mut txns = std::mem::take(&mut self.kept_txn);
        txns.extend(std::mem::take(&mut self.recent_txn));
        let mut out: BTreeMap<u32, super::distributed::SecondHists> = all
            .into_iter()
            .map(|(t, by)| {
                let by_outcome = by
                    .into_iter()
                    .map(|(o, (service, response))| {
                        (o, super::distributed::HistPair { service, response })
                    })
                    .collect();
                let sh = super::distributed::SecondHists {
                    t,
                    by_outcome,
                    transactions: BTreeMap::new(),
                };
                (t, sh)
            })
            .collect();
        for (t, accs) in txns {
            let sh = out
                .entry(t)
                .or_insert_with(|| super::distributed::SecondHists {
                    t,
                    ..Default::default()
                });
            for c in accs {
                let name = self.txn_name(c.txn);
                sh.transactions
                    .entry(name)
                    .or_default()
                    .entry(c.outcome)
                    .or_default()
                    .add(&c.time);
            }
        }
        out.into_values().collect()
    }

    /// Records the open model's dropped iterations (arrivals with no free user).
    pub fn set_dropped(&mut self, n: u64) {
        self.totals.dropped_iterations = n;
    }

    /// Dropped iterations recorded so far.
    pub fn totals_dropped(&self) -> u64 {
        self.totals.dropped_iterations
    }

    /// Live view for progress: (completed, 2xx, 429, errors incl. other non-2xx).
    pub fn live(&self) -> (u64, u64, u64, u64) {
        let mut all = 0;
        let mut ok = 0;
        let mut thr = 0;
        for c in &self.cells {
            all += c.count;
            match c.status.outcome() {
                Outcome::Success => ok += c.count,
                Outcome::Throttled => thr += c.count,
                _ => {}
            }
        }
        (all, ok, thr, all - ok - thr)
    }

    /// The timeline row of second `t`, once drained.
    pub fn second(&self, t: u32) -> Option<&Second> {
        self.timeline.get(&t)
    }

    /// Completed attempts in second `t`.
    pub fn completed_in(&self, t: u32) -> u64 {
        self.timeline.get(&t).map_or(0, |r| r.completed)
    }

    /// One cell per label × status so far, each with its histograms since the start, in plan
    /// order (what the live metrics read once a second; [`Aggregate::finish`] ends with it).
    pub fn cells_so_far(&self) -> Vec<Cell> {
        let mut cells: Vec<Cell> = self
            .cells
            .iter()
            .map(|c| Cell {
                label: self
                    .labels
                    .get(usize::from(c.step))
                    .cloned()
                    .unwrap_or_else(|| format!("step{}", c.step)),
                status: c.status,
                outcome: c.status.outcome(),
                count: c.count,
                retries: c.retries,
                bytes_in: c.bytes_in,
                bytes_out: c.bytes_out,
                service: Summary::of(&c.service),
                response: Summary::of(&c.response),
                service_hist: c.service.clone(),
                response_hist: c.response.clone(),
            })
            .collect();
        cells.sort_by(|a, b| {
            (self.labels.iter().position(|l| *l == a.label), a.status)
                .cmp(&(self.labels.iter().position(|l| *l == b.label), b.status))
        });
        cells
    }

    /// The totals, cells and timeline of the whole run. Call after a final `drain_into(u32::MAX)`.
    pub fn finish(mut self, iterations: u64) -> (Totals, Vec<Cell>, Vec<Second>) {
        let mut totals = std::mem::take(&mut self.totals);
        totals.iterations = iterations;
        totals.first_429_s = self.first_429_us.map(|u| u as f64 / 1e6);
        totals.completion_s = self.last_end_us as f64 / 1e6;
        let cells = self.cells_so_far();
        for c in &cells {
            totals.requests += c.count;
            totals.retries += c.retries;
            totals.bytes_in += c.bytes_in;
            totals.bytes_out += c.bytes_out;
            *totals.by_status.entry(c.status).or_default() += c.count;
            *totals.by_outcome.entry(c.outcome).or_default() += c.count;
        }
        // Dense timeline: a row for every second, even an idle one.
        let last = self.timeline.keys().next_back().copied();
        let mut timeline = Vec::new();
        if let Some(last) = last {
            for t in 0..=last {
                timeline.push(self.timeline.remove(&t).unwrap_or(Second {
                    t,
                    ..Second::default()
                }));
            }
        }
        (totals, cells, timeline)
    }
}

#[cfg(test)]
mod tests;
