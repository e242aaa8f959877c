//! Bounds on what surge reads, so that no input — a file that never ends (`/dev/zero`), a line
//! of a gigabyte, a result of absurd size, a test plan nested a hundred thousand deep — can
//! exhaust memory or time. Every limit is a named constant here, documented in
//! `docs/reliability.md`; [`Bounded`] enforces the byte limits on any reader, and its errors
//! say which limit was reached and where. Imports nothing of surge.

use std::io::{self, Read};

/// A scenario file (TOML).
pub const SCENARIO_BYTES: u64 = 16 << 20;
/// A JMeter test plan (`.jmx`).
pub const JMX_BYTES: u64 = 64 << 20;
/// How deep elements of a `.jmx` may nest.
pub const JMX_DEPTH: usize = 256;
/// A certificate, key or PKCS#12 file (`ca_cert`, `client_cert`, `client_key`, `client_p12`): a
/// CA bundle of the whole web is under 1 MiB.
pub const CERT_FILE_BYTES: u64 = 4 << 20;
/// A CSV data file (it is held in memory for the run).
pub const DATA_FILE_BYTES: u64 = 512 << 20;
/// One line of a CSV data file or a JTL.
pub const LINE_BYTES: u64 = 1 << 20;
/// A result file (`result.json`; a segment's keeps every second's histograms).
pub const RESULT_BYTES: u64 = 1 << 30;
/// A scenario's `description` (it is copied into every result and report).
pub const DESCRIPTION_CHARS: usize = 4096;
/// How long a JTL's samples may span (its timeline has a row per second).
pub const JTL_SPAN_S: u64 = 31 * 24 * 3600;
/// Distinct `threadName`s in a JTL (one user each).
pub const JTL_THREADS: usize = 100_000;

/// A token file (`token_file`): one token on its first line.
pub const TOKEN_BYTES: u64 = 64 << 10;
/// The mock's `--config` file (TOML, as a scenario).
pub const MOCK_CONFIG_BYTES: u64 = SCENARIO_BYTES;

/// A limit a read ran into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The whole input is larger than allowed.
    #[error("larger than {} (surge reads at most that much of this kind of file)", bytes(*.0))]
    TooLarge(u64),
    /// One line is longer than allowed.
    #[error("line {line} is longer than {} (is this a text file of rows?)", bytes(*.max))]
    LineTooLong {
        /// 1-based line.
        line: u64,
        /// The limit.
        max: u64,
    },
}

/// `1 MiB`, `512 MiB`, `1 GiB`, `100 bytes`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A reader that fails (with a [`LimitError`] inside an `io::Error` of kind `InvalidData`)
/// once more than `max_total` bytes were read, or a line runs past `max_line` bytes.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    total: u64,
    max_total: u64,
    line: u64,
    line_len: u64,
    max_line: u64,
}

impl<R: Read> Bounded<R> {
    /// Bounds `inner` to `max_total` bytes and lines of `max_line` bytes (`u64::MAX`: none).
    pub fn new(inner: R, max_total: u64, max_line: u64) -> Bounded<R> {
        Bounded {
            inner,
            total: 0,
            max_total,
            line: 1,
            line_len: 0,
            max_line,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.max_total {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                LimitError::TooLarge(self.max_total),
            ));
        }
        if self.max_line != u64::MAX {
            for &b in &buf[..n] {
                if b == b'\n' {
                    self.line += 1;
                    self.line_len = 0;
                } else {
                    self.line_len += 1;
                    if self.line_len > self.max_line {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            LimitError::LineTooLong {
                                line: self.line,
                                max: self.max_line,
                            },
                        ));
                    }
                }
            }
        }
        Ok(n)
    }
}

/// Reads a whole file as text, refusing one larger than `max` (checked before reading when the
/// file says its size, and while reading for a file that does not, such as `/dev/zero`).
///
/// # Errors
/// I/O errors, [`LimitError::TooLarge`], text that is not UTF-8.
pub fn read_to_string(path: &std::path::Path, max: u64) -> io::Result<String> {
    let f = std::fs::File::open(path)?;
    if f.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            LimitError::TooLarge(max),
        ));
    }
    let mut s = String::new();
    Bounded::new(f, max, u64::MAX).read_to_string(&mut s)?;
    Ok(s)
}

/// Reads a whole file as bytes, refusing one larger than `max`, as [`read_to_string`] does.
///
/// # Errors
/// I/O errors, [`LimitError::TooLarge`].
pub fn read(path: &std::path::Path, max: u64) -> io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    if f.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            LimitError::TooLarge(max),
        ));
    }
    let mut v = Vec::new();
    Bounded::new(f, max, u64::MAX).read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_input_stops_at_its_limit() {
        let mut s = String::new();
        let e = Bounded::new(io::repeat(b'a'), 1 << 20, 100)
            .read_to_string(&mut s)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1 is longer than 100 bytes (is this a text file of rows?)"
        );
        let e = Bounded::new(io::repeat(b'\n'), 1 << 20, 100)
            .read_to_string(&mut s)
            .unwrap_err();
        assert!(e.to_string().starts_with("larger than 1 MiB"), "{e}");
        let mut ok = String::new();
        Bounded::new("a\nbb\n".as_bytes(), 100, 2)
            .read_to_string(&mut ok)
            .unwrap();
        assert_eq!(ok, "a\nbb\n");
    }

    #[test]
    fn dev_zero_is_refused_without_growing() {
        let e = read_to_string(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().starts_with("larger than 1 MiB"), "{e}");
        let e = read(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().starts_with("larger than 1 MiB"), "{e}");
    }
}
