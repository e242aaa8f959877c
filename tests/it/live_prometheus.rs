//! `surge run --metrics` scraped by a real Prometheus (Debian's `prometheus`, started here as a
//! child process on loopback with a temporary data directory, scraping every second): at the
//! end, the counters Prometheus stored equal `result.json`'s counts exactly, per label ×
//! status, and the histograms' counts equal them per label × outcome.
//!
//! Prometheus missing fails the test, unless `SURGE_SKIP_PROMETHEUS=1` (then it says it
//! skipped). `SURGE_PROMETHEUS=/path/to/prometheus` picks another binary.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{serve, Reply};
use surge::cli::{self, LiveArgs, LoadArgs, RunArgs};
use surge::record::RunResult;
use tokio_util::sync::CancellationToken;

fn find_prometheus() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SURGE_PROMETHEUS") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Prometheus child: killed and reaped when dropped, whatever the test did.
struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second, and waits until it is ready.
    async fn start(bin: &Path, dir: &Path, target: SocketAddr) -> Prometheus {
        let port = free_port();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n\
                 scrape_configs:\n  - job_name: surge\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let log = dir.join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        // Ready, and the target known: Prometheus hands targets to its scrapers up to 5 s
        // after it starts, and a run before that would be scraped only at its end.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client()
                .get(format!("{}/api/v1/targets", p.url))
                .send()
                .await
            {
                let body = r.bytes().await.unwrap_or_default();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if v["data"]["activeTargets"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                {
                    return p;
                }
            }
            assert!(
                Instant::now() < deadline,
                "prometheus has no target after 30 s:\n{}",
                std::fs::read_to_string(&p.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An instant query's vector: each series' labels and value.
    async fn query(&self, q: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.query_at(q, None).await
    }

    /// [`Prometheus::query`] evaluated at `at` (Unix seconds), or now.
    async fn query_at(&self, q: &str, at: Option<f64>) -> Vec<(BTreeMap<String, String>, f64)> {
        let time = at.map_or(String::new(), |t| format!("&time={t:.3}"));
        let r = client()
            .get(format!(
                "{}/api/v1/query?query={}{time}",
                self.url,
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ))
            .send()
            .await
            .unwrap();
        let body = r.bytes().await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "success", "{q}: {v}");
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let value = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }
}

fn client() -> reqwest::Client {
    surge::transport::tls::install_crypto();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_counts_that_result_json_holds() {
    let Some(bin) = find_prometheus() else {
        if std::env::var("SURGE_SKIP_PROMETHEUS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: no prometheus on PATH and SURGE_SKIP_PROMETHEUS=1");
            return;
        }
        panic!("prometheus not found on PATH: apt-get install -y prometheus (or SURGE_SKIP_PROMETHEUS=1)");
    };
    // Every fifth answer a 429 with Retry-After, one in twenty a 500: three statuses, three
    // outcomes, two labels.
    let server = serve(|r| match r.n % 20 {
        0 => Reply::status(500),
        5 | 10 | 15 => Reply::status(429).with_header("Retry-After", "2"),
        _ => Reply::status(200).with_body("{}"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sc = crate::common::scenario(
        dir.path(),
        &format!(
            r#"
name = "live-metrics"
[target]
base_url = "{}"
[[request]]
name = "list"
path = "/api/v2/flows"
[[request]]
name = "publish"
method = "POST"
path = "/api/v2/flows/actions/publish"
[load]
threads = 4
loops = 50
think_time = "50ms"
on_error = "continue"
"#,
            server.url()
        ),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let prom = Prometheus::start(&bin, dir.path(), addr).await;
    let out = dir.path().join("out");
    let code = cli::run_cmd(
        RunArgs {
            scenario: sc,
            out: Some(out.clone()),
            quiet: true,
            load: LoadArgs {
                seed: Some(1),
                ..LoadArgs::default()
            },
            live: LiveArgs {
                metrics: Some(addr),
                live: None,
                // Four scrape intervals: Prometheus stores the final values before the end.
                linger: Some(Duration::from_secs(4)),
            },
            ..RunArgs::default()
        },
        CancellationToken::new(),
    )
    .await;
    assert_eq!(code, 0);
    // The server answered until now, and was scraped in the last second of it.
    let end_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.5;
    let result = RunResult::read(&out.join("result.json")).unwrap();
    assert!(result.totals.requests >= 400, "{}", result.totals.requests);

    // The final state was scraped (the run's end flag), and mid-run states before it.
    let finished = prom.query("max_over_time(surge_run_finished[5m])").await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].1, 1.0);
    let mid_run = prom.query("min_over_time(surge_run_finished[5m])").await;
    assert_eq!(
        mid_run.first().map(|s| s.1),
        Some(0.0),
        "no scrape while it ran"
    );
    let scrapes = prom
        .query("count_over_time(surge_requests_total[5m])")
        .await;
    assert!(
        scrapes.iter().all(|s| s.1 >= 2.0),
        "too few scrapes: {scrapes:?}"
    );

    // Counters: per label × status, exactly result.json's cells.
    let got: BTreeMap<(String, String, String), u64> = prom
        .query("last_over_time(surge_requests_total[5m])")
        .await
        .into_iter()
        .map(|(l, v)| {
            (
                (
                    l["label"].clone(),
                    l["status"].clone(),
                    l["outcome"].clone(),
                ),
                v as u64,
            )
        })
        .collect();
    let want: BTreeMap<(String, String, String), u64> = result
        .cells
        .iter()
        .map(|c| {
            (
                (
                    c.label.clone(),
                    c.status.label(),
                    c.outcome.name().to_string(),
                ),
                c.count,
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(want.keys().any(|k| k.1 == "429") && want.keys().any(|k| k.1 == "500"));

    // Histograms: their counts per label × outcome are the same attempts.
    let hist: BTreeMap<(String, String), u64> = prom
        .query("last_over_time(surge_request_duration_seconds_count[5m])")
        .await
        .into_iter()
        .map(|(l, v)| ((l["label"].clone(), l["outcome"].clone()), v as u64))
        .collect();
    let mut want_h: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in &result.cells {
        *want_h
            .entry((c.label.clone(), c.outcome.name().to_string()))
            .or_default() += c.count;
    }
    assert_eq!(hist, want_h);

    // The run's names, and the last Retry-After.
    let info = prom.query("last_over_time(surge_run_info[5m])").await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].0["scenario"], "live-metrics");
    assert_eq!(info[0].0["run_id"], "out");
    let ra = prom
        .query("last_over_time(surge_retry_after_seconds[5m])")
        .await;
    assert_eq!(ra.first().map(|s| s.1), Some(2.0), "{ra:?}");

    // Every query docs/live.md shows returns data, evaluated just before the end.
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/live.md")).unwrap();
    let queries = doc_queries(&docs);
    assert!(queries.len() >= 5, "{queries:?}");
    for (view, q) in &queries {
        let got = prom.query_at(q, Some(end_unix)).await;
        assert!(
            !got.is_empty() && got.iter().all(|s| s.1.is_finite()),
            "{view}: {q} returned {got:?}"
        );
        if view.contains("429 per second") {
            assert!(got[0].1 > 0.0, "{view}: {got:?}");
        }
        if view.contains("run totals") {
            let sum: f64 = got.iter().map(|s| s.1).sum();
            assert_eq!(sum as u64, result.totals.requests, "{view}");
        }
    }
    // Every panel of the Grafana dashboard returns its series; its totals are result.json's.
    let panels = dashboard_queries();
    assert!(panels.len() >= 10, "{panels:?}");
    for (title, q) in &panels {
        let got = prom.query_at(q, Some(end_unix)).await;
        assert!(
            !got.is_empty() && got.iter().all(|s| s.1.is_finite()),
            "{title}: {q} returned {got:?}"
        );
        if title == "Totals per status" {
            let by_status: BTreeMap<String, u64> = got
                .iter()
                .map(|(l, v)| (l["status"].clone(), *v as u64))
                .collect();
            let want: BTreeMap<String, u64> = result
                .totals
                .by_status
                .iter()
                .map(|(k, v)| (k.label(), *v))
                .collect();
            assert_eq!(by_status, want, "{title}");
        }
    }
}

/// Every query of dashboards/surge.json's panels (title, PromQL), with Grafana's interval
/// variables as a test over a few seconds reads them.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/surge.json"
    ))
    .unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let q = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "10s")
                .replace("$__range", "5m");
            out.push((p["title"].as_str().unwrap().to_string(), q));
        }
    }
    out
}

/// The (view, PromQL) rows of docs/live.md's table of queries.
fn doc_queries(docs: &str) -> Vec<(String, String)> {
    docs.lines()
        .skip_while(|l| !l.starts_with("| view | PromQL |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(" | ").collect();
            let q = cols
                .get(1)?
                .trim()
                .trim_end_matches('|')
                .trim()
                .trim_matches('`');
            Some((cols[0].trim_start_matches("| ").to_string(), q.to_string()))
        })
        .collect()
}
