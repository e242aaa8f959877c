//! The recorder's tests: sharded recording drained each second equals one drained once; late
//! samples merge into their second.
use super::*;
use crate::sample::ErrorClass;

fn sample(i: u64, user: u32) -> Sample {
    let status = match i % 11 {
        0..=6 => StatusKey::Http(200),
        7 | 8 => StatusKey::Http(429),
        9 => StatusKey::Http(503),
        _ => StatusKey::Error(ErrorClass::Reset),
    };
    let start = i * 9_973;
    Sample {
        step: (i % 2) as u16,
        user,
        active: 8,
        status,
        intended_us: start.saturating_sub(i % 500),
        start_us: start,
        ttfb_us: start + 700,
        end_us: start + 1_000 + (i * 7_919) % 400_000,
        bytes_in: 100,
        bytes_out: 50,
        attempt: 1 + (i % 3 == 0) as u16,
        last: i % 3 != 2,
        retry_wait_ms: (i % 3 == 0) as u32 * 1_000,
        pace_wait_ms: 0,
        retry_after_ms: (status == StatusKey::Http(429)).then_some(2_000),
        rate_limit: Some(RateLimitHeaders {
            allowed: 300,
            count: (i % 300) as u32,
            reset: 60 - (i % 60) as u32,
        }),
        limit_key: None,
        check: None,
    }
}

use crate::sample::RateLimitHeaders;

#[test]
fn sharded_recording_drained_each_second_equals_one_recording_drained_once() {
    let labels = vec!["a".to_string(), "b".to_string()];
    // Many users over 8 shards, drained second by second as a run does.
    let sharded = Recorder::new(50);
    let mut a = Aggregate::new(labels.clone());
    // One shard, drained once at the end.
    let single = Recorder::new(1);
    let mut b = Aggregate::new(labels);
    // Users start in the first 50 ms, as a ramp-up would (events come before any drain).
    for u in 0..50u64 {
        sharded.user_event(u * 1_000, 1);
        single.user_event(u * 1_000, 1);
    }
    let n = 5_000u64;
    let mut next_drain = 1u32;
    for i in 0..n {
        let s = sample(i, (i % 50) as u32);
        sharded.record(&s);
        single.record(&Sample { user: 0, ..s });
        // Drain seconds that ended more than 0.5 s ago (samples end up to 0.4 s late).
        while u64::from(next_drain) * US + 500_000 < s.start_us {
            sharded.drain_into(next_drain, &mut a);
            next_drain += 1;
        }
    }
    sharded.drain_into(u32::MAX, &mut a);
    single.drain_into(u32::MAX, &mut b);
    let (ta, ca, la) = a.finish(7);
    let (tb, cb, lb) = b.finish(7);
    assert_eq!(ta, tb);
    assert_eq!(ca, cb, "histograms merge exactly");
    assert_eq!(la.len(), lb.len());
    for (x, y) in la.iter().zip(&lb) {
        assert!(x == y, "second {} differs (quantiles included)", x.t);
    }
    assert!(la.iter().all(|s| s.active_users == 50));
    assert_eq!(ta.requests, n);
    assert_eq!(la.iter().map(|s| s.completed).sum::<u64>(), n);
}

#[test]
fn a_late_sample_merges_into_its_seconds_quantiles() {
    let rec = Recorder::new(4);
    let mut agg = Aggregate::new(vec!["a".into()]);
    let at = |end_ms: u64, service_ms: u64| Sample {
        start_us: (end_ms - service_ms) * 1_000,
        intended_us: (end_ms - service_ms) * 1_000,
        ttfb_us: end_ms * 1_000,
        end_us: end_ms * 1_000,
        status: StatusKey::Http(200),
        rate_limit: None,
        retry_after_ms: None,
        ..sample(0, 0)
    };
    for _ in 0..10 {
        rec.record(&at(500, 10));
    }
    rec.drain_into(1, &mut agg);
    assert_eq!(
        agg.second(0).unwrap().latency[&Outcome::Success].max,
        10_007
    );
    // Recorded after second 0 was drained: it still counts, and its quantiles include it.
    rec.record(&at(900, 800));
    rec.drain_into(2, &mut agg);
    let row = agg.second(0).unwrap();
    assert_eq!(row.completed, 11);
    assert!(row.latency[&Outcome::Success].max >= 800_000);
    assert_eq!(row.latency[&Outcome::Success].p50, 10_007);
}
