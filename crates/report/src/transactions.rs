//! Transactions and checks in words and tables, from the facts of
//! [`surge_analysis::transactions`]: the terminal's block, the HTML section and
//! `transactions.csv` (the completion-time trend is the diagnosis's: `report::diagnosis`).
//! Formats only.

use std::fmt::Write as _;
use std::io::Write;

use super::format::{ms, rate, share};
use super::html::esc;
use surge_analysis::figures::Figures;

/// Columns of `transactions.csv`.
pub const TRANSACTION_COLUMNS: &[&str] = &[
    "transaction",
    "outcome",
    "count",
    "share",
    "rate_per_s",
    "min_ms",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "in_flight_peak",
    "unfinished",
];

/// The most operations of `name` in flight at a second's end.
fn peak(f: &Figures, name: &str) -> u64 {
    f.in_flight
        .iter()
        .find(|x| x.name == name)
        .map_or(0, |x| x.peak())
}

/// The terminal's transaction rows and failed checks (empty when there are none), with the name
/// column `w` wide (the request table's).
pub fn terminal(f: &Figures, w: usize) -> String {
    let mut s = String::new();
    if !f.transactions.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<w$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "transaction / outcome", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "in flight"
        );
        for row in &f.transactions {
            let peak = peak(f, &row.name);
            let name = format!("{} {}", row.name, row.outcome.name());
            let _ = writeln!(
                s,
                "{:<w$} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
                super::terminal::truncate(&name, w),
                row.share.n,
                ms(row.time.p50_us),
                ms(row.time.p95_us),
                ms(row.time.p99_us),
                ms(row.time.max_us),
                peak
            );
        }
    }
    if !f.failed_checks.is_empty() {
        let list: Vec<String> = f
            .failed_checks
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        let _ = writeln!(s, "failed checks: {}", list.join("; "));
    }
    s
}

/// The HTML section: transaction rows and failed checks.
pub fn html(out: &mut String, f: &Figures) {
    if f.transactions.is_empty() && f.failed_checks.is_empty() {
        return;
    }
    out.push_str("<section id=\"transactions\"><h2>Transactions and checks</h2>");
    if !f.transactions.is_empty() {
        out.push_str("<table><thead><tr><th>transaction</th><th>outcome</th><th>count</th><th>share</th><th>per s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>in flight (peak)</th></tr></thead><tbody>");
        for row in &f.transactions {
            let peak = peak(f, &row.name);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{peak}</td></tr>",
                esc(&row.name),
                row.outcome.name(),
                row.share.n,
                share(row.share),
                rate(row.rate_per_s),
                ms(row.time.p50_us),
                ms(row.time.p95_us),
                ms(row.time.p99_us),
                ms(row.time.max_us),
            );
        }
        out.push_str("</tbody></table>");
    }
    if !f.failed_checks.is_empty() {
        out.push_str("<table><thead><tr><th>check (label: name)</th><th>answers failed</th></tr></thead><tbody>");
        for (k, n) in &f.failed_checks {
            let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(k));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

/// Writes `transactions.csv`: one row per transaction × outcome.
///
/// # Errors
/// I/O errors.
pub fn write_csv(f: &Figures, out: impl Write) -> csv::Result<()> {
    use super::format::{ms_exact, ms_exact_f, rate_exact, share_exact};
    let mut w = csv::Writer::from_writer(out);
    w.write_record(TRANSACTION_COLUMNS)?;
    for row in &f.transactions {
        let fl = f.in_flight.iter().find(|x| x.name == row.name);
        let t = &row.time;
        w.write_record([
            row.name.clone(),
            row.outcome.name().to_string(),
            row.share.n.to_string(),
            share_exact(row.share),
            rate_exact(row.rate_per_s),
            ms_exact(t.min_us),
            ms_exact_f(t.mean_us),
            ms_exact(t.p50_us),
            ms_exact(t.p90_us),
            ms_exact(t.p95_us),
            ms_exact(t.p99_us),
            ms_exact(t.max_us),
            fl.map_or(0, |x| x.peak()).to_string(),
            fl.map_or(0, |x| x.unfinished).to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
