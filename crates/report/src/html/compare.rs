//! `compare.html`: several runs side by side on one self-contained page: their figures with the
//! best run per figure highlighted, and their timelines overlaid (aligned at each run's start).

use std::fmt::Write as _;

use super::svg::{Chart, Kind, Series, XAxis, YAxis};
use super::{esc, CSP, CSS, JS};
use crate::format::figure_with_unit;
use surge_analysis::compare::{best, rows, Better, RunFigures};
use surge_record::{Outcome, RunResult};

/// Distinct colours for runs, in order.
const RUN_COLORS: &[&str] = &[
    "#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626",
    "#475569", "#ca8a04",
];

fn color(i: usize) -> &'static str {
    RUN_COLORS[i % RUN_COLORS.len()]
}

fn per_second(
    runs: &[(String, &RunResult)],
    f: impl Fn(&surge_record::result::Second) -> Option<f64>,
) -> (usize, Vec<Vec<Option<f64>>>) {
    let len = runs
        .iter()
        .map(|(_, r)| r.timeline.len())
        .max()
        .unwrap_or(0);
    let vals = runs
        .iter()
        .map(|(_, r)| {
            let mut v: Vec<Option<f64>> = r.timeline.iter().map(&f).collect();
            v.resize(len, None);
            v
        })
        .collect();
    (len, vals)
}

#[allow(clippy::too_many_arguments)] // one call site per chart, each a table row of its own
fn overlay(
    id: &str,
    title: &str,
    caption: &str,
    left: &str,
    unit: &'static str,
    kind: Kind,
    runs: &[(String, &RunResult)],
    f: impl Fn(&surge_record::result::Second) -> Option<f64>,
) -> Chart {
    let (len, vals) = per_second(runs, f);
    let series = runs
        .iter()
        .zip(vals)
        .enumerate()
        .map(|(i, ((name, _), v))| {
            let mut s = Series::new(name.clone(), color(i), kind, v);
            s.unit = unit;
            s
        })
        .collect::<Vec<_>>();
    let empty = series
        .iter()
        .all(|s| s.values.iter().all(|v| v.is_none_or(|x| x == 0.0)))
        .then(|| "no data in any run".to_string());
    Chart {
        id: id.into(),
        title: title.into(),
        caption: caption.into(),
        x: XAxis::Time {
            seconds: len.max(1),
        },
        left: YAxis {
            title: left.into(),
            log: false,
        },
        right: None,
        series,
        markers: vec![],
        empty,
    }
}

/// Renders the comparison page.
pub fn render(runs: &[(String, &RunResult)], figs: &[RunFigures]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">");
    let _ = write!(out, "<title>surge compare · {} runs</title>", runs.len());
    out.push_str(
        "<script>window.__surgeErrors=[];addEventListener('error',function(e){__surgeErrors.push('error: '+(e.message||'resource'))},true);\
         addEventListener('securitypolicyviolation',function(e){__surgeErrors.push('blocked by CSP: '+e.blockedURI)});</script>",
    );
    let _ = write!(
        out,
        "<style>{CSS}td.best{{background:#dcfce7;font-weight:600}}</style></head><body>"
    );
    let _ = write!(out, "<header><div class=\"brand\">surge compare</div><h1>{} runs side by side</h1><p class=\"meta\">", runs.len());
    for (i, (name, r)) in runs.iter().enumerate() {
        let _ = write!(
            out,
            "<span style=\"border-left:4px solid {}; padding-left:6px\">{} · {} · {:.1} s{}</span>",
            color(i),
            esc(name),
            esc(&r.target.host),
            r.duration_s,
            if r.simulated { " · simulated" } else { "" }
        );
    }
    out.push_str("</p></header><main>");

    // Figures table: one row per figure, one column per run; the best cell highlighted.
    let best = best(figs);
    out.push_str("<section><h2>Figures</h2><p class=\"desc\">Highlighted: the best run for each figure, and every run within the runs' noise (95 %) of it; none where no difference stands out of the noise. Batch time, latencies and retries rank only the runs whose every request finally succeeded. Latencies are service times of successes only. Transactions, when the runs have them, follow: how many ended, how many of those failed (any outcome but success), and the time of the successful ones.</p><div class=\"scroll\"><table><thead><tr><th>figure</th><th>better</th>");
    for (name, _) in runs {
        let _ = write!(out, "<th>{}</th>", esc(name));
    }
    out.push_str("</tr></thead><tbody>");
    let rows = rows(figs);
    for (i, f) in rows.iter().enumerate() {
        let dir = match f.better {
            Some(Better::Higher) => "higher",
            Some(Better::Lower) => "lower",
            None => "",
        };
        if let Some(t) = f
            .transaction
            .as_ref()
            .filter(|t| i == 0 || rows[i - 1].transaction.as_ref() != Some(*t))
        {
            let _ = write!(
                out,
                "<tr><th colspan=\"{}\">transaction {}</th></tr>",
                figs.len() + 2,
                esc(t)
            );
        }
        let title = match &f.transaction {
            Some(t) => format!("{t}: {}", f.title),
            None => f.title.to_string(),
        };
        let _ = write!(out, "<tr><td>{}</td><td>{dir}</td>", esc(&title));
        for (k, v) in f.values.iter().enumerate() {
            let cls = if best[i].contains(&k) {
                " class=\"best\""
            } else {
                ""
            };
            let _ = write!(out, "<td{cls}>{}</td>", figure_with_unit(v.value, f.unit));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");

    let charts = [
        overlay("c-ok", "2xx responses per second", "Successes per second of each run, aligned at its start: the steadier and longer the line, the more work got through.", "2xx / s", "/s", Kind::Step, runs, |s| Some(s.by_outcome.get(&Outcome::Success).copied().unwrap_or(0) as f64)),
        overlay("c-429", "429 responses per second", "Throttled responses per second of each run: a flat zero line is a run that stayed under the limit.", "429 / s", "/s", Kind::Step, runs, |s| Some(s.by_outcome.get(&Outcome::Throttled).copied().unwrap_or(0) as f64)),
        overlay("c-p95", "p95 service time of successes", "The 95th percentile of successful responses in each second (429s excluded), per run.", "ms", "ms", Kind::Line, runs, |s| s.latency.get(&Outcome::Success).map(|q| q.p95 as f64 / 1000.0)),
        overlay("c-users", "Active users", "Users busy or running in each second, per run: the load each strategy applied.", "users", "", Kind::Step, runs, |s| Some(f64::from(s.active_users))),
    ];
    out.push_str("<section id=\"charts\"><h2>Over time</h2>");
    for c in &charts {
        c.render(&mut out);
    }
    out.push_str("</section></main><footer>Built by surge compare; self-contained: no request leaves this page.</footer><pre id=\"selftest\" hidden></pre><script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use surge_analysis::compare::figures;

    #[test]
    fn page_shows_every_run_and_highlights_the_best() {
        let mut a = surge_record::synthetic::result(30, &["publish"]);
        a.totals.final_by_outcome = [(Outcome::Success, a.totals.requests)].into();
        let mut b = a.clone();
        b.totals.completion_s = a.totals.completion_s + 10.0;
        let runs = vec![("ramp 0s".to_string(), &a), ("ramp <10s>".to_string(), &b)];
        let figs: Vec<_> = runs.iter().map(|(n, r)| figures(n, r)).collect();
        let html = render(&runs, &figs);
        assert!(html.contains("ramp 0s") && html.contains("ramp &lt;10s&gt;"));
        assert!(html.contains(CSP));
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 4);
        assert!(html.contains("class=\"best\""));
        for attr in ["src=\"http", "href=\"http", "url("] {
            assert!(!html.contains(attr));
        }
    }
}
