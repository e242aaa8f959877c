//! The sections of the page around the charts: header, overview cards, the 429 diagnosis, the
//! tables per label × status, and run metadata (never a secret: host only, no URL, no headers).

use std::fmt::Write as _;

use super::charts::shade;
use super::esc;
use crate::format::{duration, ms, rate, secs, share};
use surge_analysis::diagnosis::{Diagnosis, Verdict};
use surge_analysis::figures::{Figures, Overview};
use surge_record::meta::AuthKind;
use surge_record::result::RunResult;
use surge_record::{Outcome, StatusKey};

fn chip(k: StatusKey) -> String {
    format!(
        "<span class=\"chip\" style=\"--c:{}\">{}</span>",
        shade(k.outcome(), 0),
        esc(&k.label())
    )
}

/// The page header: scenario, host, start, duration and flags.
pub fn header(out: &mut String, r: &RunResult) {
    let _ = write!(
        out,
        "<header><div class=\"brand\">surge report</div><h1>{}</h1>",
        esc(&r.scenario.name)
    );
    if !r.scenario.description.is_empty() {
        let _ = write!(
            out,
            "<p class=\"desc\">{}</p>",
            esc(&r.scenario.description)
        );
    }
    let _ = write!(
        out,
        "<p class=\"meta\"><span>{}</span><span>{}</span><span>{}</span>",
        esc(&crate::format::target(&r.target)),
        esc(&crate::format::when(&r.started_at)),
        duration(r.duration_s)
    );
    if r.partial {
        let _ = write!(
            out,
            "<span class=\"badge warn\">partial: {}</span>",
            esc(&r.stop_reason.to_string())
        );
    }
    if r.simulated {
        out.push_str("<span class=\"badge\">simulated time</span>");
    }
    out.push_str("</p></header>");
}

/// The overview cards.
pub fn overview(out: &mut String, f: &Overview) {
    out.push_str("<section class=\"cards\">");
    let mut card = |class: &str, title: &str, value: String, sub: String| {
        let _ = write!(out, "<div class=\"card {class}\"><div class=\"k\">{title}</div><div class=\"v\">{value}</div><div class=\"s\">{sub}</div></div>");
    };
    card(
        "",
        "requests",
        f.requests.to_string(),
        format!(
            "{} req/s · {}",
            rate(f.rate_per_s),
            surge_record::plural(f.retries, "retry")
        ),
    );
    card("ok", "2xx", f.ok.n.to_string(), share(f.ok));
    card("thr", "429", f.throttled.n.to_string(), share(f.throttled));
    if f.checks_failed.n > 0 {
        card(
            "err",
            "checks failed",
            f.checks_failed.n.to_string(),
            share(f.checks_failed),
        );
    }
    card(
        "err",
        "errors & other",
        f.other.n.to_string(),
        share(f.other),
    );
    card(
        "",
        "first 429",
        f.first_429_s.map_or("none".into(), secs),
        if f.retry_wait_s > 0.0 {
            format!("{} waited before retries", secs(f.retry_wait_s))
        } else {
            "after the start".into()
        },
    );
    match &f.success_service {
        Some(l) => card(
            "",
            "2xx service time, p95",
            format!("{} ms", ms(l.p95_us)),
            format!("p50 {} ms · p99 {} ms", ms(l.p50_us), ms(l.p99_us)),
        ),
        None => card("", "2xx service time", "–".into(), "no 2xx".into()),
    }
    // The client policy's effect, when it retried or paced: what callers finally got.
    if let Some(fin) = f.finals.filter(|_| f.retries > 0 || f.pace_wait_s > 0.0) {
        card(
            "ok",
            "final success",
            share(fin.final_ok),
            format!(
                "{} of {} requests ({} at the first attempt) · {:.2} retries per success",
                fin.final_ok.n, fin.requests, fin.first_ok.n, fin.retries_per_success
            ),
        );
        card(
            "",
            "batch done",
            secs(f.completion_s),
            format!(
                "waited {:.0} s before retries · {:.0} s paced",
                f.retry_wait_s, f.pace_wait_s
            ),
        );
    }
    if f.dropped_iterations > 0 {
        card(
            "err",
            "dropped iterations",
            f.dropped_iterations.to_string(),
            "arrivals with no free user".into(),
        );
    }
    out.push_str("</section>");
}

/// A sentence of the diagnosis as HTML: escaped, and each `code` span (the words' Markdown, as
/// the terminal and CI outputs keep it) as `<code>`, so no backtick shows.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// The 429 diagnosis section: the tiles, the sentences and the recommendation, all from
/// [`crate::diagnosis::phrase`] (the same words as the terminal's headline).
pub fn diagnosis(out: &mut String, d: &Diagnosis, next: &crate::next::Next) {
    let p = crate::diagnosis::phrase(d, next);
    let class = match d.verdict {
        Verdict::Throttled => "throttled",
        Verdict::NotThrottled => "clear",
        Verdict::NoTraffic => "none",
    };
    let _ = write!(
        out,
        "<section id=\"diagnosis\" class=\"diag {class}\"><h2>429 diagnosis</h2>"
    );
    if !p.tiles.is_empty() {
        out.push_str("<dl class=\"facts\">");
        for (k, v) in &p.tiles {
            let _ = write!(out, "<div><dt>{k}</dt><dd>{}</dd></div>", text(v));
        }
        out.push_str("</dl>");
    }
    out.push_str("<ul>");
    for line in &p.lines {
        let _ = write!(out, "<li>{}</li>", text(line));
    }
    out.push_str("</ul>");
    if let Some(rec) = &p.recommendation {
        let _ = write!(
            out,
            "<p class=\"rec\"><b>Recommendation</b> {}</p>",
            text(rec)
        );
    }
    out.push_str("</section>");
}

/// The tables: label × status, Retry-After values, first attempts against final outcomes.
pub fn tables(out: &mut String, r: &RunResult, f: &Figures) {
    out.push_str("<section id=\"tables\"><h2>Per label and status</h2>");
    out.push_str(
        "<p class=\"note\">Service time: request sent → response read. Response time: from the request's intended \
         start (includes waiting for a free user; corrected for coordinated omission). Milliseconds.</p>",
    );
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr class=\"group\"><th colspan=\"7\"></th><th colspan=\"5\" class=\"c\">service time (ms)</th>\
         <th class=\"c\">response (ms)</th></tr><tr><th>label</th><th>status</th><th>outcome</th><th class=\"n\">count</th>\
         <th class=\"n\">share</th><th class=\"n\">rate /s</th><th class=\"n\">retries</th><th class=\"n\">p50</th>\
         <th class=\"n\">p90</th><th class=\"n\">p95</th><th class=\"n\">p99</th><th class=\"n\">max</th>\
         <th class=\"n\">p99</th></tr></thead><tbody>",
    );
    let mut last: Option<&Option<String>> = None;
    for row in &f.status_rows {
        let first = last != Some(&row.label);
        last = Some(&row.label);
        let h = &row.service;
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if first { " class=\"first\"" } else { "" },
            if first {
                esc(row.label.as_deref().unwrap_or("all labels"))
            } else {
                String::new()
            },
            chip(row.status),
            row.outcome.name(),
            row.count(),
            share(row.share),
            rate(row.rate_per_s),
            row.retries,
            ms(h.p50_us),
            ms(h.p90_us),
            ms(h.p95_us),
            ms(h.p99_us),
            ms(h.max_us),
            ms(row.response.p99_us),
        );
    }
    out.push_str("</tbody></table></div>");

    let t = &r.totals;
    out.push_str("<div class=\"two\"><div><h3>Retry-After values</h3>");
    if t.retry_after.is_empty() && t.throttled_without_retry_after == 0 {
        out.push_str("<p class=\"note\">No 429 in this run.</p>");
    } else {
        out.push_str("<table class=\"bars\"><thead><tr><th>Retry-After</th><th class=\"n\">429s</th><th class=\"w\"></th></tr></thead><tbody>");
        let mut groups = retry_after_groups(&t.retry_after);
        if t.throttled_without_retry_after > 0 {
            groups.push(("none".into(), t.throttled_without_retry_after));
        }
        let top = groups.iter().map(|g| g.1).max().unwrap_or(1).max(1);
        for (name, n) in groups {
            let _ = write!(
                out,
                "<tr><td>{name}</td><td class=\"n\">{n}</td><td class=\"w\"><span style=\"width:{:.1}%\"></span></td></tr>",
                100.0 * n as f64 / top as f64
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div><div><h3>Requests: first attempt and final outcome</h3>");
    if t.first_attempt_by_outcome.is_empty() && t.final_by_outcome.is_empty() {
        out.push_str("<p class=\"note\">Not recorded in this result.</p>");
    } else {
        out.push_str(
            "<table><thead><tr><th>outcome</th><th class=\"n\">first attempt</th><th class=\"n\">final</th></tr></thead><tbody>",
        );
        for o in Outcome::ALL {
            let (f, l) = (
                t.first_attempt_by_outcome.get(&o).copied().unwrap_or(0),
                t.final_by_outcome.get(&o).copied().unwrap_or(0),
            );
            if f + l > 0 {
                let _ = write!(
                    out,
                    "<tr><td><span class=\"chip\" style=\"--c:{}\">{}</span></td><td class=\"n\">{f}</td><td class=\"n\">{l}</td></tr>",
                    shade(o, 0),
                    o.name()
                );
            }
        }
        let _ = write!(
            out,
            "</tbody></table><p class=\"note\">{}; {} spent waiting before them (all users together).</p>",
            surge_record::plural(t.retries, "retry"), secs(t.retry_wait_s)
        );
    }
    out.push_str("</div></div></section>");
}

/// Retry-After values → count, grouped into at most 12 equal ranges when there are more values.
fn retry_after_groups(m: &std::collections::BTreeMap<u32, u64>) -> Vec<(String, u64)> {
    if m.len() <= 12 {
        return m.iter().map(|(v, n)| (format!("{v} s"), *n)).collect();
    }
    let (lo, hi) = (
        *m.keys().next().unwrap_or(&0),
        *m.keys().next_back().unwrap_or(&0),
    );
    let width = (hi - lo + 1).div_ceil(10).max(1);
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut start = lo;
    while start <= hi {
        let end = start + width - 1;
        let n: u64 = m.range(start..=end).map(|(_, n)| n).sum();
        if n > 0 {
            out.push((format!("{start}–{} s", end.min(hi)), n));
        }
        start += width;
    }
    out
}

/// A group's profile with units: `thread_group: threads = 50; ramp_up = 10 s; think_time =
/// constant, pause 35 ms`. Durations are kept in seconds in `result.json`; these keys are
/// durations (a load's, and a think time's).
fn profile(g: &surge_record::meta::GroupLoad) -> String {
    const DURATIONS: &[&str] = &[
        "ramp_up",
        "duration",
        "delay",
        "hold",
        "step_every",
        "step_down_every",
        "spike_at",
        "spike_for",
        "spike_ramp",
        "time_unit",
        "pause",
        "min",
        "max",
        "mean",
        "deviation",
    ];
    let value = |k: &str, v: &str| -> String {
        match v.parse::<f64>() {
            Ok(x) if DURATIONS.contains(&k) && x < 1.0 && x > 0.0 => {
                format!("{} ms", crate::format::decimal(x * 1000.0))
            }
            Ok(x) if DURATIONS.contains(&k) => format!("{} s", crate::format::decimal(x)),
            _ => v.to_string(),
        }
    };
    let settings: Vec<String> = g
        .settings
        .iter()
        .map(|(k, v)| {
            // A table (`kind: constant, pause: 0.035`): its kind first, then each field.
            let shown = if v.contains(": ") {
                v.split(", ")
                    .map(|part| match part.split_once(": ") {
                        Some(("kind", kind)) => kind.to_string(),
                        Some((pk, pv)) => format!("{pk} {}", value(pk, pv)),
                        None => part.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                value(k, v)
            };
            format!("{k} = {shown}")
        })
        .collect();
    format!("{}: {}", g.profile, settings.join("; "))
}

/// Run metadata: what ran, where, when, with what. Host only (never a URL, header or secret).
pub fn metadata(out: &mut String, r: &RunResult) {
    out.push_str("<section id=\"run\"><h2>Run</h2><dl class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    };
    kv("scenario", r.scenario.name.clone());
    if !r.scenario.file.is_empty() {
        kv("scenario file", r.scenario.file.clone());
    }
    for g in &r.plan.groups {
        let key = if r.plan.groups.len() == 1 {
            "profile".to_string()
        } else {
            format!("profile ({})", g.name)
        };
        kv(&key, profile(g));
    }
    let auth = r.plan.auth;
    kv(
        "auth",
        match auth.kind {
            AuthKind::ClientCredentials => format!(
                "{}, {}",
                auth.kind.name(),
                surge_record::plural(u64::from(auth.tokens), "token")
            ),
            _ => auth.kind.name().to_string(),
        },
    );
    kv(
        "target host",
        format!(
            "{} ({}{})",
            r.target.host,
            r.target.kind,
            r.target
                .mock_preset
                .as_ref()
                .map_or(String::new(), |p| format!(", preset {p}"))
        ),
    );
    if let Some(p) = &r.target.proxy {
        kv("proxy", p.clone());
    }
    if let Some(ca) = &r.target.ca_cert {
        kv("extra CA", ca.clone());
    }
    kv("labels", r.labels.join(", "));
    kv("started", crate::format::when(&r.started_at));
    kv(
        "duration",
        format!(
            "{} (last response at {:.1} s)",
            duration(r.duration_s),
            r.totals.completion_s
        ),
    );
    kv("stop reason", r.stop_reason.to_string());
    kv(
        "partial",
        if r.partial {
            "yes: the plan did not run to its end".into()
        } else {
            "no".into()
        },
    );
    kv(
        "simulated",
        if r.simulated {
            "yes: virtual time, in-process mock".into()
        } else {
            "no".into()
        },
    );
    kv(
        "iterations",
        format!(
            "{} begun, {} dropped",
            r.totals.iterations, r.totals.dropped_iterations
        ),
    );
    kv(
        "bytes",
        format!(
            "{} received, {} sent",
            r.totals.bytes_in, r.totals.bytes_out
        ),
    );
    kv("tool", format!("{} {}", r.tool.name, r.tool.version));
    out.push_str("</dl></section>");
}
