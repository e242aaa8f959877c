use super::*;
use crate::distributed::Member;
use crate::sample::{ErrorClass, RateLimitHeaders, Sample};
use crate::{Aggregate, Recorder};

fn sample(i: u64) -> Sample {
    let status = match i % 13 {
        0 if i % 17 == 0 => StatusKey::Failed(crate::Failure::Assertion, 200),
        0..=7 => StatusKey::Http(200),
        8..=10 => StatusKey::Http(429),
        11 => StatusKey::Http(503),
        _ => StatusKey::Error(ErrorClass::Timeout),
    };
    let start = i * 7_919 % 9_000_000;
    Sample {
        step: (i % 3) as u16,
        user: (i % 24) as u32,
        active: 24,
        status,
        intended_us: start.saturating_sub(i % 700),
        start_us: start,
        ttfb_us: start + 500,
        end_us: start + 800 + (i * 104_729) % 900_000,
        bytes_in: 120,
        bytes_out: 60,
        attempt: 1 + (i % 4 == 0) as u16,
        last: i % 4 != 3,
        retry_wait_ms: (i % 4 == 0) as u32 * 2_000,
        pace_wait_ms: 0,
        retry_after_ms: (status == StatusKey::Http(429)).then_some(2_000),
        rate_limit: Some(RateLimitHeaders {
            allowed: 300,
            count: (i % 300) as u32,
            reset: 60 - (i % 60) as u32,
        }),
        limit_key: None,
        check: matches!(status, StatusKey::Failed(..)).then(|| crate::CheckId::new(0)),
    }
}

fn labels() -> Vec<String> {
    vec!["a".into(), "b".into(), "c".into()]
}

/// A result recorded from `samples`; a segment's when `seg` is given.
fn recorded(samples: &[Sample], seg: Option<(u32, u32)>, run: &str) -> RunResult {
    let rec = Recorder::new(24);
    let mut agg = Aggregate::new(labels());
    agg.keep_second_hists(seg.is_some());
    agg.set_names(vec!["t".into()], vec!["a: check".into()]);
    for s in samples {
        rec.record(s);
        // Every request of label a is also a transaction of its own span.
        if s.step == 0 {
            rec.txn_begin(s.user, s.start_us, 0);
            rec.record_txn(&crate::TxnSample {
                txn: 0,
                user: s.user,
                active: 24,
                start_us: s.start_us,
                end_us: s.end_us,
                paused_us: 0,
                outcome: s.status.outcome(),
                check: None,
                samples: 1,
                failing: 0,
                bytes_in: 0,
                bytes_out: 0,
                latency_us: 0,
            });
        }
    }
    rec.drain_into(u32::MAX, &mut agg);
    let hists = agg.take_second_hists();
    let transactions = agg.take_transactions();
    let (totals, cells, timeline) = agg.finish(samples.len() as u64 / 2);
    let mut r = RunResult {
        schema: crate::result::SCHEMA.into(),
        schema_version: crate::result::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: crate::result::ScenarioInfo {
            name: "merge".into(),
            description: String::new(),
            file: "merge.toml".into(),
        },
        plan: crate::PlanSummary::default(),
        target: crate::result::TargetInfo {
            base_url: "http://127.0.0.1:1".into(),
            host: "127.0.0.1".into(),
            kind: crate::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: "2023-11-14T22:13:20Z".into(),
        started_unix_ms: 1_700_000_000_000,
        duration_s: 10.0,
        partial: false,
        stop_reason: crate::StopReason::Completed,
        simulated: false,
        labels: labels(),
        totals,
        cells,
        timeline,
        transactions,
        distributed: None,
    };
    r.distributed = seg.map(|(i, n)| Distributed {
        run_id: run.into(),
        segments: n,
        segment: Some(i),
        start_at: None,
        members: vec![Member {
            segment: i,
            host: format!("pod-{}", i.min(2)),
            started_unix_ms: 1_700_000_000_000,
            late_ms: Some(0.5),
            clock_offset_ms: None,
            duration_s: 10.0,
            requests: 0,
            stop_reason: crate::StopReason::Completed,
            partial: false,
        }],
        missing: Vec::new(),
        plan_fingerprint: Some("same plan".into()),
        second_hists: hists,
    });
    r
}

/// The samples as N segments would have recorded them (interleaved by user).
fn segments(all: &[Sample], n: u32, run: &str) -> Vec<Input> {
    (1..=n)
        .map(|i| {
            let mine: Vec<Sample> = all
                .iter()
                .filter(|s| s.user % n == i - 1)
                .copied()
                .collect();
            (
                format!("seg{i}/result.json"),
                recorded(&mine, Some((i, n)), run),
            )
        })
        .collect()
}

#[test]
fn n_segments_merge_into_the_one_process_result() {
    let all: Vec<Sample> = (0..6_000).map(sample).collect();
    let whole = recorded(&all, None, "r");
    for n in 1..=5u32 {
        let mut m = merge(segments(&all, n, "r"), false).unwrap();
        // Iterations were counted per segment (half its samples, rounded down).
        m.totals.iterations = whole.totals.iterations;
        assert!((m.totals.retry_wait_s - whole.totals.retry_wait_s).abs() < 1e-6);
        m.totals.retry_wait_s = whole.totals.retry_wait_s;
        assert_eq!(m.totals, whole.totals, "N = {n}: totals");
        assert_eq!(m.cells, whole.cells, "N = {n}: histograms and summaries");
        assert_eq!(m.transactions, whole.transactions, "N = {n}: transactions");
        assert!(whole.totals.failed_checks["a: check"] > 0);
        assert_eq!(m.timeline.len(), whole.timeline.len());
        for (a, b) in m.timeline.iter().zip(&whole.timeline) {
            let mut a = a.clone();
            a.active_users = b.active_users;
            assert_eq!(&a, b, "N = {n}: second {} (quantiles included)", b.t);
        }
        assert!(!m.partial);
        assert_eq!(m.stop_reason, crate::StopReason::Completed);
        let d = m.distributed.as_ref().unwrap();
        assert_eq!(
            (d.segment, d.segments, d.members.len()),
            (None, n, n as usize)
        );
        assert!(d.second_hists.is_empty());
        // Segments on segment 1's host share its clock; others are not measured.
        for mem in &d.members {
            assert_eq!(
                mem.clock_offset_ms.is_some(),
                mem.host == "pod-1",
                "{mem:?}"
            );
        }
    }
}

#[test]
fn a_later_segment_lands_on_its_wall_clock_seconds() {
    let all: Vec<Sample> = (0..2_000).map(sample).collect();
    let mut segs = segments(&all, 2, "r");
    // Segment 2 started 3 s (and a bit) after segment 1.
    segs[1].1.started_unix_ms += 3_200;
    let s2_rows = segs[1].1.timeline.clone();
    let s1_rows = segs[0].1.timeline.clone();
    let s2_first = segs[1].1.totals.first_429_s.unwrap();
    let m = merge(segs, false).unwrap();
    for s in &s2_rows {
        let s1 = s1_rows
            .iter()
            .find(|r| r.t == s.t + 3)
            .map_or(0, |r| r.completed);
        assert_eq!(m.timeline[(s.t + 3) as usize].completed, s.completed + s1);
    }
    assert!((m.duration_s - 13.2).abs() < 1e-9);
    assert!(m.totals.first_429_s.unwrap() <= s2_first + 3.2);
}

fn err(inputs: Vec<Input>) -> String {
    merge(inputs, false).unwrap_err().to_string()
}

#[test]
fn refusals_name_the_files_and_segments() {
    let all: Vec<Sample> = (0..500).map(sample).collect();
    // Missing and duplicated segments.
    let mut s = segments(&all, 4, "r");
    s.remove(2);
    s.remove(0);
    assert_eq!(
        err(s),
        "run \"r\" has 4 segments; missing: segment 1, segment 3"
    );
    let mut s = segments(&all, 2, "r");
    s.push(("again/result.json".into(), s[1].1.clone()));
    assert_eq!(
        err(s),
        "segment 2 of run \"r\" is given twice: seg2/result.json and again/result.json"
    );
    // Another run.
    let mut s = segments(&all, 2, "r");
    s[1] = segments(&all, 2, "other").remove(1);
    assert!(err(s).starts_with(
        "seg2/result.json is segment 2 of run \"other\", but seg1/result.json belongs to run \"r\""
    ));
    // Another split.
    let mut s = segments(&all, 2, "r");
    s[1] = segments(&all, 3, "r").remove(1);
    assert_eq!(
        err(s),
        "seg2/result.json is segment 2 of 3, but seg1/result.json is one of 2"
    );
    // Another plan: the field is named.
    let mut s = segments(&all, 2, "r");
    let threads = |n: &str| crate::PlanSummary {
        groups: vec![crate::meta::GroupLoad {
            name: "main".into(),
            profile: "thread_group".into(),
            settings: [("threads".to_string(), n.to_string())].into(),
        }],
        ..crate::PlanSummary::default()
    };
    s[1].1.plan = threads("20");
    s[0].1.plan = threads("10");
    assert_eq!(
        err(s),
        "seg2/result.json (segment 2) ran a different plan than seg1/result.json: plan.groups[0].settings.threads differs (\"20\" vs \"10\")"
    );
    // The scenario file's path may differ between hosts.
    let mut s = segments(&all, 2, "r");
    s[1].1.scenario.file = "/a/x.toml".into();
    s[0].1.scenario.file = "b/x.toml".into();
    assert!(merge(s, false).is_ok());
    // Not a segment; a merge.
    let plain = recorded(&all, None, "r");
    assert!(err(vec![("p.json".into(), plain)]).starts_with(
        "p.json: not a segment of a distributed run (it has no `distributed` section)"
    ));
    let merged = merge(segments(&all, 2, "r"), false).unwrap();
    assert!(err(vec![("m.json".into(), merged)]).contains("it is already a merge of run \"r\""));
    assert_eq!(err(vec![]), "no segment results to merge");
}

#[test]
fn partial_segments_and_allowed_gaps_make_a_partial_merge() {
    let all: Vec<Sample> = (0..500).map(sample).collect();
    let mut s = segments(&all, 3, "r");
    s[1].1.partial = true;
    s[1].1.stop_reason = crate::StopReason::Cancelled;
    let m = merge(s, false).unwrap();
    assert!(m.partial);
    assert_eq!(m.stop_reason, crate::StopReason::Cancelled);
    let mut s = segments(&all, 3, "r");
    s.remove(2);
    let m = merge(s, true).unwrap();
    assert!(m.partial);
    assert_eq!(
        m.stop_reason,
        crate::StopReason::Aborted("segment 3 missing from the merge".into())
    );
    assert_eq!(m.distributed.unwrap().missing, vec![3]);
    // Absent segments outweigh one that stopped early; a failed one outweighs both.
    let mut s = segments(&all, 4, "r");
    s[0].1.partial = true;
    s[0].1.stop_reason = crate::StopReason::Cancelled;
    s.remove(3);
    s.remove(1);
    let m = merge(s.clone(), true).unwrap();
    assert_eq!(
        m.stop_reason.to_string(),
        "aborted: segments 2, 4 missing from the merge"
    );
    s[1].1.stop_reason = crate::StopReason::Failed("a user task died".into());
    let m = merge(s, true).unwrap();
    assert_eq!(m.stop_reason.to_string(), "failed: a user task died");
}
