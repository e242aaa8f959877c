//! The sections of the page around the charts: header, overview cards, the 429 diagnosis, the
//! tables per label × status, and run metadata (never a secret: host only, no URL, no headers).

use std::fmt::Write as _;

use super::charts::shade;
use super::esc;
use crate::analysis::diagnosis::{Diagnosis, Verdict};
use crate::record::result::RunResult;
use crate::record::{Hist, Outcome, StatusKey};

fn ms(us: u64) -> String {
    let v = us as f64 / 1000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        return "–".into();
    }
    let p = 100.0 * n as f64 / d as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else {
        let t = s.round() as u64;
        if t >= 3600 {
            format!("{} h {:02} min {:02} s", t / 3600, t % 3600 / 60, t % 60)
        } else {
            format!("{} min {:02} s", t / 60, t % 60)
        }
    }
}

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
        esc(&r.target.host),
        esc(&r.started_at),
        duration(r.duration_s)
    );
    if r.partial {
        let _ = write!(
            out,
            "<span class=\"badge warn\">partial: {}</span>",
            esc(&r.stop_reason)
        );
    }
    if r.simulated {
        out.push_str("<span class=\"badge\">simulated time</span>");
    }
    out.push_str("</p></header>");
}

/// The overview cards.
pub fn overview(out: &mut String, r: &RunResult) {
    let t = &r.totals;
    let dur = r.duration_s.max(1e-9);
    let ok = r.outcome_count(Outcome::Success);
    let thr = r.outcome_count(Outcome::Throttled);
    let err = t.requests - ok - thr;
    let p95 = r.service_hist(None, Some(Outcome::Success));
    out.push_str("<section class=\"cards\">");
    let mut card = |class: &str, title: &str, value: String, sub: String| {
        let _ = write!(out, "<div class=\"card {class}\"><div class=\"k\">{title}</div><div class=\"v\">{value}</div><div class=\"s\">{sub}</div></div>");
    };
    card(
        "",
        "requests",
        t.requests.to_string(),
        format!(
            "{:.1} req/s · {} retries",
            t.requests as f64 / dur,
            t.retries
        ),
    );
    card("ok", "2xx", ok.to_string(), pct(ok, t.requests));
    card("thr", "429", thr.to_string(), pct(thr, t.requests));
    card(
        "err",
        "errors & other",
        err.to_string(),
        pct(err, t.requests),
    );
    card(
        "",
        "first 429",
        t.first_429_s.map_or("none".into(), |f| format!("{f:.1} s")),
        if t.retry_wait_s > 0.0 {
            format!("{:.1} s waited before retries", t.retry_wait_s)
        } else {
            "after the start".into()
        },
    );
    card(
        "",
        "2xx service time",
        if p95.is_empty() {
            "–".into()
        } else {
            format!("{} ms", ms(p95.quantile(0.95)))
        },
        if p95.is_empty() {
            "no 2xx".into()
        } else {
            format!(
                "p95 · p50 {} ms · p99 {} ms",
                ms(p95.quantile(0.5)),
                ms(p95.quantile(0.99))
            )
        },
    );
    // The client policy's effect, when it retried or paced: what callers finally got.
    if let Some(f) = t.finals().filter(|_| t.retries > 0 || t.pace_wait_s > 0.0) {
        card(
            "ok",
            "final success",
            pct(f.final_ok, f.requests),
            format!(
                "{} of {} requests ({} at the first attempt) · {:.2} retries per success",
                f.final_ok,
                f.requests,
                f.first_ok,
                t.retries_per_success(f.final_ok)
            ),
        );
        card(
            "",
            "batch done",
            format!("{:.1} s", t.completion_s),
            format!(
                "waited {:.0} s before retries · {:.0} s paced",
                t.retry_wait_s, t.pace_wait_s
            ),
        );
    }
    if t.dropped_iterations > 0 {
        card(
            "err",
            "dropped iterations",
            t.dropped_iterations.to_string(),
            "arrivals with no free user".into(),
        );
    }
    out.push_str("</section>");
}

/// The 429 diagnosis section.
pub fn diagnosis(out: &mut String, d: &Diagnosis) {
    let class = match d.verdict {
        Verdict::Throttled => "throttled",
        Verdict::NotThrottled => "clear",
        Verdict::NoTraffic => "none",
    };
    let _ = write!(
        out,
        "<section id=\"diagnosis\" class=\"diag {class}\"><h2>429 diagnosis</h2>"
    );
    if let Some(o) = &d.onset {
        out.push_str("<dl class=\"facts\">");
        let mut fact = |k: &str, v: String| {
            let _ = write!(out, "<div><dt>{k}</dt><dd>{}</dd></div>", esc(&v));
        };
        fact("first 429", format!("{:.1} s", o.at_s));
        fact(
            "rate at onset",
            format!(
                "{} req/s",
                crate::analysis::diagnosis::fmt_rate(o.request_rate)
            ),
        );
        fact("users at onset", o.concurrency.to_string());
        fact(
            "429 share after onset",
            d.share_429_after
                .map_or("–".into(), |s| format!("{:.1}%", 100.0 * s)),
        );
        if let Some(c) = &d.capacity {
            fact(
                "2xx while throttled",
                format!("{} /s", crate::analysis::diagnosis::fmt_rate(c.ok_per_s)),
            );
        }
        fact(
            "limit named",
            d.limit.as_ref().map_or("none".into(), |l| {
                format!("{} per {} s", l.allowed, l.window_s)
            }),
        );
        out.push_str("</dl>");
    }
    out.push_str("<ul>");
    for line in d
        .lines
        .iter()
        .filter(|l| !l.starts_with("Recommendation: "))
    {
        let _ = write!(out, "<li>{}</li>", esc(line));
    }
    out.push_str("</ul>");
    if let Some(rec) = &d.recommendation {
        let _ = write!(
            out,
            "<p class=\"rec\"><b>Recommendation</b> {}</p>",
            esc(&rec.text)
        );
    }
    out.push_str("</section>");
}

struct Row {
    label: String,
    status: StatusKey,
    count: u64,
    retries: u64,
    of: u64,
    service: Hist,
    response: Hist,
}

fn rows(r: &RunResult) -> Vec<Row> {
    let mut out = Vec::new();
    for label in &r.labels {
        let mut cells: Vec<_> = r.cells.iter().filter(|c| &c.label == label).collect();
        cells.sort_by_key(|c| (c.outcome.index(), c.status));
        let of: u64 = cells.iter().map(|c| c.count).sum();
        for c in cells {
            out.push(Row {
                label: label.clone(),
                status: c.status,
                count: c.count,
                retries: c.retries,
                of,
                service: c.service_hist.clone(),
                response: c.response_hist.clone(),
            });
        }
    }
    if r.labels.len() > 1 {
        let mut statuses: Vec<StatusKey> = r.cells.iter().map(|c| c.status).collect();
        statuses.sort_by_key(|k| (k.outcome().index(), *k));
        statuses.dedup();
        for s in statuses {
            let mut row = Row {
                label: "all labels".into(),
                status: s,
                count: 0,
                retries: 0,
                of: r.totals.requests,
                service: Hist::new(),
                response: Hist::new(),
            };
            for c in r.cells.iter().filter(|c| c.status == s) {
                row.count += c.count;
                row.retries += c.retries;
                row.service.add(&c.service_hist);
                row.response.add(&c.response_hist);
            }
            out.push(row);
        }
    }
    out
}

/// The tables: label × status, Retry-After values, first attempts against final outcomes.
pub fn tables(out: &mut String, r: &RunResult) {
    let dur = r.duration_s.max(1e-9);
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
    let mut last = String::new();
    for row in rows(r) {
        let first = row.label != last;
        last = row.label.clone();
        let h = &row.service;
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if first { " class=\"first\"" } else { "" },
            if first { esc(&row.label) } else { String::new() },
            chip(row.status),
            row.status.outcome().name(),
            row.count,
            pct(row.count, row.of),
            row.count as f64 / dur,
            row.retries,
            ms(h.quantile(0.5)),
            ms(h.quantile(0.9)),
            ms(h.quantile(0.95)),
            ms(h.quantile(0.99)),
            ms(h.max()),
            ms(row.response.quantile(0.99)),
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
            "</tbody></table><p class=\"note\">{} retries; {:.1} s spent waiting before them (all users together).</p>",
            t.retries, t.retry_wait_s
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

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
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
    let load = r.plan.get("load");
    if let Some(p) = load.and_then(|l| l.get("profile")).and_then(|p| p.as_str()) {
        let rest: Vec<String> = load
            .and_then(|l| l.as_object())
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "profile")
                    .map(|(k, v)| format!("{k} = {}", plain(v)))
                    .collect()
            })
            .unwrap_or_default();
        kv("profile", format!("{p}: {}", rest.join("; ")));
    }
    if let Some(kind) = r
        .plan
        .get("auth")
        .and_then(|a| a.get("kind"))
        .and_then(|k| k.as_str())
    {
        let tokens = r
            .plan
            .get("auth")
            .and_then(|a| a.get("tokens"))
            .and_then(|t| t.as_u64());
        kv(
            "auth",
            tokens.map_or(kind.to_string(), |t| format!("{kind}, {t} token(s)")),
        );
    }
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
    kv("started", r.started_at.clone());
    kv(
        "duration",
        format!(
            "{} (last response at {:.1} s)",
            duration(r.duration_s),
            r.totals.completion_s
        ),
    );
    kv("stop reason", r.stop_reason.clone());
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
