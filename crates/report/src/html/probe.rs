//! `probe.html`: `surge probe`'s findings on one self-contained page: the limit, its scope, the
//! pace, and each search over time (the rate it sent at, what was admitted and refused each
//! second, its estimate, its pauses), with a link to each search's own report.

use std::fmt::Write as _;

use super::svg::{Chart, Kind, Marker, Series, Side, XAxis, YAxis};
use super::{esc, CSP, CSS, JS};
use surge_analysis::limit::file::{LimitFile, SearchRecord};
use surge_record::{Outcome, RunResult};

/// The rate in force at the end of each second, from the search's steps.
fn rate_per_second(s: &SearchRecord, seconds: usize) -> Vec<Option<f64>> {
    (0..seconds)
        .map(|t| {
            let at = t as f64 + 1.0;
            let step = s.steps.iter().rev().find(|st| st.t_s <= at)?;
            let paused = s
                .steps
                .iter()
                .filter(|st| st.t_s <= at)
                .any(|st| st.paused_until_s.is_some_and(|p| p > at));
            Some(if paused { 0.0 } else { step.rate_at(at) })
        })
        .collect()
}

fn search_chart(i: usize, s: &SearchRecord, r: &RunResult) -> Chart {
    let seconds = r.timeline.len().max(1);
    let by_start = |f: &dyn Fn(&surge_record::result::Second) -> u64| -> Vec<Option<f64>> {
        let mut v = vec![Some(0.0); seconds];
        for sec in &r.timeline {
            if let Some(x) = v.get_mut(sec.t as usize) {
                *x = Some(f(sec) as f64);
            }
        }
        v
    };
    let thr = |sec: &surge_record::result::Second| {
        sec.by_outcome
            .get(&Outcome::Throttled)
            .copied()
            .unwrap_or(0)
    };
    let mut admitted = Series::new(
        "admitted / s",
        "#16a34a",
        Kind::Step,
        by_start(&|sec| sec.started.saturating_sub(thr(sec))),
    );
    admitted.stack = true;
    admitted.unit = "/s";
    admitted.decimals = Some(0);
    let mut refused = Series::new("429 / s", "#d97706", Kind::Step, by_start(&thr));
    refused.stack = true;
    refused.unit = "/s";
    refused.decimals = Some(0);
    // The rate means nothing once the search has sent its last request.
    let last = r
        .timeline
        .iter()
        .filter(|sec| sec.started > 0)
        .map(|sec| sec.t as usize)
        .max()
        .unwrap_or(0);
    let mut sent_at = rate_per_second(s, seconds);
    for v in sent_at.iter_mut().skip(last + 1) {
        *v = None;
    }
    let mut rate = Series::new("rate sent at", "#2563eb", Kind::Line, sent_at);
    rate.unit = "/s";
    let mut series = vec![admitted, refused, rate];
    if let Some(est) = s.estimate.fit().map(|f| f.sustained_rate_per_s) {
        let mut e = Series::new(
            "sustained rate found",
            "#7c3aed",
            Kind::Line,
            vec![Some(est); seconds],
        );
        e.dash = true;
        e.unit = "/s";
        series.push(e);
    }
    // The first 429, then each pause the search began (at most six), one label per place: a
    // label takes about a sixth of the chart's width, so marks closer than that share one.
    let near = seconds as f64 / 6.0;
    let mut markers: Vec<Marker> = Vec::new();
    if let Some(f) = r.totals.first_429_s {
        markers.push(Marker {
            x: f,
            label: "first 429".into(),
        });
    }
    for st in s.steps.iter().filter(|st| st.paused_until_s.is_some()) {
        let room = markers.len() < 7;
        match markers.iter_mut().find(|m| (m.x - st.t_s).abs() < near) {
            Some(m) if !m.label.contains("paused") => m.label += " · paused",
            Some(_) => {}
            None if room => markers.push(Marker {
                x: st.t_s,
                label: "paused".into(),
            }),
            None => {}
        }
    }
    for x in &mut series {
        x.side = Side::Left;
    }
    Chart {
        id: format!("c-search-{}", i + 1),
        title: format!(
            "{} · Search over {} — requests by when they were sent",
            i + 1,
            surge_record::plural(u64::from(s.tokens), "token")
        ),
        caption: "Admitted (green) and refused (amber) requests per second by when they were sent, the rate \
                  the search sent at (blue; 0 while it paused: a Retry-After, or a wait for the limiter to clear) and the sustained rate it \
                  found (dashed)."
            .into(),
        x: XAxis::Time { seconds },
        left: YAxis {
            title: "requests / s".into(),
            log: false,
        },
        right: None,
        series,
        markers,
        empty: (r.totals.requests == 0).then(|| "This search sent no request.".to_string()),
    }
}

/// Renders the probe page from `limit.json` and the searches' results (in the same order).
pub fn render(f: &LimitFile, searches: &[&RunResult]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">");
    let _ = write!(
        out,
        "<title>{} · surge probe</title>",
        esc(&f.scenario.name)
    );
    out.push_str(
        "<script>window.__surgeErrors=[];addEventListener('error',function(e){__surgeErrors.push('error: '+(e.message||'resource'))},true);\
         addEventListener('securitypolicyviolation',function(e){__surgeErrors.push('blocked by CSP: '+e.blockedURI)});</script>",
    );
    let _ = write!(out, "<style>{CSS}</style></head><body>");
    let _ = write!(
        out,
        "<header><div class=\"brand\">surge probe</div><h1>{}</h1><p class=\"meta\">{} · {}{}</p></header><main>",
        esc(&f.scenario.name),
        esc(&f.target.base_url),
        esc(&f.started_at),
        if f.simulated { " · simulated" } else { "" }
    );
    out.push_str("<section id=\"limit\" class=\"diag throttled\"><h2>The limit</h2><ul>");
    for line in &f.words.headline {
        let _ = write!(out, "<li>{}</li>", esc(line));
    }
    let _ = write!(
        out,
        "</ul><p class=\"rec\"><b>Recommendation</b> {}</p></section>",
        esc(&f.words.recommendation)
    );
    out.push_str("<section id=\"charts\"><h2>The searches over time</h2>");
    for (i, (s, r)) in f.searches.iter().zip(searches).enumerate() {
        search_chart(i, s, r).render(&mut out);
        let report = s.result.replace("result.json", "report.html");
        let _ = write!(
            out,
            "<p class=\"note\">Every request of this search: <a href=\"{}\">{}</a>.</p>",
            esc(&report),
            esc(&report)
        );
    }
    out.push_str("</section></main><footer>Built by surge probe from <code>limit.json</code>; self-contained: no request leaves this page.</footer><pre id=\"selftest\" hidden></pre><script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
    out
}
