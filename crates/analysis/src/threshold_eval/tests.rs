//! Each metric against a result built by hand, sustained conditions on a crafted timeline, and
//! the live gate that aborts a run.

use std::collections::BTreeMap;

use super::*;
use surge_plan::threshold::Threshold;

use surge_record::{ErrorClass, StatusKey};

pub(crate) use surge_record::synthetic::{cell, from_cells as result};

/// A second with `ok` 2xx and `throttled` 429s, 2xx p95 of `p95_ms`.
pub(crate) fn second(t: u32, ok: u64, throttled: u64, p95_ms: u64) -> Second {
    let mut s = Second {
        t,
        completed: ok + throttled,
        ..Second::default()
    };
    s.by_outcome.insert(Outcome::Success, ok);
    s.by_status.insert(StatusKey::Http(200), ok);
    if throttled > 0 {
        s.by_outcome.insert(Outcome::Throttled, throttled);
        s.by_status.insert(StatusKey::Http(429), throttled);
    }
    if ok > 0 {
        let q = Quantiles {
            p50: p95_ms * 500,
            p95: p95_ms * 1000,
            p99: p95_ms * 1100,
            max: p95_ms * 1200,
        };
        s.latency.insert(Outcome::Success, q);
    }
    s
}

fn verdict(r: &RunResult, src: &str) -> Verdict {
    let t = Threshold::new(src, None, false, Some(&r.labels)).unwrap_or_else(|e| panic!("{e}"));
    evaluate(r, &t)
}

fn known() -> RunResult {
    // publish: 900 successes at 1..=900 ms, 80 × 429 at 1 ms, 15 × 503, 5 resets; get: 100 × 200 at 5 ms.
    let mut pub_ok = cell("publish", StatusKey::Http(200), 900, |i| (i + 1) * 1000);
    pub_ok.retries = 30;
    let mut r = result(
        vec![
            pub_ok,
            cell("publish", StatusKey::Http(429), 80, |_| 1_000),
            cell("publish", StatusKey::Http(503), 15, |_| 2_000),
            cell("publish", StatusKey::Error(ErrorClass::Reset), 5, |_| 3_000),
            cell("get", StatusKey::Http(200), 100, |_| 5_000),
        ],
        vec![],
        10.0,
    );
    r.totals.first_429_s = Some(31.5);
    r.totals.completion_s = 95.0;
    r.totals.final_by_outcome = BTreeMap::from([(Outcome::Success, 990), (Outcome::Throttled, 10)]);
    r
}

#[test]
fn latency_metrics_read_the_histograms_of_successes_only() {
    let r = known();
    let v = verdict(&r, "p95(publish) < 800ms");
    assert!(!v.passed);
    let p95 = v.observed.unwrap();
    assert!((p95 - 0.855).abs() < 0.001, "{p95}"); // 3 significant digits
    assert!(verdict(&r, "p95(publish) < 900ms").passed);
    // Successes only: 429s at 1ms never pull the median down.
    assert!((verdict(&r, "p50(publish) > 1ms").observed.unwrap() - 0.450).abs() < 0.001);
    assert!((verdict(&r, "max(publish) < 1s").observed.unwrap() - 0.9).abs() < 0.001);
    assert!((verdict(&r, "min(publish) < 1s").observed.unwrap() - 0.001).abs() < 1e-6);
    assert!((verdict(&r, "avg(publish) < 1s").observed.unwrap() - 0.4505).abs() < 0.001);
    // Explicit outcome, every label, response time.
    assert!((verdict(&r, "p99(publish, 429) < 2ms").observed.unwrap() - 0.001).abs() < 1e-6);
    assert!((verdict(&r, "p50(get, response) < 7ms").observed.unwrap() - 0.006).abs() < 1e-5);
    assert!(verdict(&r, "p99.9 < 1s").passed);
    // Nothing to measure fails, never passes silently.
    let v = verdict(&r, "p95(get, 5xx) < 1s");
    assert!(!v.passed && v.observed.is_none(), "{v:?}");
    assert_eq!(
        v.reading,
        Reading::NoData(NoData::Responses {
            outcome: Outcome::ServerError,
            label: Some("get".into())
        })
    );
}

#[test]
fn rates_counts_and_run_metrics_match_hand_counts() {
    let r = known();
    let v = |s: &str| verdict(&r, s).observed.unwrap();
    // 1100 attempts: 1000 of publish, 100 of get.
    assert!((v("rate(429) < 10%") - 80.0 / 1100.0).abs() < 1e-12);
    assert!((v("rate(429, publish) < 10%") - 0.08).abs() < 1e-12);
    assert!((v("rate(2xx) > 50%") - 1000.0 / 1100.0).abs() < 1e-12);
    assert!((v("rate(503) < 5%") - 15.0 / 1100.0).abs() < 1e-12);
    assert!(
        (v("error_rate < 5%") - 20.0 / 1100.0).abs() < 1e-12,
        "5xx + transport errors"
    );
    assert!((v("error_rate(get) < 5%") - 0.0).abs() < 1e-12);
    assert!((v("final_rate(2xx) > 90%") - 0.99).abs() < 1e-12);
    assert_eq!(v("count(5xx) < 100"), 15.0);
    assert_eq!(v("count(error) < 100"), 5.0);
    assert!((v("throughput(2xx) > 1/s") - 100.0).abs() < 1e-9);
    assert!((v("throughput(*, get) > 1/s") - 10.0).abs() < 1e-9);
    assert!((v("retries_per_success < 1") - 30.0 / 1000.0).abs() < 1e-12);
    assert!((v("retries_per_success(publish) < 1") - 30.0 / 900.0).abs() < 1e-12);
    assert_eq!(v("first_429 > 30s"), 31.5);
    assert_eq!(v("completion < 2m"), 95.0);
    let v = verdict(&r, "rate(429) < 5%");
    assert!(!v.passed);
    assert!(matches!(
        v.reading,
        Reading::Value { cmp: Cmp::Lt, limit, kind: Kind::Share, no_429: false, .. } if limit == 0.05
    ));
    assert!(!verdict(&r, "first_429 > 40s").passed);
    assert!(verdict(&r, "completion < 2m").passed);
}

#[test]
fn first_429_without_any_429_is_infinitely_late() {
    let r = result(
        vec![cell("get", StatusKey::Http(200), 10, |_| 1_000)],
        vec![],
        1.0,
    );
    let v = verdict(&r, "first_429 > 30s");
    assert!(v.passed && v.observed.is_none(), "{v:?}");
    assert!(
        matches!(v.reading, Reading::Value { no_429: true, .. }),
        "{v:?}"
    );
    assert!(!verdict(&r, "first_429 < 30s").passed);
    // No attempts at all: a rate has nothing to measure and fails.
    let empty = result(vec![], vec![], 1.0);
    assert!(!verdict(&empty, "rate(429) < 1%").passed);
}

fn crafted() -> RunResult {
    // t=0..2 clean, t=3..6 30% 429s (4 s), t=7 nothing completes, t=8..13 40% 429s (6 s), t=14 clean,
    // t=15 a partial last second with 100% 429s (the run lasted 15.4 s).
    let mut tl: Vec<Second> = Vec::new();
    for t in 0..16 {
        tl.push(match t {
            0..=2 | 14 => second(t, 10, 0, 100),
            3..=6 => second(t, 7, 3, 300),
            7 => Second {
                t,
                ..Second::default()
            },
            8..=13 => second(t, 6, 4, 900),
            _ => second(t, 0, 10, 0),
        });
    }
    tl.remove(7); // a missing row counts as an idle second
    result(vec![cell("get", StatusKey::Http(200), 1, |_| 1)], tl, 15.4)
}

#[test]
fn sustained_conditions_count_consecutive_full_seconds() {
    let r = crafted();
    let v = verdict(&r, "rate(429) > 5% for 6s");
    assert!(!v.passed, "{v:?}");
    assert_eq!(v.observed, Some(6.0));
    assert_eq!(
        v.reading,
        Reading::Streak {
            longest_s: 6,
            from_s: 8,
            fails_at_s: 6
        }
    );
    // The idle second at t=7 breaks the streak: 4 + 6 is not 10.
    let v = verdict(&r, "rate(429) > 5% for 7s");
    assert!(v.passed && v.observed == Some(6.0), "{v:?}");
    // The partial last second is not read: 35% for 1s would otherwise catch t=15's 100%.
    assert!(verdict(&r, "rate(429) > 50% for 1s").passed);
    assert!(!verdict(&r, "p95 > 500ms for 6s").passed);
    assert!(verdict(&r, "p95 > 500ms for 7s").passed);
    // Throughput of an idle second is 0 (defined), so it extends a low-throughput streak.
    let v = verdict(&r, "throughput(2xx) < 8/s for 11s");
    assert!(!v.passed && v.observed == Some(11.0), "{v:?}");
    assert!(verdict(&r, "count(429) >= 3 for 5s").observed == Some(6.0));
    assert!(matches!(
        verdict(&r, "rate(429) > 50% for 1s").reading,
        Reading::Streak { longest_s: 0, .. }
    ));
}

#[test]
fn live_gate_aborts_once_the_streak_reaches_its_length() {
    let r = crafted();
    let ts = vec![
        Threshold::new(
            "rate(429) > 5% for 5s",
            Some("429 storm".into()),
            true,
            None,
        )
        .unwrap(),
        Threshold::new("rate(429) > 5% for 2s", None, false, None).unwrap(),
    ];
    let gate = LiveGate::new(&ts).expect("one abort_on_fail threshold");
    let mut fired = None;
    for s in &r.timeline {
        if let Some(reason) = gate.push(s) {
            fired = Some((s.t, reason));
            break;
        }
    }
    let (t, breach) = fired.expect("aborts");
    assert_eq!(t, 12, "8,9,10,11,12: five seconds in a row");
    assert_eq!(
        breach,
        Breach {
            name: "429 storm".into(),
            held_s: 5,
            until_s: 13
        }
    );
    assert!(LiveGate::new(&ts[1..]).is_none());
}
