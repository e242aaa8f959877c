//! `surge sweep --simulate` and `surge compare` through the CLI.

use surge::cli;

fn scenario() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/architect-publish-burst.toml"
    )
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_runs_every_combination_then_compares() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let code = cli::main_with([
        "surge",
        "sweep",
        &scenario(),
        "--simulate",
        "-q",
        "--set",
        "load.loops=2",
        "--vary",
        "load.ramp_up=0s,10s",
        "--vary",
        r#"on_429={policy="none"},{policy="retry_after",max_attempts=3}"#,
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0);
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 1 + 4, "{csv}");
    assert!(
        rows[1].starts_with(r#""ramp_up=0s on_429={policy=""none""}","#),
        "{}",
        rows[1]
    );
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 4);
    // One folder per run, each a full result.
    let runs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("result.json").exists())
        .count();
    assert_eq!(runs, 4);
    // Compare reads those results back (and names them by folder).
    let mut results: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().join("result.json"))
        .filter(|p| p.exists())
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    results.sort();
    let cmp = dir.path().join("cmp");
    let mut args = vec!["surge".to_string(), "compare".into()];
    args.extend(results.iter().cloned());
    args.extend(["--out".into(), cmp.to_string_lossy().to_string()]);
    assert_eq!(cli::main_with(args).await, 0);
    let csv = std::fs::read_to_string(cmp.join("compare.csv")).unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("01-load.ramp_up_0s"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sweeps_and_comparisons_exit_2_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    // A value that fails validation stops the sweep before any run.
    assert_eq!(
        cli::main_with([
            "surge",
            "sweep",
            &scenario(),
            "--simulate",
            "--vary",
            "load.threads=5,0",
            "--out",
            o
        ])
        .await,
        2
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    assert_eq!(
        cli::main_with(["surge", "sweep", &scenario(), "--vary", "load.threads"]).await,
        2
    );
    assert_eq!(
        cli::main_with(["surge", "compare", "nope.json", "nope2.json"]).await,
        2
    );
    assert_eq!(
        cli::main_with(["surge", "compare", "only-one.json"]).await,
        2
    );
}

/// `surge sweep --pace-from` paces every run as `surge run --pace-from` does: over seeds, the
/// recommended pace holds, and the sweep's run of a seed is the run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_paces_every_run_from_a_result_as_run_does() {
    use surge::record::{Outcome, RunResult};
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_string_lossy().to_string();
    let retrying = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/architect-retry-after.toml"
    );
    let surge = |args: &[&str]| {
        let mut all = vec!["surge".to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        cli::main_with(all)
    };
    let read = |p: String| RunResult::read(std::path::Path::new(&p)).unwrap();
    let (measured, paced, sweep) = (d("measured"), d("paced"), d("sweep"));
    let run = ["run", retrying, "--simulate", "-q"];
    assert_eq!(surge(&[&run[..], &["--out", &measured]].concat()).await, 0);
    let from = format!("{measured}/result.json");
    let alone = ["--seed", "2", "--pace-from", &from, "--out", &paced];
    assert_eq!(surge(&[&run[..], &alone].concat()).await, 0);
    let vary = ["--vary", "seed=1..3", "--pace-from", &from, "--out", &sweep];
    let code = surge(&[&["sweep", retrying, "--simulate", "-q"][..], &vary].concat()).await;
    assert_eq!(code, 0);
    for seed in 1..=3 {
        let r = read(format!("{sweep}/0{seed}-seed_{seed}/result.json"));
        let f = r.totals.finals().unwrap();
        assert_eq!((f.requests, f.final_ok), (500, 500), "seed {seed}");
        assert_eq!(
            r.outcome_count(Outcome::Throttled),
            0,
            "seed {seed}: the pace holds"
        );
    }
    let (alone, swept) = (
        read(format!("{paced}/result.json")),
        read(format!("{sweep}/02-seed_2/result.json")),
    );
    assert_eq!(alone.totals.requests, swept.totals.requests);
    assert_eq!(alone.totals.completion_s, swept.totals.completion_s);
    assert_eq!(alone.timeline.len(), swept.timeline.len());
    // A file that cannot pace stops the sweep before any run.
    let unpaced = d("unpaced");
    let bad = [
        "--vary",
        "seed=1,2",
        "--pace-from",
        "no-such.json",
        "--out",
        &unpaced,
    ];
    assert_eq!(
        surge(&[&["sweep", retrying, "--simulate", "-q"][..], &bad].concat()).await,
        2
    );
    assert!(!std::path::Path::new(&unpaced).exists());
}

/// A JTL as JMeter 5.x writes it (default columns, with header).
const JMETER_JTL: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect
1764400000000,120,publish,200,OK,Thread Group 1-1,text,true,,300,200,2,2,http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=a,110,0,3
1764400000100,130,publish,200,OK,Thread Group 1-2,text,true,,300,200,2,2,http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=b,120,0,3
1764400001200,5,publish,429,Too Many Requests,Thread Group 1-1,text,false,,250,200,2,2,http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=c,5,0,0
1764400002300,140,publish,200,OK,Thread Group 1-2,text,true,,300,200,2,2,http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=d,125,0,2
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jmeter_jtl_is_reported_and_compared_with_a_surge_run() {
    let dir = tempfile::tempdir().unwrap();
    let jtl = dir.path().join("jmeter.jtl");
    std::fs::write(&jtl, JMETER_JTL).unwrap();
    let rep = dir.path().join("rep");
    assert_eq!(
        cli::main_with([
            "surge",
            "report",
            jtl.to_str().unwrap(),
            "--out",
            rep.to_str().unwrap()
        ])
        .await,
        0
    );
    assert!(rep.join("report.html").exists() && rep.join("timeline.csv").exists());
    let timeline = std::fs::read_to_string(rep.join("timeline.csv")).unwrap();
    assert_eq!(timeline.lines().count(), 1 + 3, "three seconds: {timeline}");
    // A simulated surge run of the same scenario beside the JMeter run.
    let run = dir.path().join("run");
    assert_eq!(
        cli::main_with([
            "surge",
            "run",
            &scenario(),
            "--simulate",
            "-q",
            "--set",
            "load.loops=1",
            "--out",
            run.to_str().unwrap()
        ])
        .await,
        0
    );
    let cmp = dir.path().join("cmp");
    let r = run.join("result.json");
    assert_eq!(
        cli::main_with([
            "surge",
            "compare",
            r.to_str().unwrap(),
            jtl.to_str().unwrap(),
            "--name",
            "surge",
            "--name",
            "jmeter",
            "--out",
            cmp.to_str().unwrap()
        ])
        .await,
        0
    );
    let csv = std::fs::read_to_string(cmp.join("compare.csv")).unwrap();
    let jm = csv.lines().find(|l| l.starts_with("jmeter,")).unwrap();
    // 4 attempts, 3 of them 2xx (75 %), 1 × 429 (25 %).
    assert!(jm.starts_with("jmeter,4,4,75,25,"), "{jm}");
}
