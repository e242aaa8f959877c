//! `surge run --simulate`: the seed scenario on virtual time against the in-process mock.

use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::{Outcome, RunResult};
use tokio_util::sync::CancellationToken;

fn args(out: std::path::PathBuf) -> RunArgs {
    RunArgs {
        scenario: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/architect-publish-burst.toml"
        )
        .into(),
        out: Some(out),
        quiet: true,
        load: LoadArgs {
            simulate: true,
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_is_deterministic_and_matches_the_seed_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(
        cli::run_cmd(args(a.clone()), CancellationToken::new()).await,
        0
    );
    assert_eq!(
        cli::run_cmd(args(b.clone()), CancellationToken::new()).await,
        0
    );
    let ra = RunResult::read(&a.join("result.json")).unwrap();
    let rb = RunResult::read(&b.join("result.json")).unwrap();
    assert!(ra.simulated && rb.simulated);
    // The same seed gives the same run: counts, onset and every timeline row.
    assert_eq!(ra.totals, rb.totals);
    assert_eq!(ra.timeline, rb.timeline);
    // Simulated time is the scenario's own (~40 s), not the wall time it took.
    assert!(ra.duration_s > 30.0, "{}", ra.duration_s);
    let first = ra.totals.first_429_s.unwrap();
    assert!((20.0..=40.0).contains(&first), "{first}");
    let thr = ra.outcome_count(Outcome::Throttled);
    assert!((50..=100).contains(&thr), "{thr}");
    assert!(a.join("mock_stats.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_needs_the_mock() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(dir.path().join("o"));
    a.target.target = Some("http://127.0.0.1:9".into());
    assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 2);
}

/// `--seed` varies the mock's draws (latencies, compile times) as well as the client's, while the
/// flow ids the scenario reads from flows.csv stay valid: another seed, another run, no 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_varies_the_mock_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut firsts = Vec::new();
    for seed in [1u64, 2, 3] {
        let out = dir.path().join(format!("s{seed}"));
        let mut a = args(out.clone());
        a.load.seed = Some(seed);
        assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 0);
        let r = RunResult::read(&out.join("result.json")).unwrap();
        assert_eq!(
            r.outcome_count(Outcome::Success) + r.outcome_count(Outcome::Throttled),
            500
        );
        firsts.push((r.totals.first_429_s.unwrap(), r.duration_s));
    }
    // The seed alone changed, and with it when the backlog filled and when the batch ended.
    assert!(
        firsts[0] != firsts[1] && firsts[1] != firsts[2],
        "{firsts:?}"
    );
}
