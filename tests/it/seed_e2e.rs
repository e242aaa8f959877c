//! The main job, end to end: the seed's scenario (`scenarios/architect-publish-burst.toml`) run by
//! `surge run` against the built-in mock started in-process on a loopback port. Takes ~40 s.

use surge::cli::{self, LoadArgs, RunArgs};
use surge::mock::MockStats;
use surge::record::{Outcome, RunResult, StatusKey};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_against_the_mock_shows_the_seed_onset_and_share() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = RunArgs {
        scenario: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/architect-publish-burst.toml"
        )
        .into(),
        out: Some(out.clone()),
        quiet: true,
        load: LoadArgs {
            seed: Some(1),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    };
    assert_eq!(cli::run_cmd(args, CancellationToken::new()).await, 0);
    let r = RunResult::read(&out.join("result.json")).unwrap();
    let stats: MockStats =
        serde_json::from_str(&std::fs::read_to_string(out.join("mock_stats.json")).unwrap())
            .unwrap();

    // The seed's shape: 500 publishes, the first 429 between 20 and 40 s, 10-20 % 429s, all
    // with Retry-After: 2.
    assert_eq!(r.totals.requests, 500);
    let first = r.totals.first_429_s.expect("the seed preset throttles");
    assert!((20.0..=40.0).contains(&first), "first 429 at {first} s");
    let thr = r.outcome_count(Outcome::Throttled);
    assert!((50..=100).contains(&thr), "{thr} 429s of 500");
    assert_eq!(
        r.totals.retry_after.keys().copied().collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(r.totals.throttled_without_retry_after, 0);
    // The timeline shows 200s only before the onset, and both after it.
    let onset = first.floor() as usize;
    assert!(r.timeline[..onset]
        .iter()
        .all(|s| !s.by_status.contains_key(&StatusKey::Http(429))));
    assert!(r.timeline[onset..]
        .iter()
        .any(|s| s.by_status.contains_key(&StatusKey::Http(200))));

    // surge's counts agree with the mock's own.
    assert_eq!(
        stats
            .requests_by_path
            .get("POST /api/v2/flows/actions/publish"),
        Some(&500)
    );
    assert_eq!(
        stats.requests_by_path.get("POST /oauth/token"),
        Some(&1),
        "one token shared by every thread"
    );
    assert_eq!(
        stats.responses_by_status.get(&429).copied().unwrap_or(0),
        thr
    );
    assert_eq!(
        stats.responses_by_status.get(&200).copied().unwrap_or(0),
        r.outcome_count(Outcome::Success) + 1
    );
    let by_limit: u64 = stats.throttled_by_limit.values().sum();
    assert_eq!(by_limit, thr);
    assert!(
        stats
            .throttled_by_limit
            .keys()
            .all(|k| k.starts_with("HYPOTHESIS.")),
        "{:?}",
        stats.throttled_by_limit
    );
}
