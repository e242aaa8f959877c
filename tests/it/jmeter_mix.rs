//! A JMeter plan with the request mix, users' state, setUp/tearDown groups and a rendezvous,
//! imported and run against a loopback server the test starts: the server's counts per path
//! are the ones Debian's JMeter 2.13 gave on the same fixture and the same server logic
//! (`tests/fixtures/jmx/mix_state.jmx`: 1 setUp thread, 3 users × 4 loops, 1 tearDown
//! thread; 125 requests), and the order of the phases is JMeter's.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{serve, Reply};
use surge::run::{run_plan, RunOptions};

/// The fixture's server: a token, a session cookie at login, a list of ids; `/api` answers
/// 200 only with the session and the token the setUp group fetched.
fn handler(
    seen: Arc<Mutex<Vec<String>>>,
) -> impl Fn(&common::Req) -> Reply + Send + Sync + 'static {
    let sid = Arc::new(Mutex::new(0u32));
    move |req| {
        let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
        seen.lock().unwrap().push(path.to_string());
        match path {
            "/token" => Reply::status(200).with_body("token=T0K3N"),
            "/login" => {
                let mut n = sid.lock().unwrap();
                *n += 1;
                Reply::status(200).with_header("Set-Cookie", &format!("sid=s{n}; Path=/"))
            }
            "/api" => {
                let ok =
                    req.header("cookie").is_some_and(|c| c.contains("sid=s")) && query == "t=T0K3N";
                Reply::status(if ok { 200 } else { 400 })
            }
            "/list" => Reply::status(200).with_body("id=x1 id=x2 id=x3"),
            _ => Reply::status(200),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mix_and_state_plan_runs_with_jmeters_counts() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let server = serve(handler(seen.clone())).await;
    let jmx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/mix_state.jmx");
    let opts = surge::scenario::jmx::ImportOptions {
        properties: vec![("port".into(), server.addr.port().to_string())],
        out_dir: None,
    };
    let imported = surge::scenario::jmx::import_file(&jmx, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:#?}", imported.warnings);
    let (plan, _) = surge::scenario::jmx::load(&jmx, &opts, &[]).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let r = run_plan(
        plan,
        RunOptions {
            out: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .result;
    let seen = seen.lock().unwrap().clone();
    let mut by_path: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &seen {
        *by_path.entry(p.as_str()).or_default() += 1;
    }
    // JMeter 2.13, same fixture, same server logic.
    let jmeter: BTreeMap<&str, u64> = [
        ("/token", 1),
        ("/ready", 1),
        ("/login", 3),
        ("/api", 12),
        ("/a", 6),
        ("/b", 3),
        ("/c", 3),
        ("/half", 6),
        ("/five", 5),
        ("/s0", 4),
        ("/s1", 4),
        ("/s2", 4),
        ("/count/1", 3),
        ("/count/2", 3),
        ("/count/3", 3),
        ("/count/4", 3),
        ("/sync", 12),
        ("/list", 12),
        ("/item/x1", 12),
        ("/item/x2", 12),
        ("/item/x3", 12),
        ("/bye", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_path, jmeter);
    // Every /api request brought its user's session cookie and the token of the setUp group.
    assert_eq!(server.count("200"), 125);
    assert_eq!(r.totals.requests, 125);
    // setUp first, tearDown last.
    assert_eq!(&seen[..2], ["/token", "/ready"]);
    assert_eq!(seen.last().map(String::as_str), Some("/bye"));
}

/// Module and Include Controllers walked in place (a test fragment of this plan, a fragment of
/// `included.jmx` beside it), CSS and tolerant-HTML XPath extractors feeding the next requests;
/// a thread group of 0 threads and a method set by a variable are warned at import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_includes_and_markup_extractors_run() {
    let server = serve(|req| match req.path.as_str() {
        "/form" => Reply::status(200).with_body(
            "<html><body><h1>Welcome</h1><form><input name=csrf value=c5rf><p>unclosed</form>",
        ),
        "/login?csrf=c5rf&t=Welcome" if req.method == "POST" => Reply::status(200),
        "/shared/c5rf" => Reply::status(200),
        _ => Reply::status(404),
    })
    .await;
    let jmx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/modules.jmx");
    let opts = surge::scenario::jmx::ImportOptions {
        properties: vec![("port".into(), server.addr.port().to_string())],
        out_dir: None,
    };
    let imported = surge::scenario::jmx::import_file(&jmx, &opts).unwrap_or_else(|e| panic!("{e}"));
    let warned: Vec<String> = imported.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warned.len(), 3, "{warned:#?}");
    assert!(warned[0].contains("ThreadGroup \"nobody\": ThreadGroup.num_threads = 0"));
    assert!(warned[2].contains("method \"${verb}\""), "{warned:#?}");
    let (mut plan, _) =
        surge::scenario::jmx::load(&jmx, &opts, &[]).unwrap_or_else(|e| panic!("{e}"));
    plan.groups.retain(|g| g.name == "users");
    let names: Vec<&str> = plan.groups[0]
        .steps
        .iter()
        .map(|i| plan.requests[*i].name.as_str())
        .collect();
    assert_eq!(names, ["form", "login", "shared"]);
    let dir = tempfile::tempdir().unwrap();
    let _ = run_plan(
        plan,
        RunOptions {
            out: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // 2 users × 2 loops; every login and shared request carried the extracted values.
    assert_eq!(server.count("200"), 12);
    assert_eq!(server.count("404"), 0);
}
