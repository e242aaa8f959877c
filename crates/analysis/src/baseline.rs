//! `surge check --baseline`: a candidate run against a baseline run, label by label, with a noise
//! estimate for every change so a gate fails on a regression, not on chance.
//!
//! - Latency statistics (`p95`, `p99.9`, `max`, …) use the full HDR histograms: the interval of
//!   the change comes from an exact bootstrap of the quantile (see [`super::stats::resample_quantile`]);
//!   `avg` uses Welch's z with the histograms' means and standard deviations.
//! - Shares (`rate(429)`, `error_rate`) use a two-proportion z-test; `throughput` a z-test for two
//!   Poisson rates.
//! - A metric regresses when its change in the bad direction exceeds the allowance AND the
//!   interval of the change lies wholly on the bad side (it stands out of the noise).

use serde::Serialize;

use super::stats::{self, Cdf, Rng};
use super::threshold_eval::{counts, stat_of};
use surge_plan::threshold::{
    parse_metric, parse_value, Kind, Metric, ParseError, Sel, Stat, Timing,
};
use surge_record::{Hist, Outcome, RunResult};

/// The allowances used when `--max-regression` is not given.
pub const DEFAULT_MAX_REGRESSION: &str = "p95=+10%,rate(429)=+2pp,error_rate=+1pp";

/// Bootstrap replicates per latency comparison.
pub const BOOTSTRAP_ITERS: usize = 2000;

/// How much a metric may move in its bad direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Limit {
    /// A fraction of the baseline value (`+10%` → 0.10).
    Relative(f64),
    /// In the metric's base unit (`+50ms` → 0.05 s, `+2pp` → 0.02).
    Absolute(f64),
}

/// One `--max-regression` item: `p95=+10%`, `rate(429, publish)=+2pp`, `throughput(2xx)=-5%`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allowance {
    /// As written.
    pub source: String,
    /// The metric (latency, rate, error_rate or throughput).
    pub metric: Metric,
    /// +1 when an increase is bad, −1 when a decrease is.
    pub direction: i8,
    /// How far it may move that way.
    pub limit: Limit,
}

fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

fn bad_when_up(m: &Metric) -> bool {
    match m {
        Metric::Rate {
            sel: Sel::Outcome(Outcome::Success),
            ..
        } => false,
        Metric::Rate {
            sel: Sel::Status(k),
            ..
        } => k.outcome() != Outcome::Success,
        Metric::Throughput { .. } => false,
        _ => true,
    }
}

/// A `--max-regression` item that cannot be used; displays as one line naming the item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowanceError {
    /// No `=`.
    #[error("{0:?}: expected METRIC=AMOUNT, e.g. p95=+10% or rate(429)=+2pp")]
    Malformed(String),
    /// The metric does not parse (unknown name or label).
    #[error("{0}")]
    Metric(#[from] ParseError),
    /// A metric that has no baseline comparison (first_429, completion, count, …).
    #[error("{0:?}: only latency statistics, rate(…), error_rate and throughput(…) are compared with a baseline")]
    NotComparable(String),
    /// An amount that is not a number in the metric's unit, or not a percentage.
    #[error("{item:?}: {message}")]
    Amount {
        /// The item as written.
        item: String,
        /// What is wrong with its amount.
        message: String,
    },
    /// Nothing to compare.
    #[error("--max-regression is empty; e.g. p95=+10%,rate(429)=+2pp")]
    Empty,
}

/// Parses `--max-regression`: comma-separated `METRIC=[+|-]AMOUNT`. Without a sign the bad
/// direction is the natural one (latency, 429s and errors up; 2xx share and throughput down).
///
/// # Errors
/// [`AllowanceError`] naming the item: malformed, unknown metric or label, a metric that cannot
/// be compared (first_429, completion, count, …), or a unit that does not fit.
pub fn parse_allowances(spec: &str, labels: &[String]) -> Result<Vec<Allowance>, AllowanceError> {
    let mut out = Vec::new();
    for item in split_top(spec) {
        let Some((lhs, rhs)) = item.rsplit_once('=') else {
            return Err(AllowanceError::Malformed(item.to_string()));
        };
        let metric = parse_metric(lhs.trim(), Some(labels))?;
        if !matches!(
            metric,
            Metric::Latency { .. }
                | Metric::Rate { .. }
                | Metric::ErrorRate { .. }
                | Metric::Throughput { .. }
        ) {
            return Err(AllowanceError::NotComparable(item.to_string()));
        }
        let rhs = rhs.trim();
        let (sign, amount) = match rhs.as_bytes().first() {
            Some(b'+') => (Some(1i8), &rhs[1..]),
            Some(b'-') => (Some(-1i8), &rhs[1..]),
            _ => (None, rhs),
        };
        let direction = sign.unwrap_or(if bad_when_up(&metric) { 1 } else { -1 });
        let kind = metric.kind();
        let limit = if let Some(n) = amount.strip_suffix('%') {
            let v: f64 = n.trim().parse().map_err(|_| AllowanceError::Amount {
                item: item.to_string(),
                message: format!("{amount:?} is not a percentage"),
            })?;
            Limit::Relative(v / 100.0)
        } else {
            let v = parse_value(amount, kind, lhs.trim()).map_err(|m| AllowanceError::Amount {
                item: item.to_string(),
                message: format!("{m}; or a relative change such as +10%"),
            })?;
            Limit::Absolute(v)
        };
        let bad = match limit {
            Limit::Relative(v) | Limit::Absolute(v) => !v.is_finite() || v < 0.0,
        };
        if bad {
            return Err(AllowanceError::Amount {
                item: item.to_string(),
                message: "the amount must be a non-negative number after the sign".into(),
            });
        }
        out.push(Allowance {
            source: item.to_string(),
            metric,
            direction,
            limit,
        });
    }
    if out.is_empty() {
        return Err(AllowanceError::Empty);
    }
    Ok(out)
}

/// The verdict of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within the allowance, or not out of the noise.
    Pass,
    /// Worse than allowed, and out of the noise.
    Regression,
    /// Nothing to compare (a label or outcome missing on one side).
    Skipped,
}

/// One metric of one label, baseline against candidate: the values, the change, its noise and
/// the verdict, as numbers (`report::gate_report` writes them in words).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The label.
    pub label: String,
    /// The metric, as written in the allowance (without its label).
    pub metric: String,
    /// The allowance, as written.
    pub allowance: String,
    /// Baseline value (base units: seconds, share, per second).
    pub baseline: Option<f64>,
    /// Candidate value.
    pub candidate: Option<f64>,
    /// Candidate − baseline.
    pub change: Option<f64>,
    /// The change relative to the baseline.
    pub change_rel: Option<f64>,
    /// Interval of the change at the chosen confidence (None: no noise estimate).
    pub interval: Option<(f64, f64)>,
    /// Two-sided p-value (z-tests only).
    pub p_value: Option<f64>,
    /// The interval excludes 0: the change stands out of the noise.
    pub significant: bool,
    /// Half the width of the interval (base units): the smallest change these sample sizes can
    /// tell from chance.
    pub resolution: Option<f64>,
    /// The noise is wider than the allowance: a change of exactly the allowance cannot fail this
    /// gate at these sample sizes.
    pub underpowered: bool,
    /// Samples per run that would resolve the allowance (when underpowered).
    pub samples_needed: Option<u64>,
    /// The verdict.
    pub status: Status,
    /// The metric's unit.
    pub kind: Kind,
    /// The allowance in base units (a relative allowance times the baseline).
    pub allowed: f64,
    /// The allowance is relative (`+10%`), so its noise reads relative too.
    pub relative: bool,
    /// The change in the bad direction exceeds the allowance.
    pub beyond: bool,
    /// The interval lies wholly on the bad side.
    pub out_of_noise: bool,
    /// The smaller of the two sample sizes.
    pub samples: u64,
    /// The two-sided confidence of the interval.
    pub confidence: f64,
    /// Why the row compares nothing (a skipped row).
    pub skipped: Option<Skip>,
}

impl Comparison {
    /// The allowance's amount as written (`+10%` of `p95=+10%`).
    pub fn allowed_written(&self) -> &str {
        self.allowance.rsplit_once('=').map_or("", |x| x.1).trim()
    }

    fn skipped(label: &str, metric: &str, allowance: &str, kind: Kind, why: Skip) -> Comparison {
        Comparison {
            label: label.to_string(),
            metric: metric.to_string(),
            allowance: allowance.to_string(),
            baseline: None,
            candidate: None,
            change: None,
            change_rel: None,
            interval: None,
            p_value: None,
            significant: false,
            resolution: None,
            underpowered: false,
            samples_needed: None,
            status: Status::Skipped,
            kind,
            allowed: 0.0,
            relative: false,
            beyond: false,
            out_of_noise: false,
            samples: 0,
            confidence: 0.0,
            skipped: Some(why),
        }
    }
}

/// Why a row compares nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No responses of the metric's outcome in one run.
    NoResponses {
        /// The outcome read.
        outcome: Outcome,
        /// The run without them.
        side: Side,
    },
    /// No attempts of the label in one run.
    NoAttempts(Side),
    /// A run has no duration (a throughput).
    NoDuration,
    /// The metric is not one a baseline compares.
    NotComparable,
    /// The label is in one run only.
    LabelOnlyIn(Side),
}

/// One of the two runs compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The baseline.
    Baseline,
    /// The candidate.
    Candidate,
}

fn metric_name(m: &Metric) -> String {
    let tail = |o: Outcome, t: Timing| {
        let mut s = String::new();
        if o != Outcome::Success {
            s.push_str(&format!("({})", o.name()));
        }
        if t == Timing::Response {
            s.push_str(" response");
        }
        s
    };
    let sel = |s: &Sel| match s {
        Sel::Outcome(o) => o.name().to_string(),
        Sel::Status(k) => k.label(),
    };
    match m {
        Metric::Latency {
            stat,
            outcome,
            timing,
            ..
        } => format!("{}{}", stat.name(), tail(*outcome, *timing)),
        Metric::Rate { sel: s, .. } => format!("rate({})", sel(s)),
        Metric::ErrorRate { .. } => "error_rate".into(),
        Metric::Throughput { sel: s, .. } => {
            format!("throughput({})", s.as_ref().map_or("*".to_string(), sel))
        }
        _ => "?".into(),
    }
}

fn hist(r: &RunResult, label: &str, outcome: Outcome, timing: Timing) -> Hist {
    let mut h = Hist::new();
    for c in r
        .cells
        .iter()
        .filter(|c| c.label == label && c.outcome == outcome)
    {
        h.add(if timing == Timing::Service {
            &c.service_hist
        } else {
            &c.response_hist
        });
    }
    h
}

struct Measured {
    base: f64,
    cand: f64,
    interval: (f64, f64),
    p: Option<f64>,
    /// The smaller of the two sample sizes.
    n: u64,
}

fn share_counts(r: &RunResult, m: &Metric, label: &str) -> (u64, u64) {
    match m {
        Metric::Rate { sel, .. } => counts(r, Some(*sel), Some(label)),
        _ => {
            let all = counts(r, None, Some(label)).1;
            let hit = counts(r, Some(Sel::Outcome(Outcome::ServerError)), Some(label)).0
                + counts(r, Some(Sel::Outcome(Outcome::TransportError)), Some(label)).0;
            (hit, all)
        }
    }
}

fn measure(
    base: &RunResult,
    cand: &RunResult,
    m: &Metric,
    label: &str,
    z: f64,
    confidence: f64,
    rng: &mut Rng,
) -> Result<Measured, Skip> {
    match m {
        Metric::Latency {
            stat,
            outcome,
            timing,
            ..
        } => {
            let (hb, hc) = (
                hist(base, label, *outcome, *timing),
                hist(cand, label, *outcome, *timing),
            );
            let (Some(b), Some(c)) = (stat_of(&hb, *stat), stat_of(&hc, *stat)) else {
                let side = if hb.is_empty() {
                    Side::Baseline
                } else {
                    Side::Candidate
                };
                return Err(Skip::NoResponses {
                    outcome: *outcome,
                    side,
                });
            };
            if *stat == Stat::Avg {
                let (sb, sc) = (hb.0.stdev() / 1e6, hc.0.stdev() / 1e6);
                let zz = stats::welch_z(b, sb, hb.len(), c, sc, hc.len());
                let se = ((sb * sb) / hb.len() as f64 + (sc * sc) / hc.len() as f64).sqrt();
                return Ok(Measured {
                    base: b,
                    cand: c,
                    interval: (c - b - z * se, c - b + z * se),
                    p: Some(stats::p_two_sided(zz)),
                    n: hb.len().min(hc.len()),
                });
            }
            let q = stat.quantile().unwrap_or(1.0);
            let (lo, hi) = stats::quantile_diff_interval(
                &Cdf::of(&hb),
                &Cdf::of(&hc),
                q,
                confidence,
                BOOTSTRAP_ITERS,
                rng,
            )
            .unwrap_or((f64::NAN, f64::NAN));
            Ok(Measured {
                base: b,
                cand: c,
                interval: (lo / 1e6, hi / 1e6),
                p: None,
                n: hb.len().min(hc.len()),
            })
        }
        Metric::Rate { .. } | Metric::ErrorRate { .. } => {
            let ((x1, n1), (x2, n2)) = (share_counts(base, m, label), share_counts(cand, m, label));
            if n1 == 0 || n2 == 0 {
                return Err(Skip::NoAttempts(if n1 == 0 {
                    Side::Baseline
                } else {
                    Side::Candidate
                }));
            }
            let (d, zz) = stats::two_proportions(x1, n1, x2, n2);
            let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
            let se = (p1 * (1.0 - p1) / n1 as f64 + p2 * (1.0 - p2) / n2 as f64).sqrt();
            // Both shares at 0 or 1: no variance, no change to test.
            let interval = if se == 0.0 {
                (d, d)
            } else {
                (d - z * se, d + z * se)
            };
            Ok(Measured {
                base: p1,
                cand: p2,
                interval,
                p: Some(stats::p_two_sided(zz)),
                n: n1.min(n2),
            })
        }
        Metric::Throughput { sel, .. } => {
            let (x1, x2) = (
                counts(base, *sel, Some(label)).0,
                counts(cand, *sel, Some(label)).0,
            );
            let (t1, t2) = (base.duration_s, cand.duration_s);
            if t1 <= 0.0 || t2 <= 0.0 {
                return Err(Skip::NoDuration);
            }
            let (b, c) = (x1 as f64 / t1, x2 as f64 / t2);
            let se = (x1 as f64 / (t1 * t1) + x2 as f64 / (t2 * t2)).sqrt();
            let zz = stats::poisson_rates_z(x1, t1, x2, t2);
            Ok(Measured {
                base: b,
                cand: c,
                interval: (c - b - z * se, c - b + z * se),
                p: Some(stats::p_two_sided(zz)),
                n: x1.min(x2),
            })
        }
        _ => Err(Skip::NotComparable),
    }
}

/// Compares `cand` with `base` for every allowance and label (labels in both runs; a label in
/// only one run gives a skipped row). `confidence` is the two-sided level of the intervals.
pub fn compare(
    base: &RunResult,
    cand: &RunResult,
    allowances: &[Allowance],
    confidence: f64,
) -> Vec<Comparison> {
    let z = stats::z_for(confidence);
    let mut rng = stats::rng(0x5EED_5EED);
    let mut out = Vec::new();
    let common: Vec<&String> = base
        .labels
        .iter()
        .filter(|l| cand.labels.contains(l))
        .collect();
    for a in allowances {
        let labels: Vec<&String> = match a.metric.label() {
            Some(l) => common.iter().copied().filter(|x| *x == l).collect(),
            None => common.clone(),
        };
        // As the user wrote it: `rate(429)` stays `rate(429)`.
        let name = a
            .source
            .rsplit_once('=')
            .map_or_else(|| metric_name(&a.metric), |(lhs, _)| lhs.trim().to_string());
        let kind = a.metric.kind();
        for label in labels {
            let m = match measure(base, cand, &a.metric, label, z, confidence, &mut rng) {
                Ok(m) => m,
                Err(why) => {
                    out.push(Comparison::skipped(label, &name, &a.source, kind, why));
                    continue;
                }
            };
            out.push(judge(label, &name, a, kind, &m, confidence));
        }
    }
    let only = |l: &String, side| {
        Comparison::skipped(l, "label", "", Kind::Number, Skip::LabelOnlyIn(side))
    };
    for l in base.labels.iter().filter(|l| !cand.labels.contains(l)) {
        out.push(only(l, Side::Baseline));
    }
    for l in cand.labels.iter().filter(|l| !base.labels.contains(l)) {
        out.push(only(l, Side::Candidate));
    }
    out
}

/// The verdict of one measured comparison: the change against the allowance and its noise.
fn judge(
    label: &str,
    name: &str,
    a: &Allowance,
    kind: Kind,
    m: &Measured,
    confidence: f64,
) -> Comparison {
    let d = m.cand - m.base;
    let rel = (m.base != 0.0).then(|| d / m.base);
    let dir = f64::from(a.direction);
    let allowed = match a.limit {
        Limit::Relative(f) => f * m.base.abs(),
        Limit::Absolute(v) => v,
    };
    let (lo, hi) = m.interval;
    let significant = lo > 0.0 || hi < 0.0;
    let out_of_noise = if dir > 0.0 { lo > 0.0 } else { hi < 0.0 };
    let beyond = d * dir > allowed + 1e-12;
    let status = if beyond && out_of_noise {
        Status::Regression
    } else {
        Status::Pass
    };
    // The noise against the allowance: can this gate fail at all at these sample sizes?
    let resolution = (!lo.is_nan()).then(|| (hi - lo) / 2.0);
    let underpowered = resolution.is_some_and(|h| h > allowed + 1e-12);
    let samples_needed = resolution.filter(|_| underpowered).map(|h| {
        let ratio = if allowed > 0.0 {
            h / allowed
        } else {
            f64::INFINITY
        };
        ((m.n.max(1) as f64) * ratio * ratio).ceil().min(1e12) as u64
    });
    Comparison {
        label: label.to_string(),
        metric: name.to_string(),
        allowance: a.source.clone(),
        baseline: Some(m.base),
        candidate: Some(m.cand),
        change: Some(d),
        change_rel: rel,
        interval: (!lo.is_nan()).then_some((lo, hi)),
        p_value: m.p,
        significant,
        resolution,
        underpowered,
        samples_needed,
        status,
        kind,
        allowed,
        relative: matches!(a.limit, Limit::Relative(_)),
        beyond,
        out_of_noise,
        samples: m.n,
        confidence,
        skipped: None,
    }
}

#[cfg(test)]
mod tests;
