//! The completion-time trend on timelines built by hand: a canary meeting a filling queue, a
//! flat backend with heavy-tailed noise, times stretched by 429s after the first one, an API
//! that slows, and a queue that fills and drains in a run without 429s.

use std::collections::BTreeMap;

use rand_distr::Distribution as _;

use super::*;
use crate::diagnosis::tests::{result, sec};
use surge_record::result::{Quantiles, Summary, Transaction, TxnCell};
use surge_record::{Hist, PlanSummary};

const NAME: &str = "publish_to_success";

/// A run of `seconds` seconds: ten 2xx answers a second taking `req_s(t)`, five 429s a second in
/// the five seconds from `onset` (the first at `onset` + 0.25 s), and one `NAME` transaction
/// per (begin, time), recorded in the second it ends (those ending after the run: unfinished).
fn run(
    txns: &[(f64, f64)],
    onset: Option<u32>,
    seconds: u32,
    req_s: impl Fn(u32) -> f64,
) -> RunResult {
    let mut tl: Vec<Second> = (0..seconds)
        .map(|t| {
            let thr = match onset {
                Some(o) if (o..o + 5).contains(&t) => 5,
                _ => 0,
            };
            let mut s = sec(t, 10, 10, thr, None, (thr > 0).then_some(2));
            let us = (req_s(t) * 1e6) as u64;
            let q = Quantiles {
                p50: us,
                p95: us,
                p99: us,
                max: us,
            };
            s.latency.insert(Outcome::Success, q);
            s
        })
        .collect();
    let mut ends: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut hist = Hist::new();
    for &(b, d) in txns {
        tl[b as usize]
            .transactions
            .entry(NAME.into())
            .or_default()
            .started += 1;
        let e = (b + d) as u32;
        if e < seconds {
            ends.entry(e).or_default().push((d * 1e6) as u64);
            hist.record((d * 1e6) as u64);
        }
    }
    let ended: u64 = ends.values().map(|v| v.len() as u64).sum();
    for (e, mut ds) in ends {
        ds.sort_unstable();
        let x = tl[e as usize].transactions.entry(NAME.into()).or_default();
        x.ended.insert(Outcome::Success, ds.len() as u64);
        let q = Quantiles {
            p50: ds[(ds.len() - 1) / 2],
            p95: ds[ds.len() - 1],
            p99: ds[ds.len() - 1],
            max: ds[ds.len() - 1],
        };
        x.duration.insert(Outcome::Success, q);
    }
    let mut r = result(tl, PlanSummary::default());
    r.transactions = vec![Transaction {
        name: NAME.into(),
        started: txns.len() as u64,
        unfinished: txns.len() as u64 - ended,
        cells: vec![TxnCell {
            outcome: Outcome::Success,
            count: ended,
            duration: Summary::default(),
            duration_hist: hist,
        }],
    }];
    r
}

/// A canary every 2 s for 90 s: 3 s while the queue is empty, then 1.6 s more for every second
/// the batch has filled it (until 30 s), draining after.
fn canary(onset: Option<u32>) -> RunResult {
    let txns: Vec<(f64, f64)> = (0..45)
        .map(|i| {
            let b = f64::from(i) * 2.0;
            let depth = if b < 30.0 { b } else { (60.0 - b).max(0.0) };
            (b + 0.1, 3.0 + 1.6 * depth)
        })
        .collect();
    run(&txns, onset, 120, |_| 2.5)
}

#[test]
fn a_canary_meeting_a_filling_queue_is_a_backend_queue_before_the_first_429() {
    let c = completion_trend(&canary(Some(25))).unwrap();
    assert_eq!(c.transaction, NAME);
    assert!(c.before_first_429);
    assert_eq!(c.early, (0, 4));
    // Placed by when they began: publishes sent before the first 429 only, those still
    // running at 25.25 s with the time they had taken by then.
    assert!(c.late.1 < 25, "{c:?}");
    assert!(c.late_at_least, "{c:?}");
    assert!(c.ratio() >= 2.0, "{c:?}");
    assert!(c.trend_p <= RISING_P, "{c:?}");
    assert!((c.requests_ratio() - 1.0).abs() < 1e-9, "{c:?}");
    assert!(c.rising() && c.queue_signature, "{c:?}");
    // The same canary in a run without 429s: the queue that filled and drained is read whole.
    let c = completion_trend(&canary(None)).unwrap();
    assert!(!c.before_first_429 && !c.late_at_least, "{c:?}");
    assert!(c.queue_signature, "{c:?}");
    assert!(c.late.0 >= 20 && c.late.1 <= 40, "{c:?}");
}

#[test]
fn a_flat_backend_with_heavy_tailed_noise_is_seldom_read_as_a_queue() {
    // Compile times log-normal around 2 s (p99 ≈ 4 × the median), a canary every 2 s, no 429:
    // the highest of the windows is most often 1.5 × the first, and seldom steadily.
    let noise = rand_distr::LogNormal::new(2f64.ln(), 0.6).unwrap();
    let (mut above_ratio, mut queue) = (0, 0);
    for seed in 0..100u64 {
        let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
        let txns: Vec<(f64, f64)> = (0..45)
            .map(|i| (f64::from(i) * 2.0, noise.sample(&mut rng)))
            .collect();
        let c = completion_trend(&run(&txns, None, 100, |_| 0.06)).unwrap();
        above_ratio += usize::from(c.ratio() >= RISING_RATIO);
        queue += usize::from(c.queue_signature);
    }
    assert!(
        above_ratio >= 60,
        "the windows alone said queue {above_ratio} times in 100"
    );
    assert!(queue <= 2, "{queue} flat runs in 100 read as a queue");
}

#[test]
fn time_stretched_by_429s_after_the_first_is_not_read_as_a_queue() {
    // 2 s each until the first 429 at 8.25 s; those begun just before it wait for the limit to
    // reopen (30 s): only the time they had taken by 8.25 s counts.
    let txns: Vec<(f64, f64)> = (0..8)
        .map(|b| (f64::from(b) + 0.2, if b < 5 { 2.0 } else { 30.0 }))
        .collect();
    let c = completion_trend(&run(&txns, Some(8), 60, |_| 0.1)).unwrap();
    assert!(c.late_at_least, "{c:?}");
    assert!(c.late_us <= 3_100_000, "{c:?}");
    assert!(!c.queue_signature, "{c:?}");
}

#[test]
fn an_api_that_slows_is_not_a_backend_queue() {
    // Every request, and so every transaction, takes longer second by second.
    let txns: Vec<(f64, f64)> = (0..40)
        .map(|b| (f64::from(b), 1.0 + 0.1 * f64::from(b)))
        .collect();
    let c = completion_trend(&run(&txns, None, 60, |t| 0.4 + 0.04 * f64::from(t))).unwrap();
    assert!(c.rising(), "{c:?}");
    assert!(c.requests_ratio() >= FLAT_RATIO, "{c:?}");
    assert!(!c.queue_signature, "{c:?}");
}

#[test]
fn the_transaction_read_is_the_one_with_the_most_successes_and_few_ends_give_none() {
    let mut r = canary(Some(25));
    r.transactions.insert(
        0,
        Transaction {
            name: "batch".into(),
            started: 500,
            unfinished: 0,
            cells: vec![],
        },
    );
    assert_eq!(completion_trend(&r).unwrap().transaction, NAME);
    // Three seconds of begins before the first 429 are too few to tell a trend; a fourth after
    // it does not count.
    let txns = [(0.0, 2.0), (2.0, 2.0), (4.0, 2.0), (9.0, 2.0)];
    let too_few = TooFewEnds {
        transaction: NAME.into(),
        seconds: 3,
        before_first_429: true,
    };
    let mut r = run(&txns, Some(8), 20, |_| 0.1);
    assert_eq!(completion_trend(&r), Err(Some(too_few)));
    // Without transactions there is nothing to read.
    r.transactions.clear();
    assert_eq!(completion_trend(&r), Err(None));
}
