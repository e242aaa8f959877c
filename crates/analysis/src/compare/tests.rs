//! Tests of run comparisons: figures, the best run per figure, names, and the transactions'
//! rows (compare.csv is `surge_report::compare`'s).

use super::*;
use surge_record::synthetic;

fn col(k: &str) -> usize {
    FIGURES.iter().position(|f| f.key == k).unwrap()
}

/// A run of the seed batch: `failed` publishes finally failed, the batch took `done_s`, and
/// publishes took 1 to 5 s (the seed's spread).
fn batch(name: &str, failed: u64, done_s: f64) -> RunFigures {
    let mut r = synthetic::result(60, &["publish"]);
    let mut h = Hist::new();
    for k in 0..400 {
        h.record(1_000_000 + 10_000 * k);
    }
    for c in r.cells.iter_mut().filter(|c| c.outcome == Outcome::Success) {
        c.service_hist = h.clone();
    }
    r.scenario.name = name.into();
    r.totals.final_by_outcome = [
        (Outcome::Success, 500 - failed),
        (Outcome::Throttled, failed),
    ]
    .into();
    r.totals.completion_s = done_s;
    figures(name, &r)
}

#[test]
fn figures_and_best_from_known_results() {
    let mut a = synthetic::result(60, &["publish"]);
    let mut b = a.clone();
    a.scenario.name = "fast".into();
    b.scenario.name = "slow".into();
    a.totals.completion_s = 40.0;
    b.totals.completion_s = 90.0;
    a.totals.dropped_iterations = 30;
    for r in [&mut a, &mut b] {
        r.totals.final_by_outcome = [(Outcome::Success, r.totals.requests)].into();
    }
    let runs = vec![figures("fast", &a), figures("slow", &b)];
    let best = best(&runs);
    assert_eq!(best[col("completion_s")], vec![0]);
    assert_eq!(best[col("dropped_iterations")], vec![1]);
    // Equal values highlight nobody; informational figures never.
    assert!(best[col("p95_ms")].is_empty());
    assert!(best[col("requests")].is_empty());
    let t = &a.totals;
    let thr = t.by_outcome.get(&Outcome::Throttled).copied().unwrap_or(0) as f64;
    assert!((runs[0].throttled_share.value - 100.0 * thr / t.requests as f64).abs() < 1e-9);
}

#[test]
fn the_fastest_batch_is_the_fastest_that_did_the_job() {
    // The burst finishes first but fails 200 of 500 publishes.
    let runs = vec![
        batch("burst", 200, 10.4),
        batch("pace", 0, 54.6),
        batch("documented pace", 0, 113.7),
    ];
    let best = best(&runs);
    assert_eq!(best[col("completion_s")], vec![1], "{:?}", best);
    assert_eq!(best[col("failed_requests")], vec![1, 2]);
    assert_eq!(best[col("final_success_rate")], vec![1, 2]);
}

#[test]
fn a_difference_within_the_noise_is_not_a_win() {
    // Half a second apart, with a service-time spread of about a second on each side.
    let runs = vec![batch("a", 0, 54.6), batch("b", 0, 55.1)];
    assert!(runs[0].completion_s.se > 0.5, "{:?}", runs[0].completion_s);
    assert!(best(&runs)[col("completion_s")].is_empty());
    // 3 failed of 500 against none: within the binomial noise of 500 requests.
    let runs = vec![batch("a", 0, 54.6), batch("b", 3, 54.6)];
    assert!(best(&runs)[col("failed_requests")].is_empty());
    // 60 of 500 is not.
    let runs = vec![batch("a", 0, 54.6), batch("b", 60, 54.6)];
    assert_eq!(best(&runs)[col("failed_requests")], vec![0]);
}

#[test]
fn with_no_run_done_no_time_figure_is_starred() {
    let runs = vec![batch("a", 10, 30.0), batch("b", 100, 90.0)];
    let best = best(&runs);
    assert!(best[col("completion_s")].is_empty());
    assert_eq!(best[col("failed_requests")], vec![0]);
}

#[test]
fn names_fall_back_to_folders_then_numbers() {
    let r = synthetic::result(5, &["x"]);
    let two = vec![
        ("reports/a/result.json".into(), r.clone()),
        ("reports/b/result.json".into(), r.clone()),
    ];
    assert_eq!(names(&two), vec!["a", "b"]);
    let same = vec![
        ("x/result.json".into(), r.clone()),
        ("x/result.json".into(), r),
    ];
    assert_eq!(names(&same), vec!["run 1", "run 2"]);
}

use surge_record::synthetic::with_transaction as with_txn;

#[test]
fn transactions_are_rows_after_the_request_figures_with_the_facts_figures() {
    let (a, b) = (with_txn("a", 500, 0), with_txn("b", 440, 60));
    let plain = synthetic::result(60, &["publish"]);
    let runs = vec![figures("a", &a), figures("b", &b), figures("plain", &plain)];
    let rows = rows(&runs);
    assert_eq!(rows.len(), FIGURES.len() + 4);
    let keys: Vec<&str> = rows[FIGURES.len()..]
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "transaction.publish_to_success.ended",
            "transaction.publish_to_success.failed",
            "transaction.publish_to_success.p50_ms",
            "transaction.publish_to_success.p95_ms"
        ]
    );
    let row = |k: &str| {
        let key = format!("transaction.publish_to_success.{k}");
        rows.iter().find(|r| r.key == key).unwrap()
    };
    assert_eq!(
        row("ended")
            .values
            .iter()
            .map(|v| v.value)
            .take(2)
            .collect::<Vec<_>>(),
        [500.0, 500.0]
    );
    assert_eq!(row("failed").values[1].value, 60.0);
    assert!(
        row("failed").values[2].value.is_nan(),
        "a run without it has no value"
    );
    // The p50 is the one the run's report shows.
    let facts = crate::figures::Figures::of(&b);
    let ok = facts
        .transactions
        .iter()
        .find(|t| t.outcome == Outcome::Success)
        .unwrap();
    assert_eq!(
        row("p50_ms").values[1].value,
        ok.time.p50_us as f64 / 1000.0
    );
    // 60 failed of 500 against none stands out; equal times do not.
    let best = best(&runs);
    let at = |k: &str| rows.iter().position(|r| r.key == k).unwrap();
    assert_eq!(best[at("transaction.publish_to_success.failed")], vec![0]);
    assert!(best[at("transaction.publish_to_success.ended")].is_empty());
}
