//! The request mix on tokio's paused clock with a scripted transport: interleave (per user and
//! across users), random order, random, Throughput Controllers (percent, total, per user and
//! shared), switch by index and by name, foreach, and a rendezvous releasing users together.

use std::sync::Arc;

use super::{run, scripted, Scripted};

fn plan(steps: &str, requests: &[&str], load: &str) -> surge_plan::Plan {
    let reqs: String = requests
        .iter()
        .map(|r| {
            let (name, path) = r.split_once('=').unwrap_or((r, r));
            format!("[[request]]\nname = \"{name}\"\npath = \"/{path}\"\n")
        })
        .collect();
    let text = format!(
        "name = \"t\"\nsteps = {steps}\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{reqs}\n[load]\n{load}\n"
    );
    surge_plan::load_str(&text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn paths(t: &Arc<Scripted>) -> Vec<String> {
    t.urls()
        .iter()
        .map(|u| u.trim_start_matches("http://h/").to_string())
        .collect()
}

fn count(p: &[String], path: &str) -> usize {
    p.iter().filter(|x| *x == path).count()
}

#[tokio::test(start_paused = true)]
async fn interleave_runs_one_item_per_pass_in_turn() {
    let p = plan(
        r#"["x", { interleave = true, steps = ["a", "b", { loop = 2, steps = ["c"] }] }]"#,
        &["x", "a", "b", "c"],
        "threads = 1\nloops = 4",
    );
    let t = scripted(10, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    // A block is one item: the loop's two passes run together.
    assert_eq!(paths(&t), ["x", "a", "x", "b", "x", "c", "c", "x", "a"]);
    // Across users: user k starts at item k - 1.
    let p = plan(
        r#"[{ interleave = true, across_users = true, steps = ["a", "b", "c"] }]"#,
        &["a", "b", "c"],
        "threads = 3\nloops = 1",
    );
    let t = scripted(10, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!(
        (count(&got, "a"), count(&got, "b"), count(&got, "c")),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn random_order_runs_every_item_once_and_random_one() {
    let p = plan(
        r#"[{ random_order = true, steps = ["a", "b", "c"] }, { random = true, steps = ["d", "e"] }]"#,
        &["a", "b", "c", "d", "e"],
        "threads = 1\nloops = 60",
    );
    let t = scripted(10, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    let got = paths(&t);
    for x in ["a", "b", "c"] {
        assert_eq!(count(&got, x), 60, "{x}");
    }
    assert_eq!(count(&got, "d") + count(&got, "e"), 60);
    assert!(count(&got, "d") > 10 && count(&got, "e") > 10, "{got:?}");
    let orders: std::collections::BTreeSet<String> =
        got.chunks(4).map(|c| c[..3].concat()).collect();
    assert!(orders.len() > 1, "the order changes: {orders:?}");
    assert!(orders.iter().all(|o| o.len() == 3));
}

#[tokio::test(start_paused = true)]
async fn throughput_percent_and_total() {
    let p = plan(
        r#"["x", { percent = 25, steps = ["a"] }, { total = 3, per_user = false, steps = ["b"] }, { total = 2, steps = ["c"] }]"#,
        &["x", "a", "b", "c"],
        "threads = 2\nloops = 20",
    );
    let t = scripted(10, |_, _| Ok(200));
    let (out, _) = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!(count(&got, "x"), 40);
    assert_eq!(count(&got, "a"), 2 * 5, "25 % of each user's 20 passes");
    assert_eq!(count(&got, "b"), 3, "3 in all, over every user");
    assert_eq!(count(&got, "c"), 2 * 2, "2 per user");
    assert_eq!(out.issued, got.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn switch_by_index_and_by_name_and_foreach() {
    let text = r#"
name = "t"
steps = [
  "pick",
  { switch = "{choice}", steps = ["a", "b", { transaction = "default", steps = ["c"] }] },
  { switch = "1", steps = ["a", "b"] },
  { foreach = ["p", "q"], as = "id", steps = ["item"] },
]
[target]
base_url = "http://127.0.0.1:1"
[[request]]
name = "pick"
path = "/pick"
extract = [{ var = "choice", regex = ".*", template = "$0$" }]
[[request]]
name = "a"
path = "/a"
[[request]]
name = "b"
path = "/b"
[[request]]
name = "c"
path = "/c"
[[request]]
name = "item"
path = "/item/{id}"
[load]
threads = 1
loops = 1
"#;
    let p = surge_plan::load_str(text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let t = scripted(10, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    // The scripted answer has no body: the regex finds nothing and `choice` stays empty,
    // which picks item 0; `switch = "1"` picks b.
    assert_eq!(paths(&t), ["pick", "a", "b", "item/p", "item/q"]);
    let spec = &p.groups[0].program.switches[0];
    assert_eq!(spec.select("b"), Some(1));
    assert_eq!(spec.select("nothing"), Some(2), "the item named default");
}

#[tokio::test(start_paused = true)]
async fn a_rendezvous_releases_the_users_together() {
    // 4 users start 1 s apart; the second request of each waits for all 4.
    let p = plan(
        r#"["warm", { rendezvous = "together", users = 4, timeout = "30s" }, "go"]"#,
        &["warm", "go"],
        "threads = 4\nramp_up = \"4s\"\nloops = 1",
    );
    let t = scripted(10, |_, _| Ok(200));
    let (_, samples) = run(&p, t.clone()).await;
    let go: Vec<u64> = samples
        .iter()
        .filter(|s| s.step == 1)
        .map(|s| s.start_us)
        .collect();
    assert_eq!(go.len(), 4);
    // The last user starts at 3 s and its warm-up takes 10 ms: all go at once, then.
    assert!(go.iter().all(|s| *s == go[0]), "{go:?}");
    assert_eq!(go[0], 3_010_000);
    // With a timeout shorter than the ramp, the first waiter releases those waiting.
    let p = plan(
        r#"["warm", { rendezvous = "together", timeout = "1500ms" }, "go"]"#,
        &["warm", "go"],
        "threads = 4\nramp_up = \"4s\"\nloops = 1",
    );
    let t = scripted(10, |_, _| Ok(200));
    let (_, samples) = run(&p, t.clone()).await;
    let mut go: Vec<u64> = samples
        .iter()
        .filter(|s| s.step == 1)
        .map(|s| s.start_us)
        .collect();
    go.sort_unstable();
    // Users 1 and 2 wait (0.01 s, 1.01 s); user 1's timeout at 1.51 s releases both; users 3
    // and 4 wait from 2.01 s and 3.01 s and user 3's timeout releases them at 3.51 s.
    assert_eq!(go, [1_510_000, 1_510_000, 3_510_000, 3_510_000]);
}

#[tokio::test(start_paused = true)]
async fn pace_per_user_and_per_group() {
    let starts = |samples: &[surge_record::Sample], user: u32| -> Vec<u64> {
        samples
            .iter()
            .filter(|s| s.user == user)
            .map(|s| s.start_us / 1000)
            .collect()
    };
    // Each user at 1/s: a request every second whatever the answer's 10 ms.
    let p = plan(
        r#"["a"]"#,
        &["a"],
        "threads = 2\nloops = 3\npace = { rate = \"60/m\" }",
    );
    let t = scripted(10, |_, _| Ok(200));
    let (_, samples) = run(&p, t.clone()).await;
    assert_eq!(starts(&samples, 0), [0, 1000, 2000]);
    assert_eq!(starts(&samples, 1), [0, 1000, 2000]);
    // The group's users together at 4/s: one slot every 250 ms, shared.
    let p = plan(
        r#"["a"]"#,
        &["a"],
        "threads = 2\nloops = 3\npace = { rate = 4, per = \"group\" }",
    );
    let t = scripted(10, |_, _| Ok(200));
    let (_, samples) = run(&p, t.clone()).await;
    let mut all: Vec<u64> = samples.iter().map(|s| s.start_us / 1000).collect();
    all.sort_unstable();
    assert_eq!(all, [0, 250, 500, 750, 1000, 1250]);
}

#[tokio::test(start_paused = true)]
async fn setup_runs_first_and_exports_teardown_runs_last() {
    let text = r#"
name = "t"
[target]
base_url = "http://127.0.0.1:1"
[[request]]
name = "login"
path = "/login"
extract = [{ var = "token", from = "status" }]
[[request]]
name = "work"
path = "/work/{token}"
[[request]]
name = "logout"
path = "/logout/{token}"
[[group]]
name = "main"
requests = ["work"]
load = { threads = 3, loops = 2 }
[[group]]
name = "bye"
phase = "teardown"
requests = ["logout"]
load = { threads = 1 }
[[group]]
name = "hello"
phase = "setup"
export = ["token"]
requests = ["login"]
load = { threads = 1 }
"#;
    let p = surge_plan::load_str(text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    // login answers 201: the token every later user starts with.
    let t = scripted(50, |_, u| Ok(if u.ends_with("/login") { 201 } else { 200 }));
    let (out, _) = run(&p, t.clone()).await;
    let got = paths(&t);
    assert_eq!(got.first().map(String::as_str), Some("login"));
    assert_eq!(got.last().map(String::as_str), Some("logout/201"));
    assert_eq!(count(&got, "work/201"), 6, "{got:?}");
    assert_eq!(out.issued, 8);
    let e = surge_plan::load_str(
        &text
            .replace("export = [\"token\"]", "export = [\"tokn\"]")
            .replace(
                "phase = \"teardown\"",
                "phase = \"teardown\"\nexport = [\"token\"]",
            ),
        std::path::Path::new("t.toml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("did you mean \"token\""), "{e}");
    assert!(e.contains("only a setup group exports"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn during_repeats_its_items_until_the_time_is_up() {
    // Each answer takes 300 ms; the time is checked before each item: a, b, a, b within 1 s.
    let p = plan(
        r#"[{ during = "1s", steps = ["a", "b"] }, "c", { during = "0s", steps = ["a"] }]"#,
        &["a", "b", "c"],
        "threads = 1\nloops = 1",
    );
    let t = scripted(300, |_, _| Ok(200));
    let _ = run(&p, t.clone()).await;
    assert_eq!(paths(&t), ["a", "b", "a", "b", "c"]);
}
