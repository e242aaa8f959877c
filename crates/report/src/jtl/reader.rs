//! Reads a JTL CSV file (JMeter's, or surge's `--jtl`) into a [`RunResult`], in two streaming
//! passes (constant memory but for one entry per thread and label): the first finds the
//! earliest timestamp and each thread's first start and last end; the second feeds every row
//! as a [`Sample`] into the recorder, with times relative to the earliest start.
//!
//! Columns are found by name when the file has a header row, else by JMeter 5.x's default
//! order. Mapping: `responseCode` → status (JMeter's `Non HTTP response code: <exception>` →
//! the matching transport error class; a non-numeric code counts as 200 when `success` is true,
//! else as `error:other`); `elapsed` → service time; `Latency` → time to first byte; `bytes`,
//! `sentBytes` → bytes in/out; `allThreads` → active users of the sample; each `threadName` is
//! one user, active from its first start to its last end. JTL times are whole milliseconds, so
//! latencies read back are exact to 1 ms. Not in a JTL, so not in the result: intended start
//! times (no coordinated-omission correction), retries, Retry-After and rate-limit headers,
//! iteration counts (0), and assertion failures on a 2xx (counted by status). A Transaction
//! Controller's row (message `Number of samples in transaction : …`) is read as a transaction,
//! not a request: its time is its `elapsed`; a failed one counts as `other`.

use std::collections::HashMap;
use std::path::Path;

use super::{error_class_of, JTL_COLUMNS};
use surge_record::result::{RunResult, ScenarioInfo, TargetInfo, Tool, SCHEMA, SCHEMA_VERSION};
use surge_record::{Aggregate, Recorder, Sample, StatusKey};
use surge_record::{PlanSummary, StopReason};

/// Errors reading a JTL file.
#[derive(Debug, thiserror::Error)]
pub enum JtlError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A row or the header is not what a JTL holds.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// Where each known column is.
#[derive(Debug, Clone, Copy)]
struct Cols {
    ts: usize,
    elapsed: usize,
    label: usize,
    code: Option<usize>,
    success: Option<usize>,
    thread: Option<usize>,
    bytes: Option<usize>,
    sent: Option<usize>,
    all_threads: Option<usize>,
    url: Option<usize>,
    latency: Option<usize>,
    message: Option<usize>,
}

impl Cols {
    fn from_names(names: &[&str]) -> Result<Cols, String> {
        let find = |n: &str| names.iter().position(|h| h.trim() == n);
        let need = |n: &str| {
            find(n).ok_or_else(|| {
                format!(
                    "the header has no {n:?} column (columns: {})",
                    names.join(",")
                )
            })
        };
        Ok(Cols {
            ts: need("timeStamp")?,
            elapsed: need("elapsed")?,
            label: need("label")?,
            code: find("responseCode"),
            success: find("success"),
            thread: find("threadName"),
            bytes: find("bytes"),
            sent: find("sentBytes"),
            all_threads: find("allThreads"),
            url: find("URL"),
            latency: find("Latency"),
            message: find("responseMessage"),
        })
    }
}

type Rows = csv::Reader<surge_record::limits::Bounded<std::fs::File>>;

/// Opens the file for one pass: streamed, lines at most [`surge_record::limits::LINE_BYTES`].
fn open(path: &Path) -> Result<Rows, JtlError> {
    let f = std::fs::File::open(path).map_err(|source| JtlError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(surge_record::limits::Bounded::new(
            f,
            u64::MAX,
            surge_record::limits::LINE_BYTES,
        )))
}

/// The most seconds a sample may start before the latest end already read and still count in
/// its second's quantiles; a later one counts in every total, and its second keeps the
/// quantiles it had. Bounds the seconds held in memory whatever the file's order.
const MAX_LATENESS_S: u64 = 600;

/// One row, read.
struct Row {
    ts: u64,
    elapsed: u64,
    latency: u64,
    thread: String,
    label: String,
    status: StatusKey,
    bytes: u32,
    sent: u32,
    all_threads: u32,
    /// A Transaction Controller's row (its message counts the samples in it).
    txn: bool,
    success: bool,
}

/// How JMeter's Transaction Controller begins its row's message.
const TXN_MESSAGE: &str = "Number of samples in transaction";

fn parse_row(rec: &csv::StringRecord, c: &Cols) -> Result<Row, String> {
    let get = |i: usize| rec.get(i).unwrap_or("").trim();
    let opt = |i: Option<usize>| i.map_or("", get);
    let num = |i: usize, what: &str| -> Result<u64, String> {
        let s = get(i);
        s.parse::<u64>().map_err(|_| {
            if what == "timeStamp" {
                format!("timeStamp {s:?} is not epoch milliseconds (JMeter's default; set jmeter.save.saveservice.timestamp_format=ms)")
            } else {
                format!("{what} {s:?} is not a whole number")
            }
        })
    };
    let small = |i: Option<usize>| -> u32 {
        opt(i)
            .parse::<u64>()
            .map_or(0, |v| v.min(u64::from(u32::MAX)) as u32)
    };
    if rec.len() <= c.ts.max(c.elapsed).max(c.label) {
        return Err(format!("has {} fields; the header names more", rec.len()));
    }
    let success = opt(c.success).eq_ignore_ascii_case("true");
    let code = opt(c.code);
    let status = match code.parse::<u16>() {
        Ok(n) if (100..=999).contains(&n) => StatusKey::Http(n),
        _ if code.starts_with("Non HTTP response code") => StatusKey::Error(error_class_of(code)),
        _ if success || (c.code.is_none() && c.success.is_none()) => StatusKey::Http(200),
        _ => StatusKey::Error(surge_record::ErrorClass::Other),
    };
    let elapsed = num(c.elapsed, "elapsed")?;
    Ok(Row {
        ts: num(c.ts, "timeStamp")?,
        elapsed,
        latency: opt(c.latency)
            .parse::<u64>()
            .map_or(elapsed, |l| l.min(elapsed)),
        thread: opt(c.thread).to_string(),
        label: get(c.label).to_string(),
        status,
        bytes: small(c.bytes),
        sent: small(c.sent),
        all_threads: small(c.all_threads),
        txn: opt(c.message).starts_with(TXN_MESSAGE),
        success,
    })
}

/// Reads the JTL at `path` into a result: target from the first URL, scenario named after the
/// file, `stop_reason = "completed"`, timeline from the earliest timestamp.
///
/// # Errors
/// [`JtlError`]: an unreadable file, a header without `timeStamp`/`elapsed`/`label`, a file
/// without a header whose rows do not have JMeter's 17 default columns, a row that is not a
/// sample (with its line), or no rows at all.
pub fn read_jtl(path: &Path) -> Result<RunResult, JtlError> {
    let scan = Scan::of(path)?;
    let agg = scan.record(path)?;
    Ok(scan.into_result(path, agg))
}

/// What the first pass learns: the columns, the earliest start and latest end, each thread's
/// id and active span, the labels in order of appearance, the first URL.
struct Scan {
    cols: Cols,
    header_line: bool,
    min_ts: u64,
    max_end: u64,
    /// Thread name → (user id, first start, last end), ms.
    threads: HashMap<String, (u32, u64, u64)>,
    labels: Vec<String>,
    label_ix: HashMap<String, u16>,
    /// Transactions (rows of Transaction Controllers), in order of appearance.
    txns: Vec<String>,
    first_url: Option<String>,
    /// How many seconds before the latest end read so far a row may start (file order): the
    /// seconds pass 2 must keep open, so it can drain the rest as it goes.
    lateness_s: u64,
}

fn parse_error(path: &Path, line: u64, message: String) -> JtlError {
    JtlError::Parse {
        path: path.display().to_string(),
        line,
        message,
    }
}

fn csv_error(path: &Path, e: csv::Error) -> JtlError {
    let line = e.position().map_or(0, |x| x.line());
    parse_error(path, line, e.to_string())
}

impl Scan {
    /// Pass 1: columns, earliest start, threads, labels, first URL.
    fn of(path: &Path) -> Result<Scan, JtlError> {
        let mut rdr = open(path)?;
        let mut cols: Option<Cols> = None;
        let mut scan = Scan {
            cols: Cols::from_names(&JTL_COLUMNS).expect("the default columns are complete"),
            header_line: false,
            min_ts: u64::MAX,
            max_end: 0,
            threads: HashMap::new(),
            labels: Vec::new(),
            label_ix: HashMap::new(),
            txns: Vec::new(),
            first_url: None,
            lateness_s: 0,
        };
        let mut rows = 0u64;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| csv_error(path, e))?;
            let line = rec.position().map_or(0, |x| x.line());
            if cols.is_none() {
                let first = rec
                    .get(0)
                    .unwrap_or("")
                    .trim_start_matches('\u{feff}')
                    .trim();
                if first == "timeStamp" {
                    let names: Vec<&str> = rec
                        .iter()
                        .map(|s| s.trim_start_matches('\u{feff}'))
                        .collect();
                    cols = Some(Cols::from_names(&names).map_err(|m| parse_error(path, line, m))?);
                    scan.header_line = true;
                    continue;
                }
                if rec.len() != JTL_COLUMNS.len() {
                    return Err(parse_error(path, line, format!("no header row, and {} columns instead of JMeter's 17 default ones; save the JTL with its header (jmeter.save.saveservice.print_field_names=true)", rec.len())));
                }
                cols = Some(scan.cols);
            }
            let c = cols.as_ref().expect("set above");
            let r = parse_row(&rec, c).map_err(|m| parse_error(path, line, m))?;
            rows += 1;
            scan.min_ts = scan.min_ts.min(r.ts);
            scan.max_end = scan.max_end.max(r.ts + r.elapsed);
            scan.lateness_s = scan
                .lateness_s
                .max(scan.max_end.saturating_sub(r.ts) / 1000 + 1)
                .min(MAX_LATENESS_S);
            if scan.max_end - scan.min_ts > surge_record::limits::JTL_SPAN_S * 1000 {
                return Err(parse_error(
                    path,
                    line,
                    format!(
                        "the samples span more than {} days (timeStamp {} after {}): one run's JTL spans less",
                        surge_record::limits::JTL_SPAN_S / 86_400,
                        r.ts,
                        scan.min_ts
                    ),
                ));
            }
            if !scan.threads.contains_key(&r.thread)
                && scan.threads.len() >= surge_record::limits::JTL_THREADS
            {
                return Err(parse_error(
                    path,
                    line,
                    format!(
                        "more than {} distinct threadName values",
                        surge_record::limits::JTL_THREADS
                    ),
                ));
            }
            let next_id = scan.threads.len() as u32;
            let t =
                scan.threads
                    .entry(r.thread.clone())
                    .or_insert((next_id, r.ts, r.ts + r.elapsed));
            t.1 = t.1.min(r.ts);
            t.2 = t.2.max(r.ts + r.elapsed);
            if r.txn {
                if !scan.txns.contains(&r.label) {
                    scan.txns.push(r.label.clone());
                }
                continue;
            }
            if !scan.label_ix.contains_key(&r.label) {
                if scan.labels.len() >= usize::from(u16::MAX) {
                    return Err(parse_error(
                        path,
                        line,
                        "more than 65535 distinct labels".into(),
                    ));
                }
                scan.label_ix
                    .insert(r.label.clone(), scan.labels.len() as u16);
                scan.labels.push(r.label.clone());
            }
            if scan.first_url.is_none() {
                scan.first_url = c
                    .url
                    .and_then(|i| rec.get(i))
                    .filter(|u| u.starts_with("http"))
                    .map(str::to_string);
            }
        }
        match cols.filter(|_| rows > 0) {
            Some(c) => {
                scan.cols = c;
                Ok(scan)
            }
            None => Err(parse_error(
                path,
                1,
                "no samples: the file is empty or holds only a header".into(),
            )),
        }
    }

    fn us(&self, ms: u64) -> u64 {
        ms.saturating_sub(self.min_ts) * 1000
    }

    /// Pass 2: every row as a sample into the recorder, each thread's span as user events.
    /// Seconds no later row can reach (by the lateness pass 1 measured) are drained as the
    /// rows go, so memory follows the rows in flight, not the seconds the file spans.
    fn record(&self, path: &Path) -> Result<Aggregate, JtlError> {
        let recorder = Recorder::new(self.threads.len() as u32);
        for (_, first, last) in self.threads.values() {
            recorder.user_event(self.us(*first), 1);
            recorder.user_event(self.us(*last), -1);
        }
        let mut agg = Aggregate::new(self.labels.clone());
        agg.set_names(self.txns.clone(), Vec::new());
        let (mut max_end_ms, mut drained) = (0u64, 0u32);
        let mut rdr = open(path)?;
        for (i, rec) in rdr.records().enumerate() {
            if i == 0 && self.header_line {
                continue;
            }
            let rec = rec.map_err(|e| csv_error(path, e))?;
            let line = rec.position().map_or(0, |x| x.line());
            let r = parse_row(&rec, &self.cols).map_err(|m| parse_error(path, line, m))?;
            let start = self.us(r.ts);
            let user = self.threads.get(&r.thread).map_or(0, |t| t.0);
            if r.txn {
                self.record_txn(&recorder, &r, user, start);
                continue;
            }
            recorder.record(&Sample {
                step: self.label_ix[&r.label],
                user,
                active: r.all_threads,
                status: r.status,
                intended_us: start,
                start_us: start,
                ttfb_us: start + r.latency * 1000,
                end_us: start + r.elapsed * 1000,
                bytes_in: r.bytes,
                bytes_out: r.sent,
                attempt: 1,
                last: true,
                retry_wait_ms: 0,
                pace_wait_ms: 0,
                retry_after_ms: None,
                rate_limit: None,
                limit_key: None,
                check: None,
            });
            max_end_ms = max_end_ms.max(r.ts + r.elapsed);
            let safe = (self.us(max_end_ms) / 1_000_000).saturating_sub(self.lateness_s) as u32;
            if safe > drained {
                recorder.drain_into(safe, &mut agg);
                drained = safe;
            }
        }
        recorder.drain_into(u32::MAX, &mut agg);
        Ok(agg)
    }

    /// A Transaction Controller's row as a transaction: begun at its timestamp, its `elapsed`
    /// long; success as the row says; a failed one is `other` (a JTL does not say which step
    /// failed).
    fn record_txn(&self, recorder: &Recorder, r: &Row, user: u32, start: u64) {
        let txn = self.txns.iter().position(|t| *t == r.label).unwrap_or(0) as u16;
        recorder.txn_begin(user, start, txn);
        recorder.record_txn(&surge_record::TxnSample {
            txn,
            user,
            active: r.all_threads,
            start_us: start,
            end_us: start + r.elapsed * 1000,
            paused_us: 0,
            outcome: if r.success {
                surge_record::Outcome::Success
            } else {
                surge_record::Outcome::Other
            },
            check: None,
            samples: 0,
            failing: 0,
            bytes_in: u64::from(r.bytes),
            bytes_out: u64::from(r.sent),
            latency_us: r.latency * 1000,
        });
    }

    /// The result: target from the first URL, scenario named after the file.
    fn into_result(self, path: &Path, mut agg: Aggregate) -> RunResult {
        let p = path.display().to_string();
        let transactions = agg.take_transactions();
        let (totals, cells, timeline) = agg.finish(0);
        let (base_url, host) = match self
            .first_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
        {
            Some(u) => {
                let host = u.host_str().unwrap_or("").to_string();
                let port = u.port().map_or(String::new(), |p| format!(":{p}"));
                (format!("{}://{host}{port}", u.scheme()), host)
            }
            None => (String::new(), String::new()),
        };
        let started =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.min_ts) * 1_000_000)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let name = path
            .file_stem()
            .map_or_else(|| "jtl".to_string(), |s| s.to_string_lossy().into_owned());
        RunResult {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION,
            tool: Tool::current(),
            scenario: ScenarioInfo {
                name,
                description: format!("JMeter results (JTL) read from {p}"),
                file: p,
            },
            plan: PlanSummary::default(),
            target: TargetInfo {
                base_url,
                host,
                kind: surge_record::result::TargetKind::Url,
                mock_preset: None,
                proxy: None,
                ca_cert: None,
            },
            started_at: started
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            started_unix_ms: self.min_ts,
            duration_s: self.max_end.saturating_sub(self.min_ts) as f64 / 1000.0,
            partial: false,
            stop_reason: StopReason::Completed,
            simulated: false,
            labels: self.labels,
            totals,
            cells,
            timeline,
            transactions,
            distributed: None,
        }
    }
}
