//! `surge run --live`: headless Chromium (Debian's `chromium`) loads the live page in the middle
//! of a run and sees the charts with data and the 429 diagnosis; once the run has ended, the page
//! links report.html, which the live server hands out. A screenshot of the page mid-run is kept
//! in the test's temporary folder (docs/live.png was taken the same way).
//!
//! The run is held in its middle by the test's own server: after its first 24 answers (every
//! fourth a 429) it answers nothing more until the browser has seen the page, so "mid-run" does
//! not depend on timing. Chromium missing fails the test, unless `SURGE_SKIP_BROWSER=1`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use surge::cli::{self, LiveArgs, LoadArgs, RunArgs};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Answers before the server holds the rest.
const BEFORE_HOLD: u64 = 24;

fn find_chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SURGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Headless Chromium on `url` with `extra` flags (a fresh profile); it reads the page once loaded; its
/// standard output.
fn chromium(bin: &Path, url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn attr<'a>(dom: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let i = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {dom}"))
        + key.len();
    let rest = &dom[i..];
    &rest[..rest.find('"').unwrap()]
}

/// The test's API: every fourth answer a 429 with Retry-After: 1; after [`BEFORE_HOLD`]
/// answers, each request waits for a permit of `gate`.
async fn api(gate: Arc<Semaphore>, seen: Arc<AtomicU64>) -> SocketAddr {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || {
        let (gate, seen) = (Arc::clone(&gate), Arc::clone(&seen));
        async move {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            if n >= BEFORE_HOLD {
                let _permit = gate.acquire().await;
            }
            if n % 4 == 3 {
                (StatusCode::TOO_MANY_REQUESTS, [("Retry-After", "1")], "").into_response()
            } else {
                (StatusCode::OK, "{}").into_response()
            }
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

async fn get(url: &str) -> (u16, String) {
    surge::transport::tls::install_crypto();
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&r.bytes().await.unwrap()).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_shows_data_and_the_diagnosis_mid_run_then_links_the_report() {
    let Some(bin) = find_chromium() else {
        if std::env::var("SURGE_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("SKIPPED: no chromium on PATH and SURGE_SKIP_BROWSER=1");
            return;
        }
        panic!("chromium not found on PATH: apt-get install -y chromium (or SURGE_SKIP_BROWSER=1)");
    };
    let gate = Arc::new(Semaphore::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let api = api(Arc::clone(&gate), Arc::clone(&seen)).await;
    let dir = tempfile::tempdir().unwrap();
    let sc = crate::common::scenario(
        dir.path(),
        &format!(
            r#"
name = "live-page"
[target]
base_url = "http://{api}"
[[request]]
name = "publish"
method = "POST"
path = "/api/v2/flows/actions/publish"
[load]
threads = 2
loops = 20
think_time = "50ms"
on_error = "continue"
"#
        ),
    );
    let live = free_addr();
    let out = dir.path().join("out");
    let run = tokio::spawn(cli::run_cmd(
        RunArgs {
            scenario: sc,
            out: Some(out.clone()),
            quiet: true,
            load: LoadArgs {
                seed: Some(1),
                ..LoadArgs::default()
            },
            live: LiveArgs {
                metrics: None,
                live: Some(live),
                linger: Some(Duration::from_secs(30)),
            },
            ..RunArgs::default()
        },
        CancellationToken::new(),
    ));
    // Mid-run: every answer before the hold has been drained into the hub by a tick.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, m) = get(&format!("http://{live}/metrics")).await;
        let served: u64 = m
            .lines()
            .filter(|l| l.starts_with("surge_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        if served == BEFORE_HOLD {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run never reached its hold:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("http://{live}/");
    let dom = chromium(&bin, &url, &["--dump-dom".into()]);
    assert!(
        attr(&dom, "data-rows").parse::<u32>().unwrap() >= 1,
        "{dom}"
    );
    assert_eq!(attr(&dom, "data-diagnosis"), "shown", "{dom}");
    assert_eq!(attr(&dom, "data-finished"), "false");
    assert!(dom.contains("429s so far: 6 of 24 (25.0 %)."), "{dom}");
    assert!(dom.contains("Retry-After: 1 s ×6."), "{dom}");
    assert!(
        dom.contains("<polyline") || dom.contains("<circle"),
        "no chart drawn: {dom}"
    );
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-page-midrun.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &bin,
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1000".into(),
        ],
    );
    let png = std::fs::read(&shot).expect("no screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );

    // The end: the page says so and links the report, which the live server hands out.
    gate.add_permits(1_000);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !out.join("report.html").exists() {
        assert!(Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dom = chromium(&bin, &url, &["--dump-dom".into()]);
    assert_eq!(attr(&dom, "data-finished"), "true", "{dom}");
    assert!(
        dom.contains(r#"<a href="/report.html">report.html</a>"#),
        "{dom}"
    );
    let (status, report) = get(&format!("http://{live}/report.html")).await;
    assert_eq!(status, 200);
    assert_eq!(
        report,
        std::fs::read_to_string(out.join("report.html")).unwrap()
    );
    run.abort();
}
