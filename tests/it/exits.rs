//! Exit codes and output folders as a CI job meets them: a run where not one request got an
//! expected answer fails (exit 1) and says why; a scenario that declares the statuses it expects
//! passes on them; runs started in the same second never share a folder; a folder that holds a
//! result is never written over.

use std::path::Path;
use std::process::{Command, Output};

fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn scenario(dir: &Path, target: &str, request_extra: &str) {
    std::fs::write(
        dir.join("s.toml"),
        format!("name = \"exits\"\n[target]\nbase_url = \"{target}\"\nmock_preset = \"unlimited\"\n[[request]]\nname = \"r\"\npath = \"/api/v2/nothing-here\"\n{request_extra}\n[load]\nthreads = 2\nloops = 3\n").replace("mock_preset = \"unlimited\"\n", if target == "mock" { "mock_preset = \"unlimited\"\n" } else { "" }),
    )
    .unwrap();
}

#[test]
fn not_one_expected_answer_fails_the_run_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: every request is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    scenario(dir.path(), &format!("http://127.0.0.1:{port}"), "");
    let o = surge(dir.path(), &["run", "s.toml", "-q", "-o", "refused"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("FAILED: not one of 6 requests got an expected answer (2xx or 3xx, or the request's expect_status); got error:refused×6 (exit 1)"),
        "{err}"
    );
    assert!(dir.path().join("refused/result.json").exists());

    // All 404 from the mock: the same rule.
    scenario(dir.path(), "mock", "");
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "404"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("got 404×6"), "{err}");

    // Declared as expected: the run passes.
    scenario(dir.path(), "mock", "expect_status = [404]");
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "expected"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("expected/result.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r["plan"]["expect_status"]["r"], serde_json::json!([404]));
}

#[test]
fn runs_in_the_same_second_never_share_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path(), "mock", "expect_status = [404]");
    let outs: Vec<String> = (0..5)
        .map(|_| {
            let o = surge(dir.path(), &["run", "s.toml", "--simulate", "-q"]);
            assert_eq!(o.status.code(), Some(0));
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            out.lines()
                .find_map(|l| l.strip_prefix("result: "))
                .unwrap()
                .to_string()
        })
        .collect();
    let mut distinct = outs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{outs:?}");
    for o in &outs {
        assert!(dir.path().join(o).exists(), "{o}");
    }
    // A folder given with --out that holds a result is refused, not written over.
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "mine"],
    );
    assert_eq!(o.status.code(), Some(0));
    let before = std::fs::read(dir.path().join("mine/result.json")).unwrap();
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "mine"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--out: mine/result.json already holds a run's result; give another folder, or remove it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("mine/result.json")).unwrap(),
        before
    );
}
