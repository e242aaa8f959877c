//! A small SVG chart renderer: axes with nice ticks, units and titles; step, line, stacked-area
//! and dot series; markers; and the JSON each chart embeds for hover and legend toggling.
//!
//! Series are drawn in an inner `<svg>` whose view box is in data units (two x units per
//! second, 1000 y units), scaled to the plot with `preserveAspectRatio="none"` and
//! non-scaling strokes, so paths are short relative commands with integer coordinates: a
//! one-hour run stays well under a megabyte.

use std::fmt::Write as _;

use super::esc;
use super::path::{dots_path, line_path, stacked_path, step_path};

/// Outer width of a chart, in SVG user units (the page scales it to the column width).
pub const WIDTH: f64 = 960.0;
/// Outer height of a chart.
pub const HEIGHT: f64 = 280.0;
/// Inner y resolution (data units over the plot's height).
pub const YD: i64 = 1000;
const LEFT: f64 = 64.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Constant over each second (counts); stacked when [`Series::stack`] is set.
    Step,
    /// Points joined by straight lines (quantiles).
    Line,
    /// One dot per value.
    Dots,
}

/// Which y axis a series reads against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left axis.
    Left,
    /// The right axis.
    Right,
}

/// One series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// One value per x position; `None` draws nothing there.
    pub values: Vec<Option<f64>>,
    /// Drawing style.
    pub kind: Kind,
    /// Axis.
    pub side: Side,
    /// Dashed stroke.
    pub dash: bool,
    /// Stroke width in px.
    pub width: f64,
    /// Part of the stacked areas of the left axis.
    pub stack: bool,
    /// Unit shown after values on hover ("ms", "/s", "s", "").
    pub unit: &'static str,
    /// Decimals on hover (None: three significant digits).
    pub decimals: Option<usize>,
}

impl Series {
    /// A series with the common defaults: a 1.5 px line on the left axis.
    pub fn new(
        name: impl Into<String>,
        color: impl Into<String>,
        kind: Kind,
        values: Vec<Option<f64>>,
    ) -> Series {
        Series {
            name: name.into(),
            color: color.into(),
            values,
            kind,
            side: Side::Left,
            dash: false,
            width: 1.5,
            stack: false,
            unit: "",
            decimals: None,
        }
    }
}

/// The x axis.
#[derive(Debug, Clone)]
pub enum XAxis {
    /// Seconds since the start; one value per second.
    Time {
        /// Number of seconds.
        seconds: usize,
    },
    /// Percentiles on a log scale: `xs[i] = log10(1 / (1 - q))`.
    Percentile {
        /// Positions of the values.
        xs: Vec<f64>,
    },
}

/// A y axis.
#[derive(Debug, Clone)]
pub struct YAxis {
    /// Title, with its unit.
    pub title: String,
    /// Logarithmic (values ≤ 0 are not drawn).
    pub log: bool,
}

/// A vertical marker (e.g. the first 429).
#[derive(Debug, Clone)]
pub struct Marker {
    /// x in data units (seconds for time charts).
    pub x: f64,
    /// Text at its top.
    pub label: String,
}

/// One chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Element id (unique in the page).
    pub id: String,
    /// Title.
    pub title: String,
    /// The one-line caption: what to read from it.
    pub caption: String,
    /// The x axis.
    pub x: XAxis,
    /// The left axis.
    pub left: YAxis,
    /// The right axis, if any series uses it.
    pub right: Option<YAxis>,
    /// Series, in legend order (stacked series from the bottom up).
    pub series: Vec<Series>,
    /// Markers.
    pub markers: Vec<Marker>,
    /// When set, the chart has nothing to show and says why instead.
    pub empty: Option<String>,
}

/// A linear or log scale from values to inner y units.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn y(&self, v: f64) -> Option<i64> {
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
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            (self.lo.round() as i32..=self.hi.round() as i32)
                .map(|e| (10f64.powi(e), num(10f64.powi(e))))
                .collect()
        } else {
            let step = nice_step(self.hi - self.lo);
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
    fn xd(&self) -> i64 {
        match &self.x {
            XAxis::Time { seconds } => 2 * (*seconds).max(1) as i64,
            XAxis::Percentile { xs } => {
                ((xs.last().copied().unwrap_or(1.0).max(1.0)) * 1000.0).ceil() as i64
            }
        }
    }

    fn right_edge(&self) -> f64 {
        if self.right.is_some() {
            WIDTH - 64.0
        } else {
            WIDTH - 20.0
        }
    }

    fn scale(&self, side: Side) -> Scale {
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
                };
            }
            let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
            return Scale {
                lo,
                hi: if hi <= lo { lo + 1.0 } else { hi },
                log: true,
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
        for s in self.series.iter().filter(on).filter(|s| !s.stack) {
            max = s.values.iter().flatten().copied().fold(max, f64::max);
        }
        Scale {
            lo: 0.0,
            hi: nice_max(max),
            log: false,
        }
    }

    /// x position of value index `i` in inner units (the middle of a second for time charts).
    fn xi(&self, i: usize) -> i64 {
        match &self.x {
            XAxis::Time { .. } => 2 * i as i64 + 1,
            XAxis::Percentile { xs } => (xs.get(i).copied().unwrap_or(0.0) * 1000.0).round() as i64,
        }
    }

    /// Renders the chart as a `<figure>`: title, caption, legend, SVG, hover data.
    pub fn render(&self, out: &mut String) {
        let _ = write!(out, "<figure class=\"chart\" id=\"{}\"", esc(&self.id));
        if self.empty.is_some() {
            out.push_str(" data-empty=\"1\"");
        }
        let _ = write!(
            out,
            "><figcaption><h3>{}</h3><p>{}</p></figcaption>",
            esc(&self.title),
            esc(&self.caption)
        );
        if let Some(why) = &self.empty {
            let _ = write!(out, "<div class=\"empty\">{}</div></figure>", esc(why));
            return;
        }
        out.push_str("<div class=\"legend\">");
        for (i, s) in self.series.iter().enumerate() {
            let _ = write!(
                out,
                "<button type=\"button\" class=\"key{}\" data-i=\"{i}\" aria-pressed=\"true\" title=\"click to hide or show\"><i style=\"--c:{}\"></i>{}</button>",
                if s.dash { " dash" } else { "" },
                esc(&s.color),
                esc(&s.name)
            );
        }
        out.push_str("</div><div class=\"plot\">");
        let (l, r, t, b) = (LEFT, self.right_edge(), TOP, HEIGHT - BOTTOM);
        let (pw, ph) = (r - l, b - t);
        let _ = write!(
            out,
            "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">",
            esc(&self.title)
        );
        // Grid and left ticks.
        let ls = self.scale(Side::Left);
        out.push_str("<g class=\"grid\">");
        for (v, label) in ls.ticks() {
            let y = t + ph * (ls.y(v).unwrap_or(YD) as f64 / YD as f64);
            let _ = write!(
                out,
                "<line x1=\"{l}\" x2=\"{r}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>"
            );
            let _ = write!(
                out,
                "<text class=\"tl\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                l - 6.0,
                y + 4.0
            );
        }
        let rs = self.right.as_ref().map(|_| self.scale(Side::Right));
        if let Some(rs) = rs {
            for (v, label) in rs.ticks() {
                let y = t + ph * (rs.y(v).unwrap_or(YD) as f64 / YD as f64);
                let _ = write!(
                    out,
                    "<text class=\"tr\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                    r + 6.0,
                    y + 4.0
                );
            }
        }
        // x ticks.
        for (x, label) in self.x_ticks() {
            let px = l + pw * x;
            let _ = write!(
                out,
                "<line class=\"xt\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{t}\" y2=\"{:.1}\"/>",
                b + 4.0
            );
            let _ = write!(
                out,
                "<text class=\"tx\" x=\"{px:.1}\" y=\"{:.1}\">{label}</text>",
                b + 17.0
            );
        }
        out.push_str("</g>");
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\"/>"
        );
        // Axis titles.
        let _ = write!(
            out,
            "<text class=\"at\" transform=\"translate(14 {:.1}) rotate(-90)\">{}</text>",
            t + ph / 2.0,
            esc(&self.left.title)
        );
        if let Some(ra) = &self.right {
            let _ = write!(
                out,
                "<text class=\"at\" transform=\"translate({:.1} {:.1}) rotate(90)\">{}</text>",
                WIDTH - 14.0,
                t + ph / 2.0,
                esc(&ra.title)
            );
        }
        let _ = write!(
            out,
            "<text class=\"at\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            l + pw / 2.0,
            HEIGHT - 4.0,
            self.x_title()
        );
        // Series.
        let xd = self.xd();
        let _ = write!(
            out,
            "<svg class=\"data\" x=\"{l}\" y=\"{t}\" width=\"{pw}\" height=\"{ph}\" viewBox=\"0 0 {xd} {YD}\" preserveAspectRatio=\"none\">"
        );
        let (mut lower, mut lower_v): (Vec<i64>, Vec<f64>) = (Vec::new(), Vec::new());
        for (i, s) in self.series.iter().enumerate() {
            let sc = if s.side == Side::Right {
                rs.unwrap_or(ls)
            } else {
                ls
            };
            let _ = write!(out, "<g class=\"s\" data-i=\"{i}\">");
            if s.stack && s.kind == Kind::Step {
                let n = s.values.len();
                if lower.len() < n {
                    lower.resize(n, YD);
                    lower_v.resize(n, 0.0);
                }
                let mut top = lower.clone();
                for (k, v) in s.values.iter().enumerate() {
                    lower_v[k] += v.unwrap_or(0.0);
                    top[k] = sc.y(lower_v[k]).unwrap_or(YD);
                }
                let d = stacked_path(&top, &lower);
                let _ = write!(
                    out,
                    "<path class=\"area\" fill=\"{}\" d=\"{d}\"/>",
                    esc(&s.color)
                );
                lower = top;
            } else {
                let pts: Vec<Option<(i64, i64)>> = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v.and_then(|v| sc.y(v)).map(|y| (self.xi(k), y)))
                    .collect();
                let d = match s.kind {
                    Kind::Step => step_path(&pts),
                    Kind::Line => line_path(&pts),
                    Kind::Dots => dots_path(&pts),
                };
                let _ = write!(
                    out,
                    "<path class=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{} d=\"{d}\"/>",
                    if s.kind == Kind::Dots { "dots" } else { "ln" },
                    esc(&s.color),
                    if s.kind == Kind::Dots {
                        s.width.max(4.0)
                    } else {
                        s.width
                    },
                    if s.dash {
                        " stroke-dasharray=\"5 4\""
                    } else {
                        ""
                    }
                );
            }
            out.push_str("</g>");
        }
        out.push_str("</svg>");
        for m in &self.markers {
            let f = match &self.x {
                XAxis::Time { seconds } => m.x / (*seconds).max(1) as f64,
                XAxis::Percentile { .. } => m.x * 1000.0 / xd as f64,
            };
            let px = l + pw * f.clamp(0.0, 1.0);
            let anchor = if f > 0.8 { "end" } else { "start" };
            let dx = if f > 0.8 { -4.0 } else { 4.0 };
            let _ = write!(
                out,
                "<g class=\"marker\"><line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{t}\" y2=\"{b}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
                px + dx,
                t + 10.0,
                esc(&m.label)
            );
        }
        let _ = write!(
            out,
            "<line class=\"guide\" x1=\"0\" x2=\"0\" y1=\"{t}\" y2=\"{b}\" visibility=\"hidden\"/><rect class=\"hit\" x=\"{l}\" y=\"{t}\" width=\"{pw}\" height=\"{ph}\"/></svg><div class=\"tip\" hidden></div></div>"
        );
        self.data_json(out, ls);
        out.push_str("</figure>");
    }

    fn x_title(&self) -> &'static str {
        match self.x {
            XAxis::Time { .. } => "time since start",
            XAxis::Percentile { .. } => "percentile (log scale)",
        }
    }

    /// Tick positions as fractions of the plot width, with labels.
    fn x_ticks(&self) -> Vec<(f64, String)> {
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

    /// The hover and legend data: `<script type="application/json">`.
    fn data_json(&self, out: &mut String, ls: Scale) {
        let kind = match self.x {
            XAxis::Time { .. } => "time",
            XAxis::Percentile { .. } => "pct",
        };
        let _ = write!(out, "<script type=\"application/json\" class=\"cd\">{{\"x\":\"{kind}\",\"xd\":{},\"yd\":{YD}", self.xd());
        let _ = write!(out, ",\"ymax\":{}", num(ls.hi));
        if let XAxis::Percentile { xs } = &self.x {
            out.push_str(",\"xs\":[");
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", (x * 1000.0).round() as i64);
            }
            out.push(']');
        }
        out.push_str(",\"series\":[");
        for (i, s) in self.series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":{},\"unit\":\"{}\",\"stack\":{},\"dp\":{},\"v\":[",
                json_str(&s.name),
                s.unit,
                s.stack && s.kind == Kind::Step,
                s.decimals.map_or(-1, |d| d as i64)
            );
            for (k, v) in s.values.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                match v {
                    Some(v) if v.is_finite() => out.push_str(&num(*v)),
                    _ => out.push_str("null"),
                }
            }
            out.push_str("]}");
        }
        out.push_str("]}</script>");
    }
}

/// A JSON string literal that is also safe inside `<script>`.
pub fn json_str(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_scales() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.3), 8.0);
        assert_eq!(nice_max(42.0), 50.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_step(100.0), 20.0);
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(1500.0), "1500");
        assert_eq!(json_str("a</script>"), "\"a\\u003c/script\\u003e\"");
    }
}
