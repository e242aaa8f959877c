use super::*;
use surge_analysis::diagnosis::diagnose;
use surge_record::synthetic::{cc, from_timeline as result, sec, throttled_run};
use surge_record::Outcome;

fn all_text(p: &Phrasing) -> String {
    let mut t = p.lines.join("\n");
    t += "\n";
    t += p.recommendation.as_deref().unwrap_or("");
    t += "\n";
    t += &p.headline.join("\n");
    t
}

#[test]
fn a_throttled_run_with_headers_says_each_fact_once() {
    let next = Next {
        scenario: "my s.toml".into(),
        result: Some("reports/s-1/result.json".into()),
        ..Next::default()
    };
    let p = phrase(&diagnose(&throttled_run(true)), &next);
    let text = all_text(&p);
    for want in [
        "10.2 s",
        "12 req/s",
        "6 active users",
        "300 requests per minute per token",
        "a fixed window: 300 requests per minute per token (5 req/s)",
        "Pace at ≤ 285 requests per 61 s per token: the limit the headers named (300 per minute \
         per token) less a margin of 5.0% on the count, and a second more on the window",
        "This run's 480 requests would start the last at 61.0 s",
        "rested ≥ 60.0 s",
        "over 3 tokens",
        "Re-run with `surge run 'my s.toml' --pace-from reports/s-1/result.json`",
        "No 429 body named its limit",
        // One denominator per share: 429s of the responses in that stretch.
        "0.0% of the 120 responses before the onset, 58.3% of the 360 responses from the onset on",
        "Retry-After came on 210 of 210 429s: always 3 s.",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(
        p.headline[0].contains("first 429 at 10.2 s")
            && p.headline[0].contains("300/min per token"),
        "{:?}",
        p.headline
    );
    assert_eq!(
        p.headline[1],
        "→ limit: fixed window: 300 requests per minute per token (5 req/s); pace at ≤ 285 \
         requests per 61 s per token (5.0% margin): surge run 'my s.toml' --pace-from \
         reports/s-1/result.json"
    );
    for tile in [
        ("limit named", "300/min per token"),
        ("recommended pace", "≤ 285 requests per 61 s per token"),
    ] {
        assert!(p.tiles.contains(&(tile.0, tile.1.into())), "{:?}", p.tiles);
    }
}

#[test]
fn more_tokens_drop_the_advice_to_spread() {
    let mut r = throttled_run(true);
    r.plan = cc(3);
    let p = phrase(&diagnose(&r), &Next::default());
    let rec = p.recommendation.unwrap();
    assert!(
        rec.contains("per token") && !rec.contains("spread") && rec.contains("all start at once"),
        "{rec}"
    );
}

#[test]
fn without_headers_the_pace_is_measured_and_says_so() {
    let p = phrase(&diagnose(&throttled_run(false)), &Next::default());
    let text = all_text(&p);
    for want in [
        "No response carried inin-ratelimit-* headers",
        "No 429 carried a usable Retry-After",
        "Measured while throttled (11–39 s, a 429 in 100.0% of those seconds): 140 requests \
         admitted, 5 req/s sustained (±0.7%); before the first 429 it had admitted 123, a burst \
         of ≈ 72 beyond that rate. Model: token bucket.",
        "Pace at ≤ 4.75 req/s after a burst of ≤ 69: the limit this run measured while throttled \
         (5 req/s after a burst of 72) less a margin of 5.0% on the rate, and twice its own error \
         off the burst (the margin is twice the rate's ±0.7% error, at least 5.0%).",
        "limit named: none (no rate-limit headers, no limit in the 429 bodies)",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert_eq!(
        p.headline[1],
        "→ limit: token bucket: 5 req/s sustained (±0.7%), burst ≈ 72; pace at ≤ 4.75 req/s after a \
         burst of ≤ 69 (5.0% margin)."
    );
}

/// The short burst run: no pace, and the run that would tell, in every place.
#[test]
fn a_short_burst_run_says_what_run_would_tell() {
    let tl = (0..8)
        .map(|t| {
            let (ok, thr) = if t < 5 { (30, 0) } else { (19, 40) };
            sec(t, 20, ok, thr, None, None)
        })
        .collect();
    let p = phrase(&diagnose(&result(tl, cc(1))), &Next::default());
    assert!(
        p.headline[1].contains("no pace: throttled for 3 s")
            && p.headline[1].contains("surge probe")
            && p.headline[1].contains("≥ 10 s"),
        "{:?}",
        p.headline
    );
    let rec = p.recommendation.clone().unwrap();
    assert!(
        rec.contains("too short to tell its burst from its sustained rate")
            && rec.contains("surge probe"),
        "{rec}"
    );
    assert!(p.tiles.contains(&("recommended pace", "none".into())));
    assert!(!all_text(&p).contains("Pace at"));
}

/// The seed's contradiction: bodies named a limit, headers did not. Tile, headline, bullets and
/// recommendation must all say the same thing.
#[test]
fn a_limit_named_only_in_bodies_is_never_called_none() {
    let mut r = throttled_run(false);
    let thr = r.outcome_count(Outcome::Throttled);
    r.totals
        .throttled_by_limit
        .insert("HYPOTHESIS.architect.compile/backlog".into(), thr);
    let d = diagnose(&r);
    let p = phrase(&d, &Next::default());
    let text = all_text(&p);
    assert!(!text.contains("limit named: none"), "{text}");
    assert!(!text.contains("named no limit"), "{text}");
    assert!(!text.contains("no limit named"), "{text}");
    assert!(
        p.headline[0].contains(
            "limit named: HYPOTHESIS.architect.compile/backlog (in the 429 bodies; no rate-limit headers)"
        ),
        "{:?}",
        p.headline
    );
    assert!(
        text.contains("The 429 bodies named their limit: `HYPOTHESIS.architect.compile/backlog` ×"),
        "{text}"
    );
    assert!(text.contains("no header gave its rate"), "{text}");
    assert!(p.tiles.contains(&(
        "limit named",
        "HYPOTHESIS.architect.compile/backlog (429 bodies; no rate)".into()
    )));
}

#[test]
fn no_429s_says_the_data_cannot_tell() {
    let tl = (0..20).map(|t| sec(t, 4, 8, 0, None, None)).collect();
    let p = phrase(
        &diagnose(&result(tl, surge_record::PlanSummary::default())),
        &Next {
            scenario: "s.toml".into(),
            simulated: true,
            ..Next::default()
        },
    );
    assert!(
        p.lines[0].contains("No 429 responses") && p.lines[0].contains("cannot tell"),
        "{:?}",
        p.lines
    );
    assert!(
        p.lines[1].contains("inin-ratelimit-* headers"),
        "{:?}",
        p.lines
    );
    assert!(
        p.headline[0].contains("no 429s at up to 8 req/s (4 users)"),
        "{:?}",
        p.headline
    );
    assert!(
        p.headline[1].contains("limit is unknown; `surge probe s.toml --simulate` finds it"),
        "{:?}",
        p.headline
    );
    assert!(p.recommendation.unwrap().contains("No 429 came"));
}

#[test]
fn no_429s_with_headers_reports_headroom() {
    let tl = (0..20)
        .map(|t| sec(t, 1, 2, 0, Some((300, 2 * (t + 1), 60 - t)), None))
        .collect();
    let p = phrase(
        &diagnose(&result(tl, surge_record::PlanSummary::default())),
        &Next::default(),
    );
    assert!(
        p.lines.iter().any(|l| l.contains("40 of 300 (13.3%)")),
        "{:?}",
        p.lines
    );
    assert!(p.headline[0].contains("(1 user)"), "{:?}", p.headline);
}

#[test]
fn everything_throttled_from_the_start_gives_no_safe_pace() {
    let tl = (0..5).map(|t| sec(t, 2, 0, 10, None, None)).collect();
    let p = phrase(
        &diagnose(&result(tl, surge_record::PlanSummary::default())),
        &Next::default(),
    );
    assert!(
        p.recommendation.as_deref().unwrap().starts_with("No pace"),
        "{p:?}"
    );
    assert!(
        p.lines[1].contains("no responses before the onset"),
        "{:?}",
        p.lines
    );
    assert!(p.headline[1].starts_with("→ no pace"), "{:?}", p.headline);
}

#[test]
fn no_traffic_is_said_plainly() {
    let p = phrase(
        &diagnose(&result(vec![], surge_record::PlanSummary::default())),
        &Next::default(),
    );
    assert!(p.lines[0].contains("nothing to diagnose"));
}

#[test]
fn hypothesis_limits_and_unnamed_429s_are_said() {
    let mut r = surge_record::synthetic::result(60, &["publish"]);
    let thr = r.outcome_count(Outcome::Throttled);
    r.totals.throttled_by_limit.insert(
        "HYPOTHESIS.architect.compile/HYPOTHESIS.publish.compile.backlog.capacity".into(),
        thr - 2,
    );
    let p = phrase(&diagnose(&r), &Next::default());
    let text = all_text(&p);
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
        p.headline[0].contains("HYPOTHESIS.publish.compile.backlog.capacity"),
        "{:?}",
        p.headline
    );
}

fn trend(
    queue: bool,
    p: f64,
    late_us: u64,
    req_late_us: u64,
) -> surge_analysis::transactions::CompletionTrend {
    surge_analysis::transactions::CompletionTrend {
        transaction: "publish_to_success".into(),
        early: (0, 4),
        late: (5, 9),
        early_us: 3_600_000,
        late_us,
        late_at_least: true,
        requests_early_us: 2_400_000,
        requests_late_us: req_late_us,
        before_first_429: true,
        trend_p: p,
        queue_signature: queue,
    }
}

#[test]
fn a_backend_queue_is_said_with_the_rise_from_when_and_the_first_429_everywhere() {
    let mut d = diagnose(&throttled_run(false));
    d.completion = Some(trend(true, 1.0 / 401.0, 13_900_000, 2_500_000));
    let want = "backend queue: publish_to_success took 3.6 s (median) when begun in seconds 0–4 \
                and ≥ 13.9 s when begun in seconds 5–9, ×3.9 by the first 429 at 10.2 s; a steady \
                rise (p = 0.002) while the requests' 2xx median went 2400 ms → 2500 ms (×1.0): \
                work accepted at once and finished ever later, a queue behind the API.";
    let p = phrase(&d, &Next::default());
    // The terminal's `completion:` line, the report's second bullet, its tile, CI's facts and
    // result.json's words: one sentence.
    assert_eq!(p.completion.as_deref(), Some(want));
    assert_eq!(p.lines[1], format!("Completion time: {want}"));
    assert!(p.lines[0].starts_with("The first 429 came at 10.2 s"));
    let tile = (
        "completion time",
        "backend queue: 3.6 s → ≥ 13.9 s by the first 429".to_string(),
    );
    assert!(p.tiles.contains(&tile), "{:?}", p.tiles);
    let note = ci_note(&d, &Next::default());
    assert!(note.facts.contains(&(tile.0.to_string(), tile.1.clone())));
    let words = Words {
        headline: &p.headline,
        recommendation: p.recommendation.as_deref(),
        completion: p.completion.as_deref(),
    };
    let json = serde_json::to_value(&words).unwrap();
    assert_eq!(json["completion"], want);
    // A trend measured wholly before the first 429 says "before", not "by".
    let mut t = trend(true, 1.0 / 401.0, 13_900_000, 2_500_000);
    t.late_at_least = false;
    d.completion = Some(t);
    let s = completion_sentence(&d).unwrap();
    assert!(
        s.contains("and 13.9 s when begun in seconds 5–9, ×3.9 before the first 429 at 10.2 s;"),
        "{s}"
    );
}

#[test]
fn each_reading_of_the_trend_opens_its_sentence() {
    let mut d = diagnose(&throttled_run(false));
    for (t, opens, says) in [
        (
            trend(false, 1.0 / 401.0, 8_000_000, 6_000_000),
            "API slowdown: ",
            "a steady rise (p = 0.002), but the requests' 2xx median went 2400 ms → 6000 ms (×2.5): the API itself slowed",
        ),
        (
            trend(false, 0.3, 8_000_000, 2_400_000),
            "no steady rise: ",
            "no steadier than noise (p = 0.30); the requests' 2xx median went 2400 ms → 2400 ms (×1.0): no queue shown.",
        ),
        (
            trend(false, 1.0 / 401.0, 4_000_000, 2_400_000),
            "steady: ",
            "×1.1 by the first 429 at 10.2 s; the requests' 2xx median went 2400 ms → 2400 ms (×1.0): no queue building behind the API.",
        ),
    ] {
        d.completion = Some(t);
        let s = completion_sentence(&d).unwrap();
        assert!(s.starts_with(opens) && s.contains(says), "{s}");
        assert!(!s.contains("backend queue"), "{s}");
    }
    // Without a 429 the sentence says so; without transactions there is none.
    let mut clear = diagnose(&result(
        (0..20).map(|t| sec(t, 2, 5, 0, None, None)).collect(),
        cc(1),
    ));
    let mut t = trend(true, 1.0 / 401.0, 13_900_000, 2_500_000);
    (t.before_first_429, t.late_at_least) = (false, false);
    clear.completion = Some(t);
    let p = phrase(&clear, &Next::default());
    let s = p.completion.clone().unwrap();
    assert!(
        s.contains("×3.9 in a run without 429s; a steady rise"),
        "{s}"
    );
    assert!(
        p.lines[1].starts_with("Completion time: backend queue"),
        "{:?}",
        p.lines
    );
    clear.completion = None;
    let p = phrase(&clear, &Next::default());
    assert!(p.completion.is_none() && !p.lines.iter().any(|l| l.contains("Completion")));
    assert!(!p.tiles.iter().any(|t| t.0 == "completion time"));
    // Transactions too few to read say so, with the first 429 they were read before.
    d.completion = None;
    d.completion_unread = Some(surge_analysis::transactions::TooFewEnds {
        transaction: "publish_to_success".into(),
        seconds: 3,
        before_first_429: true,
    });
    let p = phrase(&d, &Next::default());
    assert_eq!(
        p.completion.as_deref(),
        Some(
            "too few to read: the publish_to_success transactions that succeeded began in only 3 \
             different seconds before the first 429 at 10.2 s (a trend needs 4)."
        )
    );
    let tile = (
        "completion time",
        "too few to read (3 of 4 seconds)".to_string(),
    );
    assert!(p.tiles.contains(&tile), "{:?}", p.tiles);
}
