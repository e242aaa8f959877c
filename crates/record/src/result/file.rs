//! Reading and writing `result.json`: a file checked on the way in (its schema and version,
//! what it is when it is not a result), every error naming the file.

use std::path::Path;

use serde::Deserialize;

use super::{RunResult, SCHEMA, SCHEMA_VERSION};
use crate::meta::summary_from_v1_plan;

/// Errors reading a result file.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON of the expected shape.
    #[error("{path}:{line}:{column}: not a surge result: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message.
        message: String,
    },
    /// A value no run can produce (a negative duration, …).
    #[error("{path}: {field} {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field, as a dotted path.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Another kind of file (a JTL, a limit file, a scenario, a folder without a result).
    #[error("{path}: not a surge result: it is {is}")]
    NotAResult {
        /// The file.
        path: String,
        /// What it is, and what reads it.
        is: String,
    },
    /// A result of another schema version.
    #[error("{path}: schema_version {found} {}", version_hint(*found))]
    Version {
        /// The file.
        path: String,
        /// What it says.
        found: u32,
    },
}

/// Why a schema version cannot be read, and what to do.
fn version_hint(found: u32) -> String {
    if found > SCHEMA_VERSION {
        format!(
            "is newer than this surge reads (1 to {SCHEMA_VERSION}): it was written by a later \
             surge; read it with that version, or upgrade"
        )
    } else {
        format!("is not one surge writes (this surge reads 1 to {SCHEMA_VERSION})")
    }
}

/// A file that is not a result, named for what it is, when its first bytes tell.
fn not_a_result(path: &Path) -> Option<ResultError> {
    use crate::filekind::FileKind;
    match FileKind::of_file(path)? {
        FileKind::Result | FileKind::Json => None,
        kind => Some(ResultError::NotAResult {
            path: path.display().to_string(),
            is: kind.what().to_string(),
        }),
    }
}

impl RunResult {
    /// Reads and checks a result file.
    ///
    /// # Errors
    /// [`ResultError`] naming the file (and line for malformed JSON).
    pub fn read(path: &Path) -> Result<RunResult, ResultError> {
        if path.is_dir() {
            // A run's folder stands for its result.
            let inner = path.join("result.json");
            if inner.is_file() {
                return RunResult::read(&inner);
            }
        }
        if let Some(e) = not_a_result(path) {
            return Err(e);
        }
        let p = path.display().to_string();
        let parse_err = |e: serde_json::Error| ResultError::Parse {
            path: p.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        // Streamed twice (the schema and version first, then the whole), never held as text:
        // memory follows the result, and a file larger than the limit stops at it.
        let open = || -> Result<_, ResultError> {
            let f = std::fs::File::open(path).map_err(|source| ResultError::Io {
                path: p.clone(),
                source,
            })?;
            let max = crate::limits::RESULT_BYTES;
            if f.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
                return Err(ResultError::Io {
                    path: p.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        crate::limits::LimitError::TooLarge(max),
                    ),
                });
            }
            Ok(std::io::BufReader::new(crate::limits::Bounded::new(
                f,
                max,
                u64::MAX,
            )))
        };
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<serde_json::Value>,
            schema_version: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_reader(open()?).map_err(parse_err)?;
        if probe.schema.as_ref().and_then(|s| s.as_str()) != Some(SCHEMA) {
            return Err(ResultError::Parse {
                path: p,
                line: 1,
                column: 1,
                message: format!("field \"schema\" is not {SCHEMA:?}"),
            });
        }
        let version = probe
            .schema_version
            .as_ref()
            .and_then(|v| v.as_u64())
            .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX));
        let r: RunResult = match version {
            SCHEMA_VERSION => serde_json::from_reader(open()?).map_err(parse_err)?,
            1 => {
                let mut probe: serde_json::Value =
                    serde_json::from_reader(open()?).map_err(parse_err)?;
                // Positions refer to the file as written; after the upgrade only messages remain.
                let plan = probe
                    .get("plan")
                    .map(summary_from_v1_plan)
                    .unwrap_or_default();
                probe["plan"] = serde_json::to_value(plan).unwrap_or_default();
                probe["schema_version"] = SCHEMA_VERSION.into();
                serde_json::from_value(probe).map_err(|e| ResultError::Parse {
                    path: p.clone(),
                    line: 1,
                    column: 1,
                    message: format!("(schema_version 1) {e}"),
                })?
            }
            found => return Err(ResultError::Version { path: p, found }),
        };
        r.check().map_err(|(field, message)| ResultError::Invalid {
            path: p,
            field,
            message,
        })?;
        Ok(r)
    }

    /// The figures no run can produce: a negative or non-finite time, more seconds in the
    /// timeline than the duration allows. Such a file was edited or written by something else;
    /// every report would divide by it.
    fn check(&self) -> Result<(), (String, String)> {
        let times = [
            ("duration_s", Some(self.duration_s)),
            ("totals.retry_wait_s", Some(self.totals.retry_wait_s)),
            ("totals.pace_wait_s", Some(self.totals.pace_wait_s)),
            ("totals.completion_s", Some(self.totals.completion_s)),
            ("totals.first_429_s", self.totals.first_429_s),
        ];
        for (field, v) in times {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err((
                    field.to_string(),
                    format!("is {v}: a time in seconds is never negative"),
                ));
            }
        }
        if self.duration_s > crate::duration::MAX.as_secs_f64() * 2.0 {
            return Err((
                "duration_s".into(),
                format!("is {} s: longer than any run surge makes", self.duration_s),
            ));
        }
        self.check_counts()
    }

    /// The counts a run writes agree with each other: `totals.requests` = Σ `totals.by_status`
    /// = Σ `totals.by_outcome` = Σ `cells[].count`, each status's cells add up to its count,
    /// and each cell's histograms hold its count. A file that disagrees was edited or
    /// damaged; every figure read from it would be wrong somewhere.
    fn check_counts(&self) -> Result<(), (String, String)> {
        let t = &self.totals;
        fn sum<K>(m: &std::collections::BTreeMap<K, u64>) -> u64 {
            m.values().fold(0u64, |a, b| a.saturating_add(*b))
        }
        let in_cells = self
            .cells
            .iter()
            .fold(0u64, |a, c| a.saturating_add(c.count));
        for (field, n) in [
            ("totals.by_status", sum(&t.by_status)),
            ("totals.by_outcome", sum(&t.by_outcome)),
            ("cells", in_cells),
        ] {
            if n != t.requests {
                return Err((
                    field.into(),
                    format!(
                        "add up to {n} requests, but totals.requests is {}: the file was edited or damaged",
                        t.requests
                    ),
                ));
            }
        }
        let mut per_status: std::collections::BTreeMap<_, u64> = std::collections::BTreeMap::new();
        for (i, c) in self.cells.iter().enumerate() {
            if c.count > 0 {
                *per_status.entry(c.status).or_default() += c.count;
            }
            for (h, hist) in [
                ("service_hist", &c.service_hist),
                ("response_hist", &c.response_hist),
            ] {
                if hist.len() != c.count {
                    return Err((
                        format!("cells[{i}].{h}"),
                        format!(
                            "holds {} values, but the cell's count is {}: the file was edited or damaged",
                            hist.len(),
                            c.count
                        ),
                    ));
                }
            }
        }
        if per_status
            != t.by_status
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (*k, *n))
                .collect()
        {
            let show = |m: &std::collections::BTreeMap<crate::StatusKey, u64>| {
                m.iter()
                    .map(|(k, n)| format!("{}={n}", k.label()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err((
                "totals.by_status".into(),
                format!(
                    "is {}, but the cells hold {}: the file was edited or damaged",
                    show(&t.by_status),
                    show(&per_status)
                ),
            ));
        }
        Ok(())
    }

    /// Writes pretty JSON.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::atomic::write_with(path, |w| {
            serde_json::to_writer_pretty(w, self).map_err(std::io::Error::other)
        })
    }
}
