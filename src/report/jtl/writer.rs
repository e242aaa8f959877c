//! `--jtl FILE`: every attempt as a row of JMeter 5.x's default CSV result format, streamed by
//! the samples writer thread (never held in memory).
//!
//! Values: `timeStamp` is epoch ms at the sample's start; `elapsed` ms from start to the end of
//! the body; `Latency` ms to the first byte of the response; `Connect` 0 (surge does not time
//! connects apart) and `IdleTime` 0; `threadName` as JMeter's `<group> <g>-<t>`; `success` as
//! the request's `expect_status` (or 2xx/3xx) says; a request without an HTTP response gets
//! JMeter's `Non HTTP response code: <exception>` text. `grpThreads` is exact with one group or
//! serialized groups, and bounded by the group's size with parallel groups.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{non_http, JTL_HEADER};
use crate::record::samples::{SampleSink, StreamMeta, StreamedSample};
use crate::record::StatusKey;
use crate::scenario::Plan;

/// The JTL sink.
pub struct JtlWriter {
    w: BufWriter<std::fs::File>,
    path: PathBuf,
    /// Per step: the codes counted as success (None: 2xx and 3xx).
    expect: Vec<Option<Vec<u16>>>,
    /// Per group: its size.
    group_sizes: Vec<u32>,
    serialized: bool,
    line: String,
}

/// Appends `field` as a CSV field, quoted the way JMeter quotes (when it holds the delimiter,
/// a quote or a line end).
fn field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
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
        let mut w = BufWriter::with_capacity(1 << 16, file);
        w.write_all(JTL_HEADER.as_bytes())?;
        w.write_all(b"\n")?;
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
            line: String::with_capacity(256),
        })
    }
}

impl SampleSink for JtlWriter {
    fn write(&mut self, st: &StreamedSample, meta: &StreamMeta) -> std::io::Result<()> {
        use std::fmt::Write as _;
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
        let l = &mut self.line;
        l.clear();
        let _ = write!(
            l,
            "{},{},",
            meta.epoch_unix_ms + ms(s.start_us),
            ms(s.end_us).saturating_sub(ms(s.start_us))
        );
        field(l, label);
        l.push(',');
        field(l, &code);
        l.push(',');
        field(l, &message);
        l.push(',');
        field(l, &format!("{group} {}-{thread}", gi + 1));
        let _ = write!(l, ",text,{success},");
        field(l, &failure);
        let _ = write!(l, ",{},{},{grp},{},", s.bytes_in, s.bytes_out, s.active);
        field(l, &st.url);
        let _ = writeln!(l, ",{},0,0", ms(s.ttfb_us).saturating_sub(ms(s.start_us)));
        self.w.write_all(l.as_bytes())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
