//! `--jtl FILE`: every attempt as a row of JMeter 5.x's default CSV result format, streamed by
//! the samples writer thread (never held in memory).
//!
//! Values: `timeStamp` is epoch ms at the sample's start; `elapsed` ms from start to the end of
//! the body; `Latency` ms to the first byte of the response; `Connect` 0 (surge does not time
//! connects apart) and `IdleTime` 0; `threadName` as JMeter's `<group> <g>-<t>`; `success` as
//! the request's `expect_status` (or 2xx/3xx) says; a request without an HTTP response gets
//! JMeter's `Non HTTP response code: <exception>` text; an answer that failed a check is
//! `success=false` with the check in `failureMessage`. `grpThreads` is exact with one group or
//! serialized groups, and bounded by the group's size with parallel groups. Transactions are
//! written as JMeter's Transaction Controller writes them ([`JtlWriter::write_txn`]).

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::{non_http, JTL_COLUMNS};
use surge_plan::Plan;
use surge_record::samples::{SampleSink, StreamMeta, StreamedSample};
use surge_record::{Failure, StatusKey, TxnSample};

/// The JTL sink.
pub struct JtlWriter {
    /// Quotes a field the way JMeter does: when it holds the delimiter, a quote or a line end.
    w: csv::Writer<BufWriter<std::fs::File>>,
    path: PathBuf,
    /// Per step: the codes counted as success (None: 2xx and 3xx).
    expect: Vec<Option<Vec<u16>>>,
    /// Per group: its size.
    group_sizes: Vec<u32>,
    /// The plan's check names, by id.
    checks: Vec<String>,
    serialized: bool,
}

fn io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

impl JtlWriter {
    /// Creates `path` and writes the header line.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path, plan: &Plan) -> std::io::Result<JtlWriter> {
        let file = std::fs::File::create(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(BufWriter::with_capacity(1 << 16, file));
        w.write_record(JTL_COLUMNS).map_err(io)?;
        Ok(JtlWriter {
            w,
            path: path.to_path_buf(),
            expect: plan
                .requests
                .iter()
                .map(|r| r.expect_status.clone())
                .collect(),
            group_sizes: plan.groups.iter().map(|g| g.max_users()).collect(),
            checks: plan.checks.clone(),
            serialized: plan.serialize_groups,
        })
    }
}

impl JtlWriter {
    /// JMeter's thread name (`<group> <g>-<t>`) and `grpThreads` for a user.
    fn thread(&self, user: u32, active: u32, meta: &StreamMeta) -> (String, u32) {
        let (group, thread) = meta.thread_of(user);
        let gi = meta
            .groups
            .iter()
            .position(|(n, _)| n == group)
            .unwrap_or(0);
        let grp = if meta.groups.len() <= 1 || self.serialized {
            active
        } else {
            active.min(self.group_sizes.get(gi).copied().unwrap_or(active))
        };
        (format!("{group} {}-{thread}", gi + 1), grp)
    }

    /// `responseCode`, `responseMessage`, `success` and `failureMessage` of an attempt.
    fn verdict(&self, s: &surge_record::Sample) -> [String; 4] {
        let expect = self
            .expect
            .get(usize::from(s.step))
            .and_then(Option::as_ref);
        let reason = |c: u16| {
            http::StatusCode::from_u16(c)
                .ok()
                .and_then(|x| x.canonical_reason())
                .unwrap_or("")
                .to_string()
        };
        match s.status {
            StatusKey::Http(c) => {
                let ok = match expect {
                    Some(list) => list.contains(&c),
                    None => (200..400).contains(&c),
                };
                let failure = match expect {
                    Some(list) if !ok => {
                        let want: Vec<String> = list.iter().map(u16::to_string).collect();
                        format!(
                            "Test failed: code expected to equal /{}/ but was /{c}/",
                            want.join("|")
                        )
                    }
                    _ => String::new(),
                };
                [c.to_string(), reason(c), ok.to_string(), failure]
            }
            StatusKey::Failed(f, c) => {
                let check = s
                    .check
                    .and_then(|i| self.checks.get(i.index()))
                    .map_or_else(|| f.name().to_string(), String::clone);
                let failure = match f {
                    Failure::Assertion => format!("Test failed: {check}"),
                    Failure::Extract => format!("No match: {check}"),
                    Failure::Timeout => "Poll gave up: out of time or polls".to_string(),
                };
                [c.to_string(), reason(c), "false".into(), failure]
            }
            StatusKey::Error(class) => {
                let (ex, msg) = non_http(class);
                [
                    format!("Non HTTP response code: {ex}"),
                    format!("Non HTTP response message: {msg}"),
                    "false".into(),
                    String::new(),
                ]
            }
        }
    }
}

impl SampleSink for JtlWriter {
    fn write(&mut self, st: &StreamedSample, meta: &StreamMeta) -> std::io::Result<()> {
        if st.in_parent {
            // JMeter's "Generate parent sample": only the transaction's row is written.
            return Ok(());
        }
        let s = &st.sample;
        let ms = |us: u64| us / 1000;
        let (thread, grp) = self.thread(s.user, s.active, meta);
        let label = meta
            .labels
            .get(usize::from(s.step))
            .map_or("", String::as_str);
        let [code, message, success, failure] = self.verdict(s);
        let start = ms(s.start_us);
        let record: [&str; 17] = [
            &(meta.epoch_unix_ms + start).to_string(),
            &ms(s.end_us).saturating_sub(start).to_string(),
            label,
            &code,
            &message,
            &thread,
            "text",
            &success,
            &failure,
            &s.bytes_in.to_string(),
            &s.bytes_out.to_string(),
            &grp.to_string(),
            &s.active.to_string(),
            &st.url,
            &ms(s.ttfb_us).saturating_sub(start).to_string(),
            "0",
            "0",
        ];
        self.w.write_record(record).map_err(io)
    }

    /// A transaction's row as JMeter's Transaction Controller writes it: its time, the sums of
    /// its samples' bytes and latencies, code 200 when every step succeeded (else empty), and
    /// the message `Number of samples in transaction : N, number of failing samples : M`.
    fn write_txn(&mut self, t: &TxnSample, meta: &StreamMeta) -> std::io::Result<()> {
        let (thread, grp) = self.thread(t.user, t.active, meta);
        let ok = t.outcome == surge_record::Outcome::Success;
        let label = meta
            .transactions
            .get(usize::from(t.txn))
            .map_or("", String::as_str);
        let start = t.start_us / 1000;
        let record: [&str; 17] = [
            &(meta.epoch_unix_ms + start).to_string(),
            &(t.duration_us() / 1000).to_string(),
            label,
            if ok { "200" } else { "" },
            &format!(
                "Number of samples in transaction : {}, number of failing samples : {}",
                t.samples, t.failing
            ),
            &thread,
            "",
            if ok { "true" } else { "false" },
            "",
            &t.bytes_in.to_string(),
            &t.bytes_out.to_string(),
            &grp.to_string(),
            &t.active.to_string(),
            "null",
            &(t.latency_us / 1000).to_string(),
            "0",
            "0",
        ];
        self.w.write_record(record).map_err(io)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
