//! Transactions beyond the run's own report, through the built binary: `surge compare` shows
//! each transaction's ended, failed, p50 and p95 beside the requests' figures (terminal,
//! compare.csv, compare.html), with the run report's own numbers; the `--samples` CSV carries one
//! `transaction` row per transaction that ended, after the `request` rows' columns.

use std::path::Path;
use std::process::{Command, Output};

use surge::analysis::Facts;
use surge::record::{Outcome, RunResult};

const COMPLETE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/architect-publish-complete.toml"
);

fn surge(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    assert!(o.status.success(), "surge {args:?}: {o:?}");
    o
}

/// The p50 and p95 (ms, as the report writes them) and the ends of `r`'s transaction `name`.
fn report_figures(r: &RunResult, name: &str) -> (String, String, u64, u64) {
    let f = Facts::of(r).figures;
    let ok = f
        .transactions
        .iter()
        .find(|t| t.name == name && t.outcome == Outcome::Success)
        .unwrap();
    let ended: u64 = f
        .transactions
        .iter()
        .filter(|t| t.name == name)
        .map(|t| t.share.n)
        .sum();
    let ms = |us: u64| format!("{:.0}", us as f64 / 1000.0);
    (
        ms(ok.time.p50_us),
        ms(ok.time.p95_us),
        ended,
        ended - ok.share.n,
    )
}

#[test]
fn compare_shows_transactions_beside_requests_with_the_report_s_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    surge(d, &["run", COMPLETE, "--simulate", "-q", "-o", "seed"]);
    surge(
        d,
        &[
            "run",
            COMPLETE,
            "--simulate",
            "-q",
            "-o",
            "documented",
            "--set",
            "target.mock_preset=documented",
        ],
    );
    // A run without transactions beside them: its cells are blank, not zero.
    surge(
        d,
        &[
            "run",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scenarios/architect-publish-burst.toml"
            ),
            "--simulate",
            "-q",
            "-o",
            "plain",
        ],
    );
    let o = surge(
        d,
        &[
            "compare",
            "seed/result.json",
            "documented/result.json",
            "plain/result.json",
            "-o",
            "cmp",
        ],
    );
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    let runs: Vec<RunResult> = ["seed", "documented"]
        .iter()
        .map(|n| RunResult::read(&d.join(n).join("result.json")).unwrap())
        .collect();
    let figs: Vec<_> = runs
        .iter()
        .map(|r| report_figures(r, "publish_to_success"))
        .collect();
    assert!(figs[1].3 > 0, "the documented preset fails some: {figs:?}");

    // Terminal: a block under the transaction's name, the report's figures in each run's column.
    let lines: Vec<&str> = table.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "transaction publish_to_success")
        .unwrap_or_else(|| panic!("{table}"));
    let row = |title: &str| -> Vec<String> {
        let l = lines[at..]
            .iter()
            .find(|l| l.starts_with(&format!("  {title}")))
            .unwrap_or_else(|| panic!("{title} in {table}"));
        l[30..]
            .split_whitespace()
            .map(|c| c.trim_end_matches('*').to_string())
            .collect()
    };
    assert_eq!(
        row("ended"),
        [figs[0].2.to_string(), figs[1].2.to_string(), "–".into()]
    );
    assert_eq!(
        row("failed"),
        [figs[0].3.to_string(), figs[1].3.to_string(), "–".into()]
    );
    assert_eq!(
        row("p50 of successes (ms)")[..2],
        [figs[0].0.clone(), figs[1].0.clone()]
    );
    assert_eq!(
        row("p95 of successes (ms)")[..2],
        [figs[0].1.clone(), figs[1].1.clone()]
    );
    // Fewer failures is better, and stands out of the noise here.
    let failed = lines[at..]
        .iter()
        .find(|l| l.starts_with("  failed"))
        .unwrap();
    assert!(failed.contains(&format!("{}*", figs[0].3)), "{failed}");

    // compare.csv: the request columns as before, then the transaction's; blank where absent.
    let csv = std::fs::read_to_string(d.join("cmp/compare.csv")).unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let head = rd.headers().unwrap().clone();
    assert_eq!(&head[0], "run");
    assert_eq!(&head[15], "transaction.publish_to_success.ended");
    let col = |k: &str| head.iter().position(|h| h == k).unwrap();
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    for (i, r) in runs.iter().enumerate() {
        let f = Facts::of(r).figures;
        let ok = f
            .transactions
            .iter()
            .find(|t| t.outcome == Outcome::Success)
            .unwrap();
        let p50: f64 = recs[i][col("transaction.publish_to_success.p50_ms")]
            .parse()
            .unwrap();
        assert!(
            (p50 - ok.time.p50_us as f64 / 1000.0).abs() < 1e-3,
            "{p50} vs {:?}",
            ok.time
        );
        assert_eq!(
            recs[i][col("transaction.publish_to_success.failed")],
            figs[i].3.to_string()
        );
    }
    assert_eq!(&recs[2][col("transaction.publish_to_success.ended")], "");

    // compare.html: the rows under a heading.
    let html = std::fs::read_to_string(d.join("cmp/compare.html")).unwrap();
    assert!(
        html.contains("transaction publish_to_success</th>"),
        "no heading"
    );
    for t in ["ended", "failed", "p50 of successes", "p95 of successes"] {
        assert!(
            html.contains(&format!("<td>publish_to_success: {t}</td>")),
            "{t}"
        );
    }
}

#[test]
fn samples_carry_a_row_per_transaction_after_the_request_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    surge(
        d,
        &[
            "run",
            COMPLETE,
            "--simulate",
            "-q",
            "-o",
            "r",
            "--samples",
            "s.csv",
            "--set",
            "target.mock_preset=documented",
        ],
    );
    let r = RunResult::read(&d.join("r/result.json")).unwrap();
    let mut rd = csv::Reader::from_path(d.join("s.csv")).unwrap();
    let head: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        head.iter().map(String::as_str).collect::<Vec<_>>(),
        surge::record::samples::SAMPLE_COLUMNS
    );
    assert_eq!(head.last().map(String::as_str), Some("kind"));
    let col = |k: &str| head.iter().position(|h| h == k).unwrap();
    let (mut requests, mut txns) = (0u64, Vec::new());
    for rec in rd.records() {
        let rec = rec.unwrap();
        match &rec[col("kind")] {
            "request" => requests += 1,
            "transaction" => txns.push(rec),
            k => panic!("kind {k}"),
        }
    }
    // One row per attempt, as before, and one per transaction that ended.
    assert_eq!(requests, r.totals.requests);
    let t = &r.transactions[0];
    assert_eq!(txns.len() as u64, t.ended());
    for (o, cell) in t.cells.iter().map(|c| (c.outcome, c)) {
        let rows: Vec<&csv::StringRecord> = txns
            .iter()
            .filter(|x| &x[col("outcome")] == o.name())
            .collect();
        assert_eq!(rows.len() as u64, cell.count, "{o:?}");
        assert!(rows.iter().all(|x| &x[col("label")] == "publish_to_success"
            && x[col("status")].is_empty()
            && x[col("url")].is_empty()));
        // Their times are the histogram's, to its 3 significant digits.
        let mut ms: Vec<f64> = rows
            .iter()
            .map(|x| x[col("service_ms")].parse::<f64>().unwrap())
            .collect();
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len().div_ceil(2) - 1];
        let want = cell.duration_hist.quantile(0.5) as f64 / 1000.0;
        assert!(
            (median / want - 1.0).abs() < 2e-3,
            "{o:?}: {median} vs {want}"
        );
    }
    assert!(
        t.cells.len() > 1,
        "documented fails some: {:?}",
        t.cells.len()
    );
}
