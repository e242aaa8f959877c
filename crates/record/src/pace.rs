//! A client-side pace shaped like the limit it keeps under, as `result.json` (its diagnosis) and
//! `limit.json` (`surge probe`) recommend it, and as `surge run --pace-from FILE` and
//! `on_429.rate = "from:FILE"` read it back: plain data, so the scenario reader need not know how
//! it was found.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A pace: a token bucket (`rate_per_s` sustained, `burst` at once), or a fixed window of `burst`
/// requests per `window_s` seconds. In a file it is part of the advice object, its rate named
/// `recommended_rate_per_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaceShape {
    /// Requests per second, sustained (for a window: `burst / window_s`).
    #[serde(rename = "recommended_rate_per_s")]
    pub rate_per_s: f64,
    /// Requests that may go at once: the bucket's size (1: evenly spaced), or the window's limit.
    pub burst: u32,
    /// A fixed window of `burst` requests per this many seconds, opening at the first request,
    /// instead of a bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// One such pace per token (users spread over the tokens), else one for all users together.
    #[serde(default)]
    pub per_token: bool,
    /// At most this many paced requests in flight at once (a concurrency limit), else no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
}

/// The fastest pace surge keeps, requests per second (a scenario's `on_429.rate` and a pace file
/// alike).
pub const MAX_PACE_PER_S: f64 = 1_000_000.0;

/// The largest burst (or window count) a pace may name.
pub const MAX_BURST: u32 = 1_000_000;

impl PaceShape {
    /// Checks the shape as a scenario's `on_429` is checked: a rate between one request per
    /// 720h and [`MAX_PACE_PER_S`] (or 0, no bound on the rate, when `max_in_flight` bounds the
    /// count in flight instead), a burst and a count in flight between 1 and [`MAX_BURST`], a
    /// window longer than 0s and no longer than the longest duration. Returns the field at fault
    /// (as the file names it) and why.
    ///
    /// # Errors
    /// `(field, why)` for the first field out of range.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let slowest = 1.0 / crate::duration::MAX.as_secs_f64();
        let r = self.rate_per_s;
        if let Some(n) = self.max_in_flight {
            if !(1..=MAX_BURST).contains(&n) {
                return Err((
                    "max_in_flight",
                    format!("must be between 1 and {MAX_BURST}, got {n}"),
                ));
            }
        }
        let unbounded_rate = r == 0.0 && self.max_in_flight.is_some();
        let in_range = r.is_finite() && r >= slowest && r <= MAX_PACE_PER_S;
        if !(unbounded_rate || in_range) {
            return Err((
                "recommended_rate_per_s",
                format!("must be between one request per 720h and {MAX_PACE_PER_S}/s, got {r}/s"),
            ));
        }
        if !(1..=MAX_BURST).contains(&self.burst) {
            return Err((
                "burst",
                format!("must be between 1 and {MAX_BURST}, got {}", self.burst),
            ));
        }
        if let Some(w) = self.window_s {
            match crate::duration::from_secs(w) {
                Err(e) => return Err(("window_s", e.to_string())),
                Ok(d) if d.is_zero() => {
                    return Err(("window_s", format!("must be longer than 0s, got {w}")))
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }
}

/// Why a file gives no pace.
#[derive(Debug, thiserror::Error)]
pub enum PaceFileError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON, or not a surge result or limit file.
    #[error("{path}: {why}")]
    Shape {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The file holds no recommended pace, and says why.
    #[error("{path}: no recommended pace: {why}")]
    NoPace {
        /// The file.
        path: String,
        /// The file's own reason, or what to run instead.
        why: String,
    },
}

/// The `schema` of `limit.json`.
pub const LIMIT_SCHEMA: &str = "surge/limit";

/// Reads the recommended pace of a `result.json` (its `diagnosis`) or a `limit.json`.
///
/// # Errors
/// [`PaceFileError`]: unreadable, not a surge file, or no pace recommended (with the file's
/// reason).
pub fn read_recommended(path: &Path) -> Result<PaceShape, PaceFileError> {
    use crate::filekind::FileKind;
    let p = path.display().to_string();
    // A probe's folder stands for its limit.json, a run's for its result.json.
    if path.is_dir() {
        if let Some(inner) = ["limit.json", "result.json"]
            .iter()
            .map(|f| path.join(f))
            .find(|f| f.is_file())
        {
            return read_recommended(&inner);
        }
        return Err(PaceFileError::Shape {
            path: p,
            why: "a folder with neither a limit.json (`surge probe`) nor a result.json \
                  (`surge run`) in it"
                .into(),
        });
    }
    match FileKind::of_file(path) {
        None | Some(FileKind::Result | FileKind::Limit | FileKind::Json) => {}
        Some(k) => {
            return Err(PaceFileError::Shape {
                path: p,
                why: format!("neither a result.json nor a limit.json: it is {}", k.what()),
            })
        }
    }
    // Streamed, keeping only the advice and its words: a result of a gigabyte (or /dev/zero)
    // is never held in memory.
    #[derive(Deserialize)]
    struct Words {
        recommendation: Option<String>,
    }
    #[derive(Deserialize)]
    struct Holder {
        advice: Option<serde_json::Value>,
        words: Option<Words>,
    }
    #[derive(Deserialize)]
    struct PaceFile {
        schema: Option<String>,
        diagnosis: Option<Holder>,
        // A limit.json's own (not `flatten`, which would buffer every other field).
        advice: Option<serde_json::Value>,
        words: Option<Words>,
    }
    let io = |source| PaceFileError::Io {
        path: p.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let max = crate::limits::RESULT_BYTES;
    if f.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            crate::limits::LimitError::TooLarge(max),
        )));
    }
    let reader = std::io::BufReader::new(crate::limits::Bounded::new(f, max, u64::MAX));
    let v: PaceFile = serde_json::from_reader(reader).map_err(|e| PaceFileError::Shape {
        path: p.clone(),
        why: format!("not JSON ({e})"),
    })?;
    let (holder, prefix) = match v.schema.as_deref() {
        Some(super::result::SCHEMA) => match v.diagnosis {
            Some(d) => (d, "diagnosis."),
            None => {
                return Err(PaceFileError::NoPace {
                    path: p,
                    why: "the result has no `diagnosis` (written by an older surge); run the \
                          scenario again"
                        .into(),
                })
            }
        },
        Some(LIMIT_SCHEMA) => (
            Holder {
                advice: v.advice,
                words: v.words,
            },
            "",
        ),
        _ => {
            return Err(PaceFileError::Shape {
                path: p,
                why: "neither a surge result.json nor a limit.json (its `schema` is not \
                      surge/result or surge/limit)"
                    .into(),
            })
        }
    };
    match holder.advice.filter(|a| !a.is_null()) {
        Some(a) => {
            let shape =
                serde_json::from_value::<PaceShape>(a).map_err(|e| PaceFileError::Shape {
                    path: p.clone(),
                    why: format!("{prefix}advice: {e}"),
                })?;
            shape.check().map_err(|(field, why)| PaceFileError::Shape {
                path: p,
                why: format!("{prefix}advice.{field}: {why}"),
            })?;
            Ok(shape)
        }
        None => Err(PaceFileError::NoPace {
            path: p,
            why: holder
                .words
                .and_then(|w| w.recommendation)
                .unwrap_or_else(|| "the file recommends none".to_string()),
        }),
    }
}
