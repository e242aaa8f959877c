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
    let text =
        crate::limits::read_to_string(path, crate::limits::RESULT_BYTES).map_err(|source| {
            PaceFileError::Io {
                path: p.clone(),
                source,
            }
        })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| PaceFileError::Shape {
        path: p.clone(),
        why: format!("not JSON ({e})"),
    })?;
    let holder = match v.get("schema").and_then(|s| s.as_str()) {
        Some(super::result::SCHEMA) => match v.get("diagnosis") {
            Some(d) => d,
            None => {
                return Err(PaceFileError::NoPace {
                    path: p,
                    why: "the result has no `diagnosis` (written by an older surge); run the \
                          scenario again"
                        .into(),
                })
            }
        },
        Some(LIMIT_SCHEMA) => &v,
        _ => {
            return Err(PaceFileError::Shape {
                path: p,
                why: "neither a surge result.json nor a limit.json (its `schema` is not \
                      surge/result or surge/limit)"
                    .into(),
            })
        }
    };
    match holder.get("advice").filter(|a| !a.is_null()) {
        Some(a) => {
            serde_json::from_value::<PaceShape>(a.clone()).map_err(|e| PaceFileError::Shape {
                path: p,
                why: format!("advice: {e}"),
            })
        }
        None => Err(PaceFileError::NoPace {
            path: p,
            why: holder
                .pointer("/words/recommendation")
                .and_then(|s| s.as_str())
                .unwrap_or("the file recommends none")
                .to_string(),
        }),
    }
}
