//! Baseline verdicts: a clear regression, a change inside the noise, allowances as written.

use super::*;
use crate::threshold_eval::tests::{cell, result};
use surge_record::StatusKey;

fn labels() -> Vec<String> {
    vec!["publish".into(), "get".into()]
}

/// Pseudo-random latencies around `base_ms` (uniform ± 50%), from a seed.
fn lat(seed: u64, base_ms: u64) -> impl Fn(u64) -> u64 {
    move |i| {
        let u: f64 = rand::RngExt::random(&mut stats::rng(seed ^ i.wrapping_mul(0x9E37)));
        ((base_ms as f64) * (0.5 + u) * 1000.0) as u64
    }
}

fn run(seed: u64, pub_ms: u64, n429: u64) -> RunResult {
    result(
        vec![
            cell("publish", StatusKey::Http(200), 4000, lat(seed, pub_ms)),
            cell("publish", StatusKey::Http(429), n429, |_| 1_000),
            cell("get", StatusKey::Http(200), 2000, lat(seed + 1, 50)),
        ],
        vec![],
        60.0,
    )
}

fn find<'a>(rows: &'a [Comparison], label: &str, metric: &str) -> &'a Comparison {
    rows.iter()
        .find(|r| r.label == label && r.metric == metric)
        .unwrap_or_else(|| panic!("{label} {metric}: {rows:#?}"))
}

#[test]
fn allowances_parse_with_directions_and_units() {
    let a = parse_allowances(
        "p95=+10%, rate(429)=+2pp,rate(2xx)=1pp, throughput(2xx, publish)=-5%, p99(get)=50ms",
        &labels(),
    )
    .unwrap();
    assert_eq!(a.len(), 5);
    assert_eq!((a[0].direction, a[0].limit), (1, Limit::Relative(0.10)));
    assert_eq!((a[1].direction, a[1].limit), (1, Limit::Absolute(0.02)));
    assert_eq!(a[2].direction, -1, "a lower 2xx share is the bad direction");
    assert_eq!((a[3].direction, a[3].limit), (-1, Limit::Relative(0.05)));
    assert_eq!(a[4].limit, Limit::Absolute(0.05));
    for (bad, msg) in [
        ("p95", "expected METRIC=AMOUNT"),
        ("p95=+10", "is a time"),
        ("first_429=+1s", "only latency statistics"),
        ("p95(nope)=+10%", "unknown label"),
        ("rate(429)=+x%", "not a percentage"),
        ("", "empty"),
    ] {
        let e = parse_allowances(bad, &labels()).unwrap_err();
        assert!(e.to_string().contains(msg), "{bad:?}: {e}");
    }
}

#[test]
fn a_clear_regression_fails_and_names_its_interval() {
    let base = run(1, 400, 40);
    let cand = run(2, 520, 400); // p95 +30%, 429s 1% → 9%
    let a = parse_allowances(DEFAULT_MAX_REGRESSION, &labels()).unwrap();
    let rows = compare(&base, &cand, &a, 0.99);
    let p95 = find(&rows, "publish", "p95");
    assert_eq!(p95.status, Status::Regression, "{p95:?}");
    assert!(p95.significant && p95.change_rel.unwrap() > 0.2);
    let (lo, hi) = p95.interval.unwrap();
    assert!(lo > 0.0 && hi > lo, "{lo}..{hi}");
    let r429 = find(&rows, "publish", "rate(429)");
    assert_eq!(r429.status, Status::Regression, "{r429:?}");
    assert!(r429.p_value.unwrap() < 1e-6);
    // get did not change.
    assert_eq!(find(&rows, "get", "p95").status, Status::Pass);
    assert_eq!(find(&rows, "get", "rate(429)").status, Status::Pass);
    assert!(p95.beyond && p95.out_of_noise, "{p95:?}");
}

#[test]
fn a_change_inside_the_noise_passes() {
    // Same distribution, different draws; and a tiny sample where +12% is not out of the noise.
    let rows = compare(
        &run(1, 400, 40),
        &run(7, 400, 44),
        &parse_allowances("p95=+1%,rate(429)=+0pp", &labels()).unwrap(),
        0.99,
    );
    for r in &rows {
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }
    let small = |seed, ms| {
        result(
            vec![cell("publish", StatusKey::Http(200), 20, lat(seed, ms))],
            vec![],
            10.0,
        )
    };
    let rows = compare(
        &small(1, 400),
        &small(2, 450),
        &parse_allowances("p95=+5%", &["publish".into()]).unwrap(),
        0.99,
    );
    let r = find(&rows, "publish", "p95");
    assert_eq!(r.status, Status::Pass, "{r:?}");
    assert!(!r.significant);
}

#[test]
fn a_real_change_within_the_allowance_passes_and_missing_labels_are_skipped() {
    let base = run(1, 400, 40);
    let mut cand = run(2, 430, 40);
    cand.labels.push("new".into());
    let rows = compare(
        &base,
        &cand,
        &parse_allowances("p50=+20%,avg=+20%,throughput(2xx)=-5%", &labels()).unwrap(),
        0.99,
    );
    let p50 = find(&rows, "publish", "p50");
    assert_eq!(p50.status, Status::Pass);
    assert!(p50.significant && !p50.beyond, "{p50:?}");
    assert_eq!(find(&rows, "publish", "avg").status, Status::Pass);
    assert_eq!(
        find(&rows, "publish", "throughput(2xx)").status,
        Status::Pass
    );
    assert_eq!(find(&rows, "new", "label").status, Status::Skipped);
}

#[test]
fn the_default_p95_gate_says_when_it_cannot_fail_at_its_sample_size() {
    // Exponential service times (mean 400 ms): a tail like the seed's publishes.
    let small = |seed: u64, n| {
        let tail = move |i: u64| {
            let mut r = stats::rng(seed ^ i.wrapping_mul(0x9E37));
            let u: f64 = rand::RngExt::random(&mut r);
            (-(1.0 - u).ln() * 400_000.0) as u64 + 1
        };
        result(
            vec![cell("publish", StatusKey::Http(200), n, tail)],
            vec![],
            60.0,
        )
    };
    let a = parse_allowances(DEFAULT_MAX_REGRESSION, &["publish".into()]).unwrap();
    // 500 publishes a run (the seed's batch): the p95's noise is wider than +10%.
    let rows = compare(&small(1, 500), &small(2, 500), &a, 0.99);
    let p95 = find(&rows, "publish", "p95");
    assert!(p95.underpowered, "{p95:?}");
    let h = p95.resolution.unwrap() / p95.baseline.unwrap();
    assert!(h > 0.10, "relative noise {h}");
    let need = p95.samples_needed.unwrap();
    assert!(need > 500, "{need}");
    assert_eq!(p95.samples, 500);
    // With plenty of samples the same gate can fail, and says nothing of the kind.
    let rows = compare(&small(1, 40_000), &small(2, 40_000), &a, 0.99);
    let p95 = find(&rows, "publish", "p95");
    assert!(!p95.underpowered, "{p95:?}");
    assert_eq!(p95.samples_needed, None);
}

#[test]
fn shares_show_their_change_in_points_and_keep_their_written_name() {
    // No 429 in the baseline: a relative change is undefined, the change in points is not.
    let rows = compare(
        &run(1, 400, 0),
        &run(2, 400, 40),
        &parse_allowances("rate(429)=+2pp", &labels()).unwrap(),
        0.99,
    );
    let r = find(&rows, "publish", "rate(429)");
    assert_eq!(r.change_rel, None);
    assert!(r.change.unwrap() > 0.0 && r.kind == Kind::Share, "{r:?}");
    assert_eq!(r.metric, "rate(429)");
}
