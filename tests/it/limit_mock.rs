//! The 429 answer against the built-in mock, on virtual time (`--simulate`): `surge probe` finds
//! the `seed` preset's compile backlog (a shared bucket) and the `documented` preset's per-token
//! window within 10 % and names them; a burst run's recommendation and the probe's, re-run with
//! `--pace-from`, draw no 429 and finish within 15 % of the fastest the limit allows; the
//! adaptive policy finishes the seed batch with no failed publish and under 5 % of attempts
//! throttled; a run too short to tell says what run would.

use std::path::{Path, PathBuf};

use surge::analysis::limit::file::LimitFile;
use surge::analysis::limit::scope::Scope;
use surge::cli;
use surge::record::{Outcome, RunResult};

fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

async fn surge(args: &[&str]) -> i32 {
    let mut all = vec!["surge"];
    all.extend_from_slice(args);
    cli::main_with(all).await
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a scenario (simulated, seed 1, quiet) with extra flags; its result.
async fn run(dir: &Path, name: &str, out: &str, extra: &[&str]) -> RunResult {
    let o = dir.join(out);
    let sc = scenario(name);
    let mut args = vec!["run", &sc, "--simulate", "-q", "-o", s(&o)];
    args.extend_from_slice(extra);
    assert_eq!(surge(&args).await, 0, "surge {args:?}");
    RunResult::read(&o.join("result.json")).unwrap()
}

async fn probe(dir: &Path, name: &str, out: &str) -> (LimitFile, PathBuf) {
    let o = dir.join(out);
    let sc = scenario(name);
    assert_eq!(
        surge(&["probe", &sc, "--simulate", "--scope", "tokens", "-o", s(&o)]).await,
        0
    );
    let path = o.join("limit.json");
    let file: LimitFile = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (file, path)
}

fn throttled(r: &RunResult) -> u64 {
    r.outcome_count(Outcome::Throttled)
}

fn within(got: f64, want: f64, tol: f64) -> bool {
    (got / want - 1.0).abs() <= tol
}

/// The seed preset's compile backlog drains at 8 workers over the mean compile time: a
/// log-normal of median 1.5 s and p99 2.25 s (crates/mock/README.md).
fn seed_drain_rate() -> f64 {
    let sigma = (2.25f64 / 1.5).ln() / 2.326_347_874;
    8.0 / (1.5 * (sigma * sigma / 2.0).exp())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_finds_the_seed_backlog_shared_and_the_documented_window_per_token() {
    let dir = tempfile::tempdir().unwrap();
    // seed: the HYPOTHESIS backlog is org-wide and admits as a bucket drained by its workers.
    let (f, _) = probe(dir.path(), "architect-publish-burst", "seed").await;
    assert_eq!(f.schema, "surge/limit");
    assert_eq!(f.model.unwrap().name(), "token_bucket", "{f:?}");
    let r = f.sustained_rate_per_s.unwrap();
    assert!(
        within(r, seed_drain_rate(), 0.10),
        "{r} vs {}",
        seed_drain_rate()
    );
    // 250 waiting and 8 compiling; less what drained while the ramp stayed under the rate.
    assert!((200.0..=270.0).contains(&f.burst.unwrap()), "{f:?}");
    assert_eq!(f.scope, Scope::Shared);
    assert!(f.evidence.requests <= 1_000, "{:?}", f.evidence);
    // documented: 300 per minute per token, a window opening at the first request.
    let (f, _) = probe(dir.path(), "architect-publish-documented", "documented").await;
    assert_eq!(f.model.unwrap().name(), "fixed_window", "{f:?}");
    assert!(within(f.sustained_rate_per_s.unwrap(), 5.0, 0.10), "{f:?}");
    assert!(within(f.window_s.unwrap(), 60.0, 0.03), "{f:?}");
    assert_eq!(f.burst, Some(300.0));
    assert_eq!(f.scope, Scope::PerToken);
    assert!(f.evidence.requests <= 1_000, "{:?}", f.evidence);
    // Each search is recorded like a run, and the page shows them.
    for s in &f.searches {
        let r = RunResult::read(&dir.path().join("documented").join(&s.result)).unwrap();
        assert_eq!(r.totals.requests, s.requests);
    }
    let html = std::fs::read_to_string(dir.path().join("documented/probe.html")).unwrap();
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 2);
    assert!(html.contains(&surge::report::html::esc(&f.words.headline[0])));
}

/// The seed batch paced at the backlog's own rate and room: the fastest the limit allows.
async fn fastest_seed(dir: &Path, name: &str) -> f64 {
    let rate = format!("on_429.rate={}", seed_drain_rate());
    let r = run(
        dir,
        name,
        "fastest",
        &[
            "--set",
            "on_429.policy=pace",
            "--set",
            &rate,
            "--set",
            "on_429.burst=258",
            "--set",
            "on_429.retry=retry_after",
            "--set",
            "on_429.max_attempts=10",
        ],
    )
    .await;
    r.totals.completion_s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recommended_pace_holds_on_re_run_and_is_near_the_fastest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // seed: a run that stays throttled (it retries) tells the rate and the burst.
    let burst = run(d, "architect-retry-after", "burst", &[]).await;
    assert!(throttled(&burst) > 100);
    let fastest = fastest_seed(d, "architect-retry-after").await;
    let (_, limit) = probe(d, "architect-publish-burst", "probe-seed").await;
    let from_run = d.join("burst/result.json");
    for (out, from) in [("paced-run", &from_run), ("paced-probe", &limit)] {
        let r = run(d, "architect-retry-after", out, &["--pace-from", s(from)]).await;
        assert_eq!(throttled(&r), 0, "{out}: {:?}", r.totals.by_outcome);
        assert_eq!(r.totals.finals().unwrap().final_ok, 500);
        let t = r.totals.completion_s;
        assert!(
            t <= 1.15 * fastest,
            "{out}: {t} s against the fastest {fastest} s"
        );
    }
    // documented: the headers name 300 per minute per token; the first window opens at once.
    let burst = run(d, "architect-publish-documented", "doc-burst", &[]).await;
    assert!(throttled(&burst) > 100);
    let fastest = run(
        d,
        "architect-publish-documented",
        "doc-fastest",
        &[
            "--set",
            "on_429.policy=pace",
            "--set",
            "on_429.rate=300/m",
            "--set",
            "on_429.window=60s",
        ],
    )
    .await
    .totals
    .completion_s;
    let (_, limit) = probe(d, "architect-publish-documented", "probe-doc").await;
    let from_run = d.join("doc-burst/result.json");
    for (out, from) in [("doc-paced-run", &from_run), ("doc-paced-probe", &limit)] {
        let r = run(
            d,
            "architect-publish-documented",
            out,
            &["--pace-from", s(from)],
        )
        .await;
        assert_eq!(throttled(&r), 0, "{out}: {:?}", r.totals.by_outcome);
        let t = r.totals.completion_s;
        assert!(
            t <= 1.15 * fastest,
            "{out}: {t} s against the fastest {fastest} s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adaptive_policy_finishes_the_seed_batch_with_few_429s_whatever_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=5u64 {
        let seed_s = seed.to_string();
        let r = run(
            dir.path(),
            "architect-adaptive",
            &format!("s{seed}"),
            &["--seed", &seed_s],
        )
        .await;
        let f = r.totals.finals().unwrap();
        assert_eq!((f.requests, f.final_ok), (500, 500), "seed {seed}");
        let share = throttled(&r) as f64 / r.totals.requests as f64;
        assert!(share < 0.05, "seed {seed}: {share}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_too_short_to_tell_gives_no_pace_and_says_what_would() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), "architect-publish-burst", "short", &[]).await;
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("short/result.json")).unwrap(),
    )
    .unwrap();
    assert!(throttled(&r) > 0);
    assert!(v["diagnosis"]["advice"].is_null());
    assert_eq!(v["diagnosis"]["no_advice"]["reason"], "too_short");
    let words = v["diagnosis"]["words"]["recommendation"].as_str().unwrap();
    assert!(words.contains("surge probe"), "{words}");
    // --pace-from refuses it, saying why.
    let sc = scenario("architect-publish-burst");
    let from = dir.path().join("short/result.json");
    assert_eq!(
        surge(&["run", &sc, "--simulate", "-q", "--pace-from", s(&from)]).await,
        2
    );
}

/// Ctrl-C (or SIGTERM) stops a probe like a run: what was measured is written, marked as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_probe_writes_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stopped");
    let cancel = tokio_util::sync::CancellationToken::new();
    let args = cli::probe::ProbeArgs {
        scenario: scenario("architect-publish-burst").into(),
        target: cli::TargetArgs { target: None },
        out: Some(out.clone()),
        max_requests: 1_500,
        max_duration: std::time::Duration::from_secs(300),
        scope: Some(cli::probe::ScopeArg::Tokens),
        start_rate: 20.0,
        max_rate: 1_000.0,
        load: cli::LoadArgs {
            set: vec![],
            simulate: false,
            seed: None,
            yes: false,
        },
        live: cli::LiveArgs::default(),
    };
    let stopper = {
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
            c.cancel();
        })
    };
    assert_eq!(cli::probe::cmd(args, cancel).await, 3);
    stopper.await.unwrap();
    let f: LimitFile =
        serde_json::from_str(&std::fs::read_to_string(out.join("limit.json")).unwrap()).unwrap();
    assert_eq!(f.searches.len(), 1, "the two-token search never started");
    assert_eq!(
        f.searches[0].end,
        surge::analysis::limit::file::SearchEnd::Cancelled
    );
    let r = RunResult::read(&out.join(&f.searches[0].result)).unwrap();
    assert!(r.partial && r.totals.requests > 0);
    assert_eq!(r.totals.requests, f.evidence.requests);
}
