//! The exact merge of a distributed run: N segment results → the result one process would have
//! written. Counts add; histograms merge with `Histogram::add`; the timeline aligns by each
//! segment's wall-clock start; every derived figure (summaries, each second's quantiles) is
//! recomputed from the merged histograms by the functions a run uses. Segments of different
//! runs or plans, and missing or duplicated segments, are refused by name.

use std::collections::BTreeMap;

use super::distributed::{Distributed, HistPair, Member};
use super::hist::Hist;
use super::result::{
    Cell, Quantiles, RunResult, Second, Summary, Tool, Totals, Transaction, TxnCell,
};
use super::sample::{Outcome, StatusKey};
use super::StopReason;

/// Why segments cannot be merged. Each names the files (and segments) at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no segment results to merge")]
    Empty,
    /// A result that is not one segment of a distributed run.
    #[error("{path}: not a segment of a distributed run ({why}); run segments with `surge run --segment I/N`")]
    NotASegment {
        /// The file.
        path: String,
        /// What it is instead.
        why: String,
    },
    /// Segments of two runs.
    #[error("{path} is segment {segment} of run {run:?}, but {first_path} belongs to run {first_run:?}: segments of different runs do not merge")]
    DifferentRuns {
        /// The odd file.
        path: String,
        /// Its segment.
        segment: u32,
        /// Its run id.
        run: String,
        /// The first file.
        first_path: String,
        /// The first file's run id.
        first_run: String,
    },
    /// Segments split N ways differently.
    #[error("{path} is segment {segment} of {count}, but {first_path} is one of {first_count}")]
    DifferentCounts {
        /// The odd file.
        path: String,
        /// Its segment.
        segment: u32,
        /// Its N.
        count: u32,
        /// The first file.
        first_path: String,
        /// The first file's N.
        first_count: u32,
    },
    /// Segments that ran different plans (or against different targets).
    #[error("{path} (segment {segment}) ran a different plan than {first_path}: {field} differs ({value} vs {first_value})")]
    DifferentPlans {
        /// The odd file.
        path: String,
        /// Its segment.
        segment: u32,
        /// The first file.
        first_path: String,
        /// Where they differ, e.g. `plan.groups[0].load.threads`.
        field: String,
        /// Its value there.
        value: String,
        /// The first file's value there.
        first_value: String,
    },
    /// One segment given twice.
    #[error("segment {segment} of run {run:?} is given twice: {a} and {b}")]
    Duplicate {
        /// The segment.
        segment: u32,
        /// The run.
        run: String,
        /// One file.
        a: String,
        /// The other.
        b: String,
    },
    /// Segments absent.
    #[error("run {run:?} has {count} segments; missing: {}", list(.missing))]
    Missing {
        /// The run.
        run: String,
        /// N.
        count: u32,
        /// The absent ones.
        missing: Vec<u32>,
    },
}

fn list(v: &[u32]) -> String {
    v.iter()
        .map(|i| format!("segment {i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One input: a result and the name to call it by in errors (its path).
pub type Input = (String, RunResult);

/// Merges the segments of one run. With `allow_missing`, absent segments are tolerated: the
/// merge is marked partial and lists them.
///
/// # Errors
/// [`MergeError`], naming the files and segments at fault.
pub fn merge(inputs: Vec<Input>, allow_missing: bool) -> Result<RunResult, MergeError> {
    let segs = validate(inputs, allow_missing)?;
    let missing = missing_of(&segs);
    let base_ms = segs
        .iter()
        .map(|(_, r)| r.started_unix_ms)
        .min()
        .unwrap_or(0);
    let first = &segs[0].1;
    let mut cells: BTreeMap<(usize, StatusKey), Cell> = BTreeMap::new();
    let mut totals = Totals::default();
    let mut rows: BTreeMap<u32, Second> = BTreeMap::new();
    let mut hists: BTreeMap<u32, BTreeMap<Outcome, HistPair>> = BTreeMap::new();
    let mut txns: Vec<Transaction> = Vec::new();
    let mut txn_hists: TxnHists = BTreeMap::new();
    let (mut first_429, mut completion, mut duration) = (None::<f64>, 0.0f64, 0.0f64);
    for (_, r) in &segs {
        let offset_s = (r.started_unix_ms - base_ms) as f64 / 1e3;
        // Timeline rows move by whole seconds: with a barrier every offset is 0.
        let shift = offset_s.round() as u32;
        for c in &r.cells {
            add_cell(&mut cells, &first.labels, c);
        }
        add_transactions(&mut txns, &r.transactions);
        add_totals(&mut totals, &r.totals);
        if let Some(f) = r.totals.first_429_s {
            let at = offset_s + f;
            first_429 = Some(first_429.map_or(at, |x: f64| x.min(at)));
        }
        completion = completion.max(offset_s + r.totals.completion_s);
        duration = duration.max(offset_s + r.duration_s);
        for s in &r.timeline {
            add_second(rows.entry(s.t + shift).or_default(), s);
        }
        let d = r.distributed.as_ref().expect("validated");
        for sh in &d.second_hists {
            let at = hists.entry(sh.t + shift).or_default();
            for (o, p) in &sh.by_outcome {
                at.entry(*o).or_default().add(p);
            }
            for (name, by) in &sh.transactions {
                let at = txn_hists.entry(sh.t + shift).or_default();
                for (o, h) in by {
                    at.entry(name.clone())
                        .or_default()
                        .entry(*o)
                        .or_default()
                        .add(h);
                }
            }
        }
    }
    totals.first_429_s = first_429;
    totals.completion_s = completion;
    let cells: Vec<Cell> = cells
        .into_values()
        .map(|mut c| {
            c.service = Summary::of(&c.service_hist);
            c.response = Summary::of(&c.response_hist);
            c
        })
        .collect();
    let mut timeline = dense_timeline(rows, &hists);
    for row in &mut timeline {
        for (name, by) in txn_hists.get(&row.t).into_iter().flatten() {
            let at = row.transactions.entry(name.clone()).or_default();
            at.duration = by.iter().map(|(o, h)| (*o, Quantiles::of(h))).collect();
        }
    }
    let partial_reason = stop_reason(&segs, &missing);
    let started = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(base_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| first.started_at.clone());
    Ok(RunResult {
        schema: first.schema.clone(),
        schema_version: first.schema_version,
        tool: Tool::current(),
        scenario: first.scenario.clone(),
        plan: first.plan.clone(),
        target: first.target.clone(),
        started_at: started,
        started_unix_ms: base_ms,
        duration_s: duration,
        partial: partial_reason.is_some(),
        stop_reason: partial_reason.unwrap_or_default(),
        simulated: segs.iter().any(|(_, r)| r.simulated),
        labels: first.labels.clone(),
        totals,
        cells,
        timeline,
        transactions: txns,
        distributed: Some(merged_record(&segs, missing)),
    })
}

/// Why the merged run is partial, if it is: a segment where surge failed says so for the whole
/// run (exit 1); else absent segments (`aborted: …`: the whole plan did not run, exit 3 as for
/// a run stopped from outside); else the first segment that stopped early, with its reason.
fn stop_reason(segs: &[Input], missing: &[u32]) -> Option<StopReason> {
    if let Some((_, r)) = segs.iter().find(|(_, r)| r.stop_reason.is_failed()) {
        return Some(r.stop_reason.clone());
    }
    if !missing.is_empty() {
        let which: Vec<String> = missing.iter().map(u32::to_string).collect();
        return Some(StopReason::Aborted(format!(
            "{} {} missing from the merge",
            if missing.len() == 1 {
                "segment"
            } else {
                "segments"
            },
            which.join(", ")
        )));
    }
    segs.iter()
        .find(|(_, r)| r.partial)
        .map(|(_, r)| r.stop_reason.clone())
}

/// Checks the inputs are the segments of one run and plan, each once; sorted by segment.
fn validate(inputs: Vec<Input>, allow_missing: bool) -> Result<Vec<Input>, MergeError> {
    let mut segs: Vec<Input> = Vec::with_capacity(inputs.len());
    for (path, r) in inputs {
        let why = match &r.distributed {
            None => Some("it has no `distributed` section".to_string()),
            Some(d) if d.segment.is_none() => {
                Some(format!("it is already a merge of run {:?}", d.run_id))
            }
            Some(d) if d.second_hists.is_empty() && r.totals.requests > 0 => {
                Some("it has no per-second histograms".to_string())
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            return Err(MergeError::NotASegment { path, why });
        }
        segs.push((path, r));
    }
    let Some((first_path, first)) = segs.first().cloned() else {
        return Err(MergeError::Empty);
    };
    let fd = first.distributed.clone().expect("checked");
    let first_plan = comparable(&first);
    let mut seen: BTreeMap<u32, String> = BTreeMap::new();
    for (path, r) in &segs {
        let d = r.distributed.as_ref().expect("checked");
        let segment = d.segment.expect("checked");
        if d.run_id != fd.run_id {
            return Err(MergeError::DifferentRuns {
                path: path.clone(),
                segment,
                run: d.run_id.clone(),
                first_path: first_path.clone(),
                first_run: fd.run_id.clone(),
            });
        }
        if d.segments != fd.segments || segment == 0 || segment > d.segments {
            return Err(MergeError::DifferentCounts {
                path: path.clone(),
                segment,
                count: d.segments,
                first_path: first_path.clone(),
                first_count: fd.segments,
            });
        }
        if let Some((field, value, first_value)) = first_difference(&comparable(r), &first_plan) {
            return Err(MergeError::DifferentPlans {
                path: path.clone(),
                segment,
                first_path: first_path.clone(),
                field,
                value,
                first_value,
            });
        }
        if let Some(a) = seen.insert(segment, path.clone()) {
            return Err(MergeError::Duplicate {
                segment,
                run: d.run_id.clone(),
                a,
                b: path.clone(),
            });
        }
    }
    let missing: Vec<u32> = (1..=fd.segments)
        .filter(|i| !seen.contains_key(i))
        .collect();
    if !missing.is_empty() && !allow_missing {
        return Err(MergeError::Missing {
            run: fd.run_id,
            count: fd.segments,
            missing,
        });
    }
    segs.sort_by_key(|(_, r)| r.distributed.as_ref().and_then(|d| d.segment));
    Ok(segs)
}

fn missing_of(segs: &[Input]) -> Vec<u32> {
    let d = segs[0].1.distributed.as_ref().expect("validated");
    (1..=d.segments)
        .filter(|i| {
            !segs
                .iter()
                .any(|(_, r)| r.distributed.as_ref().and_then(|d| d.segment) == Some(*i))
        })
        .collect()
}

/// What must agree between segments: the plan as the result keeps it (load per group, auth,
/// thresholds; not the scenario file's path, which may differ from host to host), the labels,
/// the target, and the fingerprint of the whole plan.
fn comparable(r: &RunResult) -> serde_json::Value {
    let plan = serde_json::to_value(&r.plan).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "plan": plan,
        "labels": r.labels,
        "target": { "base_url": r.target.base_url, "kind": r.target.kind },
        // The whole plan (requests, methods, paths, bodies, steps), as a digest; segments
        // written before it was kept have none, and merge only with each other.
        "plan_fingerprint (the requests, methods, paths, bodies or steps)": r
            .distributed
            .as_ref()
            .and_then(|d| d.plan_fingerprint.as_deref()),
    })
}

/// The first place two JSON values differ: (path, value here, value there).
fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    fn walk(a: &Value, b: &Value, path: &mut String) -> Option<(String, String, String)> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let (va, vb) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    if let Some(d) = walk(va, vb, path) {
                        return Some(d);
                    }
                    path.truncate(len);
                }
                None
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if let Some(d) = walk(va, vb, path) {
                        return Some(d);
                    }
                    path.truncate(len);
                }
                None
            }
            _ if a == b => None,
            _ => Some((path.clone(), short(a), short(b))),
        }
    }
    fn short(v: &Value) -> String {
        let s = v.to_string();
        if s.chars().count() > 60 {
            format!("{}…", s.chars().take(60).collect::<String>())
        } else {
            s
        }
    }
    walk(a, b, &mut String::new())
}

fn add_cell(cells: &mut BTreeMap<(usize, StatusKey), Cell>, labels: &[String], c: &Cell) {
    let at = labels
        .iter()
        .position(|l| *l == c.label)
        .unwrap_or(usize::MAX);
    let m = cells.entry((at, c.status)).or_insert_with(|| Cell {
        count: 0,
        retries: 0,
        bytes_in: 0,
        bytes_out: 0,
        service_hist: Hist::new(),
        response_hist: Hist::new(),
        ..c.clone()
    });
    m.count += c.count;
    m.retries += c.retries;
    m.bytes_in += c.bytes_in;
    m.bytes_out += c.bytes_out;
    m.service_hist.add(&c.service_hist);
    m.response_hist.add(&c.response_hist);
}

/// Per second: transaction name → outcome → time histogram.
type TxnHists = BTreeMap<u32, BTreeMap<String, BTreeMap<Outcome, Hist>>>;

/// Adds one segment's transactions: counts add, histograms merge, summaries recomputed.
fn add_transactions(into: &mut Vec<Transaction>, from: &[Transaction]) {
    for t in from {
        let at = match into.iter().position(|x| x.name == t.name) {
            Some(i) => &mut into[i],
            None => {
                into.push(Transaction {
                    name: t.name.clone(),
                    started: 0,
                    unfinished: 0,
                    cells: Vec::new(),
                });
                into.last_mut().expect("just pushed")
            }
        };
        at.started += t.started;
        at.unfinished += t.unfinished;
        for c in &t.cells {
            match at.cells.iter_mut().find(|x| x.outcome == c.outcome) {
                Some(x) => {
                    x.count += c.count;
                    x.duration_hist.add(&c.duration_hist);
                    x.duration = Summary::of(&x.duration_hist);
                }
                None => at.cells.push(c.clone()),
            }
        }
        at.cells.sort_by_key(|c: &TxnCell| c.outcome);
    }
}

fn add_map<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// Adds every count of `t`; the times (first 429, completion) are placed by the caller.
fn add_totals(into: &mut Totals, t: &Totals) {
    into.requests += t.requests;
    add_map(&mut into.by_outcome, &t.by_outcome);
    add_map(&mut into.by_status, &t.by_status);
    into.retries += t.retries;
    add_map(
        &mut into.first_attempt_by_outcome,
        &t.first_attempt_by_outcome,
    );
    add_map(&mut into.final_by_outcome, &t.final_by_outcome);
    into.retry_wait_s += t.retry_wait_s;
    into.pace_wait_s += t.pace_wait_s;
    into.iterations += t.iterations;
    into.dropped_iterations += t.dropped_iterations;
    into.bytes_in += t.bytes_in;
    into.bytes_out += t.bytes_out;
    add_map(&mut into.retry_after, &t.retry_after);
    into.throttled_without_retry_after += t.throttled_without_retry_after;
    add_map(&mut into.throttled_by_limit, &t.throttled_by_limit);
    add_map(&mut into.failed_checks, &t.failed_checks);
}

/// Adds one segment's row; `active_users` adds each segment's peak (an upper bound of the
/// whole's peak, exact while users only start within the second).
fn add_second(into: &mut Second, s: &Second) {
    into.active_users += s.active_users;
    into.started += s.started;
    into.completed += s.completed;
    add_map(&mut into.by_status, &s.by_status);
    add_map(&mut into.by_outcome, &s.by_outcome);
    into.retries += s.retries;
    add_map(&mut into.retry_after, &s.retry_after);
    add_map(&mut into.throttled_by_limit, &s.throttled_by_limit);
    for (name, x) in &s.transactions {
        let at = into.transactions.entry(name.clone()).or_default();
        at.started += x.started;
        add_map(&mut at.ended, &x.ended);
    }
    match (&mut into.rate_limit, &s.rate_limit) {
        (Some(a), Some(b)) => a.merge(b),
        (a @ None, Some(b)) => *a = Some(*b),
        _ => {}
    }
}

/// A row for every second from 0 to the last, each with its quantiles recomputed from the
/// merged histograms.
fn dense_timeline(
    mut rows: BTreeMap<u32, Second>,
    hists: &BTreeMap<u32, BTreeMap<Outcome, HistPair>>,
) -> Vec<Second> {
    let last = rows.keys().next_back().copied().into_iter();
    let last = last.chain(hists.keys().next_back().copied()).max();
    let Some(last) = last else {
        return Vec::new();
    };
    (0..=last)
        .map(|t| {
            let mut row = rows.remove(&t).unwrap_or_default();
            row.t = t;
            row.latency.clear();
            row.response_latency.clear();
            for (o, p) in hists.get(&t).into_iter().flatten() {
                row.latency.insert(*o, Quantiles::of(&p.service));
                row.response_latency.insert(*o, Quantiles::of(&p.response));
            }
            row
        })
        .collect()
}

/// The merged result's `distributed` section: every segment as it ran, clock offsets where
/// they can be known (segments on segment 1's host share its clock).
fn merged_record(segs: &[Input], missing: Vec<u32>) -> Distributed {
    let d0 = segs[0].1.distributed.as_ref().expect("validated");
    let mut members: Vec<Member> = segs
        .iter()
        .filter_map(|(_, r)| r.distributed.as_ref())
        .flat_map(|d| d.members.iter().cloned())
        .collect();
    let reference = members
        .iter()
        .find(|m| m.segment == 1)
        .map(|m| m.host.clone());
    for m in &mut members {
        if reference.as_deref() == Some(m.host.as_str()) {
            m.clock_offset_ms = Some(0.0);
        }
    }
    Distributed {
        run_id: d0.run_id.clone(),
        segments: d0.segments,
        segment: None,
        start_at: d0.start_at.clone(),
        members,
        missing,
        plan_fingerprint: d0.plan_fingerprint.clone(),
        second_hists: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
