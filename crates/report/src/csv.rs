//! `summary.csv`, `timeline.csv` and `status_codes.csv`. Column names are stable (tested) and
//! documented in `docs/reports.md`; latencies are milliseconds with microsecond precision.

use std::io::Write;
use std::path::Path;

use super::format;
use surge_analysis::figures::Figures;
use surge_record::result::{Quantiles, RunResult};
use surge_record::Outcome;

/// Columns of `summary.csv`.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "label",
    "status",
    "outcome",
    "count",
    "share",
    "rate_per_s",
    "retries",
    "min_ms",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
];

/// Columns of `timeline.csv`.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "second",
    "active_users",
    "started",
    "completed",
    "ok_2xx",
    "throttled_429",
    "client_4xx",
    "server_5xx",
    "other_status",
    "transport_errors",
    "retries",
    "ok_p50_ms",
    "ok_p95_ms",
    "ok_p99_ms",
    "throttled_p50_ms",
    "throttled_p95_ms",
    "throttled_p99_ms",
    "retry_after_count",
    "retry_after_min_s",
    "retry_after_max_s",
    "ratelimit_allowed",
    "ratelimit_count_max",
    "ratelimit_reset_min",
    "assertion_failed",
    "extract_failed",
    "poll_timeout",
];

/// Columns of `status_codes.csv` (long format: one row per second × status that occurred).
pub const STATUS_CODES_COLUMNS: &[&str] = &["second", "status", "count"];

/// Writes `summary.csv`: one row per label × status (service time), then, when there is more
/// than one label, one `ALL` row per status; rows as [`Figures::status_rows`] holds them.
///
/// # Errors
/// I/O errors.
pub fn write_summary(f: &Figures, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SUMMARY_COLUMNS)?;
    for row in &f.status_rows {
        let l = &row.service;
        w.write_record([
            row.label.clone().unwrap_or_else(|| "ALL".into()),
            row.status.label(),
            row.outcome.name().to_string(),
            row.count().to_string(),
            format::share_exact(row.share),
            format::rate_exact(row.rate_per_s),
            row.retries.to_string(),
            format::ms_exact(l.min_us),
            format::ms_exact_f(l.mean_us),
            format::ms_exact(l.p50_us),
            format::ms_exact(l.p90_us),
            format::ms_exact(l.p95_us),
            format::ms_exact(l.p99_us),
            format::ms_exact(l.p999_us),
            format::ms_exact(l.max_us),
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
    let blank = |q: Option<&Quantiles>, f: fn(&Quantiles) -> u64| {
        q.map_or(String::new(), |q| format::ms_exact(f(q)))
    };
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
            s.retry_after
                .keys()
                .next()
                .map_or(String::new(), |v| v.to_string()),
            s.retry_after
                .keys()
                .next_back()
                .map_or(String::new(), |v| v.to_string()),
            rl.map_or(String::new(), |r| r.allowed.to_string()),
            rl.map_or(String::new(), |r| r.count_max.to_string()),
            rl.map_or(String::new(), |r| r.reset_min.to_string()),
            o(Outcome::Assertion),
            o(Outcome::Extract),
            o(Outcome::Timeout),
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

/// Writes every CSV file into `dir`; `f` are the figures of `r`.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_all(r: &RunResult, f: &Figures, dir: &Path) -> std::io::Result<()> {
    let summary = |_: &RunResult, out: std::fs::File| write_summary(f, out);
    for (name, f) in [
        (
            "summary.csv",
            &summary as &dyn Fn(&RunResult, std::fs::File) -> csv::Result<()>,
        ),
        ("timeline.csv", &write_timeline),
        ("status_codes.csv", &write_status_codes),
    ] {
        let path = dir.join(name);
        let a = surge_record::atomic::AtomicFile::create(&path)?;
        let file = a
            .file()
            .try_clone()
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        f(r, file).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        a.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use surge_record::result::{Cell, RateLimitSecond, Second, Summary};
    use surge_record::{ErrorClass, Hist, StatusKey};

    fn hist(values: &[u64]) -> Hist {
        let mut h = Hist::new();
        for v in values {
            h.record(*v);
        }
        h
    }

    fn cell(label: &str, status: StatusKey, values: &[u64], retries: u64) -> Cell {
        let h = hist(values);
        Cell {
            label: label.into(),
            status,
            outcome: status.outcome(),
            count: values.len() as u64,
            retries,
            bytes_in: 0,
            bytes_out: 0,
            service: Summary::of(&h),
            response: Summary::of(&h),
            service_hist: h.clone(),
            response_hist: h,
        }
    }

    /// Two labels over two seconds: 3 × 200 and 1 × 429 for `get`, 1 × 200 and 1 timeout for `put`.
    fn known() -> RunResult {
        let mut r = surge_record::synthetic::result(0, &["get", "put"]);
        r.duration_s = 2.0;
        r.cells = vec![
            cell("get", StatusKey::Http(200), &[1000, 2000, 3000], 0),
            cell("get", StatusKey::Http(429), &[500], 0),
            cell("put", StatusKey::Http(200), &[4000], 1),
            cell(
                "put",
                StatusKey::Error(ErrorClass::Timeout),
                &[10_000_000],
                0,
            ),
        ];
        r.totals.requests = 6;
        let q = |v: &[u64]| Quantiles::of(&hist(v));
        let s0 = Second {
            t: 0,
            active_users: 2,
            started: 4,
            completed: 3,
            by_status: BTreeMap::from([(StatusKey::Http(200), 2), (StatusKey::Http(429), 1)]),
            by_outcome: BTreeMap::from([(Outcome::Success, 2), (Outcome::Throttled, 1)]),
            latency: BTreeMap::from([
                (Outcome::Success, q(&[1000, 2000])),
                (Outcome::Throttled, q(&[500])),
            ]),
            retries: 0,
            retry_after: BTreeMap::from([(2, 1)]),
            rate_limit: Some(RateLimitSecond {
                responses: 3,
                allowed: 300,
                count_max: 300,
                reset_min: 17,
            }),
            ..Second::default()
        };
        let s1 = Second {
            t: 1,
            active_users: 2,
            started: 2,
            completed: 3,
            by_status: BTreeMap::from([
                (StatusKey::Http(200), 2),
                (StatusKey::Error(ErrorClass::Timeout), 1),
            ]),
            by_outcome: BTreeMap::from([(Outcome::Success, 2), (Outcome::TransportError, 1)]),
            latency: BTreeMap::from([(Outcome::Success, q(&[3000, 4000]))]),
            retries: 1,
            ..Second::default()
        };
        r.timeline = vec![s0, s1];
        r
    }

    fn render(f: impl Fn(&RunResult, &mut Vec<u8>) -> csv::Result<()>, r: &RunResult) -> String {
        let mut buf = Vec::new();
        f(r, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn headers_are_stable() {
        let r = known();
        let first = |s: String| s.lines().next().unwrap().to_string();
        assert_eq!(
            first(render(|r, w| write_summary(&Figures::of(r), w), &r)),
            "label,status,outcome,count,share,rate_per_s,retries,min_ms,mean_ms,p50_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms"
        );
        assert_eq!(
            first(render(|r, w| write_timeline(r, w), &r)),
            "second,active_users,started,completed,ok_2xx,throttled_429,client_4xx,server_5xx,other_status,\
             transport_errors,retries,ok_p50_ms,ok_p95_ms,ok_p99_ms,throttled_p50_ms,throttled_p95_ms,throttled_p99_ms,\
             retry_after_count,retry_after_min_s,retry_after_max_s,ratelimit_allowed,ratelimit_count_max,ratelimit_reset_min,\
             assertion_failed,extract_failed,poll_timeout"
        );
        assert_eq!(
            first(render(|r, w| write_status_codes(r, w), &r)),
            "second,status,count"
        );
        assert_eq!(SUMMARY_COLUMNS.len(), 15);
        assert_eq!(TIMELINE_COLUMNS.len(), 26);
    }

    // Quantiles are HDR "highest equivalent" values (3 significant digits): 3000 µs reads 3.001 ms.
    #[test]
    fn summary_rows_per_label_and_status_then_all() {
        let s = render(|r, w| write_summary(&Figures::of(r), w), &known());
        let rows: Vec<&str> = s.lines().skip(1).collect();
        assert_eq!(rows.len(), 4 + 3, "{s}");
        assert_eq!(
            rows[0],
            "get,200,success,3,0.7500,1.500,0,1.000,2.000,2.000,3.001,3.001,3.001,3.001,3.001"
        );
        assert_eq!(
            rows[1],
            "get,429,throttled,1,0.2500,0.500,0,0.500,0.500,0.500,0.500,0.500,0.500,0.500,0.500"
        );
        assert_eq!(
            rows[2],
            "put,200,success,1,0.5000,0.500,1,4.000,4.001,4.001,4.001,4.001,4.001,4.001,4.001"
        );
        assert!(
            rows[3].starts_with("put,error:timeout,transport_error,1,0.5000,0.500,0,"),
            "{}",
            rows[3]
        );
        assert!(
            rows[4].starts_with("ALL,200,success,4,0.6667,2.000,1,1.000,2.501,"),
            "{}",
            rows[4]
        );
        assert!(
            rows[5].starts_with("ALL,429,throttled,1,0.1667,"),
            "{}",
            rows[5]
        );
        assert!(
            rows[6].starts_with("ALL,error:timeout,transport_error,1,"),
            "{}",
            rows[6]
        );
    }

    #[test]
    fn timeline_rows_keep_outcomes_apart_and_leave_blanks_for_absent_values() {
        let s = render(|r, w| write_timeline(r, w), &known());
        let rows: Vec<&str> = s.lines().skip(1).collect();
        assert_eq!(
            rows,
            [
                "0,2,4,3,2,1,0,0,0,0,0,1.000,2.000,2.000,0.500,0.500,0.500,1,2,2,300,300,17,0,0,0",
                "1,2,2,3,2,0,0,0,0,1,1,3.001,4.001,4.001,,,,0,,,,,,0,0,0",
            ]
        );
    }

    #[test]
    fn status_codes_are_long_format_per_second_and_code() {
        let s = render(|r, w| write_status_codes(r, w), &known());
        assert_eq!(
            s,
            "second,status,count\n0,200,2\n0,429,1\n1,200,2\n1,error:timeout,1\n"
        );
    }
}
