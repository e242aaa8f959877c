use super::*;
use crate::record::result::{RateLimitSecond, Totals};
use crate::record::StatusKey;

/// One second: `ok` 200s and `thr` 429s, all started in the same second, `users` active.
fn sec(
    t: u32,
    users: u32,
    ok: u64,
    thr: u64,
    rl: Option<(u32, u32, u32)>,
    ra: Option<u32>,
) -> Second {
    let mut s = Second {
        t,
        active_users: users,
        started: ok + thr,
        completed: ok + thr,
        ..Second::default()
    };
    for (k, o, c) in [
        (StatusKey::Http(200), Outcome::Success, ok),
        (StatusKey::Http(429), Outcome::Throttled, thr),
    ] {
        if c > 0 {
            s.by_status.insert(k, c);
            s.by_outcome.insert(o, c);
        }
    }
    if let (Some(v), true) = (ra, thr > 0) {
        s.retry_after.insert(v, thr);
    }
    s.rate_limit = rl.map(|(allowed, count_max, reset_min)| RateLimitSecond {
        responses: ok + thr,
        allowed,
        count_max,
        reset_min,
    });
    s
}

fn result(timeline: Vec<Second>, plan: serde_json::Value) -> RunResult {
    let mut totals = Totals::default();
    for s in &timeline {
        totals.requests += s.completed;
        for (k, v) in &s.by_status {
            *totals.by_status.entry(*k).or_default() += v;
        }
        for (k, v) in &s.by_outcome {
            *totals.by_outcome.entry(*k).or_default() += v;
        }
        for (k, v) in &s.retry_after {
            *totals.retry_after.entry(*k).or_default() += v;
        }
        if totals.first_429_s.is_none() && s.by_outcome.contains_key(&Outcome::Throttled) {
            totals.first_429_s = Some(f64::from(s.t) + 0.25);
        }
    }
    let thr = totals
        .by_outcome
        .get(&Outcome::Throttled)
        .copied()
        .unwrap_or(0);
    totals.throttled_without_retry_after = thr - totals.retry_after.values().sum::<u64>();
    RunResult {
        schema: crate::record::result::SCHEMA.into(),
        schema_version: crate::record::result::SCHEMA_VERSION,
        tool: crate::record::result::Tool::current(),
        scenario: crate::record::result::ScenarioInfo {
            name: "t".into(),
            description: String::new(),
            file: "t.toml".into(),
        },
        plan,
        target: crate::record::result::TargetInfo {
            base_url: "http://127.0.0.1:1".into(),
            host: "127.0.0.1".into(),
            kind: "url".into(),
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: "2025-01-01T00:00:00Z".into(),
        started_unix_ms: 0,
        duration_s: timeline.len() as f64,
        partial: false,
        stop_reason: "completed".into(),
        simulated: false,
        labels: vec!["get".into()],
        totals,
        cells: vec![],
        timeline,
    }
}

fn cc(tokens: u32) -> serde_json::Value {
    serde_json::json!({"auth": {"kind": "client_credentials", "tokens": tokens}})
}

/// 12 req/s with 6 users; from second 10 the server admits 5/s and answers the rest with 429,
/// naming 300 per minute in its headers.
fn throttled_run(headers: bool) -> RunResult {
    let tl = (0..40)
        .map(|t| {
            let (ok, thr) = if t < 10 { (12, 0) } else { (5, 7) };
            let rl = headers.then_some((300, if t < 10 { 12 * (t + 1) } else { 300 }, 60 - t % 60));
            sec(t, 6, ok, thr, rl, headers.then_some(3))
        })
        .collect();
    result(tl, cc(1))
}

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
    assert_eq!(d.share_429_before, Some(0.0));
    assert!((d.share_429_after.unwrap() - 7.0 / 12.0).abs() < 1e-9);
    assert_eq!(d.throttled_seconds, 30);
    let l = d.limit.as_ref().unwrap();
    assert_eq!((l.allowed, l.count_max, l.window_s), (300, 300, 60));
    assert!((l.per_token_rate - 5.0).abs() < 1e-9);
    let c = d.capacity.as_ref().unwrap();
    assert!((c.ok_per_s - 5.0).abs() < 1e-9);
    assert_eq!((c.from_s, c.to_s), (10.0, 40.0));
    let rec = d.recommendation.as_ref().unwrap();
    assert_eq!(rec.basis, Basis::Headers);
    assert_eq!(rec.pace_per_s, 4.7);
    // 12 req/s at 4.75 per token → 3 tokens.
    assert_eq!(rec.tokens_needed, Some(3));
    let ra = d.retry_after.as_ref().unwrap();
    assert_eq!((ra.min_s, ra.median_s, ra.max_s, ra.without), (3, 3, 3, 0));
    let text = d.lines.join("\n");
    for want in [
        "10.2 s",
        "12 req/s",
        "6 active users",
        "300 requests per minute per token",
        "5 2xx/s",
        "≤ 4.7 req/s",
        "3 tokens",
        "No 429 body named its limit",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(
        d.headline[0].contains("first 429 at 10.2 s")
            && d.headline[0].contains("300/min per token"),
        "{:?}",
        d.headline
    );
    assert!(
        d.headline[1].contains("pace at ≤ 4.7 req/s, or spread over 3 tokens"),
        "{:?}",
        d.headline
    );
}

#[test]
fn more_tokens_raise_the_pace_and_lower_the_tokens_needed() {
    let mut r = throttled_run(true);
    r.plan = cc(2);
    let rec = diagnose(&r).recommendation.unwrap();
    assert_eq!(rec.pace_per_s, 9.5);
    assert_eq!(rec.tokens_needed, Some(3));
    r.plan = cc(3);
    let rec = diagnose(&r).recommendation.unwrap();
    assert_eq!(rec.tokens_needed, None, "3 tokens already carry 12 req/s");
    assert!(!rec.text.contains("spread"));
}

#[test]
fn without_headers_the_pace_is_the_measured_capacity_and_says_so() {
    let d = diagnose(&throttled_run(false));
    assert_eq!(d.verdict, Verdict::Throttled);
    assert!(d.limit.is_none());
    let rec = d.recommendation.as_ref().unwrap();
    assert_eq!(rec.basis, Basis::Measured);
    assert_eq!(rec.pace_per_s, 5.0);
    assert_eq!(rec.tokens_needed, None);
    let text = d.lines.join("\n");
    assert!(text.contains("named no limit"), "{text}");
    assert!(
        text.contains("No 429 carried a usable Retry-After"),
        "{text}"
    );
    assert!(
        text.contains("cannot tell whether the limit is per token"),
        "{text}"
    );
    assert!(
        d.headline[1].contains("measured; no rate limit in the headers"),
        "{:?}",
        d.headline
    );
}

#[test]
fn no_429s_says_the_data_cannot_tell() {
    let tl = (0..20).map(|t| sec(t, 4, 8, 0, None, None)).collect();
    let d = diagnose(&result(tl, serde_json::Value::Null));
    assert_eq!(d.verdict, Verdict::NotThrottled);
    assert!(d.onset.is_none() && d.capacity.is_none() && d.recommendation.is_none());
    assert!(
        d.lines[0].contains("No 429 responses") && d.lines[0].contains("cannot tell"),
        "{:?}",
        d.lines
    );
    assert!(
        d.lines[1].contains("no inin-ratelimit-* headers"),
        "{:?}",
        d.lines
    );
    assert!(
        d.headline[0].contains("no 429s at up to 8 req/s (4 users)"),
        "{:?}",
        d.headline
    );
    assert!(
        d.headline[1].contains("limit is unknown"),
        "{:?}",
        d.headline
    );
}

#[test]
fn no_429s_with_headers_reports_headroom() {
    let tl = (0..20)
        .map(|t| sec(t, 4, 2, 0, Some((300, 2 * (t + 1), 60 - t)), None))
        .collect();
    let d = diagnose(&result(tl, serde_json::Value::Null));
    assert_eq!(d.verdict, Verdict::NotThrottled);
    assert_eq!(d.limit.as_ref().unwrap().count_max, 40);
    assert!(
        d.lines.iter().any(|l| l.contains("40 of 300 (13.3%)")),
        "{:?}",
        d.lines
    );
}

#[test]
fn everything_throttled_from_the_start_gives_no_safe_pace() {
    let tl = (0..5).map(|t| sec(t, 2, 0, 10, None, None)).collect();
    let d = diagnose(&result(tl, serde_json::Value::Null));
    let o = d.onset.as_ref().unwrap();
    assert_eq!((o.second, o.window_s, o.responses_before), (0, 1, 0));
    assert_eq!(d.share_429_before, None);
    assert_eq!(d.share_429_after, Some(1.0));
    assert!(d.recommendation.is_none());
    assert!(
        d.lines
            .iter()
            .any(|l| l.contains("cannot give a safe pace")),
        "{:?}",
        d.lines
    );
}

#[test]
fn no_traffic_is_said_plainly() {
    let d = diagnose(&result(vec![], serde_json::Value::Null));
    assert_eq!(d.verdict, Verdict::NoTraffic);
    assert!(d.lines[0].contains("nothing to diagnose"));
}

#[test]
fn a_longer_reset_widens_the_window() {
    let tl = (0..10)
        .map(|t| sec(t, 2, 1, 1, Some((1000, 1000, 3600 - t)), Some(30)))
        .collect();
    let l = diagnose(&result(tl, serde_json::Value::Null))
        .limit
        .unwrap();
    assert_eq!(l.window_s, 3600);
    assert!(l.per_token_rate < 0.28);
}

#[test]
fn rounding_helpers() {
    for (v, want) in [
        (4.75, 4.7),
        (5.0, 5.0),
        (123.4, 120.0),
        (0.475, 0.47),
        (9.5, 9.5),
        (0.0, 0.0),
    ] {
        assert_eq!(floor_2sig(v), want, "{v}");
    }
    for (v, want) in [
        (4.7, "4.7"),
        (5.0, "5"),
        (12.25, "12.2"),
        (123.4, "123"),
        (0.475, "0.475"),
        (0.0, "0"),
    ] {
        assert_eq!(fmt_rate(v), want, "{v}");
    }
}

#[test]
fn limits_named_in_429_bodies_are_reported() {
    let mut r = crate::report::synthetic::result(60, &["publish"]);
    let thr = r.outcome_count(Outcome::Throttled);
    assert!(thr > 2);
    r.totals.throttled_by_limit.insert(
        "HYPOTHESIS.architect.compile/HYPOTHESIS.publish.compile.backlog.capacity".into(),
        thr - 2,
    );
    let d = diagnose(&r);
    let text = d.lines.join("\n");
    assert!(
        text.contains(&format!(
            "`HYPOTHESIS.architect.compile/HYPOTHESIS.publish.compile.backlog.capacity` × {}",
            thr - 2
        )),
        "{text}"
    );
    assert!(text.contains("not a documented Genesys limit"), "{text}");
    assert!(text.contains("2 429s named none"), "{text}");
    assert!(
        d.headline[0].contains("HYPOTHESIS.publish.compile.backlog.capacity"),
        "{:?}",
        d.headline
    );
}
