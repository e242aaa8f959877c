//! SVG path data for the chart series, in the inner data units of [`super::svg`]: short relative
//! commands with integer coordinates (`h`, `v`, `l`), so a one-hour series stays a few kilobytes.

use std::fmt::Write as _;

/// Step path over runs of present points (each covers x-1..x+1).
pub fn step_path(pts: &[Option<(i64, i64)>]) -> String {
    let mut d = String::new();
    let mut prev: Option<i64> = None;
    let mut h = 0i64;
    for p in pts {
        match (p, prev) {
            (Some((x, y)), None) => {
                let _ = write!(d, "M{} {y}", x - 1);
                prev = Some(*y);
                h = 2;
            }
            (Some((_, y)), Some(py)) => {
                if *y != py {
                    let _ = write!(d, "h{h}v{}", y - py);
                    h = 0;
                }
                h += 2;
                prev = Some(*y);
            }
            (None, Some(_)) => {
                let _ = write!(d, "h{h}");
                prev = None;
            }
            (None, None) => {}
        }
    }
    if prev.is_some() {
        let _ = write!(d, "h{h}");
    }
    d
}

/// Stacked step area between `top` and `bottom` (both one y per second).
pub fn stacked_path(top: &[i64], bottom: &[i64]) -> String {
    let n = top.len();
    if n == 0 {
        return String::new();
    }
    let pts: Vec<Option<(i64, i64)>> = top
        .iter()
        .enumerate()
        .map(|(k, y)| Some((2 * k as i64 + 1, *y)))
        .collect();
    let mut d = step_path(&pts);
    // Back along the bottom edge, right to left.
    let mut py = top[n - 1];
    let mut h = 0i64;
    for k in (0..n).rev() {
        let y = bottom[k];
        if y != py {
            if h > 0 {
                let _ = write!(d, "h-{h}");
            }
            let _ = write!(d, "v{}", y - py);
            h = 0;
            py = y;
        }
        h += 2;
    }
    if h > 0 {
        let _ = write!(d, "h-{h}");
    }
    d.push('Z');
    d
}

/// Straight lines between consecutive present points; a lone point draws as a dot.
pub fn line_path(pts: &[Option<(i64, i64)>]) -> String {
    let mut d = String::new();
    let mut prev: Option<(i64, i64)> = None;
    let mut run = 0;
    for p in pts {
        match (p, prev) {
            (Some((x, y)), None) => {
                let _ = write!(d, "M{x} {y}");
                run = 1;
                prev = Some((*x, *y));
            }
            (Some((x, y)), Some((px, py))) => {
                let _ = write!(d, "l{} {}", x - px, y - py);
                run += 1;
                prev = Some((*x, *y));
            }
            (None, Some(_)) => {
                if run == 1 {
                    d.push_str("h0");
                }
                prev = None;
            }
            (None, None) => {}
        }
    }
    if prev.is_some() && run == 1 {
        d.push_str("h0");
    }
    d
}

/// One round dot per present point (zero-length segments with round caps).
pub fn dots_path(pts: &[Option<(i64, i64)>]) -> String {
    let mut d = String::new();
    for (x, y) in pts.iter().flatten() {
        let _ = write!(d, "M{x} {y}h0");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_short_relative_and_break_on_gaps() {
        let p = |v: &[Option<i64>]| {
            v.iter()
                .enumerate()
                .map(|(i, y)| y.map(|y| (2 * i as i64 + 1, y)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            step_path(&p(&[Some(10), Some(10), Some(5), None, Some(7)])),
            "M0 10h4v-5h2M8 7h2"
        );
        assert_eq!(
            line_path(&p(&[Some(10), Some(12), None, Some(7)])),
            "M1 10l2 2M7 7h0"
        );
        assert_eq!(
            stacked_path(&[900, 800], &[1000, 1000]),
            "M0 900h2v-100h2v200h-4Z"
        );
        assert_eq!(dots_path(&p(&[Some(3), None, Some(4)])), "M1 3h0M5 4h0");
    }
}
