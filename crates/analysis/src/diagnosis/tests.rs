use super::*;
use crate::limit::advice::Basis;
use crate::limit::Model;
use surge_record::meta::PlanSummary;
use surge_record::pace::PaceShape;
pub(crate) use surge_record::synthetic::{cc, from_timeline as result, sec, throttled_run};

#[test]
fn onset_rate_concurrency_shares_and_named_limit() {
    let d = diagnose(&throttled_run(true));
    assert_eq!(d.verdict, Verdict::Throttled);
    let o = d.onset.as_ref().unwrap();
    assert_eq!(o.second, 10);
    assert!((o.at_s - 10.25).abs() < 1e-9);
    assert_eq!(o.window_s, ONSET_WINDOW_S);
    assert!((o.request_rate - 12.0).abs() < 1e-9, "{}", o.request_rate);
    assert_eq!(o.concurrency, 6);
    assert_eq!(o.responses_before, 120);
    assert!((d.from_onset.unwrap().value().unwrap() - 7.0 / 12.0).abs() < 1e-9);
    assert_eq!(d.throttled_seconds, 30);
    let l = d.header_limit.as_ref().unwrap();
    assert_eq!((l.allowed, l.count_max, l.window_s), (300, 300, 60));
    assert!((l.per_token_rate - 5.0).abs() < 1e-9);
    // The headers named the limit and the 429s came when its count ran out: a window per token.
    let m = d.measured.as_ref().unwrap();
    assert_eq!(
        (m.model, m.basis, m.per_token),
        (Model::FixedWindow, Basis::Headers, true)
    );
    assert_eq!((m.burst, m.window_s), (300.0, Some(60.0)));
    let a = d.advice.as_ref().unwrap();
    assert_eq!(
        a.pace,
        PaceShape {
            rate_per_s: 285.0 / 61.0,
            burst: 285,
            window_s: Some(61.0),
            per_token: true,
            max_in_flight: None,
        }
    );
    assert_eq!(a.margin, 0.05);
    // 480 requests at 285 per 61 s: the last starts in the second window.
    let b = a.batch.unwrap();
    assert_eq!((b.requests, b.tokens, b.last_start_s), (480, 1, 61.0));
    assert!(d.no_advice.is_none());
    let ra = d.retry_after.as_ref().unwrap();
    assert_eq!((ra.min_s, ra.median_s, ra.max_s, ra.without), (3, 3, 3, 0));
    assert_eq!(d.limit_named(), LimitNamed::Headers);
    assert_eq!(d.before_onset, Some(Share::new(0, 120)));
    assert_eq!(d.from_onset, Some(Share::new(210, 360)));
}

#[test]
fn more_tokens_keep_the_pace_per_token_and_shorten_the_batch() {
    let mut r = throttled_run(true);
    r.plan = cc(2);
    let a = diagnose(&r).advice.unwrap();
    assert_eq!((a.pace.burst, a.pace.per_token), (285, true));
    // 480 requests over 2 tokens fit in one window each.
    assert_eq!(a.batch.unwrap().last_start_s, 0.0);
}

#[test]
fn without_headers_the_rate_is_read_between_the_429s() {
    let d = diagnose(&throttled_run(false));
    assert_eq!(d.verdict, Verdict::Throttled);
    assert!(d.header_limit.is_none());
    let m = d.measured.as_ref().unwrap();
    assert_eq!(
        (m.model, m.basis),
        (Model::TokenBucket, Basis::ThrottledStretch)
    );
    // Seconds 11–38: 12 started, 7 refused, 5 admitted each.
    assert_eq!((m.from_s, m.to_s, m.admitted), (11, 38, 140));
    assert!((m.rate_per_s - 5.0).abs() < 1e-9);
    assert_eq!(m.saturation, 1.0);
    // 123 started before the first 429 (at 10.25 s), 5/s of which the rate accounts for.
    assert!((m.admitted_before_onset - 123.0).abs() < 1e-9);
    assert!((m.burst - (123.0 - 5.0 * 10.25)).abs() < 1e-9);
    let a = d.advice.as_ref().unwrap();
    assert_eq!((a.pace.rate_per_s, a.pace.window_s), (4.75, None));
    assert!(a.pace.burst < 70 && a.pace.burst > 60, "{a:?}");
    assert_eq!(a.basis, Basis::ThrottledStretch);
    assert_eq!(d.limit_named(), LimitNamed::Nowhere);
    assert_eq!(d.retry_after.as_ref().unwrap().count, 0);
}

/// The short burst run: a few throttled seconds cannot tell a burst from a rate.
#[test]
fn a_short_throttled_stretch_gives_no_pace_and_says_what_would() {
    let tl = (0..8)
        .map(|t| {
            let (ok, thr) = if t < 5 { (30, 0) } else { (19, 40) };
            sec(t, 20, ok, thr, None, None)
        })
        .collect();
    let d = diagnose(&result(tl, cc(1)));
    assert!(d.advice.is_none() && d.measured.is_none());
    let no = d.no_advice.unwrap();
    assert_eq!(no.reason, NoAdviceReason::TooShort);
    assert_eq!(no.throttled_s, 3);
    assert_eq!(no.needed_s, Some(measure::MIN_STRETCH_S + 2));
}

#[test]
fn a_client_that_let_up_or_long_retry_afters_give_no_pace() {
    // 429s in every other second only.
    let tl = (0..30)
        .map(|t| {
            sec(
                t,
                4,
                5,
                if t >= 5 && t % 2 == 1 { 3 } else { 0 },
                None,
                None,
            )
        })
        .collect();
    let no = diagnose(&result(tl, cc(1))).no_advice.unwrap();
    assert_eq!(no.reason, NoAdviceReason::Unsaturated);
    // Admitted between 429s, but told to wait 40 s: not a bucket refilling at 2/s.
    let tl = (0..30)
        .map(|t| sec(t, 4, 2, if t >= 5 { 6 } else { 0 }, None, Some(40)))
        .collect();
    let no = diagnose(&result(tl, cc(1))).no_advice.unwrap();
    assert_eq!(no.reason, NoAdviceReason::LongRetryAfter);
}

#[test]
fn no_429s_says_the_data_cannot_tell() {
    let tl = (0..20).map(|t| sec(t, 4, 8, 0, None, None)).collect();
    let d = diagnose(&result(tl, PlanSummary::default()));
    assert_eq!(d.verdict, Verdict::NotThrottled);
    assert!(d.onset.is_none() && d.measured.is_none() && d.advice.is_none());
    assert_eq!(
        d.no_advice.as_ref().unwrap().reason,
        NoAdviceReason::NotThrottled
    );
    assert_eq!((d.peak_rate, d.peak_users), (8.0, 4));
    assert_eq!(d.limit_named(), LimitNamed::Nowhere);
}

#[test]
fn no_429s_with_headers_reports_headroom() {
    let tl = (0..20)
        .map(|t| sec(t, 4, 2, 0, Some((300, 2 * (t + 1), 60 - t)), None))
        .collect();
    let d = diagnose(&result(tl, PlanSummary::default()));
    assert_eq!(d.verdict, Verdict::NotThrottled);
    let l = d.header_limit.as_ref().unwrap();
    assert_eq!(l.count_max, 40);
    assert!((l.used() - 40.0 / 300.0).abs() < 1e-9);
}

#[test]
fn everything_throttled_from_the_start_gives_no_safe_pace() {
    let tl = (0..5).map(|t| sec(t, 2, 0, 10, None, None)).collect();
    let d = diagnose(&result(tl, PlanSummary::default()));
    let o = d.onset.as_ref().unwrap();
    assert_eq!((o.second, o.window_s, o.responses_before), (0, 1, 0));
    assert_eq!(d.before_onset, None);
    assert_eq!(d.from_onset, Some(Share::new(50, 50)));
    assert!(d.advice.is_none() && d.no_advice.is_some());
}

#[test]
fn no_traffic_is_said_plainly() {
    let d = diagnose(&result(vec![], PlanSummary::default()));
    assert_eq!(d.verdict, Verdict::NoTraffic);
    assert!(d.onset.is_none() && d.advice.is_none());
    assert_eq!(d.no_advice.unwrap().reason, NoAdviceReason::NoTraffic);
}

#[test]
fn a_longer_reset_widens_the_window() {
    let tl = (0..10)
        .map(|t| sec(t, 2, 1, 1, Some((1000, 1000, 3600 - t)), Some(30)))
        .collect();
    let l = diagnose(&result(tl, PlanSummary::default()))
        .header_limit
        .unwrap();
    assert_eq!(l.window_s, 3600);
    assert!(!l.window_assumed);
    assert!(l.per_token_rate < 0.28);
}

#[test]
fn limits_named_in_429_bodies_are_reported() {
    let mut r = surge_record::synthetic::result(60, &["publish"]);
    let thr = r.outcome_count(Outcome::Throttled);
    assert!(thr > 2);
    r.totals.throttled_by_limit.insert(
        "HYPOTHESIS.architect.compile/HYPOTHESIS.publish.compile.backlog.capacity".into(),
        thr - 2,
    );
    let d = diagnose(&r);
    let b = &d.body_limits;
    assert_eq!(b.named.len(), 1);
    assert_eq!(b.named[0].count, thr - 2);
    assert_eq!(b.unnamed, 2);
    assert!(b.hypothesis);
    assert_eq!(d.limit_named(), LimitNamed::Both);
}

#[test]
fn facts_round_trip_through_json() {
    let d = diagnose(&throttled_run(true));
    let text = serde_json::to_string(&d).unwrap();
    let back: Diagnosis = serde_json::from_str(&text).unwrap();
    assert_eq!(back, d);
}
