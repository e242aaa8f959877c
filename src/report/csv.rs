//! `summary.csv`, `timeline.csv` and `status_codes.csv`. Column names are stable (tested) and
//! documented in `docs/reports.md`; latencies are milliseconds with microsecond precision.

use std::io::Write;
use std::path::Path;

use crate::record::result::{Quantiles, RunResult};
use crate::record::{Outcome, StatusKey};

/// Columns of `summary.csv`.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "label", "status", "outcome", "count", "share", "rate_per_s", "retries", "min_ms", "mean_ms", "p50_ms", "p90_ms",
    "p95_ms", "p99_ms", "p999_ms", "max_ms",
];

/// Columns of `timeline.csv`.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "second", "active_users", "started", "completed", "ok_2xx", "throttled_429", "client_4xx", "server_5xx",
    "other_status", "transport_errors", "retries", "ok_p50_ms", "ok_p95_ms", "ok_p99_ms", "throttled_p50_ms",
    "throttled_p95_ms", "throttled_p99_ms", "retry_after_count", "retry_after_min_s", "retry_after_max_s",
    "ratelimit_allowed", "ratelimit_count_max", "ratelimit_reset_min",
];

/// Columns of `status_codes.csv` (long format: one row per second × status that occurred).
pub const STATUS_CODES_COLUMNS: &[&str] = &["second", "status", "count"];

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// Writes `summary.csv`: one row per label × status (service time), then, when there is more
/// than one label, one `ALL` row per status.
///
/// # Errors
/// I/O errors.
pub fn write_summary(r: &RunResult, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SUMMARY_COLUMNS)?;
    let dur = r.duration_s.max(1e-9);
    let mut rows: Vec<(String, StatusKey, crate::record::Hist, u64, u64)> = Vec::new();
    for c in &r.cells {
        rows.push((c.label.clone(), c.status, c.service_hist.clone(), c.count, c.retries));
    }
    if r.labels.len() > 1 {
        let mut statuses: Vec<StatusKey> = r.cells.iter().map(|c| c.status).collect();
        statuses.sort();
        statuses.dedup();
        for s in statuses {
            let mut h = crate::record::Hist::new();
            let (mut n, mut retries) = (0, 0);
            for c in r.cells.iter().filter(|c| c.status == s) {
                h.add(&c.service_hist);
                n += c.count;
                retries += c.retries;
            }
            rows.push(("ALL".into(), s, h, n, retries));
        }
    }
    for (label, status, h, count, retries) in rows {
        let label_total: u64 = if label == "ALL" {
            r.totals.requests
        } else {
            r.cells.iter().filter(|c| c.label == label).map(|c| c.count).sum()
        };
        w.write_record([
            label,
            status.label(),
            status.outcome().name().to_string(),
            count.to_string(),
            format!("{:.4}", count as f64 / label_total.max(1) as f64),
            format!("{:.3}", count as f64 / dur),
            retries.to_string(),
            ms(h.min()),
            format!("{:.3}", h.mean() / 1000.0),
            ms(h.quantile(0.5)),
            ms(h.quantile(0.9)),
            ms(h.quantile(0.95)),
            ms(h.quantile(0.99)),
            ms(h.quantile(0.999)),
            ms(h.max()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `timeline.csv`: one row per second.
///
/// # Errors
/// I/O errors.
pub fn write_timeline(r: &RunResult, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TIMELINE_COLUMNS)?;
    let blank = |q: Option<&Quantiles>, f: fn(&Quantiles) -> u64| q.map_or(String::new(), |q| ms(f(q)));
    for s in &r.timeline {
        let o = |x: Outcome| s.by_outcome.get(&x).copied().unwrap_or(0).to_string();
        let ok = s.latency.get(&Outcome::Success);
        let thr = s.latency.get(&Outcome::Throttled);
        let ra_count: u64 = s.retry_after.values().sum();
        let rl = s.rate_limit;
        w.write_record([
            s.t.to_string(),
            s.active_users.to_string(),
            s.started.to_string(),
            s.completed.to_string(),
            o(Outcome::Success),
            o(Outcome::Throttled),
            o(Outcome::ClientError),
            o(Outcome::ServerError),
            o(Outcome::Other),
            o(Outcome::TransportError),
            s.retries.to_string(),
            blank(ok, |q| q.p50),
            blank(ok, |q| q.p95),
            blank(ok, |q| q.p99),
            blank(thr, |q| q.p50),
            blank(thr, |q| q.p95),
            blank(thr, |q| q.p99),
            ra_count.to_string(),
            s.retry_after.keys().next().map_or(String::new(), |v| v.to_string()),
            s.retry_after.keys().next_back().map_or(String::new(), |v| v.to_string()),
            rl.map_or(String::new(), |r| r.allowed.to_string()),
            rl.map_or(String::new(), |r| r.count_max.to_string()),
            rl.map_or(String::new(), |r| r.reset_min.to_string()),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `status_codes.csv`: one row per second and status code (or `error:<class>`) with a
/// non-zero count, seconds ascending, codes ascending and transport errors last: the long format
/// that pivots into "codes per second".
///
/// # Errors
/// I/O errors.
pub fn write_status_codes(r: &RunResult, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(STATUS_CODES_COLUMNS)?;
    for s in &r.timeline {
        for (status, count) in s.by_status.iter().filter(|(_, c)| **c > 0) {
            w.write_record([s.t.to_string(), status.label(), count.to_string()])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Writes every CSV file into `dir`.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_all(r: &RunResult, dir: &Path) -> std::io::Result<()> {
    for (name, f) in [
        ("summary.csv", write_summary as fn(&RunResult, std::fs::File) -> csv::Result<()>),
        ("timeline.csv", write_timeline),
        ("status_codes.csv", write_status_codes),
    ] {
        let path = dir.join(name);
        let file = std::fs::File::create(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        f(r, file).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
