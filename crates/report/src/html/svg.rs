//! A small SVG chart renderer: axes with nice ticks, units and titles; step, line, stacked-area
//! and dot series; markers; and the JSON each chart embeds for hover and legend toggling.
//!
//! Series are drawn in an inner `<svg>` whose view box is in data units (two x units per
//! second, 1000 y units), scaled to the plot with `preserveAspectRatio="none"` and
//! non-scaling strokes, so paths are short relative commands with integer coordinates: a
//! one-hour run stays well under a megabyte.

use std::fmt::Write as _;

use super::axis::{num, Scale};
use super::esc;
use super::path::{dots_path, line_path, stacked_path, step_path};

/// Outer width of a chart, in SVG user units (the page scales it to the column width).
pub const WIDTH: f64 = 960.0;
/// Outer height of a chart.
pub const HEIGHT: f64 = 296.0;
/// Inner y resolution (data units over the plot's height).
pub const YD: i64 = 1000;
const LEFT: f64 = 64.0;
/// Height of the band above the plot that holds marker labels.
const MARKER_BAND: f64 = 16.0;
const TOP: f64 = 16.0 + MARKER_BAND;
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

/// The plot's frame in SVG user units: left, right, top, bottom.
#[derive(Debug, Clone, Copy)]
struct Frame {
    l: f64,
    r: f64,
    t: f64,
    b: f64,
}

impl Frame {
    fn w(&self) -> f64 {
        self.r - self.l
    }
    fn h(&self) -> f64 {
        self.b - self.t
    }
}

impl Chart {
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
        let ls = self.scale(Side::Left);
        let rs = self.right.as_ref().map(|_| self.scale(Side::Right));
        let points: Vec<Vec<Option<(i64, i64)>>> = self
            .series
            .iter()
            .map(|s| {
                self.points(
                    s,
                    if s.side == Side::Right {
                        rs.unwrap_or(ls)
                    } else {
                        ls
                    },
                )
            })
            .collect();
        self.legend(out, &points);
        out.push_str("<div class=\"plot\">");
        let f = Frame {
            l: LEFT,
            r: self.right_edge(),
            t: TOP,
            b: HEIGHT - BOTTOM,
        };
        let _ = write!(
            out,
            "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">",
            esc(&self.title)
        );
        self.axes(out, f, ls, rs);
        self.series_paths(out, f, ls, rs, &points);
        self.markers_svg(out, f);
        let _ = write!(
            out,
            "<line class=\"guide\" x1=\"0\" x2=\"0\" y1=\"{}\" y2=\"{}\" visibility=\"hidden\"/><rect class=\"hit\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></svg><div class=\"tip\" hidden></div></div>",
            f.t, f.b, f.l, f.t, f.w(), f.h()
        );
        self.data_json(out, ls);
        out.push_str("</figure>");
    }

    /// Inner-unit points of a non-stacked series (stacked areas are drawn from their sums).
    fn points(&self, s: &Series, sc: Scale) -> Vec<Option<(i64, i64)>> {
        s.values
            .iter()
            .enumerate()
            .map(|(k, v)| v.and_then(|v| sc.y(v)).map(|y| (self.xi(k, s.kind), y)))
            .collect()
    }

    /// The legend; a series drawn exactly under an earlier one says so instead of looking absent.
    fn legend(&self, out: &mut String, points: &[Vec<Option<(i64, i64)>>]) {
        out.push_str("<div class=\"legend\">");
        for (i, s) in self.series.iter().enumerate() {
            let under = (!s.stack && points[i].iter().any(Option::is_some))
                .then(|| {
                    (0..i).find(|&j| {
                        !self.series[j].stack
                            && self.series[j].kind == s.kind
                            && points[j] == points[i]
                    })
                })
                .flatten();
            let _ = write!(
                out,
                "<button type=\"button\" class=\"key{}\" data-i=\"{i}\" aria-pressed=\"true\" title=\"click to hide or show\"><i style=\"--c:{}\"></i>{}",
                if s.dash { " dash" } else { "" },
                esc(&s.color),
                esc(&s.name)
            );
            if let Some(j) = under {
                let _ = write!(
                    out,
                    "<em class=\"same\"> = {} throughout (drawn on it)</em>",
                    esc(&self.series[j].name)
                );
            }
            out.push_str("</button>");
        }
        out.push_str("</div>");
    }

    /// Grid, ticks and axis titles.
    fn axes(&self, out: &mut String, f: Frame, ls: Scale, rs: Option<Scale>) {
        out.push_str("<g class=\"grid\">");
        for (v, label) in ls.ticks() {
            let y = f.t + f.h() * (ls.y(v).unwrap_or(YD) as f64 / YD as f64);
            let _ = write!(
                out,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tl\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                f.l,
                f.r,
                f.l - 6.0,
                y + 4.0
            );
        }
        if let Some(rs) = rs {
            for (v, label) in rs.ticks() {
                let y = f.t + f.h() * (rs.y(v).unwrap_or(YD) as f64 / YD as f64);
                let _ = write!(
                    out,
                    "<text class=\"tr\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                    f.r + 6.0,
                    y + 4.0
                );
            }
        }
        for (x, label) in self.x_ticks() {
            let px = f.l + f.w() * x;
            let _ = write!(
                out,
                "<line class=\"xt\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{}\" y2=\"{:.1}\"/><text class=\"tx\" x=\"{px:.1}\" y=\"{:.1}\">{label}</text>",
                f.t,
                f.b + 4.0,
                f.b + 17.0
            );
        }
        out.push_str("</g>");
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>",
            f.l, f.r, f.b, f.b
        );
        let _ = write!(
            out,
            "<text class=\"at\" transform=\"translate(14 {:.1}) rotate(-90)\">{}</text>",
            f.t + f.h() / 2.0,
            esc(&self.left.title)
        );
        if let Some(ra) = &self.right {
            let _ = write!(
                out,
                "<text class=\"at\" transform=\"translate({:.1} {:.1}) rotate(90)\">{}</text>",
                WIDTH - 14.0,
                f.t + f.h() / 2.0,
                esc(&ra.title)
            );
        }
        let _ = write!(
            out,
            "<text class=\"at\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            f.l + f.w() / 2.0,
            HEIGHT - 4.0,
            self.x_title()
        );
    }

    /// The series, in the inner data-unit `<svg>`.
    fn series_paths(
        &self,
        out: &mut String,
        f: Frame,
        ls: Scale,
        rs: Option<Scale>,
        points: &[Vec<Option<(i64, i64)>>],
    ) {
        let xd = self.xd();
        let _ = write!(
            out,
            "<svg class=\"data\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {xd} {YD}\" preserveAspectRatio=\"none\">",
            f.l, f.t, f.w(), f.h()
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
                let pts = &points[i];
                let d = match s.kind {
                    Kind::Step => step_path(pts),
                    Kind::Line => line_path(pts),
                    Kind::Dots => dots_path(pts),
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
    }

    /// Vertical markers; their labels stand in the band above the plot, where no series is drawn.
    fn markers_svg(&self, out: &mut String, f: Frame) {
        let xd = self.xd();
        for m in &self.markers {
            let frac = match &self.x {
                XAxis::Time { seconds } => m.x / (*seconds).max(1) as f64,
                XAxis::Percentile { .. } => m.x * 1000.0 / xd as f64,
            };
            let px = f.l + f.w() * frac.clamp(0.0, 1.0);
            let (anchor, dx) = if frac > 0.8 {
                ("end", -4.0)
            } else {
                ("start", 4.0)
            };
            let _ = write!(
                out,
                "<g class=\"marker\"><line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
                f.t - MARKER_BAND + 3.0,
                f.b,
                px + dx,
                f.t - MARKER_BAND + 11.0,
                esc(&m.label)
            );
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
        // Points (lines, dots) of a time chart stand at the end of their second.
        if matches!(self.x, XAxis::Time { .. }) && self.series.iter().all(|s| s.kind != Kind::Step)
        {
            out.push_str(",\"xe\":true");
        }
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
    use super::super::axis::{nice_max, nice_step};
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
