//! Case 7: a signal before the load starts stops at once (exit 2, "nothing was sent"), whatever
//! surge is blocked on: reading a FIFO named as a token file or a CSV while checking the
//! scenario, or fetching an OAuth token from a server that never answers.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(dir: &Path, scenario: &str) -> Child {
    std::fs::write(dir.join("s.toml"), scenario).unwrap();
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(["run", "s.toml", "-q", "-o", "out", "--yes"])
        .env("GENESYS_CLIENT_ID", "id")
        .env("GENESYS_CLIENT_SECRET", "secret")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Sends SIGTERM (once) and waits for the exit (at most 30 s, else kills and fails).
fn sigterm_and_wait(mut child: Child) -> (Option<i32>, String) {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("one SIGTERM did not stop surge before the load");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

fn assert_stopped_at_once(what: &str, (code, err): (Option<i32>, String)) {
    assert_eq!(code, Some(2), "{what}: {err}");
    assert!(
        err.contains("cancelled (SIGTERM) before the load started; nothing was sent"),
        "{what}: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("stopping"),
        "{what}: {err}"
    );
}

/// Opens `fifo` for writing (which returns once surge opened it to read: it is now blocked on
/// it), keeps it open, and signals.
fn blocked_on_fifo(what: &str, dir: &Path, scenario: &str, fifo: &str) {
    let p = dir.join(fifo);
    mkfifo(&p);
    let child = spawn(dir, scenario);
    let writer = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    // Let surge reach its read (a read that never returns while the writer stays open).
    std::thread::sleep(Duration::from_millis(200));
    assert_stopped_at_once(what, sigterm_and_wait(child));
    drop(writer);
}

#[test]
fn a_signal_while_reading_a_fifo_token_file_or_csv_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let token = "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\nkind = \"bearer\"\ntoken_file = \"tok\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 1\nloops = 1\n";
    blocked_on_fifo("token_file", dir.path(), token, "tok");
    let dir = tempfile::tempdir().unwrap();
    let csv = "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:9\"\n[[data]]\nkind = \"csv\"\nfile = \"d.csv\"\n[[request]]\nname = \"a\"\npath = \"/a/{id}\"\n[load]\nthreads = 1\nloops = 1\n";
    blocked_on_fifo("csv", dir.path(), csv, "d.csv");
}

#[test]
fn a_signal_during_a_token_fetch_that_never_ends_stops_at_once() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let s = format!("name = \"t\"\n[target]\nbase_url = \"{url}\"\n[auth]\nkind = \"client_credentials\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 1\nloops = 1\n");
    let child = spawn(dir.path(), &s);
    // surge connected for its token; the server never answers.
    let (_conn, _) = server.accept().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_stopped_at_once("oauth", sigterm_and_wait(child));
}
