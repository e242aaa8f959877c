//! The step interpreter on tokio's paused clock with a scripted transport: loops, `once` (at
//! the top and inside a loop), `if` and `while` on extracted variables, a `while` that cannot
//! progress, and transactions ended by `next_loop`.

use std::sync::Arc;

use super::{run, scripted, Scripted};
use surge_record::Outcome;

fn plan(steps: &str, requests: &str, load: &str) -> surge_plan::Plan {
    let text = format!(
        "name = \"t\"\nsteps = {steps}\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{requests}\n[load]\n{load}\n"
    );
    surge_plan::load_str(&text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn req(name: &str, extract_status_into: Option<&str>) -> String {
    let mut s = format!("[[request]]\nname = \"{name}\"\npath = \"/{name}\"\n");
    if let Some(v) = extract_status_into {
        s.push_str(&format!(
            "[[request.extract]]\nvar = \"{v}\"\nfrom = \"status\"\n"
        ));
    }
    s
}

fn paths(t: &Arc<Scripted>) -> Vec<String> {
    t.urls()
        .iter()
        .map(|u| u.trim_start_matches("http://h").to_string())
        .collect()
}

fn count(p: &[String], path: &str) -> usize {
    p.iter().filter(|x| *x == path).count()
}

#[tokio::test(start_paused = true)]
async fn loop_once_and_if_run_as_written() {
    let p = plan(
        r#"[{ once = true, steps = ["login"] }, { loop = 3, steps = ["a", { once = true, steps = ["first"] }] }, { if = "{code} == '201'", steps = ["b"] }]"#,
        &[
            req("login", Some("code")),
            req("a", None),
            req("first", None),
            req("b", None),
        ]
        .concat(),
        "threads = 2\nloops = 2",
    );
    // login answers 201, so `b` runs each iteration.
    let t = scripted(10, |_, u| Ok(if u.ends_with("/login") { 201 } else { 200 }));
    let (out, _) = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!(count(&got, "/login"), 2, "once per user");
    assert_eq!(count(&got, "/a"), 2 * 2 * 3, "3 passes per iteration");
    assert_eq!(count(&got, "/first"), 2 * 2, "once per entry into the loop");
    assert_eq!(count(&got, "/b"), 2 * 2);
    assert_eq!(out.issued, got.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn while_tests_before_each_pass_and_stops_at_max() {
    // `c` answers 202 twice, then 204: the loop ends when the extracted code is 204.
    let p = plan(
        r#"[{ while = "{code} != '204'", max = 10, steps = ["c"] }, { while = "true", max = 4, steps = ["d"] }]"#,
        &[req("c", Some("code")), req("d", None)].concat(),
        "threads = 1\nloops = 1",
    );
    let t = scripted(5, |n, u| {
        Ok(if u.ends_with("/c") && n < 2 { 202 } else { 204 })
    });
    let _ = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!(count(&got, "/c"), 3);
    assert_eq!(count(&got, "/d"), 4, "max passes");
}

#[tokio::test(start_paused = true)]
async fn a_while_whose_pass_sends_nothing_ends() {
    // The inner `if` never holds, so a pass sends no request and nothing can change: done.
    let p = plan(
        r#"[{ while = "true", steps = [{ if = "false", steps = ["never"] }] }, "after"]"#,
        &[req("never", None), req("after", None)].concat(),
        "threads = 1\nloops = 2",
    );
    let t = scripted(5, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    assert_eq!(paths(&t), vec!["/after", "/after"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_ends_its_transaction_with_its_outcome() {
    let text = r#"
name = "t"
steps = [{ transaction = "t", steps = ["ok", "bad", "skipped"] }, "next"]
[target]
base_url = "http://127.0.0.1:1"
[[request]]
name = "ok"
path = "/ok"
[[request]]
name = "bad"
path = "/bad"
[[request]]
name = "skipped"
path = "/skipped"
[[request]]
name = "next"
path = "/next"
[load]
threads = 1
loops = 3
on_error = "next_loop"
"#;
    let p = surge_plan::load_str(text, std::path::Path::new("t.toml"), &[]).unwrap();
    let t = scripted(10, |_, u| Ok(if u.ends_with("/bad") { 503 } else { 200 }));
    let (mut out, _) = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!((count(&got, "/skipped"), count(&got, "/next")), (0, 0));
    let txns = out.aggregate.take_transactions();
    assert_eq!(txns[0].started, 3);
    assert_eq!(txns[0].cells.len(), 1);
    assert_eq!(txns[0].cells[0].outcome, Outcome::ServerError);
    assert_eq!(txns[0].cells[0].count, 3);
    // Two requests at 10 ms each: the transaction's time is theirs, to the HDR's precision.
    assert!(
        (19_900..=20_100).contains(&txns[0].cells[0].duration.p50),
        "{:?}",
        txns[0].cells[0].duration
    );
}
