//! Signals as CI runners and Kubernetes send them, to the real binary, against a loopback
//! server that accepts requests and never answers: SIGTERM stops a run like Ctrl-C (exit 3, the
//! result and reports written, marked partial), and a second signal stops at once, still writing
//! what was measured.
#![cfg(unix)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A server that reads requests and never answers; counts connections.
fn hanging_server() -> (String, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let n = Arc::new(AtomicU64::new(0));
    let seen = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut counted = false;
                while let Ok(k) = s.read(&mut buf) {
                    if k == 0 {
                        return;
                    }
                    if !counted {
                        counted = true;
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (url, n)
}

fn start(dir: &Path, url: &str, grace: &str) -> Child {
    std::fs::write(
        dir.join("s.toml"),
        format!("name = \"hang\"\n[target]\nbase_url = \"{url}\"\ntimeout = \"10m\"\n[[request]]\nname = \"slow\"\npath = \"/slow\"\n[load]\nthreads = 3\nloops = 1\n"),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(["run", "s.toml", "-q", "-o", "out", "--grace", grace])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Waits for the child (at most 60 s, then kills it and fails): exit code, stderr.
fn finish(mut child: Child) -> (Option<i32>, String) {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st.code(), err);
        }
        if t.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the run did not stop within 60 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn result(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("out/result.json")).expect("result.json written");
    assert!(dir.join("out/report.html").exists(), "report written");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sigterm_stops_like_ctrl_c_writing_a_partial_result() {
    let (url, seen) = hanging_server();
    let dir = tempfile::tempdir().unwrap();
    let child = start(dir.path(), &url, "100ms");
    wait_until("3 requests in flight", || seen.load(Ordering::SeqCst) >= 3);
    signal(&child, libc::SIGTERM);
    let (code, err) = finish(child);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("stopping (SIGTERM)"), "{err}");
    let r = result(dir.path());
    assert_eq!(r["partial"], true);
    assert_eq!(r["stop_reason"], "cancelled");
    // The requests in flight are recorded, as cancelled: nothing sent is lost.
    assert_eq!(r["totals"]["requests"], 3);
    assert_eq!(r["totals"]["by_status"]["error:cancelled"], 3);
}

#[test]
fn a_second_signal_stops_at_once_and_still_writes() {
    for second in [libc::SIGTERM, libc::SIGINT] {
        let (url, seen) = hanging_server();
        let dir = tempfile::tempdir().unwrap();
        // A grace far longer than the test waits: only the second signal can end the run.
        let child = start(dir.path(), &url, "10m");
        wait_until("3 requests in flight", || seen.load(Ordering::SeqCst) >= 3);
        signal(&child, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(200));
        signal(&child, second);
        let (code, err) = finish(child);
        assert_eq!(code, Some(3), "{err}");
        assert!(err.contains("stopping now"), "{err}");
        let r = result(dir.path());
        assert_eq!(r["partial"], true);
        assert_eq!(r["totals"]["requests"], 3);
        assert_eq!(r["totals"]["by_status"]["error:cancelled"], 3);
    }
}
