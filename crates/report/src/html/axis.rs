//! The axes of a chart: value scales (linear with nice ticks, or logarithmic), the x positions of
//! values, and the x ticks for time and percentile axes.

use super::svg::{Chart, Kind, Series, Side, XAxis, WIDTH, YD};

/// A linear or log scale from values to inner y units.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) log: bool,
    /// Whole numbers only (counts of users, responses): no tick between integers.
    pub(super) int: bool,
}

impl Scale {
    pub(super) fn y(&self, v: f64) -> Option<i64> {
        let f = if self.log {
            if v <= 0.0 {
                return None;
            }
            (v.log10().clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo)
        } else {
            (v.clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo)
        };
        Some(YD - (f * YD as f64).round() as i64)
    }

    /// Tick values (in value space) and their labels.
    pub(super) fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            (self.lo.round() as i32..=self.hi.round() as i32)
                .map(|e| (10f64.powi(e), num(10f64.powi(e))))
                .collect()
        } else {
            let step = if self.int {
                nice_step(self.hi - self.lo).max(1.0)
            } else {
                nice_step(self.hi - self.lo)
            };
            let mut out = Vec::new();
            let mut v = self.lo;
            while v <= self.hi + step * 1e-6 {
                out.push((v, num(v)));
                v += step;
            }
            out
        }
    }
}

/// A tick step of 1, 2, 2.5 or 5 × 10^k giving about five intervals over `range`.
pub fn nice_step(range: f64) -> f64 {
    let raw = (range / 5.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * mag >= raw - 1e-12)
        .unwrap_or(10.0);
    m * mag
}

/// `max` rounded up to a tick step (1 when there is nothing above 0).
pub fn nice_max(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let step = nice_step(max);
    (max / step - 1e-9).ceil() * step
}

/// A number for a tick or a hover: integers plain, otherwise up to three significant digits.
pub fn num(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    let d = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.d$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl Chart {
    pub(super) fn xd(&self) -> i64 {
        match &self.x {
            XAxis::Time { seconds } => 2 * (*seconds).max(1) as i64,
            XAxis::Percentile { xs } => {
                ((xs.last().copied().unwrap_or(1.0).max(1.0)) * 1000.0).ceil() as i64
            }
        }
    }

    pub(super) fn right_edge(&self) -> f64 {
        if self.right.is_some() {
            WIDTH - 64.0
        } else {
            WIDTH - 20.0
        }
    }

    pub(super) fn scale(&self, side: Side) -> Scale {
        let axis = match side {
            Side::Left => &self.left,
            Side::Right => self.right.as_ref().unwrap_or(&self.left),
        };
        let on = |s: &&Series| s.side == side;
        if axis.log {
            let vals = self
                .series
                .iter()
                .filter(on)
                .flat_map(|s| s.values.iter().flatten().copied())
                .filter(|v| *v > 0.0);
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            for v in vals {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if lo > hi {
                return Scale {
                    lo: 0.0,
                    hi: 1.0,
                    log: true,
                    int: false,
                };
            }
            let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
            return Scale {
                lo,
                hi: if hi <= lo { lo + 1.0 } else { hi },
                log: true,
                int: false,
            };
        }
        let mut max: f64 = 0.0;
        let stacked: Vec<&Series> = self.series.iter().filter(on).filter(|s| s.stack).collect();
        if !stacked.is_empty() {
            let n = stacked.iter().map(|s| s.values.len()).max().unwrap_or(0);
            for i in 0..n {
                max = max.max(
                    stacked
                        .iter()
                        .map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0))
                        .sum(),
                );
            }
        }
        let mut points: f64 = 0.0;
        for s in self.series.iter().filter(on).filter(|s| !s.stack) {
            let m = s.values.iter().flatten().copied().fold(0.0, f64::max);
            max = max.max(m);
            if s.kind != Kind::Step {
                points = points.max(m);
            }
        }
        // Points (lines, dots) never sit on the top border: when the largest lands on a tick, the
        // axis goes one step further (a Retry-After of 2 s throughout reads against 0–2.5).
        let mut hi = nice_max(max);
        if points > 0.0 && points >= hi - 1e-9 * hi {
            hi = nice_max(points * (1.0 + 1e-6));
        }
        let int = self.series.iter().filter(on).all(|s| s.decimals == Some(0));
        Scale {
            lo: 0.0,
            hi: if int { hi.max(1.0).ceil() } else { hi },
            log: false,
            int,
        }
    }

    /// x position of value index `i` of a series drawn as `kind`, in inner units. On a time axis a
    /// step covers its second (centred on its middle); a point (line, dot) stands at the end of
    /// its second, when all it summarizes had happened: a 429 at 7.98 s is never drawn left of a
    /// marker at 7.98 s.
    pub(super) fn xi(&self, i: usize, kind: Kind) -> i64 {
        match &self.x {
            XAxis::Time { .. } if kind == Kind::Step => 2 * i as i64 + 1,
            XAxis::Time { .. } => 2 * i as i64 + 2,
            XAxis::Percentile { xs } => (xs.get(i).copied().unwrap_or(0.0) * 1000.0).round() as i64,
        }
    }

    pub(super) fn x_title(&self) -> &'static str {
        match self.x {
            XAxis::Time { .. } => "time since start",
            XAxis::Percentile { .. } => "percentile (log scale)",
        }
    }

    /// Tick positions as fractions of the plot width, with labels.
    pub(super) fn x_ticks(&self) -> Vec<(f64, String)> {
        match &self.x {
            XAxis::Time { seconds } => {
                let n = (*seconds).max(1) as f64;
                let step = [
                    1u32, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800,
                    86400,
                ]
                .into_iter()
                .find(|s| n / f64::from(*s) <= 10.0)
                .unwrap_or(86400);
                (0..)
                    .map(|k| k * step)
                    .take_while(|t| f64::from(*t) <= n)
                    .map(|t| {
                        let label = if step % 60 == 0 {
                            format!("{} min", t / 60)
                        } else {
                            format!("{t} s")
                        };
                        (f64::from(t) / n, label)
                    })
                    .collect()
            }
            XAxis::Percentile { xs } => {
                let max = xs.last().copied().unwrap_or(1.0).max(1.0);
                let xd = self.xd() as f64 / 1000.0;
                let names = [
                    "0%",
                    "90%",
                    "99%",
                    "99.9%",
                    "99.99%",
                    "99.999%",
                    "99.9999%",
                    "99.99999%",
                ];
                (0..names.len())
                    .filter(|k| *k as f64 <= max + 1e-9)
                    .map(|k| (k as f64 / xd, names[k].to_string()))
                    .collect()
            }
        }
    }
}
