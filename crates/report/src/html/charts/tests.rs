//! The charts as a reader meets them in `report.html`.

use surge_analysis::Facts;
use surge_record::synthetic::{from_timeline as result, sec};
use surge_record::RunResult;

/// The `<figure>` of chart `id` in the page of `r`.
fn figure(r: &RunResult, id: &str) -> String {
    let html = super::super::render_with(r, &Facts::of(r), &crate::next::Next::of(r, None));
    let at = html
        .find(&format!("<figure class=\"chart\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let rest = &html[at..];
    rest[..rest.find("</figure>").unwrap()].to_string()
}

/// The dots of the series `data-i=i`: (x in seconds, inner y) each.
fn dots(fig: &str, i: usize) -> Vec<(f64, i64)> {
    let g = &fig[fig
        .find(&format!("<g class=\"s\" data-i=\"{i}\">"))
        .unwrap()..];
    let d = &g[g.find(" d=\"").unwrap() + 4..];
    let d = &d[..d.find('"').unwrap()];
    d.split('M')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = p.trim_end_matches("h0");
            let (x, y) = p.split_once(' ').unwrap();
            (x.parse::<f64>().unwrap() / 2.0, y.parse().unwrap())
        })
        .collect()
}

fn number_after(s: &str, key: &str) -> f64 {
    let at = s.find(key).unwrap_or_else(|| panic!("no {key}")) + key.len();
    let tail = &s[at..];
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tail.len());
    tail[..end].parse().unwrap()
}

/// 12 s: 200s only until second 7, whose last response is the first 429 (at 7.985 s); then 429s,
/// every one with `Retry-After: 2`.
fn late_429(ra: u32) -> RunResult {
    let tl = (0..12)
        .map(|t| sec(t, 4, 8, u64::from(t >= 7), None, Some(ra)))
        .collect();
    let mut r = result(tl, surge_record::PlanSummary::default());
    r.totals.first_429_s = Some(7.985);
    r
}

#[test]
fn one_retry_after_value_is_one_series_below_the_top_of_its_axis() {
    let fig = figure(&late_429(2), "c-retry");
    assert_eq!(fig.matches("class=\"key").count(), 1, "one legend entry");
    assert!(fig.contains(">Retry-After</button>"), "{fig}");
    let ymax = number_after(&fig, "\"ymax\":");
    assert!(ymax > 2.0, "the axis reaches past the value: {ymax}");
    for (_, y) in dots(&fig, 0) {
        assert!(y > 0, "no dot on the top border");
    }
}

#[test]
fn no_point_stands_left_of_the_first_429_it_followed() {
    let fig = figure(&late_429(2), "c-retry");
    let marker_px = number_after(&fig, "<g class=\"marker\"><line x1=\"");
    // The plot spans LEFT..right edge over 12 s; the marker's pixel, back in seconds.
    let (l, w) = (64.0, 960.0 - 20.0 - 64.0);
    let marker_s = (marker_px - l) / w * 12.0;
    assert!((marker_s - 7.985).abs() < 0.01, "{marker_s}");
    let pts = dots(&fig, 0);
    assert_eq!(pts.len(), 5, "{pts:?}");
    for (x, _) in pts {
        assert!(
            x >= marker_s,
            "a dot at {x} s, before the first 429 at {marker_s} s"
        );
    }
}

#[test]
fn marker_labels_stand_above_the_plot() {
    let fig = figure(&late_429(2), "c-users");
    let plot_top = number_after(&fig, "<rect class=\"hit\" x=\"64\" y=\"");
    let g = &fig[fig.find("<g class=\"marker\">").unwrap()..];
    let label_y = number_after(&g[g.find("<text").unwrap()..], " y=\"");
    assert!(
        label_y < plot_top,
        "label baseline {label_y} is inside the plot (top {plot_top})"
    );
}

#[test]
fn a_series_drawn_on_another_says_so_in_the_legend() {
    // The fixture's response latencies are empty, so build one where they equal service times.
    let mut r = surge_record::synthetic::result(30, &["get"]);
    for s in &mut r.timeline {
        s.response_latency = s.latency.clone();
    }
    let fig = figure(&r, "c-lat-2xx");
    assert!(
        fig.contains(
            "p99 from intended start<em class=\"same\"> = p99 throughout (drawn on it)</em>"
        ),
        "{fig}"
    );
    // Different values: no such note.
    let mut r2 = r.clone();
    for s in &mut r2.timeline {
        for q in s.response_latency.values_mut() {
            q.p99 += 100_000;
        }
    }
    assert!(!figure(&r2, "c-lat-2xx").contains("class=\"same\""));
}

#[test]
fn different_retry_after_values_keep_largest_and_smallest() {
    let mut r = late_429(2);
    for s in r.timeline.iter_mut().filter(|s| s.t == 9) {
        s.retry_after.insert(5, 1);
    }
    let fig = figure(&r, "c-retry");
    assert!(fig.contains(">largest</button>") && fig.contains(">smallest</button>"));
}

#[test]
fn counts_of_users_have_no_fractional_ticks() {
    let tl = (0..10).map(|t| sec(t, 2, 3, 0, None, None)).collect();
    let fig = figure(&result(tl, surge_record::PlanSummary::default()), "c-users");
    assert!(fig.contains("<text class=\"tl\" x=\"58.0\" y=\""), "{fig}");
    assert!(
        !fig.contains(">0.5</text>") && !fig.contains(">1.5</text>"),
        "{fig}"
    );
}
