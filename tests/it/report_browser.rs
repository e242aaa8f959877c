//! Opens report.html in real headless Chromium (Debian's `chromium`) and checks it: no console
//! output or error, every chart drawn with all its series, hover and legend working (the page's
//! own `#selftest`), and no network request (a CSP that forbids every fetch, whose violations the
//! page reports, and a loopback trap set as the browser's HTTP proxy that sees any request that
//! would leave the page). Saves screenshots.
//!
//! Chromium missing fails the tests, unless `SURGE_SKIP_BROWSER=1` (then they say they skipped).
//! `SURGE_CHROMIUM=/path/to/chromium` picks another binary.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use surge::record::RunResult;

/// Requests the browser makes for itself (component updates, sign-in, network time) even with
/// background networking off: not the page's. Anything else reaching the trap fails the test.
const BROWSER_OWN_HOSTS: &[&str] = &[
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
];

fn find_chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SURGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The browser, or None when skipping is asked for; panics with what to do otherwise.
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    match find_chromium() {
        Some(p) => Some(p),
        None if std::env::var("SURGE_SKIP_BROWSER").as_deref() == Ok("1") => {
            eprintln!("SKIPPED {test}: no chromium on PATH and SURGE_SKIP_BROWSER=1");
            None
        }
        None => panic!(
            "{test}: chromium not found on PATH. Install Debian's `chromium` package (apt-get install -y chromium), \
             set SURGE_CHROMIUM=/path/to/chromium, or set SURGE_SKIP_BROWSER=1 to skip the browser tests."
        ),
    }
}

/// A loopback listener set as the browser's HTTP proxy: every request leaving the browser
/// arrives here, and its first line is kept.
struct Trap {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Trap {
    fn start() -> Trap {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((sock, _)) => {
                        let _ = sock.set_nonblocking(false);
                        let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut line = String::new();
                        let _ = BufReader::new(sock).read_line(&mut line);
                        h.lock().unwrap().push(line.trim_end().to_string());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Trap {
            port,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    /// Requests that were not the browser's own.
    fn page_requests(&self) -> Vec<String> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|line| {
                !BROWSER_OWN_HOSTS
                    .iter()
                    .any(|h| line.contains(&format!(" {h}:")) || line.contains(&format!("//{h}/")))
            })
            .cloned()
            .collect()
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs the browser with the flags CI uses, a fresh profile and the trap as proxy; kills it
/// (our own child, by handle) after 120 s.
fn chromium(bin: &Path, trap: &Trap, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{}", trap.port))
        .arg("--proxy-bypass-list=<-loopback>")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within 120 s", bin.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (t_out.join().unwrap(), t_err.join().unwrap())
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

/// What the browser saw of one page.
#[derive(Debug)]
struct Seen {
    /// The page's self-test outcome (None: the script never finished).
    selftest: Option<serde_json::Value>,
    /// Console lines (the page writes none; any is a problem).
    console: Vec<String>,
    /// Requests that reached the trap, other than the browser's own.
    requests: Vec<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn open(bin: &Path, html: &Path) -> Seen {
    let trap = Trap::start();
    let (dom, log) = chromium(
        bin,
        &trap,
        &[
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
            format!("{}#selftest", file_url(html)),
        ],
    );
    // Let a late request reach the trap before reading it.
    std::thread::sleep(Duration::from_millis(200));
    let selftest = dom.find("<pre id=\"selftest\"").and_then(|i| {
        let rest = &dom[i..];
        let start = rest.find('>')? + 1;
        let end = rest.find("</pre>")?;
        serde_json::from_str(&unescape(&rest[start..end])).ok()
    });
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Seen {
        selftest,
        console,
        requests: trap.page_requests(),
    }
}

fn screenshot(bin: &Path, html: &Path, png: &Path, height: u32) {
    let trap = Trap::start();
    chromium(
        bin,
        &trap,
        &[
            format!("--window-size=1280,{height}"),
            format!("--screenshot={}", png.display()),
            file_url(html),
        ],
    );
    let bytes =
        std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "screenshot {} looks empty",
        png.display()
    );
}

/// Problems with a report page (7 charts), empty when it passes.
fn problems(seen: &Seen, expect_empty: &[&str]) -> Vec<String> {
    page_problems(seen, 7, expect_empty)
}

/// Problems with a page of `n` charts, empty when it passes.
fn page_problems(seen: &Seen, n: usize, expect_empty: &[&str]) -> Vec<String> {
    let mut p = Vec::new();
    let Some(st) = &seen.selftest else {
        p.push(
            "the page's self-test never finished: a script error, or the script did not run".into(),
        );
        p.extend(seen.console.iter().cloned());
        return p;
    };
    for e in st["errors"].as_array().into_iter().flatten() {
        p.push(format!("page error: {e}"));
    }
    for c in &seen.console {
        p.push(format!("console: {c}"));
    }
    for r in &seen.requests {
        p.push(format!("network request: {r}"));
    }
    let charts = st["charts"].as_array().cloned().unwrap_or_default();
    let empty: Vec<&str> = st["empty"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    if charts.len() + empty.len() != n {
        p.push(format!(
            "expected {n} charts, saw {} drawn and {} empty",
            charts.len(),
            empty.len()
        ));
    }
    if empty != expect_empty {
        p.push(format!("empty charts {empty:?}, expected {expect_empty:?}"));
    }
    for c in &charts {
        let (series, drawn) = (
            c["series"].as_u64().unwrap_or(0),
            c["drawn"].as_u64().unwrap_or(0),
        );
        if series == 0 || drawn != series {
            p.push(format!("{}: {drawn} of {series} series drawn", c["id"]));
        }
        if c["hover"] != true {
            p.push(format!("{}: hover showed no values", c["id"]));
        }
        if c["legend"] != true {
            p.push(format!(
                "{}: clicking the legend did not hide and show the series",
                c["id"]
            ));
        }
    }
    p
}

/// Where screenshots are kept for people to look at (beside the build).
fn keep(png: &Path, name: &str) -> PathBuf {
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::copy(png, &dest).unwrap();
    dest
}

#[test]
fn report_opens_in_headless_chromium_with_every_chart_drawn_and_no_request() {
    let Some(bin) =
        chromium_or_skip("report_opens_in_headless_chromium_with_every_chart_drawn_and_no_request")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A real (short) run, committed as a fixture, and a synthetic one-hour run.
    let fixture = RunResult::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-v1/result.json"),
    )
    .unwrap();
    let hour = surge::record::synthetic::result(3600, &["get flow", "publish"]);
    for (name, r) in [("fixture", &fixture), ("hour", &hour)] {
        let out = dir.path().join(name);
        surge::report::write_reports(r, &out).unwrap();
        let html = out.join("report.html");
        let size = std::fs::metadata(&html).unwrap().len();
        assert!(size < 1_000_000, "{name}: report.html is {size} bytes");
        let seen = open(&bin, &html);
        let p = problems(&seen, &[]);
        assert!(p.is_empty(), "{name}: {}\n{seen:#?}", p.join("\n"));
        let png = out.join("report.png");
        screenshot(&bin, &html, &png, 5600);
        eprintln!(
            "{name}: report.html {size} bytes; screenshot {}",
            keep(&png, &format!("report-{name}.png")).display()
        );
    }
}

#[test]
fn a_report_without_429s_shows_empty_charts_with_their_reason() {
    let Some(bin) = chromium_or_skip("a_report_without_429s_shows_empty_charts_with_their_reason")
    else {
        return;
    };
    let mut r = surge::record::synthetic::result(30, &["get"]);
    // Keep only the 2xx: no 429, no Retry-After, no rate-limit headers.
    r.totals.first_429_s = None;
    r.totals.retry_after.clear();
    r.totals
        .by_outcome
        .retain(|o, _| *o == surge::record::Outcome::Success);
    r.totals
        .by_status
        .retain(|k, _| k.outcome() == surge::record::Outcome::Success);
    r.totals.requests = r.totals.by_outcome.values().sum();
    r.cells
        .retain(|c| c.outcome == surge::record::Outcome::Success);
    for s in &mut r.timeline {
        s.by_status
            .retain(|k, _| k.outcome() == surge::record::Outcome::Success);
        s.by_outcome
            .retain(|o, _| *o == surge::record::Outcome::Success);
        s.latency
            .retain(|o, _| *o == surge::record::Outcome::Success);
        s.response_latency
            .retain(|o, _| *o == surge::record::Outcome::Success);
        s.completed = s.by_outcome.values().sum();
        s.retry_after.clear();
        s.rate_limit = None;
    }
    let dir = tempfile::tempdir().unwrap();
    surge::report::write_reports(&r, dir.path()).unwrap();
    let html = dir.path().join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("No 429 responses") && text.contains("cannot tell"),
        "the diagnosis says the data cannot tell"
    );
    let seen = open(&bin, &html);
    let p = problems(&seen, &["c-lat-429", "c-retry", "c-ratelimit"]);
    assert!(p.is_empty(), "{}\n{seen:#?}", p.join("\n"));
}

/// A merged distributed run's page adds its "Segments" section (each segment's host, start
/// after the barrier, clock offset, duration, requests, stop reason; why the merge is partial)
/// and holds to the same: every chart drawn, no error, no request.
#[test]
fn a_merged_runs_page_shows_its_segments() {
    use surge::record::distributed::{Distributed, Member};
    use surge::record::StopReason;
    let Some(bin) = chromium_or_skip("a_merged_runs_page_shows_its_segments") else {
        return;
    };
    let mut r = surge::record::synthetic::result(600, &["get flow", "publish"]);
    let member = |segment: u32, host: &str, late_ms: f64, offset: Option<f64>| Member {
        segment,
        host: host.into(),
        started_unix_ms: r.started_unix_ms,
        late_ms: Some(late_ms),
        clock_offset_ms: offset,
        duration_s: r.duration_s,
        requests: r.totals.requests / 3,
        stop_reason: StopReason::Completed,
        partial: false,
    };
    let mut stopped = member(4, "surge-seed-3-x7k2p", 4.7, None);
    stopped.stop_reason = StopReason::Cancelled;
    stopped.partial = true;
    stopped.duration_s = r.duration_s / 2.0;
    r.distributed = Some(Distributed {
        run_id: "surge-seed-20260301t120000z".into(),
        segments: 4,
        segment: None,
        start_at: Some("2026-03-01T12:00:00Z".into()),
        members: vec![
            member(1, "surge-seed-0-9qf4d", 2.1, Some(0.0)),
            member(2, "surge-seed-1-lm3zt", 35.8, None),
            stopped,
        ],
        missing: vec![3],
        plan_fingerprint: None,
        second_hists: Vec::new(),
    });
    r.partial = true;
    r.stop_reason = StopReason::Aborted("segment 3 missing from the merge".into());
    let dir = tempfile::tempdir().unwrap();
    surge::report::write_reports(&r, dir.path()).unwrap();
    let html = dir.path().join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert_eq!(text.matches("<section id=\"segments\">").count(), 1);
    assert!(text.contains("Partial merge</b> segment 3 is missing"));
    let seen = open(&bin, &html);
    let p = problems(&seen, &[]);
    assert!(p.is_empty(), "{}\n{seen:#?}", p.join("\n"));
    let png = dir.path().join("merged.png");
    screenshot(&bin, &html, &png, 6400);
    eprintln!("screenshot {}", keep(&png, "report-merged.png").display());
}

/// probe.html, `surge probe`'s page, holds to the same: its charts (one per search) drawn with
/// hover and legend, no error, no request.
#[test]
fn the_probe_page_opens_with_its_searches_drawn_and_no_request() {
    let Some(bin) = chromium_or_skip("the_probe_page_opens_with_its_searches_drawn_and_no_request")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probe");
    let sc = format!(
        "{}/scenarios/architect-publish-documented.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let status = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["probe", &sc, "--simulate", "--scope", "tokens", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let html = out.join("probe.html");
    let seen = open(&bin, &html);
    let p = page_problems(&seen, 2, &[]);
    assert!(p.is_empty(), "{}\n{seen:#?}", p.join("\n"));
    let png = out.join("probe.png");
    screenshot(&bin, &html, &png, 1400);
    eprintln!(
        "probe.html: screenshot {}",
        keep(&png, "probe.png").display()
    );
}

/// The checks above must fail when a page does fetch: a page with the CSP that tries to load an
/// image and call fetch() reports the violations (and the console shows them); a page without the
/// CSP really sends the request, and the trap sees it.
#[test]
fn the_browser_check_fails_when_a_page_fetches() {
    let Some(bin) = chromium_or_skip("the_browser_check_fails_when_a_page_fetches") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = RunResult::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-v1/result.json"),
    )
    .unwrap();
    let good = surge::report::html::render(&r);
    let inject = "<img src=\"http://surge-trap.invalid/pixel.png\" alt=\"\"><script>fetch('http://surge-trap.invalid/data.json').catch(function(){});</script></body>";
    let with_csp = good.replace("</body>", inject);
    let p = dir.path().join("with-csp.html");
    std::fs::write(&p, &with_csp).unwrap();
    let seen = open(&bin, &p);
    let found = problems(&seen, &[]);
    assert!(
        found
            .iter()
            .any(|l| l.contains("blocked by CSP") && l.contains("surge-trap.invalid")),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|l| l.starts_with("console:")),
        "{found:#?}"
    );

    let csp_meta = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        surge::report::html::CSP
    );
    assert!(with_csp.contains(&csp_meta));
    let p = dir.path().join("without-csp.html");
    std::fs::write(&p, with_csp.replace(&csp_meta, "")).unwrap();
    let seen = open(&bin, &p);
    assert!(
        seen.requests
            .iter()
            .any(|l| l.contains("surge-trap.invalid")),
        "the trap saw the page's request: {seen:#?}"
    );
    assert!(!problems(&seen, &[]).is_empty());
}
