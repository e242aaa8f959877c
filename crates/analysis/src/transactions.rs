//! Transactions as facts: one row per transaction × outcome (count, share, rate, time
//! quantiles), the operations in flight each second (begun, not yet ended), and the
//! completion-time trend the diagnosis reads: the time of transactions begun early in the run
//! against that of those begun later, before the first 429 (or the end), whether the rise is
//! one noise does not explain, and the requests' own 2xx time while they ran. Reports format
//! these; nothing here writes text.

use serde::{Deserialize, Serialize};

use super::figures::{Latency, Share};
use surge_record::result::{RunResult, Second};
use surge_record::Outcome;

/// Seconds (of when the transactions began) each trend window spans; fewer when the run before
/// the first 429 is short.
pub const TREND_WINDOW_S: u32 = 5;
/// Seconds in which transactions began (and ended successfully; before the first 429 in a
/// throttled run) that a trend needs.
pub const MIN_TREND_SECONDS: usize = 4;
/// The transaction time must grow at least this much for a rising trend...
pub const RISING_RATIO: f64 = 1.5;
/// ...and steadily: a stretch from the first transaction on whose times rose with when they
/// began more than in all but this share of random orders of the same times (a permutation
/// test of Kendall's rank correlation), so that the highest of many noisy windows cannot pass
/// for a rise...
pub const RISING_P: f64 = 0.005;
/// ...while the requests' 2xx time grows less than this.
pub const FLAT_RATIO: f64 = 1.25;
/// Most points the test is computed over (longer runs are binned to this many).
const TREND_BINS: usize = 128;
/// Random orders the test draws (from a fixed seed: the same result gives the same answer).
const PERMUTATIONS: u32 = 400;

/// One transaction × outcome over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRow {
    /// The transaction.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Of the transaction's ends.
    pub share: Share,
    /// Ends per second of the run.
    pub rate_per_s: f64,
    /// Its time (begin → end, less excluded pauses).
    pub time: Latency,
}

/// Operations in flight each second: begun and not yet ended by the second's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// The transaction.
    pub name: String,
    /// Per second of the timeline.
    pub per_second: Vec<u64>,
    /// Begun, never ended (cut by the end of the run).
    pub unfinished: u64,
}

impl InFlight {
    /// The most in flight at a second's end.
    pub fn peak(&self) -> u64 {
        self.per_second.iter().copied().max().unwrap_or(0)
    }
}

/// The rows of every transaction, in plan order, outcomes in report order.
pub fn rows(r: &RunResult) -> Vec<TxnRow> {
    let dur = r.duration_s.max(1e-9);
    let mut out = Vec::new();
    for t in &r.transactions {
        let ended = t.ended();
        for c in &t.cells {
            out.push(TxnRow {
                name: t.name.clone(),
                outcome: c.outcome,
                share: Share::new(c.count, ended),
                rate_per_s: c.count as f64 / dur,
                time: Latency::of(&c.duration_hist),
            });
        }
    }
    out
}

/// Operations in flight per second, per transaction.
pub fn in_flight(r: &RunResult) -> Vec<InFlight> {
    r.transactions
        .iter()
        .map(|t| {
            let mut level: i64 = 0;
            let per_second = r
                .timeline
                .iter()
                .map(|s| {
                    if let Some(x) = s.transactions.get(&t.name) {
                        level += x.started as i64 - x.ended.values().sum::<u64>() as i64;
                    }
                    level.max(0) as u64
                })
                .collect();
            InFlight {
                name: t.name.clone(),
                per_second,
                unfinished: t.unfinished,
            }
        })
        .collect()
}

/// How a transaction's time moved over the run, against the requests' 2xx time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionTrend {
    /// The transaction (the one with the most successful ends).
    pub transaction: String,
    /// First and last second of the early window: transactions begun in those seconds (from
    /// the first one that ended successfully).
    pub early: (u32, u32),
    /// First and last second of the late window: the stretch as long, after the early one,
    /// whose transactions took longest, all begun before the first 429 when the run was
    /// throttled.
    pub late: (u32, u32),
    /// Median time of the successful transactions begun in the early window, µs: the
    /// count-weighted mean of the per-second medians (a second's ends are taken as begun their
    /// median time before it). In a throttled run, a transaction still running at the first 429
    /// counts with the time it had taken by then (a lower bound: what came after may have been
    /// stretched by the 429s).
    pub early_us: u64,
    /// See `early_us`.
    pub late_us: u64,
    /// The late window holds transactions still running at the first 429: `late_us` is what
    /// they had taken by then, a lower bound.
    #[serde(default)]
    pub late_at_least: bool,
    /// The requests' median 2xx service time while a window's transactions ran (from its first
    /// second to the last second one of them ended, never past the first 429's second), µs.
    pub requests_early_us: u64,
    /// See `requests_early_us`.
    pub requests_late_us: u64,
    /// The run was throttled: every transaction read began before the first 429.
    pub before_first_429: bool,
    /// Share of random orders of the same times that rose as steadily (Kendall's rank
    /// correlation with when they began, over the steadiest stretch from the first): ≤
    /// [`RISING_P`] is a rise that noise does not explain.
    #[serde(default = "no_trend")]
    pub trend_p: f64,
    /// Transaction time grew ≥ [`RISING_RATIO`], steadily (`trend_p` ≤ [`RISING_P`]), while
    /// the 2xx time grew < [`FLAT_RATIO`]: the signature of a queue behind the API (work
    /// accepted fast, finished ever later).
    pub queue_signature: bool,
}

fn no_trend() -> f64 {
    1.0
}

impl CompletionTrend {
    /// late / early transaction time.
    pub fn ratio(&self) -> f64 {
        self.late_us as f64 / (self.early_us as f64).max(1.0)
    }

    /// late / early 2xx request time.
    pub fn requests_ratio(&self) -> f64 {
        self.requests_late_us as f64 / (self.requests_early_us as f64).max(1.0)
    }

    /// The transaction time rose: by [`RISING_RATIO`] or more, and steadily.
    pub fn rising(&self) -> bool {
        self.ratio() >= RISING_RATIO && self.trend_p <= RISING_P
    }
}

/// Successful ends of a transaction in one second of the timeline.
#[derive(Debug, Clone, Copy)]
struct Point {
    /// The second they began in (their end less their median time).
    begun: u32,
    /// The second they ended in.
    ended: u32,
    /// Their median time, µs; when `censored`, the time they had taken by the first 429.
    us: u64,
    /// How many.
    n: u64,
    /// Still running at the first 429: `us` is a lower bound.
    censored: bool,
}

/// Count-weighted mean of the per-second medians of `items`.
fn weighted<T>(items: &[T], f: impl Fn(&T) -> Option<(u64, u64)>) -> u64 {
    let (mut sum, mut n) = (0f64, 0u64);
    for x in items {
        if let Some((p50, count)) = f(x) {
            sum += p50 as f64 * count as f64;
            n += count;
        }
    }
    if n == 0 {
        0
    } else {
        (sum / n as f64).round() as u64
    }
}

/// A point of the test: when (a bin's count-weighted mean begin), its time, a lower bound?
type Obs = (f64, u64, bool);

/// +1 when `b` (begun later than `a`) is known to have taken longer, −1 when known to have
/// taken less, 0 when unknown (a lower bound below the other's time) or begun together
/// (Gehan's rule for censored times).
fn order(a: &Obs, b: &Obs) -> i64 {
    if a.0 == b.0 {
        return 0;
    }
    match (a.2, b.2) {
        (false, false) => (b.1 as i64 - a.1 as i64).signum(),
        (false, true) => i64::from(b.1 >= a.1),
        (true, false) => -i64::from(b.1 < a.1),
        (true, true) => 0,
    }
}

/// The steadiest rise from the first observation: the largest Kendall z (S over its standard
/// error without ties) of a prefix of at least [`MIN_TREND_SECONDS`] observations.
fn steadiest_rise(obs: &[Obs]) -> f64 {
    let mut s = 0i64;
    let mut best = f64::MIN;
    for k in 1..obs.len() {
        s += obs[..k].iter().map(|a| order(a, &obs[k])).sum::<i64>();
        let m = (k + 1) as f64;
        if k + 1 >= MIN_TREND_SECONDS {
            best = best.max(s as f64 / (m * (m - 1.0) * (2.0 * m + 5.0) / 18.0).sqrt());
        }
    }
    best
}

/// Share of [`PERMUTATIONS`] random orders of the times of `pts` (sorted by begin) that rise at
/// least as steadily as the observed order; more than [`TREND_BINS`] points are binned in
/// order first.
fn trend_p(pts: &[Point]) -> f64 {
    use rand::seq::SliceRandom as _;
    let chunk = pts.len().div_ceil(TREND_BINS).max(1);
    let obs: Vec<Obs> = pts
        .chunks(chunk)
        .map(|c| {
            let n = c.iter().map(|p| p.n).sum::<u64>().max(1) as f64;
            let x = c
                .iter()
                .map(|p| f64::from(p.begun) * p.n as f64)
                .sum::<f64>()
                / n;
            let y = weighted(c, |p| Some((p.us, p.n)));
            (x, y, c.iter().any(|p| p.censored))
        })
        .collect();
    if obs.len() < MIN_TREND_SECONDS {
        return 1.0;
    }
    let seen = steadiest_rise(&obs);
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(0x5eed_7e4d);
    let mut ys: Vec<(u64, bool)> = obs.iter().map(|o| (o.1, o.2)).collect();
    let mut shuffled = obs.clone();
    let mut as_steady = 0u32;
    for _ in 0..PERMUTATIONS {
        ys.shuffle(&mut rng);
        for (o, y) in shuffled.iter_mut().zip(&ys) {
            (o.1, o.2) = *y;
        }
        if steadiest_rise(&shuffled) >= seen {
            as_steady += 1;
        }
    }
    f64::from(1 + as_steady) / f64::from(1 + PERMUTATIONS)
}

/// The successful ends of transaction `name` per second, placed by when they began; in a
/// throttled run (first 429 at `onset_s`) only those begun before it, a transaction still
/// running then with the time it had taken by then.
fn points(r: &RunResult, name: &str, onset_s: Option<f64>) -> Vec<Point> {
    let mut pts: Vec<Point> = r
        .timeline
        .iter()
        .filter_map(|s| {
            let x = s.transactions.get(name)?;
            let us = x.duration.get(&Outcome::Success)?.p50;
            let n = x.ended.get(&Outcome::Success).copied().unwrap_or(0);
            let begun_s = (f64::from(s.t) + 0.5 - us as f64 / 1e6).max(0.0);
            if n == 0 || onset_s.is_some_and(|o| begun_s >= o) {
                return None;
            }
            let by_onset = onset_s
                .filter(|o| f64::from(s.t) >= o.floor())
                .map(|o| ((o - begun_s) * 1e6) as u64)
                .filter(|c| *c < us);
            Some(Point {
                begun: begun_s.floor() as u32,
                ended: s.t,
                us: by_onset.unwrap_or(us),
                n,
                censored: by_onset.is_some(),
            })
        })
        .collect();
    pts.sort_by_key(|p| (p.begun, p.ended));
    pts
}

/// Transactions whose trend cannot be read: too few of them succeeded (before the first 429).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TooFewEnds {
    /// The transaction (the one with the most successful ends).
    pub transaction: String,
    /// Seconds in which the ones that succeeded began (before the first 429 in a throttled
    /// run); a trend needs [`MIN_TREND_SECONDS`].
    pub seconds: u32,
    /// The run was throttled: only transactions begun before the first 429 count.
    pub before_first_429: bool,
}

/// The completion-time trend of the run's main transaction (the one with the most successful
/// ends: a canary's when the batch has none); `Err(None)` without transactions, `Err(Some(..))`
/// when the successful ones (begun before the first 429) began in fewer than
/// [`MIN_TREND_SECONDS`] seconds.
///
/// Transactions are placed by when they began, so a publish sent before the first 429 counts
/// where it was sent: its time is the queue it met. One still running at the first 429 counts
/// with the time it had taken by then, as nothing after the 429s began can be told apart from
/// them. The windows are [`TREND_WINDOW_S`] seconds long (shorter when the seconds before the
/// first 429 are too few for two): the early one from the first, the late one the stretch after
/// it that took longest; `trend_p` says whether the rise is steady or noise.
pub fn completion_trend(r: &RunResult) -> Result<CompletionTrend, Option<TooFewEnds>> {
    let t = r
        .transactions
        .iter()
        .max_by_key(|t| {
            t.cells
                .iter()
                .filter(|c| c.outcome == Outcome::Success)
                .map(|c| c.count)
                .sum::<u64>()
        })
        .ok_or(None)?;
    let onset = r
        .timeline
        .iter()
        .find(|s| {
            s.by_outcome
                .get(&Outcome::Throttled)
                .is_some_and(|n| *n > 0)
        })
        .map(|s| s.t);
    let onset_s = onset.map(|o| r.totals.first_429_s.unwrap_or(f64::from(o)));
    let pts = points(r, &t.name, onset_s);
    let mut begun: Vec<u32> = pts.iter().map(|p| p.begun).collect();
    begun.dedup();
    if begun.len() < MIN_TREND_SECONDS {
        return Err(Some(TooFewEnds {
            transaction: t.name.clone(),
            seconds: begun.len() as u32,
            before_first_429: onset.is_some(),
        }));
    }
    let (first, last) = (pts[0].begun, pts[pts.len() - 1].begun);
    // Two windows fit in the seconds from the first begin to the last.
    let w = TREND_WINDOW_S.min((last - first).div_ceil(2)).max(1);
    let window = |from: u32| -> Vec<Point> {
        pts.iter()
            .filter(|p| p.begun >= from && p.begun < from + w)
            .copied()
            .collect()
    };
    let time = |p: &Point| Some((p.us, p.n));
    let late_from = (first + w..=(last + 1).saturating_sub(w))
        .filter(|from| !window(*from).is_empty())
        .max_by_key(|from| weighted(&window(*from), time))
        // Four seconds of begins always leave one: the last window holds the last.
        .unwrap_or((last + 1).saturating_sub(w));
    let (early, late) = (window(first), window(late_from));
    // The requests' 2xx answered while a window's transactions ran, before the first 429.
    let last_second = r.timeline.last().map_or(0, |s| s.t);
    let requests = |from: u32, win: &[Point]| {
        let to = win.iter().map(|p| p.ended).max().unwrap_or(from);
        let to = onset.map_or(to.min(last_second), |o| to.min(o.saturating_sub(1)));
        let rows: Vec<&Second> = r
            .timeline
            .iter()
            .filter(|s| s.t >= from && s.t <= to)
            .collect();
        weighted(&rows, |s| {
            let q = s.latency.get(&Outcome::Success)?;
            Some((
                q.p50,
                s.by_outcome.get(&Outcome::Success).copied().unwrap_or(0),
            ))
        })
    };
    let mut trend = CompletionTrend {
        transaction: t.name.clone(),
        early: (first, first + w - 1),
        late: (late_from, late_from + w - 1),
        early_us: weighted(&early, time),
        late_us: weighted(&late, time),
        late_at_least: late.iter().any(|p| p.censored),
        requests_early_us: requests(first, &early),
        requests_late_us: requests(late_from, &late),
        before_first_429: onset.is_some(),
        trend_p: trend_p(&pts),
        queue_signature: false,
    };
    trend.queue_signature = trend.rising() && trend.requests_ratio() < FLAT_RATIO;
    Ok(trend)
}

#[cfg(test)]
mod tests;
