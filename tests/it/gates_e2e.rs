//! Gates end to end: thresholds in scenarios and on the command line, abort_on_fail, `surge
//! check` against a baseline, JUnit and Markdown outputs, and every exit code through the CLI.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{serve, Reply};
use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::result::{Cell, ScenarioInfo, Summary, TargetInfo, Tool, Totals};
use surge::record::{Hist, RunResult, StatusKey};
use tokio_util::sync::CancellationToken;

fn args(scenario: PathBuf, out: PathBuf) -> RunArgs {
    RunArgs {
        scenario,
        out: Some(out),
        quiet: true,
        load: LoadArgs {
            seed: Some(1),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    }
}

fn scenario(url: &str, extra: &str) -> String {
    format!("name = \"gates\"\n[target]\nbase_url = \"{url}\"\n[[request]]\nname = \"publish\"\npath = \"/p\"\n[[request]]\nname = \"get\"\npath = \"/g\"\n[load]\nthreads = 4\nloops = 10\n{extra}")
}

/// Parses JUnit XML back and returns (testcases, failures, skipped), checking that tags nest.
fn junit_counts(path: &Path) -> (usize, usize, usize) {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    let (mut stack, mut cases, mut failures, mut skipped) = (Vec::<String>::new(), 0, 0, 0);
    loop {
        match r.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().into_inner()).to_string();
                match name.as_str() {
                    "testcase" => {
                        assert_eq!(stack.last().map(String::as_str), Some("testsuite"));
                        cases += 1;
                    }
                    "testsuite" => assert_eq!(stack.last().map(String::as_str), Some("testsuites")),
                    "failure" => failures += 1,
                    _ => {}
                }
                stack.push(name);
            }
            Event::Empty(e) if e.name().into_inner() == b"skipped" => skipped += 1,
            Event::End(e) => {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(&*String::from_utf8_lossy(e.name().into_inner()))
                )
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    (cases, failures, skipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_thresholds_exit_0_and_write_verdicts_junit_and_markdown() {
    let server = serve(|r| {
        if r.path == "/p" && r.n % 10 == 0 {
            Reply::status(429)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let extra = "[[threshold]]\nexpr = \"p95(publish) < 5s\"\n[[threshold]]\nname = \"few 429s\"\nexpr = \"rate(429) < 50%\"\n[[threshold]]\nexpr = \"rate(429) > 90% for 5s\"\nabort_on_fail = true\n";
    let sc = common::scenario(dir.path(), &scenario(&server.url(), extra));
    let out = dir.path().join("out");
    let mut a = args(sc, out.clone());
    a.threshold = vec!["error_rate < 1%".into(), "first_429 < 1m".into()];
    a.junit = Some(dir.path().join("junit.xml"));
    a.summary_md = Some(dir.path().join("summary.md"));
    assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 0);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("thresholds.json")).unwrap())
            .unwrap();
    assert_eq!(v["schema"], "surge/thresholds");
    assert_eq!(v["passed"], true);
    assert_eq!(v["verdicts"].as_array().unwrap().len(), 5);
    assert_eq!(v["verdicts"][1]["name"], "few 429s");
    assert_eq!(junit_counts(&dir.path().join("junit.xml")), (5, 0, 0));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        md.contains("✅ **passed**: 0 of 5 checks failed")
            && md.contains("| `rate(429) > 90% for 5s` |"),
        "{md}"
    );
    // result.json keeps its meaning; the plan records the thresholds it ran with.
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(r.stop_reason, surge::record::StopReason::Completed);
    assert_eq!(r.plan.thresholds.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_threshold_exits_1_and_junit_records_the_failure() {
    let server = serve(|r| {
        if r.n % 4 == 0 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &scenario(&server.url(), "[[threshold]]\nexpr = \"error_rate < 1%\"\n"),
    );
    let out = dir.path().join("out");
    let mut a = args(sc, out.clone());
    a.threshold = vec!["p99(get) < 10s".into()];
    a.junit = Some(dir.path().join("junit.xml"));
    assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 1);
    assert_eq!(junit_counts(&dir.path().join("junit.xml")), (2, 1, 0));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("thresholds.json")).unwrap())
            .unwrap();
    assert_eq!(v["passed"], false);
    assert!(v["verdicts"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("breaks < 1%"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_thresholds_are_configuration_errors_before_any_request() {
    let server = serve(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    // In the scenario: the error names file, line and field.
    let text = scenario(&server.url(), "[[threshold]]\nexpr = \"p95(publish) < 800ms\"\n[[threshold]]\nexpr = \"p95(publsh) < 800ms\"\n");
    let sc = common::scenario(dir.path(), &text);
    let e = surge::scenario::load(&sc, &[]).unwrap_err().to_string();
    let line = text.lines().position(|l| l.contains("publsh")).unwrap() + 1;
    assert!(e.ends_with(&format!(":{line}: threshold[1].expr: p95(publsh) < 800ms: at character 5: unknown label \"publsh\" (labels: publish, get); did you mean \"publish\"?")), "{e}");
    assert_eq!(
        cli::run_cmd(args(sc, dir.path().join("o1")), CancellationToken::new()).await,
        2
    );
    // A typo in a metric, a bare number, abort_on_fail without `for`: all exit 2.
    for extra in [
        "[[threshold]]\nexpr = \"pq5(publish) < 1s\"\n",
        "[[threshold]]\nexpr = \"rate(429) < 1\"\n",
        "[[threshold]]\nexpr = \"rate(429) < 1%\"\nabort_on_fail = true\n",
        "[[threshold]]\nabort_on_fail = true\n",
        "[[threshold]]\nexpr = \"rate(429) < 1%\"\nabort = true\n",
    ] {
        let sc = common::scenario(dir.path(), &scenario(&server.url(), extra));
        assert_eq!(
            cli::run_cmd(args(sc, dir.path().join("o2")), CancellationToken::new()).await,
            2,
            "{extra}"
        );
    }
    // On the command line.
    let sc = common::scenario(dir.path(), &scenario(&server.url(), ""));
    let mut a = args(sc.clone(), dir.path().join("o3"));
    a.threshold = vec!["rate(429, nope) < 1%".into()];
    assert_eq!(cli::run_cmd(a, CancellationToken::new()).await, 2);
    let code = cli::main_with([
        "surge",
        "run",
        sc.to_str().unwrap(),
        "--threshold",
        "p95(publish) <",
        "-q",
    ])
    .await;
    assert_eq!(code, 2);
    assert_eq!(server.total(), 0, "no request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_fail_stops_a_run_once_429s_are_sustained_and_keeps_the_result() {
    let start = Instant::now();
    let server = serve(move |_| {
        if start.elapsed() < Duration::from_millis(1500) {
            Reply::status(200)
        } else {
            Reply::status(429)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &format!(
            "name = \"storm\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"publish\"\npath = \"/p\"\n[load]\nthreads = 4\nloops = \"forever\"\nthink_time = \"20ms\"\n[limits]\nmax_duration = \"60s\"\n[[threshold]]\nname = \"429 storm\"\nexpr = \"rate(429) > 50% for 2s\"\nabort_on_fail = true\n",
            server.url()
        ),
    );
    let out = dir.path().join("out");
    let mut a = args(sc, out.clone());
    a.junit = Some(dir.path().join("junit.xml"));
    let t0 = Instant::now();
    assert_eq!(
        cli::run_cmd(a, CancellationToken::new()).await,
        3,
        "aborted runs exit 3"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "stopped early: {:?}",
        t0.elapsed()
    );
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert!(r.partial);
    assert!(
        r.stop_reason
            .to_string()
            .starts_with("aborted: threshold \"429 storm\" failed"),
        "{}",
        r.stop_reason
    );
    assert!(r.duration_s < 15.0, "{}", r.duration_s);
    assert_eq!(r.totals.requests, server.total());
    // The verdict after the run agrees with the live gate.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("thresholds.json")).unwrap())
            .unwrap();
    assert_eq!(v["passed"], false);
    assert!(v["stop_reason"].as_str().unwrap().starts_with("aborted"));
    assert_eq!(junit_counts(&dir.path().join("junit.xml")), (1, 1, 0));
}

// ---- surge check ----

/// `n` latencies uniform in [base/2, 3·base/2] ms, deterministic.
fn hist(n: u64, base_ms: f64, seed: u64) -> Hist {
    let mut h = Hist::new();
    let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(seed);
    for _ in 0..n {
        let u: f64 = rand::RngExt::random(&mut rng);
        h.record((base_ms * (0.5 + u) * 1000.0) as u64);
    }
    h
}

fn cell(label: &str, code: u16, h: Hist) -> Cell {
    let status = StatusKey::Http(code);
    Cell {
        label: label.into(),
        status,
        outcome: status.outcome(),
        count: h.len(),
        retries: 0,
        bytes_in: 0,
        bytes_out: 0,
        service: Summary::of(&h),
        response: Summary::of(&h),
        service_hist: h.clone(),
        response_hist: h,
    }
}

fn write_result(path: &Path, p95_base_ms: f64, n429: u64, seed: u64) {
    let cells = vec![
        cell("publish", 200, hist(3000, p95_base_ms, seed)),
        cell("publish", 429, hist(n429, 1.0, seed + 1)),
    ];
    let mut totals = Totals::default();
    for c in &cells {
        totals.requests += c.count;
        *totals.by_outcome.entry(c.outcome).or_default() += c.count;
        *totals.by_status.entry(c.status).or_default() += c.count;
    }
    let r = RunResult {
        schema: "surge/result".into(),
        schema_version: surge::record::result::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: "publish".into(),
            description: String::new(),
            file: "s.toml".into(),
        },
        plan: surge::record::PlanSummary::default(),
        target: TargetInfo {
            base_url: "http://127.0.0.1:1".into(),
            host: "127.0.0.1".into(),
            kind: surge::record::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: String::new(),
        started_unix_ms: 0,
        duration_s: 60.0,
        partial: false,
        stop_reason: surge::record::StopReason::Completed,
        simulated: false,
        labels: vec!["publish".into()],
        totals,
        cells,
        timeline: vec![],
        transactions: Vec::new(),
        distributed: None,
    };
    r.write(path).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_exit_codes_regression_noise_thresholds_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (base, same, worse) = (
        d.join("base.json"),
        d.join("same.json"),
        d.join("worse.json"),
    );
    write_result(&base, 400.0, 30, 1);
    write_result(&same, 400.0, 33, 2);
    write_result(&worse, 520.0, 300, 3);
    let (junit, md) = (d.join("j.xml"), d.join("s.md"));
    // A change inside the noise: 0.
    assert_eq!(
        cli::main_with(["surge", "check", s(&same), "--baseline", s(&base), "-q"]).await,
        0
    );
    // A clear regression: 1, with JUnit and Markdown.
    let code = cli::main_with([
        "surge",
        "check",
        s(&worse),
        "--baseline",
        s(&base),
        "--max-regression",
        "p95=+10%,rate(429)=+2pp",
        "--junit",
        s(&junit),
        "--summary-md",
        s(&md),
        "-q",
    ])
    .await;
    assert_eq!(code, 1);
    assert_eq!(junit_counts(&junit), (2, 2, 0));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(
        text.contains("❌ **failed**: 2 of 2 checks failed") && text.contains("| `publish p95` |"),
        "{text}"
    );
    // Generous allowances: a real change, but allowed: 0.
    assert_eq!(
        cli::main_with([
            "surge",
            "check",
            s(&worse),
            "--baseline",
            s(&base),
            "--max-regression",
            "p95=+50%,rate(429)=+20pp",
            "-q"
        ])
        .await,
        0
    );
    // Thresholds alone on a result file.
    assert_eq!(
        cli::main_with([
            "surge",
            "check",
            s(&worse),
            "--threshold",
            "p95(publish) < 2s"
        ])
        .await,
        0
    );
    assert_eq!(
        cli::main_with([
            "surge",
            "check",
            s(&worse),
            "--threshold",
            "rate(429) < 1%",
            "--junit",
            s(&junit)
        ])
        .await,
        1
    );
    assert_eq!(junit_counts(&junit), (1, 1, 0));
    // Usage: 2.
    for bad in [
        vec!["surge", "check", s(&worse)],
        vec![
            "surge",
            "check",
            "/nonexistent/result.json",
            "--threshold",
            "p95 < 1s",
        ],
        vec![
            "surge",
            "check",
            s(&worse),
            "--baseline",
            "/nonexistent/base.json",
        ],
        vec![
            "surge",
            "check",
            s(&worse),
            "--baseline",
            s(&base),
            "--max-regression",
            "p95=10",
        ],
        vec![
            "surge",
            "check",
            s(&worse),
            "--baseline",
            s(&base),
            "--max-regression",
            "p95(nope)=+1%",
        ],
        vec!["surge", "check", s(&worse), "--max-regression", "p95=+10%"],
        vec!["surge", "check", s(&worse), "--threshold", "p95(nope) < 1s"],
        vec![
            "surge",
            "check",
            s(&worse),
            "--baseline",
            s(&base),
            "--confidence",
            "1.5",
        ],
        vec!["surge", "check"],
    ] {
        assert_eq!(cli::main_with(bad.clone()).await, 2, "{bad:?}");
    }
}

/// What a CI user reads from `surge check`: share metrics echo their name as written and show a
/// change (never `-`), and a gate too weak for its sample size says so in the terminal and JUnit.
#[test]
fn check_echoes_metrics_as_written_and_says_when_a_gate_cannot_fail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (base, cand, junit) = (d.join("base.json"), d.join("cand.json"), d.join("j.xml"));
    // 3000 successes around 400 ms; 429s go from 0 to 300: a regression of the 429 share.
    write_result(&base, 400.0, 0, 1);
    write_result(&cand, 400.0, 300, 2);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["check", s(&cand), "--baseline", s(&base)])
        .args([
            "--max-regression",
            "p95=+0.1%,rate(429)=+2pp",
            "--junit",
            s(&junit),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("publish rate(429)"))
        .unwrap_or_else(|| panic!("rate(429) echoed as written:\n{text}"));
    assert!(line.contains("FAIL") && line.contains("+9.09pp"), "{line}");
    assert!(!text.contains("rate(throttled)"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message=\"+9.09pp\""), "{xml}");
    assert!(!xml.contains("message=\"-\""), "{xml}");
    // p95 allowed +0.1% on 3000 samples: the noise is wider, and the note says so.
    assert!(
        text.contains("note: 1 of 2 baseline checks cannot fail at their allowance")
            && text.contains("publish p95 (≈ "),
        "{text}"
    );
    assert!(xml.contains("cannot fail at the allowance"), "{xml}");
}
