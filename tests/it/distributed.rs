//! Distributed runs end to end: N = 1, 2 and 4 segments as separate `surge` processes against a
//! loopback server that counts what it receives, then `surge merge`. The merged result must
//! equal the server's counts; a shared counter and a CSV file must hand each value out exactly
//! once across segments; the merged histograms must equal one histogram fed every sample; and
//! every user must start at the one-process plan's time after the barrier.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{serve, Reply};
use surge::record::{Hist, RunResult, StatusKey};

const USERS: u32 = 8;
const LOOPS: u32 = 3;
const RAMP_MS: u64 = 1_600;

fn surge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_surge"))
}

fn scenario(dir: &Path, url: &str) -> PathBuf {
    let rows: String = (0..USERS * LOOPS)
        .map(|i| format!("flow-{i:03}\n"))
        .collect();
    std::fs::write(dir.join("flows.csv"), format!("flow_id\n{rows}")).unwrap();
    let text = format!(
        r#"name = "dist"
[target]
base_url = "{url}"
[[data]]
kind = "counter"
var = "n"
[[data]]
kind = "csv"
file = "flows.csv"
on_eof = "stop_thread"
[[request]]
name = "hit"
path = "/hit?u={{__thread}}&n={{n}}&flow={{flow_id}}"
[load]
threads = {USERS}
ramp_up = "{RAMP_MS}ms"
loops = {LOOPS}
"#
    );
    let p = dir.join("dist.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn query<'a>(path: &'a str, key: &str) -> &'a str {
    path.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} in {path}"))
}

fn rfc3339(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The whole plan's start offset of user `u` (from 1): JMeter's `i × ramp / threads`.
fn planned_start_ms(u: u32) -> f64 {
    (u - 1) as f64 * RAMP_MS as f64 / USERS as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_add_up_to_the_one_process_run() {
    for n in [1u32, 2, 4] {
        one_split(n).await;
    }
}

async fn one_split(n: u32) {
    // The server: every 5th request is throttled; it keeps each request's path and arrival.
    let arrivals: Arc<Mutex<Vec<(String, SystemTime)>>> = Arc::default();
    let seen = arrivals.clone();
    let server = serve(move |r| {
        seen.lock()
            .unwrap()
            .push((r.path.clone(), SystemTime::now()));
        if r.n % 5 == 4 {
            Reply::status(429).with_header("Retry-After", "1")
        } else {
            Reply::status(200).with_body("{}")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let scen = scenario(dir.path(), &server.url());
    let barrier = SystemTime::now() + Duration::from_millis(2_500);
    let at = rfc3339(barrier);
    let barrier = time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .unwrap();
    let children: Vec<_> = (1..=n)
        .map(|i| {
            let seg = dir.path().join(format!("run/seg-{i}"));
            surge()
                .arg("run")
                .arg(&scen)
                .args(["--segment", &format!("{i}/{n}"), "--start-at", &at])
                .args(["--run-id", "e2e", "--start-tolerance", "10s", "-q"])
                .arg("--out")
                .arg(&seg)
                .arg("--samples")
                .arg(dir.path().join(format!("samples-{i}.csv")))
                .spawn()
                .unwrap()
        })
        .collect();
    let done = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|mut c| c.wait().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(done.iter().all(|s| s.success()), "N = {n}: {done:?}");

    let out = surge()
        .arg("merge")
        .arg(dir.path().join("run"))
        .arg("--out")
        .arg(dir.path().join("merged"))
        .arg("-q")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "N = {n}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("merged {n} of {n} segments of run e2e")),
        "{stdout}"
    );
    let m = RunResult::read(&dir.path().join("merged/result.json")).unwrap();

    // The merged counts are the server's.
    let total = u64::from(USERS * LOOPS);
    assert_eq!(server.total(), total, "N = {n}");
    assert_eq!(m.totals.requests, total, "N = {n}");
    assert_eq!(
        m.totals.by_status.get(&StatusKey::Http(200)).copied(),
        Some(server.count("200"))
    );
    assert_eq!(
        m.totals.by_status.get(&StatusKey::Http(429)).copied(),
        Some(server.count("429"))
    );
    assert_eq!(m.timeline.iter().map(|s| s.completed).sum::<u64>(), total);
    assert_eq!(m.totals.iterations, total);
    assert!(!m.partial, "N = {n}: {}", m.stop_reason);

    // The counter and the CSV file handed each value out exactly once across the segments.
    let log = arrivals.lock().unwrap().clone();
    let mut counted: Vec<u64> = log
        .iter()
        .map(|(p, _)| query(p, "n").parse().unwrap())
        .collect();
    counted.sort_unstable();
    assert_eq!(
        counted,
        (1..=total).collect::<Vec<_>>(),
        "N = {n}: counter values"
    );
    let mut flows: Vec<String> = log
        .iter()
        .map(|(p, _)| query(p, "flow").to_string())
        .collect();
    flows.sort();
    let want: Vec<String> = (0..total).map(|i| format!("flow-{i:03}")).collect();
    assert_eq!(flows, want, "N = {n}: CSV rows");

    // The merged histogram is one histogram fed every sample of every segment.
    let mut fed = Hist::new();
    let mut intended: BTreeMap<u32, f64> = BTreeMap::new();
    for i in 1..=n {
        let mut rd = csv::Reader::from_path(dir.path().join(format!("samples-{i}.csv"))).unwrap();
        let h = rd.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let (svc, user, int) = (col("service_ms"), col("user"), col("intended_ms"));
        for row in rd.records() {
            let row = row.unwrap();
            fed.record((row[svc].parse::<f64>().unwrap() * 1000.0).round() as u64);
            let u: u32 = row[user].parse().unwrap();
            let t: f64 = row[int].parse().unwrap();
            let e = intended.entry(u).or_insert(t);
            *e = e.min(t);
        }
    }
    assert_eq!(fed.len(), total);
    assert_eq!(m.service_hist(None, None), fed, "N = {n}: merged histogram");

    // Every user began at the whole plan's offset: exactly by the schedule, and by the
    // server's clock no earlier and within the barrier's tolerance.
    for u in 1..=USERS {
        let planned = planned_start_ms(u);
        assert!(
            (intended[&u] - planned).abs() < 0.002,
            "N = {n}: user {u} intended {}",
            intended[&u]
        );
        let first = log
            .iter()
            .filter(|(p, _)| query(p, "u") == u.to_string())
            .map(|(_, t)| *t)
            .min()
            .unwrap();
        let after = first
            .duration_since(barrier)
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3;
        let early = barrier
            .duration_since(first)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3);
        assert!(
            early < 5.0,
            "N = {n}: user {u} arrived {early:.1} ms before the barrier"
        );
        assert!(
            after + 5.0 >= planned && after - planned < 10_000.0,
            "N = {n}: user {u} arrived {after:.1} ms after the barrier; planned {planned} ms"
        );
    }
    if n == 4 {
        partial_merge(dir.path());
    }
    common::assert_matches_schema(&dir.path().join("merged/result.json"));
    common::assert_matches_schema(&dir.path().join("run/seg-1/result.json"));
    let d = m.distributed.unwrap();
    assert_eq!((d.segments, d.members.len()), (n, n as usize));
    assert!(d
        .members
        .iter()
        .all(|mem| mem.late_ms.is_some_and(|l| l < 10_000.0)));
}

/// Three of four segments merged with --allow-missing: the terminal and report.html list the
/// segments, say which one is missing, and the merge exits 3 (the whole plan did not run).
fn partial_merge(dir: &Path) {
    let out = surge()
        .arg("merge")
        .args(["1", "2", "4"].map(|i| dir.join(format!("run/seg-{i}/result.json"))))
        .arg("--allow-missing")
        .arg("--out")
        .arg(dir.join("partial"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stdout.contains("merged 3 of 4 segments of run e2e"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PARTIAL merge: segment 3 is missing (merged with --allow-missing)\n"),
        "{stdout}"
    );
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("segment  host"))
        .take(5)
        .collect();
    assert_eq!(table.len(), 5, "{stdout}");
    assert!(table[3].trim_start().starts_with("3  –"), "{stdout}");
    for row in [1, 2, 4] {
        assert!(table[row].ends_with("completed"), "{stdout}");
    }
    assert!(
        stderr.contains("run stopped early: aborted: segment 3 missing from the merge (exit 3)"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(dir.join("partial/report.html")).unwrap();
    assert!(html.contains("<section id=\"segments\">"));
    assert!(html.contains("<b>Partial merge</b> segment 3 is missing"));
}

#[test]
fn merge_refuses_a_missing_segment_by_name_and_a_run_must_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let scen = scenario(dir.path(), "http://127.0.0.1:9");
    // No run id and no barrier: the segments could not agree on one.
    let out = surge()
        .arg("run")
        .arg(&scen)
        .args(["--segment", "1/2", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--segment: give --run-id ID"), "{err}");
    // A barrier long past is refused before anything is sent.
    let out = surge()
        .arg("run")
        .arg(&scen)
        .args([
            "--segment",
            "1/2",
            "--run-id",
            "x",
            "--start-at",
            "2020-01-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than the 5 s tolerance"));
    // --segments without the Indexed Job's variable.
    let out = surge()
        .arg("run")
        .arg(&scen)
        .args(["--segments", "3", "--run-id", "x"])
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOB_COMPLETION_INDEX is not set"));
    // Merging an empty directory names it.
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let out = surge()
        .arg("merge")
        .arg(dir.path().join("empty"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no result.json in it"));
}

/// What one run (of one process or N segments) asked the login host for, and which token each
/// user's requests carried.
struct Tokens {
    /// Token requests the login host answered.
    fetched: u64,
    /// Users (by `__thread`, from 1) grouped by the token they sent.
    users_by_token: std::collections::BTreeSet<Vec<u32>>,
    /// What the segments said on stderr.
    stderr: String,
}

/// Runs the token scenario (8 users over `auth.tokens = 4`) as one process (`n = 0`) or as `n`
/// segments, against a fresh login-and-API server on loopback.
async fn token_run(n: u32) -> Tokens {
    let minted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen: Arc<Mutex<BTreeMap<String, Vec<u32>>>> = Arc::default();
    let (m, s) = (minted.clone(), seen.clone());
    let server = serve(move |r| {
        if r.method == "POST" && r.path == "/oauth/token" {
            let k = m.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            return Reply::status(200)
                .with_header("Content-Type", "application/json")
                .with_body(&format!(
                    r#"{{"access_token":"tok-{k}","token_type":"bearer","expires_in":3600}}"#
                ));
        }
        let user: u32 = query(&r.path, "u").parse().unwrap();
        let token = r.header("authorization").unwrap_or("none").to_string();
        s.lock().unwrap().entry(token).or_default().push(user);
        Reply::status(200).with_body("{}")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("tokens.toml");
    std::fs::write(
        &scen,
        format!(
            r#"name = "tokens"
[target]
base_url = "{}"
[auth]
kind = "client_credentials"
tokens = 4
[[request]]
name = "hit"
path = "/hit?u={{__thread}}"
[load]
threads = 8
loops = 2
"#,
            server.url()
        ),
    )
    .unwrap();
    let at = rfc3339(SystemTime::now() + Duration::from_millis(2_500));
    let runs: Vec<Vec<String>> = if n == 0 {
        vec![vec![]]
    } else {
        (1..=n)
            .map(|i| {
                ["--segment", &format!("{i}/{n}"), "--start-at", &at]
                    .iter()
                    .chain(&["--run-id", "tok", "--start-tolerance", "10s"])
                    .map(|s| s.to_string())
                    .collect()
            })
            .collect()
    };
    let children: Vec<_> = runs
        .into_iter()
        .enumerate()
        .map(|(i, args)| {
            surge()
                .arg("run")
                .arg(&scen)
                .args(args)
                .args(["-q", "--out"])
                .arg(dir.path().join(format!("out-{i}")))
                .env("GENESYS_CLIENT_ID", "id-for-the-test")
                .env("GENESYS_CLIENT_SECRET", "secret-for-the-test")
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut stderr = String::new();
    for o in &outs {
        stderr += &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "n = {n}: {stderr}");
    }
    let hits: usize = seen.lock().unwrap().values().map(Vec::len).sum();
    assert_eq!(hits, 16, "n = {n}: every user's two requests");
    let users_by_token = seen
        .lock()
        .unwrap()
        .values()
        .map(|v| {
            let mut v = v.clone();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    Tokens {
        fetched: minted.load(std::sync::atomic::Ordering::SeqCst),
        users_by_token,
        stderr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_fetch_the_tokens_one_process_would() {
    // One process: 8 users over 4 tokens, user u on token u mod 4.
    let one = token_run(0).await;
    assert_eq!(one.fetched, 4);
    let want: std::collections::BTreeSet<Vec<u32>> =
        [vec![1, 5], vec![2, 6], vec![3, 7], vec![4, 8]].into();
    assert_eq!(one.users_by_token, want);
    // tokens a multiple of N: the same 4 tokens in all, each carrying the same users.
    for n in [2, 4] {
        let r = token_run(n).await;
        assert_eq!(r.fetched, 4, "N = {n}: token requests");
        assert_eq!(r.users_by_token, want, "N = {n}");
        assert!(!r.stderr.contains("not a multiple"), "{}", r.stderr);
    }
    // 3 segments: each fetches only the slots its users use (3 + 3 + 2, not 3 × 4), says so,
    // and a token never mixes users of different slots.
    let r = token_run(3).await;
    assert_eq!(r.fetched, 8, "N = 3: token requests");
    assert!(
        r.stderr
            .contains("auth.tokens = 4 is not a multiple of 3 segments"),
        "{}",
        r.stderr
    );
    for users in &r.users_by_token {
        assert!(
            users.iter().all(|u| (u - 1) % 4 == (users[0] - 1) % 4),
            "{users:?}"
        );
    }
}
