//! `--jtl FILE`: every attempt as a row of JMeter 5.x's default CSV result format, streamed by
//! the samples writer thread (never held in memory).
//!
//! Values: `timeStamp` is epoch ms at the sample's start; `elapsed` ms from start to the end of
//! the body; `Latency` ms to the first byte of the response; `Connect` 0 (surge does not time
//! connects apart) and `IdleTime` 0; `threadName` as JMeter's `<group> <g>-<t>`; `success` as
//! the request's `expect_status` (or 2xx/3xx) says; a request without an HTTP response gets
//! JMeter's `Non HTTP response code: <exception>` text. `grpThreads` is exact with one group or
//! serialized groups, and bounded by the group's size with parallel groups.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::{non_http, JTL_COLUMNS};
use crate::record::samples::{SampleSink, StreamMeta, StreamedSample};
use crate::record::StatusKey;
use crate::scenario::Plan;

/// The JTL sink.
pub struct JtlWriter {
    /// Quotes a field the way JMeter does: when it holds the delimiter, a quote or a line end.
    w: csv::Writer<BufWriter<std::fs::File>>,
    path: PathBuf,
    /// Per step: the codes counted as success (None: 2xx and 3xx).
    expect: Vec<Option<Vec<u16>>>,
    /// Per group: its size.
    group_sizes: Vec<u32>,
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
            serialized: plan.serialize_groups,
        })
    }
}

impl SampleSink for JtlWriter {
    fn write(&mut self, st: &StreamedSample, meta: &StreamMeta) -> std::io::Result<()> {
        let s = &st.sample;
        let ms = |us: u64| us / 1000;
        let (group, thread) = meta.thread_of(s.user);
        let gi = meta
            .groups
            .iter()
            .position(|(n, _)| n == group)
            .unwrap_or(0);
        let label = meta
            .labels
            .get(usize::from(s.step))
            .map_or("", String::as_str);
        let expect = self
            .expect
            .get(usize::from(s.step))
            .and_then(Option::as_ref);
        let (code, message, success): (String, String, bool) = match s.status {
            StatusKey::Http(c) => {
                let ok = match expect {
                    Some(list) => list.contains(&c),
                    None => (200..400).contains(&c),
                };
                let reason = http::StatusCode::from_u16(c)
                    .ok()
                    .and_then(|x| x.canonical_reason())
                    .unwrap_or("");
                (c.to_string(), reason.to_string(), ok)
            }
            StatusKey::Error(class) => {
                let (ex, msg) = non_http(class);
                (
                    format!("Non HTTP response code: {ex}"),
                    format!("Non HTTP response message: {msg}"),
                    false,
                )
            }
        };
        let failure = match (s.status, expect) {
            (StatusKey::Http(c), Some(list)) if !success => {
                let want: Vec<String> = list.iter().map(u16::to_string).collect();
                format!(
                    "Test failed: code expected to equal /{}/ but was /{c}/",
                    want.join("|")
                )
            }
            _ => String::new(),
        };
        let grp = if meta.groups.len() <= 1 || self.serialized {
            s.active
        } else {
            s.active
                .min(self.group_sizes.get(gi).copied().unwrap_or(s.active))
        };
        let start = ms(s.start_us);
        let record: [&str; 17] = [
            &(meta.epoch_unix_ms + start).to_string(),
            &ms(s.end_us).saturating_sub(start).to_string(),
            label,
            &code,
            &message,
            &format!("{group} {}-{thread}", gi + 1),
            "text",
            if success { "true" } else { "false" },
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

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
