//! End to end: `surge run` against a loopback test server whose own counts are the truth.

use crate::common;

use std::time::Duration;

use common::{serve, Reply};
use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::{ErrorClass, RunResult, StatusKey};
use tokio_util::sync::CancellationToken;

fn args(scenario: std::path::PathBuf, out: std::path::PathBuf) -> RunArgs {
    RunArgs {
        scenario,
        out: Some(out),
        quiet: true,
        load: LoadArgs {
            seed: Some(1),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_statuses_and_drops_are_all_counted_exactly() {
    let server = serve(|r| match r.n % 10 {
        0..=5 => Reply::status(200).with_body("{\"ok\":true}"),
        6 | 7 => Reply::status(429)
            .with_header("Retry-After", "2")
            .with_header("inin-ratelimit-allowed", "300")
            .with_header("inin-ratelimit-count", "300")
            .with_header("inin-ratelimit-reset", "17"),
        8 => Reply::status(500),
        _ => Reply::Drop,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!(
            r#"
name = "mix"
[target]
base_url = "{}"
[[request]]
name = "publish"
method = "POST"
path = "/api/v2/flows/actions/publish?flow={{__thread}}"
headers = {{ "Content-Type" = "application/json" }}
body = "null"
[load]
threads = 8
ramp_up = "400ms"
loops = 25
"#,
            server.url()
        ),
    );
    let out = dir.path().join("out");
    let mut a = args(sc, out.clone());
    a.samples = Some(dir.path().join("samples.csv"));
    let code = cli::run_cmd(a, CancellationToken::new()).await;
    assert_eq!(code, 0);
    let r = RunResult::read(&out.join("result.json")).unwrap();
    // Issued == recorded == what the server saw.
    assert_eq!(r.totals.requests, 200);
    assert_eq!(server.total(), 200);
    let by = |k: StatusKey| r.totals.by_status.get(&k).copied().unwrap_or(0);
    assert_eq!(by(StatusKey::Http(200)), server.count("200"));
    assert_eq!(by(StatusKey::Http(429)), server.count("429"));
    assert_eq!(by(StatusKey::Http(500)), server.count("500"));
    assert_eq!(
        by(StatusKey::Error(ErrorClass::Reset)),
        server.count("dropped")
    );
    assert_eq!(server.count("200"), 120);
    assert_eq!(server.count("dropped"), 20);
    // Retry-After and rate-limit headers reached the timeline.
    assert_eq!(r.totals.retry_after.get(&2), Some(&40));
    assert!(r.timeline.iter().any(|s| s
        .rate_limit
        .is_some_and(|l| l.allowed == 300 && l.reset_min == 17)));
    assert_eq!(r.timeline.iter().map(|s| s.completed).sum::<u64>(), 200);
    assert_eq!(r.timeline.iter().map(|s| s.started).sum::<u64>(), 200);
    assert!(r.totals.first_429_s.is_some());
    assert!(!r.partial);
    // Samples file: a header and one row per attempt.
    let samples = std::fs::read_to_string(dir.path().join("samples.csv")).unwrap();
    assert_eq!(samples.lines().count(), 201);
    assert!(out.join("summary.csv").exists() && out.join("timeline.csv").exists());
    common::assert_matches_schema(&out.join("result.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_issuing_and_still_writes_a_partial_result() {
    let server = serve(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!(
            "name = \"forever\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"get\"\npath = \"/x\"\n[load]\nthreads = 4\nloops = \"forever\"\nthink_time = \"20ms\"\n[limits]\nmax_duration = \"60s\"\n",
            server.url()
        ),
    );
    let out = dir.path().join("out");
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        c2.cancel();
    });
    let started = std::time::Instant::now();
    let code = cli::run_cmd(args(sc, out.clone()), cancel).await;
    assert_eq!(code, 3, "Ctrl-C exits with 3");
    assert!(started.elapsed() < Duration::from_secs(20));
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert!(r.partial);
    assert_eq!(r.stop_reason, surge::record::StopReason::Cancelled);
    assert!(r.totals.requests > 10);
    assert_eq!(r.totals.requests, server.total());
    common::assert_matches_schema(&out.join("result.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_token_is_fetched_once_shared_refreshed_on_401_and_never_written() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let tokens = Arc::new(AtomicU64::new(0));
    let t2 = tokens.clone();
    let server = serve(move |r| {
        if r.path == "/oauth/token" {
            let auth = r.header("authorization").unwrap_or("");
            // base64("id-1:s3cret-value")
            if auth != "Basic aWQtMTpzM2NyZXQtdmFsdWU="
                || String::from_utf8_lossy(&r.body) != "grant_type=client_credentials"
            {
                return Reply::status(401)
                    .with_body("{\"error\":\"invalid_client\",\"description\":\"bad client\"}");
            }
            let n = t2.fetch_add(1, Ordering::SeqCst) + 1;
            return Reply::status(200).with_body(&format!(
                "{{\"access_token\":\"tok-{n}\",\"token_type\":\"bearer\",\"expires_in\":86400}}"
            ));
        }
        // The first token is revoked after the 5th API request.
        match r.header("authorization") {
            Some("Bearer tok-1") if r.n <= 5 => Reply::status(200),
            Some("Bearer tok-1") => Reply::status(401)
                .with_body("{\"message\":\"expired\",\"code\":\"bad.credentials\",\"status\":401}"),
            Some(t) if t.starts_with("Bearer tok-") => Reply::status(200),
            _ => Reply::status(401),
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!(
            "name = \"oauth\"\n[target]\nbase_url = \"{}\"\n[auth]\nkind = \"client_credentials\"\nclient_id_env = \"SURGE_TEST_ID_1\"\nclient_secret_env = \"SURGE_TEST_SECRET_1\"\n[[request]]\nname = \"get\"\npath = \"/api/v2/flows\"\n[load]\nthreads = 1\nloops = 10\n",
            server.url()
        ),
    );
    std::env::set_var("SURGE_TEST_ID_1", "id-1");
    std::env::set_var("SURGE_TEST_SECRET_1", "s3cret-value");
    let out = dir.path().join("out");
    let code = cli::run_cmd(args(sc, out.clone()), CancellationToken::new()).await;
    assert_eq!(code, 0);
    let r = RunResult::read(&out.join("result.json")).unwrap();
    // One 401 (recorded), then a refresh and a retry: 11 attempts, 10 successes.
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    assert_eq!(r.totals.by_status.get(&StatusKey::Http(401)), Some(&1));
    assert_eq!(r.totals.by_status.get(&StatusKey::Http(200)), Some(&10));
    assert_eq!(r.totals.retries, 1);
    // No secret, token or Basic credential in any output.
    for f in [
        "result.json",
        "summary.csv",
        "timeline.csv",
        "status_codes.csv",
        "report.html",
    ] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        for secret in ["s3cret-value", "tok-1", "tok-2", "aWQtMTpzM2NyZXQtdmFsdWU"] {
            assert!(!text.contains(secret), "{f} contains {secret}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scenario_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(dir.path(), "name = \"x\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n[load]\nthreads = 0\nbogus = 1\n");
    assert_eq!(
        cli::run_cmd(
            args(sc.clone(), dir.path().join("o")),
            CancellationToken::new()
        )
        .await,
        2
    );
    let mut a = args(sc, dir.path().join("o"));
    a.load.set = vec!["load.threads".into()];
    assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 2);
    assert_eq!(cli::main_with(["surge", "run"]).await, 2);
    assert_eq!(cli::main_with(["surge", "nope"]).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_outcomes_not_failures() {
    // Bind then drop a listener: nothing listens on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!("name = \"refused\"\n[target]\nbase_url = \"http://127.0.0.1:{port}\"\n[[request]]\nname = \"get\"\npath = \"/\"\n[load]\nthreads = 2\nloops = 3\n"),
    );
    let out = dir.path().join("out");
    // Every refusal is recorded as an outcome; not one answer at all fails the run (exit 1).
    assert_eq!(
        cli::run_cmd(args(sc, out.clone()), CancellationToken::new()).await,
        1
    );
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(
        r.totals
            .by_status
            .get(&StatusKey::Error(ErrorClass::Refused)),
        Some(&6)
    );
}

/// Counts in words agree with their number: a one-user run says "1 user", never "1 users".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_user_run_says_1_user() {
    let server = serve(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!(
            "name = \"one\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"get\"\npath = \"/x\"\n[load]\nthreads = 1\nloops = 3\n",
            server.url()
        ),
    );
    let out = dir.path().join("out");
    let (sc2, out2) = (sc.clone(), out.clone());
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
            .args([
                "run".as_ref(),
                sc2.as_os_str(),
                "--out".as_ref(),
                out2.as_os_str(),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(1 user)"), "{stdout}");
    assert!(!stdout.contains("1 users"), "{stdout}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("0 retries") && !html.contains("1 users"));
}

/// A misspelt field gets a "did you mean" with its file and line, in every section; a key far
/// from any field gets none.
#[test]
fn misspelt_fields_get_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        "name = \"typo\"\ndescripton = \"x\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"seed\"\n\
         [[request]]\nname = \"get\"\npath = \"/x\"\nmethd = \"GET\"\n\
         [load]\ntreads = 2\nloops = 1\nwhatever = 3\n[on_429]\npolicy = \"none\"\nmax_attempt = 2\n",
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["run".as_ref(), sc.as_os_str(), "--quiet".as_ref()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let f = sc.display();
    for want in [
        format!("{f}:2: descripton: unknown key; did you mean \"description\"?"),
        format!("{f}:9: request[0].methd: unknown key; did you mean \"method\"?"),
        format!("{f}:11: load.treads: unknown key; did you mean \"threads\"?"),
        format!("{f}:13: load.whatever: unknown key (see scenarios/README.md for the fields)"),
        format!("{f}:16: on_429.max_attempt: unknown key; did you mean \"max_attempts\"?"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in\n{err}");
    }
}
