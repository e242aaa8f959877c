//! Raw per-request samples, only when asked (`--samples FILE`): streamed to disk from a
//! bounded channel by one writer thread, never held in memory.

use std::io::Write;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::sample::Sample;

/// Columns of a samples file.
pub const SAMPLE_COLUMNS: &[&str] = &[
    "timestamp_unix_ms", "label", "user", "attempt", "status", "outcome", "intended_ms", "start_ms", "ttfb_ms",
    "end_ms", "service_ms", "response_ms", "bytes_in", "bytes_out", "retry_after_ms", "ratelimit_allowed",
    "ratelimit_count", "ratelimit_reset", "active_users",
];

/// A running samples writer.
pub struct SampleWriter {
    /// Where the executor sends samples.
    pub tx: mpsc::Sender<Sample>,
    handle: std::thread::JoinHandle<std::io::Result<u64>>,
    path: PathBuf,
}

impl SampleWriter {
    /// Creates `path` and starts the writer thread.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn start(path: &Path, labels: Vec<String>, epoch_unix_ms: u64) -> std::io::Result<SampleWriter> {
        let file = std::fs::File::create(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let (tx, mut rx) = mpsc::channel::<Sample>(16_384);
        let handle = std::thread::Builder::new().name("surge-samples".into()).spawn(move || -> std::io::Result<u64> {
            let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 16, file));
            w.write_record(SAMPLE_COLUMNS)?;
            let mut n = 0u64;
            let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
            while let Some(s) = rx.blocking_recv() {
                let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
                w.write_record([
                    (epoch_unix_ms + s.start_us / 1000).to_string(),
                    labels.get(usize::from(s.step)).cloned().unwrap_or_default(),
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
                ])?;
                n += 1;
            }
            w.flush()?;
            w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?.flush()?;
            Ok(n)
        })?;
        Ok(SampleWriter { tx, handle, path: path.to_path_buf() })
    }

    /// Waits for every sample sent before to be written (drop all senders first).
    ///
    /// # Errors
    /// Any write error, naming the file.
    pub fn finish(self) -> std::io::Result<u64> {
        drop(self.tx);
        self.handle
            .join()
            .map_err(|_| std::io::Error::other("the samples writer panicked"))?
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}
