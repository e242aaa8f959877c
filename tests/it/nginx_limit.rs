//! The 429 answer against a real rate limiter on loopback: nginx's `limit_req` (installed by
//! `.ci/run`), started by each test with its own configuration in a temporary directory, on a
//! free port, as a child process (no daemon) killed at the end. surge is not told the rate or
//! the burst. Set `SURGE_SKIP_NGINX` to skip these tests where nginx cannot be installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use surge::analysis::limit::file::LimitFile;
use surge::analysis::limit::scope::Scope;
use surge::record::{Outcome, RunResult};

use crate::common::limiters::{nginx, Server};

fn skip() -> bool {
    if std::env::var_os("SURGE_SKIP_NGINX").is_some() {
        eprintln!("SURGE_SKIP_NGINX is set: skipped");
        return true;
    }
    false
}

/// An nginx with one limiter of `rate` per second, `burst` and `nodelay` per location, killed
/// when dropped.
struct Nginx {
    srv: Server,
}

impl Nginx {
    /// Locations: `/bucket` (per address, nodelay), `/queue` (per address, excess waits),
    /// `/per-token` (keyed by the Authorization header, nodelay); `/oauth/token` mints a fresh
    /// token per call.
    fn start(rate: u32, burst: u32) -> Nginx {
        let srv = nginx(
            &format!(
                "limit_req_zone $binary_remote_addr zone=addr:1m rate={rate}r/s;\n\
                 limit_req_zone $binary_remote_addr zone=q:1m rate={rate}r/s;\n\
                 limit_req_zone $http_authorization zone=tok:1m rate={rate}r/s;\n\
                 limit_req_status 429;"
            ),
            &format!(
                "location /bucket {{ limit_req zone=addr burst={burst} nodelay; alias @DIR@/ok.json; }}\n\
                 location /queue {{ limit_req zone=q burst={burst}; alias @DIR@/ok.json; }}\n\
                 location /per-token {{ limit_req zone=tok burst={burst} nodelay; alias @DIR@/ok.json; }}"
            ),
        );
        Nginx { srv }
    }

    /// A scenario for `path`: `users` users, `think_ms` between requests, `loops` each.
    fn scenario(&self, dir: &Path, path: &str, users: u32, think_ms: u32, loops: u32) -> PathBuf {
        let f = dir.join(format!("{}.toml", path.trim_matches('/')));
        std::fs::write(
            &f,
            format!(
                "name = \"nginx\"\n[target]\nbase_url = \"http://127.0.0.1:{}\"\n\
                 [auth]\nkind = \"client_credentials\"\nclient_id_env = \"NGINX_TEST_ID\"\nclient_secret_env = \"NGINX_TEST_SECRET\"\n\
                 [[request]]\nname = \"get\"\npath = \"{path}\"\n\
                 [load]\nthreads = {users}\nloops = {loops}\nthink_time = \"{think_ms}ms\"\n",
                self.srv.port
            ),
        )
        .unwrap();
        f
    }
}

/// Runs the surge binary (the client id and secret nginx does not check in its environment).
fn surge(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(args)
        .env("NGINX_TEST_ID", "id")
        .env("NGINX_TEST_SECRET", "secret")
        .output()
        .expect("surge runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "surge {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn limit_file(dir: &Path) -> LimitFile {
    serde_json::from_str(&std::fs::read_to_string(dir.join("limit.json")).unwrap()).unwrap()
}

fn within(got: f64, want: f64, tol: f64) -> bool {
    (got / want - 1.0).abs() <= tol
}

#[test]
fn probe_names_nginx_s_bucket_its_rate_burst_and_scope_per_address() {
    if skip() {
        return;
    }
    let _one = crate::common::limiters::one_at_a_time();
    let (rate, burst) = (37, 15);
    let ng = Nginx::start(rate, burst);
    let dir = tempfile::tempdir().unwrap();
    let sc = ng.scenario(dir.path(), "/bucket", 1, 0, 1);
    let out = dir.path().join("probe");
    surge(&[
        "probe",
        sc.to_str().unwrap(),
        "--scope",
        "tokens",
        "-o",
        out.to_str().unwrap(),
    ]);
    let f = limit_file(&out);
    assert_eq!(f.model.unwrap().name(), "token_bucket", "{f:?}");
    assert!(
        within(f.sustained_rate_per_s.unwrap(), f64::from(rate), 0.10),
        "{f:?}"
    );
    // nginx admits the request itself and `burst` more at once.
    assert!(
        (f.burst.unwrap() - f64::from(burst + 1)).abs() <= 3.0,
        "{f:?}"
    );
    // Keyed by the client's address: two tokens from one address share it.
    assert_eq!(f.scope, Scope::Shared, "{f:?}");
    assert!(f.evidence.requests <= 1_000, "{:?}", f.evidence);
}

#[test]
fn probe_names_a_queue_where_nginx_delays_the_excess_and_per_token_keys_double() {
    if skip() {
        return;
    }
    let _one = crate::common::limiters::one_at_a_time();
    let rate = 43;
    let ng = Nginx::start(rate, 12);
    let dir = tempfile::tempdir().unwrap();
    // Without nodelay, nginx holds what exceeds the rate up to the burst: latency rises first.
    let sc = ng.scenario(dir.path(), "/queue", 1, 0, 1);
    let out = dir.path().join("queue");
    surge(&["probe", sc.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let f = limit_file(&out);
    assert_eq!(f.model.unwrap().name(), "queue", "{f:?}");
    assert!(
        within(f.sustained_rate_per_s.unwrap(), f64::from(rate), 0.10),
        "{f:?}"
    );
    // Keyed by the Authorization header: two tokens carry twice as much.
    let sc = ng.scenario(dir.path(), "/per-token", 1, 0, 1);
    let out = dir.path().join("per-token");
    surge(&[
        "probe",
        sc.to_str().unwrap(),
        "--scope",
        "tokens",
        "-o",
        out.to_str().unwrap(),
    ]);
    let f = limit_file(&out);
    assert_eq!(f.scope, Scope::PerToken, "{f:?}");
}

#[test]
fn a_burst_run_s_pace_holds_against_nginx_near_the_fastest_the_limit_allows() {
    if skip() {
        return;
    }
    let _one = crate::common::limiters::one_at_a_time();
    let (rate, burst) = (40, 20);
    let ng = Nginx::start(rate, burst);
    let dir = tempfile::tempdir().unwrap();
    // 6 users, 100 ms apart each: ~60/s against 40/s, for 720 requests.
    let sc = ng.scenario(dir.path(), "/bucket", 6, 100, 120);
    let first = dir.path().join("burst");
    surge(&[
        "run",
        sc.to_str().unwrap(),
        "-q",
        "-o",
        first.to_str().unwrap(),
    ]);
    let r = RunResult::read(&first.join("result.json")).unwrap();
    assert!(r.outcome_count(Outcome::Throttled) > 100);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("result.json")).unwrap()).unwrap();
    let advice = &v["diagnosis"]["advice"];
    let rec = advice["recommended_rate_per_s"].as_f64().expect("a pace");
    assert!(
        rec < f64::from(rate) && rec > 0.85 * f64::from(rate),
        "{advice}"
    );
    // The limiter rests as long as the advice says, then the batch goes again, paced.
    std::thread::sleep(Duration::from_secs_f64(
        advice["rest_s"].as_f64().unwrap() + 0.5,
    ));
    let paced = dir.path().join("paced");
    let from = first.join("result.json");
    surge(&[
        "run",
        sc.to_str().unwrap(),
        "-q",
        "-o",
        paced.to_str().unwrap(),
        "--pace-from",
        from.to_str().unwrap(),
    ]);
    let p = RunResult::read(&paced.join("result.json")).unwrap();
    assert_eq!(
        p.outcome_count(Outcome::Throttled),
        0,
        "{:?}",
        p.totals.by_status
    );
    assert_eq!(p.totals.requests, 720);
    // The fastest the limit allows: the burst at once, then one per 1/rate.
    let fastest = (720.0 - f64::from(burst + 1)) / f64::from(rate);
    let t = p.totals.completion_s;
    assert!(t <= 1.15 * fastest, "{t} s against the fastest {fastest} s");
}
