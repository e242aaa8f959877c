//! The fault-injection tier: the built binary against loopback servers that answer, reset,
//! hang, stall bodies, send garbage, are killed and restarted mid-run, and a machine out of
//! file descriptors. Per run: every attempt issued is recorded (the raw samples file has one row
//! per attempt, equal to the result's count), the server's own count agrees with what surge
//! recorded as reaching it, no panic, and every stop condition is honoured. Each run is bounded
//! in requests and time.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does with the n-th request it reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Ok,
    /// Close with a TCP reset after reading the request.
    Reset,
    /// Never answer.
    Hang,
    /// Send the headers and part of the body, then nothing.
    StallBody,
    /// Answer something that is not HTTP, then close.
    Garbage,
}

#[derive(Default)]
struct Counts {
    seen: AtomicU64,
    ok: AtomicU64,
}

type Plan = Arc<dyn Fn(u64) -> Fault + Send + Sync>;
/// Open connections by id (a handler removes its own when it ends, so a reset really closes).
type Conns = Arc<Mutex<std::collections::HashMap<u64, TcpStream>>>;

/// Removes a connection from the open ones when its handler ends.
struct Forget(Conns, u64);

impl Drop for Forget {
    fn drop(&mut self) {
        self.0.lock().unwrap().remove(&self.1);
    }
}

struct FaultServer {
    port: u16,
    counts: Arc<Counts>,
    down: Arc<AtomicBool>,
    conns: Conns,
    plan: Plan,
}

impl FaultServer {
    fn start(plan: impl Fn(u64) -> Fault + Send + Sync + 'static) -> FaultServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let s = FaultServer {
            port: l.local_addr().unwrap().port(),
            counts: Arc::default(),
            down: Arc::default(),
            conns: Arc::default(),
            plan: Arc::new(plan),
        };
        s.serve(l);
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn serve(&self, l: TcpListener) {
        let (counts, down, conns, plan) = (
            self.counts.clone(),
            self.down.clone(),
            self.conns.clone(),
            self.plan.clone(),
        );
        let next_id = AtomicU64::new(0);
        std::thread::spawn(move || {
            for s in l.incoming() {
                if down.load(Ordering::SeqCst) {
                    return; // the listener is dropped: connects are refused
                }
                let Ok(s) = s else { return };
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                conns.lock().unwrap().insert(id, s.try_clone().unwrap());
                let (counts, plan, forget) =
                    (counts.clone(), plan.clone(), Forget(conns.clone(), id));
                std::thread::spawn(move || {
                    handle(s, &counts, &*plan);
                    drop(forget);
                });
            }
        });
    }

    /// Kills the server: every connection is shut down and the port refuses connections.
    fn kill(&self) {
        self.down.store(true, Ordering::SeqCst);
        // Wake the accept loop so it drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for (_, c) in self.conns.lock().unwrap().drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Restarts it on the same port.
    fn restart(&self) {
        let l = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        self.down.store(false, Ordering::SeqCst);
        self.serve(l);
    }
}

fn handle(s: TcpStream, counts: &Counts, plan: &dyn Fn(u64) -> Fault) {
    let mut rd = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    loop {
        // Read one request: the request line, headers, and a Content-Length body.
        let mut line = String::new();
        if rd.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if rd.read_exact(&mut body).is_err() {
            return;
        }
        let n = counts.seen.fetch_add(1, Ordering::SeqCst);
        match plan(n) {
            Fault::Ok => {
                if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .is_err()
                {
                    return;
                }
                counts.ok.fetch_add(1, Ordering::SeqCst);
            }
            Fault::Reset => {
                // SO_LINGER 0: close sends RST.
                let fd = std::os::fd::AsRawFd::as_raw_fd(&w);
                let lg = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: setsockopt on a socket we own, with a linger struct of the right size.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&lg as *const libc::linger).cast(),
                        std::mem::size_of::<libc::linger>() as u32,
                    );
                }
                return;
            }
            Fault::Hang => {
                let mut sink = [0u8; 1024];
                while rd.read(&mut sink).unwrap_or(0) > 0 {}
                return;
            }
            Fault::StallBody => {
                let _ = w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial");
                let mut sink = [0u8; 1024];
                while rd.read(&mut sink).unwrap_or(0) > 0 {}
                return;
            }
            Fault::Garbage => {
                let _ = w.write_all(b"THIS IS NOT HTTP\r\n\r\n\x00\x01\x02");
                return;
            }
        }
    }
}

fn scenario(dir: &Path, url: &str, load: &str, extra: &str) {
    std::fs::write(
        dir.join("s.toml"),
        format!(
            "name = \"faults\"\n[target]\nbase_url = \"{url}\"\ntimeout = \"1s\"\nconnect_timeout = \"1s\"\n[[request]]\nname = \"r\"\npath = \"/r\"\n[load]\n{load}\n{extra}"
        ),
    )
    .unwrap();
}

fn surge(dir: &Path, args: &[&str], limit_files: Option<u64>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_surge"));
    c.current_dir(dir).args(args);
    if let Some(n) = limit_files {
        use std::os::unix::process::CommandExt;
        // SAFETY: only setrlimit (async-signal-safe) between fork and exec.
        unsafe {
            c.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: n as libc::rlim_t,
                    rlim_max: n as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    out
}

/// `surge run s.toml` into `out/`, every attempt also streamed to `samples.csv`.
fn run_recorded(dir: &Path, limit_files: Option<u64>) -> Output {
    surge(
        dir,
        &[
            "run",
            "s.toml",
            "-q",
            "-o",
            "out",
            "--samples",
            "samples.csv",
        ],
        limit_files,
    )
}

/// The result, checked: as many attempts recorded as rows in the raw samples file.
fn checked_result(dir: &Path) -> serde_json::Value {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/result.json")).unwrap())
            .unwrap();
    let rows = std::fs::read_to_string(dir.join("samples.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(
        r["totals"]["requests"].as_u64().unwrap(),
        rows,
        "issued = recorded"
    );
    let by_status: u64 = r["totals"]["by_status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, rows);
    r
}

fn status(r: &serde_json::Value, key: &str) -> u64 {
    r["totals"]["by_status"][key].as_u64().unwrap_or(0)
}

#[test]
fn resets_hangs_stalled_bodies_and_garbage_are_each_counted_once() {
    let faults = [
        Fault::Ok,
        Fault::Reset,
        Fault::Hang,
        Fault::StallBody,
        Fault::Garbage,
        Fault::Ok,
    ];
    let server = FaultServer::start(move |n| faults[(n % 6) as usize]);
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path(), &server.url(), "threads = 4\nloops = 6", "");
    let out = run_recorded(dir.path(), None);
    let r = checked_result(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(r["totals"]["requests"], 24, "{}", r["totals"]);
    assert_eq!(
        server.counts.seen.load(Ordering::SeqCst),
        24,
        "the server saw every attempt"
    );
    assert_eq!(status(&r, "200"), server.counts.ok.load(Ordering::SeqCst));
    assert_eq!(status(&r, "200"), 8);
    // Hangs and stalled bodies end at the timeout; resets and garbage are their own classes.
    assert_eq!(
        status(&r, "error:timeout"),
        8,
        "{}",
        r["totals"]["by_status"]
    );
    assert_eq!(
        status(&r, "error:reset") + status(&r, "error:invalid_response"),
        8,
        "{}",
        r["totals"]["by_status"]
    );
}

#[test]
fn a_server_killed_and_restarted_mid_run_loses_no_sample() {
    let server = Arc::new(FaultServer::start(|_| Fault::Ok));
    let dir = tempfile::tempdir().unwrap();
    scenario(
        dir.path(),
        &server.url(),
        "threads = 3\nloops = \"forever\"\nthink_time = \"20ms\"",
        "[limits]\nmax_requests = 300\n",
    );
    let killer = {
        let s = server.clone();
        std::thread::spawn(move || {
            while s.counts.seen.load(Ordering::SeqCst) < 40 {
                std::thread::sleep(Duration::from_millis(5));
            }
            s.kill();
            std::thread::sleep(Duration::from_millis(300));
            s.restart();
        })
    };
    let out = run_recorded(dir.path(), None);
    killer.join().unwrap();
    let r = checked_result(dir.path());
    assert_eq!(r["totals"]["requests"], 300);
    assert_eq!(r["stop_reason"], "max_requests");
    let ok = server.counts.ok.load(Ordering::SeqCst);
    assert_eq!(status(&r, "200"), ok, "{}", r["totals"]["by_status"]);
    assert!(
        status(&r, "error:refused") > 0,
        "{}",
        r["totals"]["by_status"]
    );
    assert!(
        ok > 40,
        "the run went on after the restart: {}",
        r["totals"]["by_status"]
    );
    // Not one request succeeded is not the case here: the run passes.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn out_of_file_descriptors_users_back_off_and_the_duration_ends_the_run() {
    let server = FaultServer::start(|_| Fault::Ok);
    let dir = tempfile::tempdir().unwrap();
    // 300 users under a hard limit of 64 open files: most connects fail with EMFILE.
    scenario(
        dir.path(),
        &server.url(),
        "threads = 300\nloops = \"forever\"\nduration = \"2s\"\nthink_time = \"10ms\"",
        "",
    );
    let out = run_recorded(dir.path(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    let r = checked_result(dir.path());
    assert_eq!(r["stop_reason"], "completed", "{err}");
    let resource = status(&r, "error:resource");
    assert!(resource > 0, "{}", r["totals"]["by_status"]);
    // Backed off: far fewer failures than a spinning loop would make in 2 s (~100k/s).
    assert!(resource < 300 * 2 * 20, "{resource}");
    assert_eq!(status(&r, "200"), server.counts.ok.load(Ordering::SeqCst));
    assert!(
        err.contains("error:resource: out of open files or local ports); the open-files limit 64 was reached"),
        "{err}"
    );
}

#[test]
fn out_of_file_descriptors_a_host_name_is_a_resource_error_not_a_dns_failure() {
    let server = FaultServer::start(|_| Fault::Ok);
    let dir = tempfile::tempdir().unwrap();
    // By name: the resolver fails too when no descriptor is left (getaddrinfo's EAI_SYSTEM).
    let url = server.url().replace("127.0.0.1", "localhost");
    scenario(
        dir.path(),
        &url,
        "threads = 300\nloops = \"forever\"\nduration = \"2s\"\nthink_time = \"10ms\"",
        "",
    );
    let out = run_recorded(dir.path(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    let r = checked_result(dir.path());
    assert_eq!(r["stop_reason"], "completed", "{err}");
    assert!(
        status(&r, "error:resource") > 0,
        "{}",
        r["totals"]["by_status"]
    );
    assert_eq!(status(&r, "error:dns"), 0, "{}", r["totals"]["by_status"]);
}
