//! One figure, one value: the terminal, `summary.csv` and `report.html` print the same number for
//! the same percentile, rate and share, and the same diagnosis.

use super::*;
use surge_record::Outcome;

/// The numeric cells of the HTML table row that starts with `label` and the status chip `status`.
fn html_row(html: &str, label: &str, status: &str) -> Vec<String> {
    let start = html
        .find(&format!("<td>{label}</td>"))
        .unwrap_or_else(|| panic!("no row for {label}"));
    let rows = &html[start..];
    let at = rows
        .find(&format!(">{status}</span>"))
        .unwrap_or_else(|| panic!("no {status} row"));
    let row = &rows[at..rows[at..].find("</tr>").unwrap() + at];
    row.split("<td class=\"n\">")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap().to_string())
        .collect()
}

fn csv_row(f: &Figures, label: &str, status: &str) -> std::collections::HashMap<String, String> {
    let mut buf = Vec::new();
    csv::write_summary(f, &mut buf).unwrap();
    let mut rd = ::csv::Reader::from_reader(buf.as_slice());
    let head: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    for rec in rd.records() {
        let rec = rec.unwrap();
        if &rec[0] == label && &rec[1] == status {
            return head
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect();
        }
    }
    panic!("no csv row {label} {status}");
}

use surge_analysis::figures::Figures;

#[test]
fn terminal_csv_and_html_print_the_same_percentiles_rates_and_shares() {
    let r = surge_record::synthetic::result(90, &["publish"]);
    let facts = Facts::of(&r);
    let term = terminal::summary_with(&r, &facts, &crate::next::Next::default());
    let html = html::render_with(&r, &facts, &crate::next::Next::default());
    for (outcome, status) in [(Outcome::Success, "200"), (Outcome::Throttled, "429")] {
        let line = term
            .lines()
            .find(|l| l.starts_with(&format!("publish {}", outcome.name())))
            .unwrap_or_else(|| panic!("no terminal row for {outcome:?} in\n{term}"));
        let t: Vec<&str> = line.split_whitespace().collect();
        // publish <outcome> count p50 p95 p99 max req/s
        let (t_count, t_p50, t_p95, t_p99, t_max, t_rate) = (t[2], t[3], t[4], t[5], t[6], t[7]);
        let h = html_row(&html, "publish", status);
        // count share rate retries p50 p90 p95 p99 max p99(response)
        assert_eq!(h[0], t_count);
        assert_eq!(h[2], t_rate, "rate per second");
        assert_eq!(h[4], t_p50, "p50");
        assert_eq!(h[6], t_p95, "p95");
        assert_eq!(h[7], t_p99, "p99");
        assert_eq!(h[8], t_max, "max");
        let c = csv_row(&facts.figures, "publish", status);
        assert_eq!(c["count"], t_count);
        let human = |col: &str| {
            let v: f64 = c[col].parse().unwrap();
            format::ms((v * 1000.0).round() as u64)
        };
        assert_eq!(human("p50_ms"), t_p50);
        assert_eq!(human("p95_ms"), t_p95);
        assert_eq!(human("p99_ms"), t_p99);
        assert_eq!(human("max_ms"), t_max);
        let share: f64 = c["share"].parse().unwrap();
        assert_eq!(format::pct(share), h[1], "share");
        let rate: f64 = c["rate_per_s"].parse().unwrap();
        assert_eq!(format::rate(rate), t_rate);
    }
    // The 2xx p95 card is the same figure again.
    let p95 = facts.figures.overview.success_service.unwrap().p95_us;
    assert!(html.contains(&format!("<div class=\"v\">{} ms</div>", format::ms(p95))));
}

/// The terminal, report.html and result.json's words say one diagnosis, from one set of facts:
/// for a run with a pace (measured, or named by headers), one too short to tell, and one never
/// throttled.
#[test]
fn the_terminal_and_the_html_say_the_same_diagnosis() {
    use surge_record::synthetic::{cc, from_timeline as result, sec, throttled_run};
    let short: Vec<_> = (0..8)
        .map(|t| sec(t, 20, 30, if t < 5 { 0 } else { 40 }, None, None))
        .collect();
    let clear: Vec<_> = (0..8).map(|t| sec(t, 2, 4, 0, None, None)).collect();
    let runs = [
        surge_record::synthetic::result(120, &["publish"]),
        throttled_run(true),
        throttled_run(false),
        result(short, cc(1)),
        result(clear, cc(1)),
    ];
    for r in &runs {
        let facts = Facts::of(r);
        let term = terminal::summary_with(r, &facts, &crate::next::Next::default());
        let html = html::render_with(r, &facts, &crate::next::Next::default());
        let p = diagnosis::phrase(&facts.diagnosis, &crate::next::Next::default());
        // The terminal ends with the headline, and the HTML holds every tile and sentence of it.
        assert!(
            term.ends_with(&format!("{}\n{}\n", p.headline[0], p.headline[1])),
            "{term}"
        );
        for (k, v) in &p.tiles {
            assert!(
                html.contains(&format!("<dt>{k}</dt><dd>{}</dd>", html::page::text(v))),
                "{k}: {v}"
            );
        }
        for line in p.lines.iter().chain(&p.recommendation) {
            assert!(html.contains(&html::page::text(line)), "{line}");
        }
        // The figures the headline quotes are the tiles' figures.
        let tile = |k: &str| p.tiles.iter().find(|t| t.0 == k).map(|t| t.1.clone());
        if let Some(first) = tile("first 429") {
            assert!(p.headline[0].contains(&format!("first 429 at {first}")));
            assert!(p.headline[0].contains(&format!("at {} with", tile("rate at onset").unwrap())));
            assert!(p.headline[0].contains(&format!(
                "429 share {} from the onset on",
                tile("429 share from the onset on").unwrap()
            )));
            // One pace, said alike in the tile, the headline and the recommendation.
            match &facts.diagnosis.advice {
                Some(a) => {
                    let pace = diagnosis::pace_short(a);
                    assert_eq!(tile("recommended pace").unwrap(), pace);
                    assert!(
                        p.headline[1].contains(&format!("pace at {pace}")),
                        "{:?}",
                        p.headline
                    );
                    assert!(p.recommendation.as_deref().unwrap().contains(&pace));
                }
                None => {
                    assert_eq!(tile("recommended pace").unwrap(), "none");
                    assert!(p.headline[1].starts_with("→ no pace"), "{:?}", p.headline);
                    assert!(!p
                        .recommendation
                        .as_deref()
                        .unwrap_or("")
                        .contains("Pace at"));
                }
            }
        }
        // result.json keeps the same words beside the facts.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        crate::write_result(r, &facts.diagnosis, &crate::next::Next::default(), &path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            v["diagnosis"]["words"]["headline"][1],
            p.headline[1].as_str()
        );
        let back: surge_analysis::diagnosis::Diagnosis =
            serde_json::from_value(v["diagnosis"].clone()).unwrap();
        assert_eq!(back, facts.diagnosis);
        // Results built from a timeline alone have no cells, which a reader rightly refuses
        // (its counts disagree); the others read back whole.
        if !r.cells.is_empty() {
            assert_eq!(surge_record::RunResult::read(&path).unwrap(), *r);
        }
    }
}
