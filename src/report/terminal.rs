//! The end-of-run summary printed to the terminal: 2xx, 429 and errors kept apart, with
//! percentiles per outcome, the first 429 and the 429 diagnosis in two lines.

use std::fmt::Write as _;

use crate::record::result::RunResult;
use crate::record::Outcome;

fn ms(us: u64) -> String {
    let v = us as f64 / 1000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The summary as text (no colour codes, so it reads the same in CI logs).
pub fn summary(r: &RunResult) -> String {
    let mut s = String::new();
    let t = &r.totals;
    let dur = r.duration_s.max(1e-9);
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
    let pct = |n: u64| {
        if t.requests == 0 {
            0.0
        } else {
            100.0 * n as f64 / t.requests as f64
        }
    };
    let ok = r.outcome_count(Outcome::Success);
    let thr = r.outcome_count(Outcome::Throttled);
    let other = t.requests - ok - thr;
    let _ = writeln!(
        s,
        "requests {}  ({:.1}/s)   2xx {} ({:.1}%)   429 {} ({:.1}%)   other {} ({:.1}%)   retries {}",
        t.requests,
        t.requests as f64 / dur,
        ok,
        pct(ok),
        thr,
        pct(thr),
        other,
        pct(other),
        t.retries
    );
    let _ = writeln!(
        s,
        "\n{:<24} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "label / outcome", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s"
    );
    for label in &r.labels {
        for o in Outcome::ALL {
            let h = r.service_hist(Some(label), Some(o));
            if h.is_empty() {
                continue;
            }
            let name = format!("{label} {}", o.name());
            let _ = writeln!(
                s,
                "{:<24} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9.2}",
                truncate(&name, 24),
                h.len(),
                ms(h.quantile(0.5)),
                ms(h.quantile(0.95)),
                ms(h.quantile(0.99)),
                ms(h.max()),
                h.len() as f64 / dur
            );
        }
    }
    let codes: Vec<String> = t
        .by_status
        .iter()
        .map(|(k, v)| format!("{}={v}", k.label()))
        .collect();
    let _ = writeln!(s, "\nstatus: {}", codes.join("  "));
    match t.first_429_s {
        Some(f) => {
            let ra: Vec<String> = t
                .retry_after
                .iter()
                .map(|(k, v)| format!("{k}s×{v}"))
                .collect();
            let _ = writeln!(
                s,
                "first 429 at {f:.1} s; Retry-After seen: {}{}",
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
    if let Some(f) = t.finals().filter(|_| t.retries > 0 || t.pace_wait_s > 0.0) {
        let _ = writeln!(
            s,
            "requests {}: {} succeeded first time, {} in the end ({} failed); {:.2} retries per success; waited {:.0} s before retries, {:.0} s paced; batch done at {:.1} s",
            f.requests,
            f.first_ok,
            f.final_ok,
            f.requests - f.final_ok,
            t.retries_per_success(f.final_ok),
            t.retry_wait_s,
            t.pace_wait_s,
            t.completion_s
        );
    }
    if t.dropped_iterations > 0 {
        let _ = writeln!(
            s,
            "dropped iterations: {} (arrivals with no free user)",
            t.dropped_iterations
        );
    }
    let d = crate::analysis::diagnosis::diagnose(r);
    let _ = writeln!(s, "{}\n{}", d.headline[0], d.headline[1]);
    s
}

fn truncate(s: &str, n: usize) -> String {
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
        let r = crate::report::synthetic::result(120, &["get"]);
        let s = super::summary(&r);
        let lines: Vec<&str> = s.lines().collect();
        let n = lines.len();
        assert!(
            lines[n - 2].starts_with("429 diagnosis: first 429 at "),
            "{s}"
        );
        assert!(
            lines[n - 1].starts_with("→ capacity while throttled ")
                && lines[n - 1].contains("pace at ≤"),
            "{s}"
        );
    }
}
