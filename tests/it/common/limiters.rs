//! Real rate limiters on loopback, for the tests and `examples/limiters.rs`: nginx `limit_req` and
//! `limit_conn`, Debian's haproxy with the stick-table recipe, and the `limits` library (PyPI)
//! behind `tests/python/limits_server.py`. Each runs as a child process (no daemon) with its
//! configuration in a temporary directory, on a free 127.0.0.1 port, killed when dropped. surge is
//! never told their parameters: a [`Spec`] holds the truth, for assertions and for the fastest time
//! the limit allows a batch ([`Spec::optimum_s`]).
//!
//! `.ci/run` installs nginx, haproxy and `limits`; `SURGE_SKIP_NGINX`, `SURGE_SKIP_HAPROXY` and
//! `SURGE_SKIP_PYTHON` skip the tests that need them where they cannot be installed.
//!
//! Self-contained (std and tempfile only), so an example can include it with `#[path]`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a limit is kept per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The client's address: every request of a loopback test shares it (scope "shared").
    Address,
    /// The `Authorization` header: each token has its own (scope "per token").
    Token,
}

/// The `limits` library's strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    FixedWindow,
    MovingWindow,
    SlidingWindowCounter,
}

impl Strategy {
    fn arg(self) -> &'static str {
        match self {
            Strategy::FixedWindow => "fixed-window",
            Strategy::MovingWindow => "moving-window",
            Strategy::SlidingWindowCounter => "sliding-window-counter",
        }
    }
}

/// One limiter and its parameters: the truth a probe is held to.
#[derive(Clone, Copy, Debug)]
pub enum Spec {
    /// nginx `limit_req zone rate={rate}r/s`, `burst`, with `nodelay` (a token bucket admitting
    /// burst + 1 at once) or without (the excess waits in a queue up to the burst), 429 beyond.
    NginxReq {
        rate: u32,
        burst: u32,
        nodelay: bool,
        key: Key,
    },
    /// nginx `limit_conn` at `max` (429 beyond: `limit_conn_status 429`) before an origin that
    /// answers after `origin_ms`: at most `max` requests in flight.
    NginxConn { max: u32, origin_ms: u32, key: Key },
    /// haproxy's stick-table recipe: `store http_req_rate({period_s}s)`, `deny deny_status 429 if
    /// { sc_http_req_rate(0) gt max }`. Refused requests count toward the rate; no Retry-After.
    Haproxy { max: u32, period_s: u32, key: Key },
    /// The `limits` library: `count` per `window_s` seconds with `strategy`; 429 with Retry-After
    /// (the library's window reset, rounded up to whole seconds).
    Limits {
        strategy: Strategy,
        count: u32,
        window_s: u32,
        key: Key,
    },
}

impl Spec {
    /// The environment variable that skips this family's tests, when it is set.
    pub fn skipped(&self) -> Option<&'static str> {
        let var = match self {
            Spec::NginxReq { .. } => "SURGE_SKIP_NGINX",
            Spec::NginxConn { .. } => "SURGE_SKIP_NGINX",
            Spec::Haproxy { .. } => "SURGE_SKIP_HAPROXY",
            Spec::Limits { .. } => "SURGE_SKIP_PYTHON",
        };
        std::env::var_os(var).is_some().then_some(var)
    }

    pub fn key(&self) -> Key {
        match *self {
            Spec::NginxReq { key, .. }
            | Spec::NginxConn { key, .. }
            | Spec::Haproxy { key, .. }
            | Spec::Limits { key, .. } => key,
        }
    }

    /// The limiter and its configuration, in a table's words.
    pub fn label(&self) -> String {
        let per = match self.key() {
            Key::Address => "per address",
            Key::Token => "per Authorization",
        };
        match *self {
            Spec::NginxReq {
                rate,
                burst,
                nodelay,
                ..
            } => {
                let nd = if nodelay { " nodelay" } else { "" };
                format!("nginx limit_req {rate}r/s burst={burst}{nd}, {per}")
            }
            Spec::NginxConn { max, origin_ms, .. } => {
                format!("nginx limit_conn {max}, origin {origin_ms} ms, {per}")
            }
            Spec::Haproxy { max, period_s, .. } => {
                format!("haproxy http_req_rate({period_s}s) gt {max}, {per}")
            }
            Spec::Limits {
                strategy,
                count,
                window_s,
                ..
            } => format!("limits {} {count}/{window_s}s, {per}", strategy.arg()),
        }
    }

    /// What a right answer says: the model, its parameters, the scope.
    pub fn truth(&self) -> String {
        let scope = match self.key() {
            Key::Address => "shared",
            Key::Token => "per token",
        };
        let what = match *self {
            Spec::NginxReq {
                rate,
                burst,
                nodelay: true,
                ..
            } => format!("token bucket {rate}/s, burst {}", burst + 1),
            Spec::NginxReq { rate, burst, .. } => format!("queue {rate}/s, {burst} waiting"),
            Spec::NginxConn { max, .. } => format!(
                "{max} in flight ({} req/s at the origin's pace)",
                fmt_rate(self.sustained_rate())
            ),
            Spec::Haproxy { max, period_s, .. } => {
                format!("sliding window {max} per {period_s} s, refusals counted")
            }
            Spec::Limits {
                strategy,
                count,
                window_s,
                ..
            } => {
                let model = match strategy {
                    Strategy::FixedWindow => "fixed window",
                    Strategy::MovingWindow => "sliding window (log)",
                    Strategy::SlidingWindowCounter => "sliding window (counter)",
                };
                format!("{model} {count} per {window_s} s")
            }
        };
        format!("{what}, {scope}")
    }

    /// The rate the limit sustains, per key, in requests per second (for a concurrency limit: at
    /// the origin's service time).
    pub fn sustained_rate(&self) -> f64 {
        match *self {
            Spec::NginxReq { rate, .. } => f64::from(rate),
            Spec::NginxConn { max, origin_ms, .. } => {
                f64::from(max) * 1000.0 / f64::from(origin_ms)
            }
            Spec::Haproxy { max, period_s, .. } => f64::from(max) / f64::from(period_s),
            Spec::Limits {
                count, window_s, ..
            } => f64::from(count) / f64::from(window_s),
        }
    }

    /// What a rested limiter lets through without refusing or delaying it, per key: nginx's
    /// burst + 1 with `nodelay` (1 without: the rest waits its turn), a window's count, a
    /// concurrency limit's `max`.
    pub fn at_once(&self) -> u32 {
        match *self {
            Spec::NginxReq {
                burst,
                nodelay: true,
                ..
            } => burst + 1,
            Spec::NginxReq { .. } => 1,
            Spec::NginxConn { max, .. } => max,
            Spec::Haproxy { max, .. } => max,
            Spec::Limits { count, .. } => count,
        }
    }

    /// The fastest a batch of `requests` from one key can finish against a rested limiter, in
    /// seconds (service times aside), as the truth's own algorithm allows it:
    /// - a token bucket (nginx `nodelay`): burst + 1 at once, the rest at the rate,
    ///   `(requests − burst − 1) / rate`; nginx's queue: one at once, `(requests − 1) / rate`;
    /// - a fixed window (the `limits` library's starts at its first hit) or a sliding log: `count`
    ///   at once and `count` more each window, `⌊(requests − 1) / count⌋ × window`;
    /// - a sliding-window counter (haproxy, `limits`): `count` at once, then the rate,
    ///   `(requests − count) / rate`; a lower bound, exact within one window of the counter's
    ///   phase at the start;
    /// - a concurrency limit: `⌈requests / max⌉` rounds of the origin's service time.
    pub fn optimum_s(&self, requests: u32) -> f64 {
        match *self {
            Spec::NginxConn { max, origin_ms, .. } => {
                f64::from(requests.div_ceil(max)) * f64::from(origin_ms) / 1000.0
            }
            Spec::Limits {
                strategy: Strategy::FixedWindow | Strategy::MovingWindow,
                count,
                window_s,
                ..
            } => f64::from(requests.saturating_sub(1) / count * window_s),
            _ => f64::from(requests.saturating_sub(self.at_once())) / self.sustained_rate(),
        }
    }

    /// A batch for `users` users in whole loops: what a rested limiter admits at once and about
    /// `seconds` more at its sustained rate.
    pub fn batch(&self, users: u32, seconds: f64) -> u32 {
        let want = f64::from(self.at_once()) + self.sustained_rate() * seconds;
        (want / f64::from(users)).ceil() as u32 * users
    }

    /// Starts the limiter; panics (naming what is missing) when it cannot.
    pub fn start(&self) -> Server {
        match *self {
            Spec::NginxReq {
                rate,
                burst,
                nodelay,
                key,
            } => {
                let nd = if nodelay { " nodelay" } else { "" };
                nginx_with_origin(
                    &format!(
                        "limit_req_zone {} zone=z:1m rate={rate}r/s;\nlimit_req_status 429;",
                        nginx_key(key)
                    ),
                    &format!("limit_req zone=z burst={burst}{nd};"),
                    None,
                )
            }
            Spec::NginxConn {
                max,
                origin_ms,
                key,
            } => {
                let origin =
                    python_server(&["--strategy", "none", "--delay-ms", &origin_ms.to_string()]);
                let mut s = nginx_with_origin(
                    &format!(
                        "limit_conn_zone {} zone=c:1m;\nlimit_conn_status 429;",
                        nginx_key(key)
                    ),
                    &format!("limit_conn c {max};"),
                    Some(origin.port),
                );
                s.children.extend(origin.take());
                s
            }
            Spec::Haproxy { max, period_s, key } => haproxy(max, period_s, key),
            Spec::Limits {
                strategy,
                count,
                window_s,
                key,
            } => python_server(&[
                "--strategy",
                strategy.arg(),
                "--limit",
                &format!("{count} per {window_s} seconds"),
                "--key",
                match key {
                    Key::Address => "address",
                    Key::Token => "authorization",
                },
            ]),
        }
    }
}

fn fmt_rate(r: f64) -> String {
    if (r - r.round()).abs() < 0.05 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn nginx_key(key: Key) -> &'static str {
    match key {
        Key::Address => "$binary_remote_addr",
        Key::Token => "$http_authorization",
    }
}

/// The client id and secret the scenarios name (`LIMITER_ID`, `LIMITER_SECRET`): no limiter
/// checks them, but surge wants them set.
pub const CLIENT_ENV: [(&str, &str); 2] = [("LIMITER_ID", "id"), ("LIMITER_SECRET", "secret")];

/// A running limiter (or any server the tests start as child processes): killed when dropped.
pub struct Server {
    pub port: u16,
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Hands the processes over (to a server that keeps this one as its origin).
    fn take(mut self) -> Vec<Child> {
        std::mem::take(&mut self.children)
    }

    /// Writes `DIR/NAME.toml`: the Architect publish (`POST
    /// /api/v2/flows/actions/publish?flow={__uuid}`) with client-credentials tokens from the
    /// limiter's `/oauth/token`, `users` users started over 1 s, `loops` each, a 429 a failed
    /// sample (the user moves on), 3 minutes at most. The probe reads its request; a run sends
    /// users × loops.
    pub fn publish_scenario(&self, dir: &Path, name: &str, users: u32, loops: u32) -> PathBuf {
        let f = dir.join(format!("{name}.toml"));
        let text = format!(
            "name = \"{name}\"\n\
             [target]\nbase_url = \"{url}\"\ntimeout = \"30s\"\n\
             [auth]\nkind = \"client_credentials\"\nclient_id_env = \"{id}\"\nclient_secret_env = \"{secret}\"\n\
             [[request]]\nname = \"publish\"\nmethod = \"POST\"\n\
             path = \"/api/v2/flows/actions/publish?flow={{__uuid}}\"\n\
             headers = {{ \"Content-Type\" = \"application/json\" }}\nbody = \"null\"\n\
             [load]\nthreads = {users}\nramp_up = \"1s\"\nloops = {loops}\non_error = \"continue\"\n\
             [limits]\nmax_duration = \"3m\"\n",
            url = self.url(),
            id = CLIENT_ENV[0].0,
            secret = CLIENT_ENV[1].0,
        );
        std::fs::write(&f, text).expect("the scenario is written");
        f
    }
}

/// A free port on 127.0.0.1: bound, read, let go for the server to take.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until `port` accepts connections (10 s at most), else panics with the server's log.
fn wait_listening(port: u16, child: &mut Child, log: &Path) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || t0.elapsed() > Duration::from_secs(10) {
            panic!(
                "the limiter did not listen on {port} ({exited:?}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// nginx's binary: in /usr/sbin (Debian's place) or elsewhere usual.
pub fn nginx_bin() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// An nginx (one process, no daemon) on a free port with `http` directives inside `http {}` and
/// `server` directives inside its one `server {}` (which already answers `/oauth/token` with a
/// fresh token per call); `@DIR@` in either stands for its directory, which has `ok.json` and
/// `tmp/`.
pub fn nginx(http: &str, server: &str) -> Server {
    let bin =
        nginx_bin().expect("nginx is not installed: .ci/run installs it (or set SURGE_SKIP_NGINX)");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    std::fs::create_dir_all(d.join("tmp")).expect("tmp/");
    std::fs::write(d.join("ok.json"), "{\"ok\":true}\n").expect("ok.json");
    let port = free_port();
    let p = d.display();
    let (http, server) = (
        http.replace("@DIR@", &p.to_string()),
        server.replace("@DIR@", &p.to_string()),
    );
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n client_body_temp_path {p}/tmp/body;\n proxy_temp_path {p}/tmp/proxy;\n\
         fastcgi_temp_path {p}/tmp/fastcgi;\n uwsgi_temp_path {p}/tmp/uwsgi;\n scgi_temp_path {p}/tmp/scgi;\n\
         {http}\n\
         server {{\n  listen 127.0.0.1:{port};\n  default_type application/json;\n\
         location = /oauth/token {{ return 200 '{{\"access_token\":\"$request_id\",\"token_type\":\"bearer\",\"expires_in\":86400}}'; }}\n\
         {server}\n}}\n}}\n"
    );
    std::fs::write(d.join("nginx.conf"), conf).expect("nginx.conf");
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .arg("-p")
        .arg(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    wait_listening(port, &mut child, &d.join("error.log"));
    Server {
        port,
        dir,
        children: vec![child],
    }
}

/// An nginx whose `location /` applies `limit` (zones declared by `http`) and proxies to
/// `origin` (a port on 127.0.0.1), or else to its own second server on a Unix socket that answers
/// `{"ok":true}` (nginx applies limits before the content phase; a `return` would skip them, and
/// a static file refuses POST).
fn nginx_with_origin(http: &str, limit: &str, origin: Option<u16>) -> Server {
    let (http, upstream) = match origin {
        Some(port) => (http.to_string(), format!("http://127.0.0.1:{port}")),
        None => (
            format!(
                "{http}\nserver {{ listen unix:@DIR@/origin.sock; default_type application/json; location / {{ return 200 '{{\"ok\":true}}'; }} }}"
            ),
            "http://unix:@DIR@/origin.sock".to_string(),
        ),
    };
    nginx(
        &http,
        &format!("location / {{ {limit} proxy_pass {upstream}; }}"),
    )
}

/// haproxy (foreground, `-db`) with the stick-table recipe keyed by `key`.
fn haproxy(max: u32, period_s: u32, key: Key) -> Server {
    let bin = [
        "/usr/sbin/haproxy",
        "/usr/local/sbin/haproxy",
        "/usr/bin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("haproxy is not installed: .ci/run installs it (or set SURGE_SKIP_HAPROXY)");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let port = free_port();
    let (table, track) = match key {
        Key::Token => ("type string len 200", "req.hdr(Authorization)"),
        Key::Address => ("type ip", "src"),
    };
    let conf = format!(
        "global\n  maxconn 4096\n\
         defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout http-keep-alive 60s\n\
         frontend fe\n  bind 127.0.0.1:{port}\n\
         \x20 http-request return status 200 content-type application/json lf-string '{{\"access_token\":\"%[uuid]\",\"token_type\":\"bearer\",\"expires_in\":86400}}' if {{ path /oauth/token }}\n\
         \x20 stick-table {table} size 100k expire 30s store http_req_rate({period_s}s)\n\
         \x20 http-request track-sc0 {track}\n\
         \x20 http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {max} }}\n\
         \x20 http-request return status 200 content-type application/json string '{{\"ok\":true}}'\n"
    );
    std::fs::write(d.join("haproxy.cfg"), conf).expect("haproxy.cfg");
    let log = std::fs::File::create(d.join("haproxy.log")).expect("haproxy.log");
    let mut child = Command::new(bin)
        .arg("-db")
        .arg("-f")
        .arg(d.join("haproxy.cfg"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("haproxy starts");
    wait_listening(port, &mut child, &d.join("haproxy.log"));
    Server {
        port,
        dir,
        children: vec![child],
    }
}

/// `tests/python/limits_server.py ARGS`: it binds its own free port and prints it.
fn python_server(args: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("server.log");
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/limits_server.py"
        ))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("python3 runs (or set SURGE_SKIP_PYTHON)");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let port = line
        .strip_prefix("listening ")
        .and_then(|p| p.trim().parse().ok());
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "limits_server.py {args:?} did not start (.ci/run installs `limits` with pip): {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    };
    Server {
        port,
        dir,
        children: vec![child],
    }
}

/// One probe against a real limiter at a time, across every test module: probes that share two
/// cores read each other's delays as the limiter's.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}
