//! The pace that keeps under a measured limit on a re-run: the limit's own shape (a bucket's rate
//! and burst, or a window's count), less a margin that covers what the measurement could be off
//! by. Given only when the measurement is tight enough ([`MAX_RATE_ERROR`]); the margin is stated.

use serde::{Deserialize, Serialize};

use super::Model;
use surge_record::pace::PaceShape;

/// The smallest margin below a measured limit: room for clock skew, the network's jitter between
/// the client's and the server's view of time, and a limiter that varies a little.
pub const MIN_MARGIN: f64 = 0.05;
/// A measured rate less certain than this (relative standard error) gives no pace: the margin it
/// would need (twice the error) would leave too much on the table, or too little.
pub const MAX_RATE_ERROR: f64 = 0.10;

/// Windows shorter than this are paced as an even rate (and a small burst), not as a count per
/// window: the second added to a window's length would cost too much of a short one.
pub const SPREAD_BELOW_S: f64 = 10.0;

/// What a limit was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The `inin-ratelimit-*` headers named the limit (and the 429s came where they said).
    Headers,
    /// The run stayed throttled long enough to read the rate between its 429s.
    ThrottledStretch,
    /// `surge probe` searched for it.
    Probe,
}

/// A limit as measured, and how well.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The model.
    pub model: Model,
    /// Sustained rate over all the tokens measured, requests per second.
    pub rate_per_s: f64,
    /// Its relative standard error.
    pub rate_error: f64,
    /// Burst (fixed window: its limit), over all the tokens measured.
    pub burst: f64,
    /// The burst's standard error, requests.
    pub burst_error: f64,
    /// The window, seconds (fixed window).
    pub window_s: Option<f64>,
    /// The limit counts per token.
    pub per_token: bool,
    /// Tokens the measurement spread its requests over (at least 1).
    pub tokens: u32,
    /// The limiter refused everything at some rate (it may count its refusals): the pace keeps
    /// a wider margin and sends no burst.
    pub penalty: bool,
}

/// The smallest margin below a limiter that may count its refusals: each 429 there also costs
/// the requests after it.
pub const PENALTY_MARGIN: f64 = 0.10;

/// A pace to re-run with, and why. A bucket's rate is cut by the margin, its burst by twice its
/// error; a window's count by the margin, its length stretched by a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// The pace (`recommended_rate_per_s`, `burst`, `window_s`, `per_token`).
    #[serde(flatten)]
    pub pace: PaceShape,
    /// The share of the measured limit left unused: at least [`MIN_MARGIN`], and twice the
    /// rate's relative error.
    pub margin: f64,
    /// Where the limit came from.
    pub basis: Basis,
    /// The limit's model.
    pub model: Model,
    /// The limit kept under: sustained requests per second (per token when `per_token`).
    pub limit_rate_per_s: f64,
    /// Its burst (a window's limit), per token when `per_token`.
    pub limit_burst: f64,
    /// Its window, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_window_s: Option<f64>,
    /// Relative standard error of the measured rate.
    pub rate_error: f64,
    /// Seconds the limiter needs with no request from this client before the burst is there
    /// again: start a paced run no sooner after the last one.
    pub rest_s: f64,
    /// A batch like the measured run's, at this pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    /// The rate was not known to the precision a pace needs: this one keeps under the lower
    /// bound the search proved (safe, but maybe well below the limit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_lower_bound: bool,
}

/// A batch at the recommended pace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Requests in the batch.
    pub requests: u64,
    /// Tokens they are spread over.
    pub tokens: u32,
    /// When its last request may start, seconds from the first (add a response time for the end).
    pub last_start_s: f64,
}

/// The margin for a rate measured with relative error `e`: twice the error, at least
/// [`MIN_MARGIN`], rounded up to a whole percent.
pub fn margin_for(rate_error: f64) -> f64 {
    let m = (2.0 * rate_error).max(MIN_MARGIN);
    (m * 100.0 - 1e-9).ceil() / 100.0
}

/// The pace for `m`, for re-running `batch` requests over `tokens` tokens; Err(the margin it
/// would take) when the rate is too uncertain ([`MAX_RATE_ERROR`]).
pub fn advise(m: &Measured, basis: Basis, batch: Option<(u64, u32)>) -> Result<Advice, f64> {
    if m.model == Model::Concurrency {
        return Ok(in_flight(m, basis, batch));
    }
    let usable = m.rate_error.is_finite() && m.rate_error <= MAX_RATE_ERROR && m.rate_per_s > 0.0;
    if !usable {
        return Err(margin_for(m.rate_error.min(1.0)));
    }
    let margin = if m.penalty {
        margin_for(m.rate_error).max(PENALTY_MARGIN)
    } else {
        margin_for(m.rate_error)
    };
    let unit = if m.per_token {
        f64::from(m.tokens.max(1))
    } else {
        1.0
    };
    let (rate, burst, burst_err) = (m.rate_per_s / unit, m.burst / unit, m.burst_error / unit);
    let (pace, rest_s) = match (m.model, m.window_s) {
        // A short window's count sent at once, then a window and a second of silence, would
        // waste up to half the limit: spread evenly, no window of the limiter's length (wherever
        // it starts) sees more than its count less the margin.
        (Model::FixedWindow | Model::SlidingWindow, Some(w)) if w < SPREAD_BELOW_S => {
            let at_once = (burst * margin / 2.0).floor().max(1.0);
            let per_window = (burst * (1.0 - margin) - at_once).max(1.0);
            (
                PaceShape {
                    rate_per_s: round_down(per_window / w),
                    burst: at_once as u32,
                    window_s: None,
                    per_token: m.per_token,
                    max_in_flight: None,
                },
                w,
            )
        }
        (Model::FixedWindow | Model::SlidingWindow, Some(w)) => {
            let limit = (burst * (1.0 - margin)).floor().max(1.0);
            // The window is read to within a second (whole-second headers): one more second
            // keeps a window's requests from spilling into the server's previous window.
            let window = (w + 1.0).ceil();
            (
                PaceShape {
                    rate_per_s: limit / window,
                    burst: limit as u32,
                    window_s: Some(window),
                    per_token: m.per_token,
                    max_in_flight: None,
                },
                w,
            )
        }
        // The burst is a count, not a rate: clock skew and jitter do not shrink it. What could
        // be off is its estimate (read as what came before the first 429 less the rate's share),
        // so it is cut by twice its error, and by one request at least.
        _ => (
            PaceShape {
                rate_per_s: round_down(rate * (1.0 - margin)),
                burst: if m.penalty {
                    1
                } else {
                    (burst - (2.0 * burst_err).max(1.0)).floor().max(1.0) as u32
                },
                window_s: None,
                per_token: m.per_token,
                max_in_flight: None,
            },
            burst / rate,
        ),
    };
    Ok(Advice {
        batch: batch.map(|(n, k)| Batch {
            requests: n,
            tokens: k,
            last_start_s: last_start(&pace, n, k),
        }),
        pace,
        margin,
        basis,
        model: m.model,
        limit_rate_per_s: rate,
        limit_burst: burst,
        limit_window_s: m.window_s,
        rate_error: m.rate_error,
        rest_s,
        from_lower_bound: false,
    })
}

/// A concurrency limit's pace: at most its count in flight (a count, read exactly: no margin
/// on it), and no bound on the rate; a batch takes its requests over the count, each a service
/// time.
fn in_flight(m: &Measured, basis: Basis, batch: Option<(u64, u32)>) -> Advice {
    let unit = if m.per_token {
        f64::from(m.tokens.max(1))
    } else {
        1.0
    };
    let max = (m.burst / unit).floor().max(1.0);
    let rate = m.rate_per_s / unit;
    let pace = PaceShape {
        rate_per_s: 0.0,
        burst: max as u32,
        window_s: None,
        per_token: m.per_token,
        max_in_flight: Some(max as u32),
    };
    Advice {
        batch: batch.map(|(n, k)| {
            let k_eff = if m.per_token {
                f64::from(k.max(1))
            } else {
                1.0
            };
            Batch {
                requests: n,
                tokens: k,
                last_start_s: ((n as f64 - max * k_eff).max(0.0)) / (rate * k_eff).max(1e-9),
            }
        }),
        pace,
        margin: 0.0,
        basis,
        model: m.model,
        limit_rate_per_s: rate,
        limit_burst: max,
        limit_window_s: None,
        rate_error: m.rate_error,
        rest_s: 0.0,
        from_lower_bound: false,
    }
}

/// A safe pace when the rate is too uncertain for [`advise`]: evenly spaced at the lower bound
/// the search proved, less the smallest margin; None when nothing was proven.
pub fn from_lower_bound(
    b: &super::bounds::RateBounds,
    m: &Measured,
    batch: Option<(u64, u32)>,
) -> Option<Advice> {
    if b.lower_per_s <= 0.0 {
        return None;
    }
    let at_lower = Measured {
        model: Model::TokenBucket,
        rate_per_s: b.lower_per_s,
        rate_error: 0.0,
        burst: 1.0,
        burst_error: 0.0,
        window_s: None,
        ..*m
    };
    let mut a = advise(&at_lower, Basis::Probe, batch).ok()?;
    a.model = m.model;
    a.from_lower_bound = true;
    Some(a)
}

/// When the last of `n` requests may start at `pace` (per token over `tokens` when per token),
/// from a rested limiter.
pub fn last_start(pace: &PaceShape, n: u64, tokens: u32) -> f64 {
    let k = if pace.per_token {
        f64::from(tokens.max(1))
    } else {
        1.0
    };
    let n = n as f64;
    let burst = f64::from(pace.burst) * k;
    match pace.window_s {
        Some(w) => ((n / burst).ceil() - 1.0).max(0.0) * w,
        None => ((n - burst).max(0.0)) / (pace.rate_per_s * k),
    }
}

/// Rounds down to three significant digits (4.7368 → 4.73), so a printed "≤ X" stays true.
fn round_down(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powf(v.log10().floor() - 2.0);
    ((v / mag) + 1e-9).floor() * mag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(rate: f64, err: f64, burst: f64) -> Measured {
        Measured {
            model: Model::TokenBucket,
            rate_per_s: rate,
            rate_error: err,
            burst,
            burst_error: 0.0,
            window_s: None,
            per_token: false,
            tokens: 1,
            penalty: false,
        }
    }

    #[test]
    fn the_margin_is_twice_the_error_at_least_five_percent() {
        // rate error → margin
        for (e, m) in [
            (0.0, 0.05),
            (0.01, 0.05),
            (0.03, 0.06),
            (0.041, 0.09),
            (0.1, 0.2),
        ] {
            assert_eq!(margin_for(e), m, "{e}");
        }
    }

    #[test]
    fn a_bucket_is_paced_below_its_rate_and_burst() {
        let a = advise(&bucket(20.0, 0.01, 30.0), Basis::Probe, Some((400, 1))).unwrap();
        assert_eq!(a.margin, 0.05);
        assert_eq!(a.pace.rate_per_s, 19.0);
        assert_eq!(a.pace.burst, 29);
        assert_eq!(a.rest_s, 1.5);
        // 29 at once, then 371 at 19/s.
        let b = a.batch.unwrap();
        assert!((b.last_start_s - 371.0 / 19.0).abs() < 1e-9);
        // An uncertain burst is cut by twice its error.
        let m = Measured {
            burst_error: 3.0,
            ..bucket(20.0, 0.01, 30.0)
        };
        assert_eq!(advise(&m, Basis::Probe, None).unwrap().pace.burst, 24);
        // Too rough a rate: no pace, and the margin it would have needed.
        assert_eq!(
            advise(&bucket(20.0, 0.2, 30.0), Basis::Probe, None),
            Err(0.4)
        );
    }

    #[test]
    fn a_window_is_paced_as_a_window_a_second_longer() {
        let m = Measured {
            model: Model::FixedWindow,
            rate_per_s: 5.0,
            rate_error: 0.008,
            burst: 300.0,
            burst_error: 0.0,
            window_s: Some(60.0),
            per_token: true,
            tokens: 1,
            penalty: false,
        };
        let a = advise(&m, Basis::Headers, Some((500, 1))).unwrap();
        assert_eq!(
            a.pace,
            PaceShape {
                rate_per_s: 285.0 / 61.0,
                burst: 285,
                window_s: Some(61.0),
                per_token: true,
                max_in_flight: None,
            }
        );
        // 285 in the first window, 215 in the second.
        assert_eq!(a.batch.unwrap().last_start_s, 61.0);
        // Two tokens measured together: the pace is per token.
        let a = advise(
            &Measured {
                burst: 600.0,
                rate_per_s: 10.0,
                tokens: 2,
                ..m
            },
            Basis::Probe,
            None,
        )
        .unwrap();
        assert_eq!(a.pace.burst, 285);
    }
}
