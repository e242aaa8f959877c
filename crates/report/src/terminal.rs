//! The end-of-run summary printed to the terminal: 2xx, 429 and errors kept apart, with
//! percentiles per outcome, the first 429 and the 429 diagnosis in two lines.

use std::fmt::Write as _;

use super::format::{ms, rate, share};
use surge_analysis::Facts;
use surge_record::result::RunResult;

/// The summary as text (no colour codes, so it reads the same in CI logs).
pub fn summary(r: &RunResult) -> String {
    summary_with(r, &Facts::of(r), &crate::next::Next::of(r, None))
}

/// [`summary`] of a run whose `result.json` is at `result`: its next steps name that file.
pub fn summary_at(r: &RunResult, result: &std::path::Path) -> String {
    summary_with(r, &Facts::of(r), &crate::next::Next::of(r, Some(result)))
}

/// [`summary`] from facts already computed for `r`, with its next steps.
pub fn summary_with(r: &RunResult, facts: &Facts, next: &crate::next::Next) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let f = &facts.figures.overview;
    let _ = writeln!(
        s,
        "\n{} · {} · {:.1} s{}{}",
        r.scenario.name,
        r.target.base_url,
        r.duration_s,
        if r.simulated { " (simulated)" } else { "" },
        if r.partial {
            format!(" · PARTIAL ({})", r.stop_reason)
        } else {
            String::new()
        }
    );
    if let Some(p) = &r.target.proxy {
        let _ = writeln!(s, "via proxy {p}");
    }
    let checks = if f.checks_failed.n > 0 {
        format!(
            "   checks failed {} ({})",
            f.checks_failed.n,
            share(f.checks_failed)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "requests {}  ({}/s)   2xx {} ({})   429 {} ({}){checks}   other {} ({})   retries {}",
        f.requests,
        rate(f.rate_per_s),
        f.ok.n,
        share(f.ok),
        f.throttled.n,
        share(f.throttled),
        f.other.n,
        share(f.other),
        f.retries
    );
    // One name column for the request and transaction tables: as wide as the longest name
    // (within reason), so the figures line up under their headings.
    let w = name_width(&facts.figures);
    let _ = writeln!(
        s,
        "\n{:<w$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "label / outcome", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s"
    );
    for row in &facts.figures.outcome_rows {
        let name = format!("{} {}", row.label, row.outcome.name());
        let l = &row.service;
        let _ = writeln!(
            s,
            "{:<w$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            truncate(&name, w),
            row.count,
            ms(l.p50_us),
            ms(l.p95_us),
            ms(l.p99_us),
            ms(l.max_us),
            rate(row.rate_per_s)
        );
    }
    s.push_str(&super::transactions::terminal(&facts.figures, w));
    let codes: Vec<String> = t
        .by_status
        .iter()
        .map(|(k, v)| format!("{}={v}", k.label()))
        .collect();
    let _ = writeln!(s, "\nstatus: {}", codes.join("  "));
    match f.first_429_s {
        Some(first) => {
            let ra: Vec<String> = t
                .retry_after
                .iter()
                .map(|(k, v)| format!("{k}s×{v}"))
                .collect();
            let _ = writeln!(
                s,
                "first 429 at {}; Retry-After seen: {}{}",
                super::format::secs(first),
                if ra.is_empty() {
                    "none".to_string()
                } else {
                    ra.join(", ")
                },
                if t.throttled_without_retry_after > 0 {
                    format!(" ({} 429s without one)", t.throttled_without_retry_after)
                } else {
                    String::new()
                }
            );
        }
        None => {
            let _ = writeln!(s, "no 429 responses");
        }
    }
    // The client policy's effect: first attempts against final outcomes.
    if let Some(fin) = f.finals.filter(|_| f.retries > 0 || f.pace_wait_s > 0.0) {
        let _ = writeln!(
            s,
            "requests {}: {} succeeded first time, {} in the end ({} failed); {:.2} retries per success; waited {:.0} s before retries, {:.0} s paced; batch done at {:.1} s",
            fin.requests,
            fin.first_ok.n,
            fin.final_ok.n,
            fin.failed,
            fin.retries_per_success,
            f.retry_wait_s,
            f.pace_wait_s,
            f.completion_s
        );
    }
    if f.dropped_iterations > 0 {
        let _ = writeln!(
            s,
            "dropped iterations: {} (arrivals with no free user)",
            f.dropped_iterations
        );
    }
    let d = super::diagnosis::phrase(&facts.diagnosis, next);
    if let Some(c) = &d.completion {
        let _ = writeln!(s, "completion: {c}");
    }
    let _ = writeln!(s, "{}\n{}", d.headline[0], d.headline[1]);
    s
}

/// `s` cut to `n` characters, with an ellipsis when cut.
/// The width of the tables' name column: the longest "label outcome" or "transaction outcome",
/// at least the heading's 24 characters and at most 40.
fn name_width(f: &surge_analysis::figures::Figures) -> usize {
    let requests = f
        .outcome_rows
        .iter()
        .map(|r| r.label.chars().count() + 1 + r.outcome.name().len());
    let transactions = f
        .transactions
        .iter()
        .map(|r| r.name.chars().count() + 1 + r.outcome.name().len());
    requests
        .chain(transactions)
        .max()
        .unwrap_or(0)
        .clamp(24, 40)
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary_ends_with_the_diagnosis_in_two_lines() {
        let r = surge_record::synthetic::result(120, &["get"]);
        let s = super::summary(&r);
        let lines: Vec<&str> = s.lines().collect();
        let n = lines.len();
        assert!(
            lines[n - 2].starts_with("429 diagnosis: first 429 at "),
            "{s}"
        );
        assert!(lines[n - 1].starts_with("→ "), "{s}");
        assert_eq!(
            lines[n - 1],
            crate::diagnosis::phrase(
                &surge_analysis::diagnosis::diagnose(&r),
                &crate::next::Next::of(&r, None)
            )
            .headline[1]
        );
    }
}
