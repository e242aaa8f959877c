//! Conversations end to end against a loopback asynchronous-operations server the test starts:
//! `POST /ops` answers an operation id at once; `GET /ops/{id}` answers RUNNING until the
//! operation's k-th poll, then DONE (or FAILED). The server's own counts are the ground truth:
//! every operation polled to completion exactly once, polls per operation, transaction times
//! against the server's timings, and assertion, extraction and poll-timeout failures as their
//! own outcomes.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::{serve, Reply, TestServer};
use surge::record::{Outcome, RunResult};
use surge::run::{run_plan, RunOptions};

/// One operation as the server sees it.
#[derive(Debug, Clone)]
struct Op {
    created: Instant,
    polls: u32,
    done_at: Option<Instant>,
    polls_after_done: u32,
}

#[derive(Default)]
struct Ops {
    ops: HashMap<String, Op>,
    next: u64,
}

/// Starts the server: operations complete on their `k`-th poll; every `fail_every`-th one
/// ends FAILED.
async fn ops_server(k: u32, fail_every: u64) -> (TestServer, Arc<Mutex<Ops>>) {
    let state: Arc<Mutex<Ops>> = Arc::default();
    let st = state.clone();
    let server = serve(move |req| {
        let mut s = st.lock().unwrap();
        if req.method == "POST" && req.path == "/ops" {
            s.next += 1;
            let id = format!("op-{}", s.next);
            s.ops.insert(
                id.clone(),
                Op {
                    created: Instant::now(),
                    polls: 0,
                    done_at: None,
                    polls_after_done: 0,
                },
            );
            return Reply::status(202)
                .with_header("Location", &format!("/ops/{id}"))
                .with_body(&format!(
                    r#"{{"id":"{id}","state":"STARTED","complete":false}}"#
                ));
        }
        if req.path == "/info" {
            return Reply::status(200).with_body(r#"{"ok":true}"#);
        }
        let Some(id) = req.path.strip_prefix("/ops/") else {
            return Reply::status(404);
        };
        let n: u64 = id.trim_start_matches("op-").parse().unwrap_or(0);
        let Some(op) = s.ops.get_mut(id) else {
            return Reply::status(404).with_body(r#"{"message":"no such operation"}"#);
        };
        if op.done_at.is_some() {
            op.polls_after_done += 1;
        }
        op.polls += 1;
        let done = op.polls >= k;
        if done && op.done_at.is_none() {
            op.done_at = Some(Instant::now());
        }
        let state = match (done, fail_every > 0 && n % fail_every == 0) {
            (false, _) => "RUNNING",
            (true, false) => "DONE",
            (true, true) => "FAILED",
        };
        Reply::status(200).with_body(&format!(
            r#"{{"id":"{id}","state":"{state}","complete":{done}}}"#
        ))
    })
    .await;
    (server, state)
}

/// The conversation: create an operation, poll it until complete, inside a transaction.
fn scenario(url: &str, k_poll: &str) -> surge::scenario::Plan {
    let text = format!(
        r#"
name = "conversation"
steps = [{{ transaction = "create_to_done", steps = ["create", "poll"] }}]
[target]
base_url = "{url}"
[[request]]
name = "create"
method = "POST"
path = "/ops"
[[request.extract]]
var = "op"
json = "$.id"
[[request.assert]]
name = "accepted"
status = [202]
[[request]]
name = "poll"
path = "/ops/{{op}}"
[request.poll]
until = "$.complete == true"
interval = "5ms"
{k_poll}
[load]
threads = 4
loops = 5
"#
    );
    surge::scenario::load_str(&text, Path::new("conv.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

async fn run(plan: surge::scenario::Plan, dir: &Path) -> RunResult {
    let opts = RunOptions {
        out: Some(dir.to_path_buf()),
        ..Default::default()
    };
    run_plan(plan, opts).await.unwrap().result
}

fn count(r: &RunResult, label: &str, o: Outcome) -> u64 {
    r.cells
        .iter()
        .filter(|c| c.label == label && c.outcome == o)
        .map(|c| c.count)
        .sum()
}

fn txn(r: &RunResult, o: Outcome) -> u64 {
    r.transactions[0]
        .cells
        .iter()
        .filter(|c| c.outcome == o)
        .map(|c| c.count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_polled_to_completion_exactly_once() {
    let k = 3;
    let (server, state) = ops_server(k, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let r = run(scenario(&server.url(), "timeout = \"30s\""), dir.path()).await;
    let ops = state.lock().unwrap().ops.clone();
    let n = 4 * 5;
    assert_eq!(ops.len(), n, "one operation per iteration");
    for (id, op) in &ops {
        assert_eq!(op.polls, k, "{id} polled until done, no more");
        assert_eq!(op.polls_after_done, 0, "{id}");
    }
    assert_eq!(count(&r, "create", Outcome::Success), n as u64);
    assert_eq!(
        count(&r, "poll", Outcome::Success),
        (n as u64) * u64::from(k)
    );
    assert_eq!(r.totals.requests, server.total());
    let t = &r.transactions[0];
    assert_eq!(t.name, "create_to_done");
    assert_eq!((t.started, t.unfinished), (n as u64, 0));
    assert_eq!(txn(&r, Outcome::Success), n as u64);
    // Each transaction spans the server's create → done, so its shortest is no shorter than
    // the server's shortest span (HDR keeps 3 significant digits).
    let server_min_us = ops
        .values()
        .map(|o| (o.done_at.unwrap() - o.created).as_micros() as u64)
        .min()
        .unwrap();
    let cell = &t.cells[0];
    assert!(
        cell.duration.min as f64 >= server_min_us as f64 * 0.999,
        "transaction min {} µs, server span min {server_min_us} µs",
        cell.duration.min
    );
    // Per second: begun and ended add up to the whole.
    let started: u64 = r
        .timeline
        .iter()
        .filter_map(|s| s.transactions.get("create_to_done"))
        .map(|x| x.started)
        .sum();
    let ended: u64 = r
        .timeline
        .iter()
        .filter_map(|s| s.transactions.get("create_to_done"))
        .flat_map(|x| x.ended.values())
        .sum();
    assert_eq!((started, ended), (n as u64, n as u64));
    // The result, with its transactions and new outcomes, is what the schema describes.
    common::assert_matches_schema(&dir.path().join("result.json"));
    let csv = std::fs::read_to_string(dir.path().join("transactions.csv")).unwrap();
    assert!(csv.starts_with("transaction,outcome,count,"), "{csv}");
    assert!(csv.contains("create_to_done,success,20,"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_their_own_outcomes_with_their_names() {
    // Every 4th operation ends FAILED; polls give up after 2 of the 3 needed for op-5.
    let (server, state) = ops_server(3, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
name = "failures"
steps = [{{ transaction = "t", steps = ["create", "poll"] }}, "missing"]
[target]
base_url = "{url}"
[[request]]
name = "create"
method = "POST"
path = "/ops"
[[request.extract]]
var = "op"
json = "$.id"
[[request.assert]]
name = "says STARTED"
json = "$.state"
equals = "STARTED"
[[request]]
name = "poll"
path = "/ops/{{op}}"
[request.poll]
until = "$.complete == true"
fail_if = "$.state == 'FAILED'"
interval = "1ms"
max_polls = 3
[[request]]
name = "missing"
path = "/info"
[[request.extract]]
var = "nothing"
json = "$.no.such.field"
[load]
threads = 1
loops = 8
"#,
        url = server.url()
    );
    let p = surge::scenario::load_str(&text, Path::new("f.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(p, dir.path()).await;
    let ops = state.lock().unwrap().ops.clone();
    assert_eq!(ops.len(), 8);
    // op-4 and op-8 end FAILED: fail_if ends their polls as `assertion`.
    assert_eq!(count(&r, "poll", Outcome::Assertion), 2);
    assert_eq!(txn(&r, Outcome::Assertion), 2);
    assert_eq!(txn(&r, Outcome::Success), 6);
    // Every `missing` answer lacks the field: `extract`, by name.
    assert_eq!(count(&r, "missing", Outcome::Extract), 8);
    assert_eq!(r.totals.failed_checks["missing: extract nothing"], 8);
    assert_eq!(
        r.totals.failed_checks["poll: fail_if $.state == 'FAILED'"],
        2
    );
    assert!(r.cells.iter().any(|c| c.status.label() == "extract:200"));
    assert_eq!(r.totals.requests, server.total());
    common::assert_matches_schema(&dir.path().join("result.json"));

    // Polls that run out: max_polls 2 of the 3 needed.
    let (server, state) = ops_server(3, 0).await;
    let text = text
        .replace("max_polls = 3", "max_polls = 2")
        .replace(&extract_url(&text), &server.url());
    let p = surge::scenario::load_str(&text, Path::new("f.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let r = run(p, dir.path()).await;
    let ops = state.lock().unwrap().ops.clone();
    assert!(ops.values().all(|o| o.polls == 2 && o.done_at.is_none()));
    assert_eq!(
        count(&r, "poll", Outcome::Timeout),
        8,
        "the last poll of each gave up"
    );
    assert_eq!(count(&r, "poll", Outcome::Success), 8);
    assert_eq!(txn(&r, Outcome::Timeout), 8);
}

/// The base_url written in a scenario text.
fn extract_url(text: &str) -> String {
    let at = text.find("base_url = \"").unwrap() + "base_url = \"".len();
    let end = text[at..].find('"').unwrap();
    text[at..at + end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jmeter_plan_with_regex_extractor_while_and_transaction_runs_with_jmeters_counts() {
    // JMeter's semantics: per iteration one create, then the While polls until the extracted
    // state is DONE: k polls. 2 threads × 3 loops × (1 + k) requests, one transaction each.
    let k = 3;
    let (server, state) = ops_server(k, 0).await;
    let jmx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/conversation.jmx");
    let port = server.addr.port().to_string();
    let opts = surge::scenario::jmx::ImportOptions {
        properties: vec![("port".into(), port)],
        out_dir: None,
    };
    let imported = surge::scenario::jmx::import_file(&jmx, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:#?}", imported.warnings);
    assert!(imported.toml.contains("while = "), "{}", imported.toml);
    let (plan, _) = surge::scenario::jmx::load(&jmx, &opts, &[]).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let jtl = dir.path().join("run.jtl");
    let run_opts = RunOptions {
        out: Some(dir.path().to_path_buf()),
        jtl: Some(jtl.clone()),
        ..Default::default()
    };
    let r = run_plan(plan, run_opts).await.unwrap().result;
    let ops = state.lock().unwrap().ops.clone();
    assert_eq!(ops.len(), 6);
    assert!(ops
        .values()
        .all(|o| o.polls == k && o.polls_after_done == 0));
    assert_eq!(count(&r, "create", Outcome::Success), 6);
    assert_eq!(count(&r, "poll", Outcome::Success), 6 * u64::from(k));
    assert_eq!(server.total(), 6 * (1 + u64::from(k)));
    assert_eq!(r.transactions[0].name, "create_to_done");
    assert_eq!(txn(&r, Outcome::Success), 6);
    // The JTL carries each transaction's row as JMeter writes it, and reads back as a
    // transaction, not as a request.
    let text = std::fs::read_to_string(&jtl).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(",create_to_done,"))
        .collect();
    assert_eq!(rows.len(), 6);
    let k1 = k + 1;
    assert!(
        rows.iter().all(|l| l.contains(&format!(
            ",200,\"Number of samples in transaction : {k1}, number of failing samples : 0\","
        ))),
        "{rows:#?}"
    );
    let back = surge::report::jtl::read_jtl(&jtl).unwrap();
    assert_eq!(back.totals.requests, 6 * (1 + u64::from(k)));
    assert_eq!(back.transactions[0].ended(), 6);
}
