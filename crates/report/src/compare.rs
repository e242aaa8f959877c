//! The comparison of runs in the terminal (`surge compare`, `surge sweep`): one row per figure, one
//! column per run, in blocks that fit the terminal's width; runs headed by the part of their names
//! that tells them apart (or `#1`, `#2`, … with the full names listed above), `*` on the best.
//! Transactions, when the runs have them, follow the request figures, each under its name.

use std::fmt::Write as _;

use super::format::figure;
use surge_analysis::compare::{best, rows, RunFigures};

/// Width used when the terminal's is unknown (no terminal, no `COLUMNS`).
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, a terminal's width is not believed (a table needs its figure column).
const MIN_WIDTH: usize = 40;
const FIGURE_W: usize = 30;
const MIN_COL: usize = 9;
const MAX_HEADER: usize = 14;

/// The width to print at: the terminal's own (of stdout, else of stderr or stdin, so `surge
/// compare … | less` still fits the screen), else `COLUMNS`, else [`DEFAULT_WIDTH`].
pub fn terminal_width() -> usize {
    width_from(
        terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)),
        std::env::var("COLUMNS").ok().as_deref(),
    )
}

/// [`terminal_width`]'s rule, from the terminal's width and `COLUMNS` as found.
fn width_from(terminal: Option<usize>, columns: Option<&str>) -> usize {
    let columns = columns.and_then(|c| c.trim().parse::<usize>().ok());
    [terminal, columns]
        .into_iter()
        .flatten()
        .find(|w| *w >= MIN_WIDTH)
        .unwrap_or(DEFAULT_WIDTH)
}

fn is_sep(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '_' | '=' | '.' | '/' | ',' | '{' | '}' | '"' | ':'
    )
}

/// Column headers for `names`: the names themselves when each fits in `max` characters; else the
/// part that tells them apart (common prefix and suffix cut at a separator) when that fits and is
/// distinct; else `#1`, `#2`, ….
pub fn headers(names: &[String], max: usize) -> Vec<String> {
    if names.iter().all(|n| n.chars().count() <= max) {
        return names.to_vec();
    }
    let chars: Vec<Vec<char>> = names.iter().map(|n| n.chars().collect()).collect();
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let mut pre = (0..shortest)
        .take_while(|&i| chars.iter().all(|c| c[i] == chars[0][i]))
        .count();
    while pre > 0 && !is_sep(chars[0][pre - 1]) {
        pre -= 1;
    }
    let mut suf = (0..shortest - pre)
        .take_while(|&i| {
            chars
                .iter()
                .all(|c| c[c.len() - 1 - i] == chars[0][chars[0].len() - 1 - i])
        })
        .count();
    while suf > 0 && !is_sep(chars[0][chars[0].len() - suf]) {
        suf -= 1;
    }
    let parts: Vec<String> = chars
        .iter()
        .map(|c| c[pre..c.len() - suf].iter().collect::<String>())
        .map(|p| p.trim_matches(is_sep).to_string())
        .collect();
    let mut sorted = parts.clone();
    sorted.sort();
    sorted.dedup();
    let fits = parts
        .iter()
        .all(|p| !p.is_empty() && p.chars().count() <= max);
    if fits && sorted.len() == parts.len() {
        parts
    } else {
        (1..=names.len()).map(|i| format!("#{i}")).collect()
    }
}

/// The figures as a terminal table no wider than `width` (runs beyond it go to further blocks).
pub fn table(figs: &[RunFigures], width: usize) -> String {
    let best = best(figs);
    let names: Vec<String> = figs.iter().map(|f| f.name.clone()).collect();
    let heads = headers(&names, MAX_HEADER);
    let mut s = String::from("\n");
    if heads != names {
        s.push_str("runs:\n");
        for (h, n) in heads.iter().zip(&names) {
            let _ = writeln!(
                s,
                "  {h:<w$}  {n}",
                w = heads.iter().map(|h| h.chars().count()).max().unwrap_or(0)
            );
        }
        s.push('\n');
    }
    let rows = rows(figs);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            f.values
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let mark = if best[i].contains(&k) { "*" } else { " " };
                    format!("{}{mark}", figure(v.value))
                })
                .collect()
        })
        .collect();
    let col = heads
        .iter()
        .map(|h| h.chars().count() + 1)
        .chain(cells.iter().flatten().map(|c| c.chars().count()))
        .max()
        .unwrap_or(MIN_COL)
        .max(MIN_COL);
    let per_block = ((width.saturating_sub(FIGURE_W)) / (col + 1)).max(1);
    let idx: Vec<usize> = (0..figs.len()).collect();
    for (b, block) in idx.chunks(per_block).enumerate() {
        if b > 0 {
            s.push('\n');
        }
        let _ = write!(s, "{:<FIGURE_W$}", "");
        for &k in block {
            // Headers end one column left of the values' last digit, above the numbers, not the stars.
            let _ = write!(s, " {:>w$} ", heads[k], w = col - 1);
        }
        s = s.trim_end().to_string();
        s.push('\n');
        for (i, f) in rows.iter().enumerate() {
            if let Some(t) = f
                .transaction
                .as_ref()
                .filter(|t| i == 0 || rows[i - 1].transaction.as_ref() != Some(*t))
            {
                let _ = writeln!(
                    s,
                    "transaction {}",
                    super::terminal::truncate(t, width - 12)
                );
            }
            let indent = if f.transaction.is_some() { "  " } else { "" };
            let title = if f.unit.is_empty() {
                format!("{indent}{}", f.title)
            } else {
                format!("{indent}{} ({})", f.title, f.unit)
            };
            let _ = write!(s, "{title:<FIGURE_W$}");
            for &k in block {
                let _ = write!(s, " {:>col$}", cells[i][k]);
            }
            s = s.trim_end().to_string();
            s.push('\n');
        }
    }
    let mut note = String::from(
        "* best, or within the runs' noise (95 %) of the best; none where no difference stands out. \
         Time, latency and retry figures rank only the runs whose every request finally succeeded.",
    );
    if !figs.iter().any(RunFigures::did_the_job) {
        note.push_str(" No run finished every request: no best time, latency or retry figure.");
    }
    s + &wrap(&note, width)
}

/// Words of `text` in lines no wider than `width`.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
            out += &line;
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out += &line;
        out.push('\n');
    }
    out
}

/// Writes `compare.csv`: one row per run, one column per figure (empty where not applicable):
/// the request figures, then `transaction.NAME.ended|failed|p50_ms|p95_ms` for each transaction
/// any run has (so a reader of the request columns reads them as before).
///
/// # Errors
/// I/O errors.
pub fn write_csv(runs: &[RunFigures], out: impl std::io::Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let rows = rows(runs);
    let mut header = vec!["run"];
    header.extend(rows.iter().map(|r| r.key.as_str()));
    w.write_record(&header)?;
    for (k, r) in runs.iter().enumerate() {
        let mut row = vec![r.name.clone()];
        row.extend(rows.iter().map(|f| f.values[k].value).map(|v| {
            if v.is_finite() {
                super::format::decimal(v)
            } else {
                String::new()
            }
        }));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use surge_analysis::compare::figures;
    use surge_record::synthetic;
    use surge_record::Outcome;

    fn run(name: &str, failed: u64, done_s: f64) -> RunFigures {
        let mut r = synthetic::result(60, &["publish"]);
        r.totals.final_by_outcome = [
            (Outcome::Success, 500 - failed),
            (Outcome::Throttled, failed),
        ]
        .into();
        r.totals.completion_s = done_s;
        figures(name, &r)
    }

    #[test]
    fn the_width_is_the_terminal_s_then_columns_then_100() {
        assert_eq!(width_from(Some(180), Some("80")), 180);
        assert_eq!(width_from(None, Some(" 80 ")), 80);
        assert_eq!(width_from(None, Some("wide")), DEFAULT_WIDTH);
        assert_eq!(width_from(None, None), DEFAULT_WIDTH);
        // A width too narrow for the table is not believed.
        assert_eq!(width_from(Some(20), Some("90")), 90);
        assert_eq!(width_from(Some(20), None), DEFAULT_WIDTH);
    }

    #[test]
    fn headers_tell_runs_apart() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(headers(&n(&["fast", "slow"]), 14), n(&["fast", "slow"]));
        assert_eq!(
            headers(
                &n(&[
                    "load.ramp_up=0s on_429.policy=none",
                    "load.ramp_up=10s on_429.policy=none"
                ]),
                14
            ),
            n(&["0s", "10s"])
        );
        // Folder names of the same scenario a minute apart.
        assert_eq!(
            headers(
                &n(&[
                    "architect-publish-burst-20261130T101010Z",
                    "architect-publish-burst-20261130T101112Z"
                ]),
                14
            ),
            n(&["#1", "#2"])
        );
        assert_eq!(
            headers(&n(&["architect-ramp-0s-x", "architect-ramp-60s-x"]), 8),
            n(&["0s", "60s"])
        );
    }

    #[test]
    fn nine_runs_fit_a_100_column_terminal_and_every_name_is_listed_whole() {
        let names = [
            "architect-arrival-rate-20261130T222536Z",
            "architect-backoff-20261130T222536Z",
            "architect-pace-20261130T222536Z",
            "architect-publish-burst-20261130T222536Z",
            "architect-publish-documented-20261130T222536Z",
            "architect-ramp-0s-20261130T222536Z",
            "architect-ramp-60s-20261130T222536Z",
            "architect-retry-after-20261130T222536Z",
            "architect-stepping-20261130T222536Z",
        ];
        let figs: Vec<RunFigures> = names
            .iter()
            .enumerate()
            .map(|(i, n)| run(n, if i == 3 { 84 } else { 0 }, 40.0 + 10.0 * i as f64))
            .collect();
        let t = table(&figs, 100);
        for line in t.lines() {
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        for n in names {
            assert!(t.contains(n), "{n} is listed whole in\n{t}");
        }
        // Every figure row appears once per block.
        let blocks = t.matches("batch completion time (s)").count();
        assert!(blocks >= 2, "{t}");
        assert_eq!(
            t.lines().filter(|l| l.starts_with("attempts ")).count(),
            blocks
        );
    }

    #[test]
    fn the_star_for_batch_time_skips_a_run_that_failed_its_publishes() {
        let figs = vec![run("burst", 200, 10.4), run("paced", 0, 54.6)];
        let t = table(&figs, 100);
        let row = t
            .lines()
            .find(|l| l.starts_with("batch completion time"))
            .unwrap();
        assert!(row.contains("54.6*") && !row.contains("10.4*"), "{row}");
    }

    #[test]
    fn compare_csv_has_a_column_per_figure_and_a_row_per_run() {
        let mut a = synthetic::result(60, &["publish"]);
        let mut b = a.clone();
        a.totals.completion_s = 40.0;
        b.totals.completion_s = 90.0;
        for r in [&mut a, &mut b] {
            r.totals.final_by_outcome = [(Outcome::Success, r.totals.requests)].into();
        }
        let runs = vec![figures("fast", &a), figures("slow", &b)];
        let mut csv = Vec::new();
        write_csv(&runs, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, "run,requests,logical_requests,success_share,throttled_share,final_success_rate,failed_requests,completion_s,first_429_s,p50_ms,p95_ms,p99_ms,retries_per_success,retry_wait_s,dropped_iterations");
        assert!(text.lines().nth(1).unwrap().starts_with("fast,"));
        assert!(text.contains(",40,"), "{text}");
    }

    #[test]
    fn compare_csv_puts_transactions_after_the_request_figures() {
        use surge_record::synthetic::with_transaction;
        let (a, b) = (
            with_transaction("a", 500, 0),
            with_transaction("b", 440, 60),
        );
        let plain = synthetic::result(60, &["publish"]);
        let runs = vec![figures("a", &a), figures("b", &b), figures("plain", &plain)];
        let mut csv = Vec::new();
        write_csv(&runs, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(text.lines().next().unwrap().ends_with(
            ",dropped_iterations,transaction.publish_to_success.ended,transaction.publish_to_success.failed,transaction.publish_to_success.p50_ms,transaction.publish_to_success.p95_ms"
        ));
        assert!(text.lines().nth(3).unwrap().ends_with(",,,,"), "{text}");
    }
}
