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
        rows[1].starts_with("ramp_up=0s on_429={policy=\"\"none\"\"}")
            || rows[1].starts_with("\"ramp_up=0s"),
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
