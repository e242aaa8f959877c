//! Raw per-request samples, only when asked (`--samples FILE`, and other sinks such as a JTL
//! file): streamed from a bounded channel to one writer thread that feeds every sink, never
//! held in memory.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::sample::{Sample, TxnSample};

/// A sample on its way to the sinks, with what only streaming needs (the URL as sent).
#[derive(Debug, Clone)]
pub struct StreamedSample {
    /// The sample.
    pub sample: Sample,
    /// The URL as sent (variables substituted).
    pub url: String,
    /// Sent inside a transaction that writes only its own row (JMeter's "Generate parent
    /// sample").
    pub in_parent: bool,
}

/// What travels to the sinks: an attempt, or a transaction that ended.
#[derive(Debug, Clone)]
pub enum Streamed {
    /// A request attempt.
    Sample(StreamedSample),
    /// A transaction.
    Txn(TxnSample),
}

/// What every sink knows about the run.
#[derive(Debug, Clone)]
pub struct StreamMeta {
    /// Request labels by step.
    pub labels: Vec<String>,
    /// Run start, ms since the Unix epoch.
    pub epoch_unix_ms: u64,
    /// Group name and first user id of each group, for thread names.
    pub groups: Vec<(String, u32)>,
    /// Transaction names by index.
    pub transactions: Vec<String>,
}

impl StreamMeta {
    /// The group name and the 1-based user number within it, for `user`.
    pub fn thread_of(&self, user: u32) -> (&str, u32) {
        let mut found = ("main", user + 1);
        for (name, base) in &self.groups {
            if user >= *base {
                found = (name.as_str(), user - base + 1);
            }
        }
        found
    }
}

/// A consumer of streamed samples, driven by the writer thread.
pub trait SampleSink: Send {
    /// Writes one sample.
    ///
    /// # Errors
    /// I/O errors.
    fn write(&mut self, s: &StreamedSample, meta: &StreamMeta) -> std::io::Result<()>;
    /// Writes one transaction (sinks of attempts only ignore them).
    ///
    /// # Errors
    /// I/O errors.
    fn write_txn(&mut self, _t: &TxnSample, _meta: &StreamMeta) -> std::io::Result<()> {
        Ok(())
    }
    /// Flushes at the end.
    ///
    /// # Errors
    /// I/O errors.
    fn finish(&mut self) -> std::io::Result<()>;
    /// The file it writes, for error messages.
    fn path(&self) -> &Path;
}

/// Columns of a `--samples` file: one row per attempt (`kind` = `request`) and, when the plan
/// has transactions, one per transaction that ended (`kind` = `transaction`: its name as `label`,
/// its outcome, its time as `service_ms`, the bytes of its attempts; the request-only columns
/// blank). `kind` is last, so a reader of the columns before it reads them as before.
pub const SAMPLE_COLUMNS: &[&str] = &[
    "timestamp_unix_ms",
    "label",
    "user",
    "attempt",
    "status",
    "outcome",
    "intended_ms",
    "start_ms",
    "ttfb_ms",
    "end_ms",
    "service_ms",
    "response_ms",
    "bytes_in",
    "bytes_out",
    "retry_after_ms",
    "ratelimit_allowed",
    "ratelimit_count",
    "ratelimit_reset",
    "active_users",
    "url",
    "kind",
];

/// The `--samples` CSV sink.
pub struct CsvSamples {
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
}

impl CsvSamples {
    /// Creates `path` and writes the header.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path) -> std::io::Result<CsvSamples> {
        let file = std::fs::File::create(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
        w.write_record(SAMPLE_COLUMNS)?;
        Ok(CsvSamples {
            w,
            path: path.to_path_buf(),
        })
    }
}

impl SampleSink for CsvSamples {
    fn write(&mut self, st: &StreamedSample, meta: &StreamMeta) -> std::io::Result<()> {
        let s = &st.sample;
        let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
        let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
        self.w.write_record([
            (meta.epoch_unix_ms + s.start_us / 1000).to_string(),
            meta.labels
                .get(usize::from(s.step))
                .cloned()
                .unwrap_or_default(),
            (s.user + 1).to_string(),
            s.attempt.to_string(),
            s.status.label(),
            s.outcome().name().to_string(),
            ms(s.intended_us),
            ms(s.start_us),
            ms(s.ttfb_us),
            ms(s.end_us),
            ms(s.service_us()),
            ms(s.response_us()),
            s.bytes_in.to_string(),
            s.bytes_out.to_string(),
            opt(s.retry_after_ms),
            opt(s.rate_limit.map(|r| r.allowed)),
            opt(s.rate_limit.map(|r| r.count)),
            opt(s.rate_limit.map(|r| r.reset)),
            s.active.to_string(),
            st.url.clone(),
            "request".into(),
        ])?;
        Ok(())
    }

    fn write_txn(&mut self, t: &TxnSample, meta: &StreamMeta) -> std::io::Result<()> {
        let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
        let name = meta.transactions.get(usize::from(t.txn));
        self.w.write_record([
            (meta.epoch_unix_ms + t.start_us / 1000).to_string(),
            name.cloned().unwrap_or_default(),
            (t.user + 1).to_string(),
            String::new(),
            String::new(),
            t.outcome.name().to_string(),
            String::new(),
            ms(t.start_us),
            String::new(),
            ms(t.end_us),
            ms(t.duration_us()),
            String::new(),
            t.bytes_in.to_string(),
            t.bytes_out.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            t.active.to_string(),
            String::new(),
            "transaction".into(),
        ])?;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// A sink that stopped: its file holds the samples before the failure only.
#[derive(Debug)]
pub struct SinkFailure {
    /// The sink's file.
    pub path: std::path::PathBuf,
    /// Why it stopped.
    pub error: std::io::Error,
    /// Samples handed to it before (its last buffer may not have reached the file).
    pub samples_before: u64,
}

/// What the writer thread wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Samples received (each written to every sink that had not failed).
    pub samples: u64,
    /// The sinks that failed (a full disk, a removed folder), and stopped being written; the run
    /// and its other outputs go on.
    pub failed: Vec<SinkFailure>,
}

/// A running writer thread feeding every sink.
pub struct SampleWriter {
    /// Where the executor sends samples.
    pub tx: mpsc::Sender<Streamed>,
    handle: std::thread::JoinHandle<Written>,
}

impl SampleWriter {
    /// Starts the writer thread over `sinks`. A sink whose write fails is dropped (said in
    /// [`Written::failed`]); the thread keeps receiving, so the run never waits on a full disk.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn start(
        sinks: Vec<Box<dyn SampleSink>>,
        meta: StreamMeta,
    ) -> std::io::Result<SampleWriter> {
        let (tx, mut rx) = mpsc::channel::<Streamed>(16_384);
        let handle = std::thread::Builder::new()
            .name("surge-samples".into())
            .spawn(move || -> Written {
                let mut w = Written::default();
                let mut live = sinks;
                let fail = |w: &mut Written, sink: Box<dyn SampleSink>, error, n| {
                    w.failed.push(SinkFailure {
                        path: sink.path().to_path_buf(),
                        error,
                        samples_before: n,
                    });
                };
                while let Some(s) = rx.blocking_recv() {
                    let mut i = 0;
                    while i < live.len() {
                        let r = match &s {
                            Streamed::Sample(s) => live[i].write(s, &meta),
                            Streamed::Txn(t) => live[i].write_txn(t, &meta),
                        };
                        match r {
                            Ok(()) => i += 1,
                            Err(e) => {
                                let sink = live.remove(i);
                                let n = w.samples;
                                fail(&mut w, sink, e, n);
                            }
                        }
                    }
                    w.samples += u64::from(matches!(s, Streamed::Sample(_)));
                }
                for mut sink in live {
                    if let Err(e) = sink.finish() {
                        let n = w.samples;
                        fail(&mut w, sink, e, n);
                    }
                }
                w
            })?;
        Ok(SampleWriter { tx, handle })
    }

    /// Waits for every sample sent before to be written (the executor's senders must be gone).
    ///
    /// # Errors
    /// The writer thread panicked.
    pub fn finish(self) -> std::io::Result<Written> {
        drop(self.tx);
        self.handle
            .join()
            .map_err(|_| std::io::Error::other("the samples writer panicked"))
    }
}
