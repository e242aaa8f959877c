//! `surge report`: rebuilds the same files `surge run` wrote, from a fresh run and from a result
//! committed by an older run of the same schema version; bad input exits 2 with one line.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{serve, Reply};
use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::RunResult;
use surge::report::REPORT_FILES;
use tokio_util::sync::CancellationToken;

/// The committed result and the files `surge run` wrote beside it.
fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-v1")
}

/// A server that admits everything for 0.8 s, then one request in three, naming a limit of 300 in
/// `inin-ratelimit-*` headers; a few 503s and 404s.
async fn throttling_server() -> common::TestServer {
    let start = Instant::now();
    serve(move |r| {
        let secs = start.elapsed().as_secs_f64();
        let n = r.n;
        let rl = |reply: Reply| {
            reply
                .with_header("inin-ratelimit-allowed", "300")
                .with_header("inin-ratelimit-count", &(n + 1).min(300).to_string())
                .with_header("inin-ratelimit-reset", &(59 - secs as u64).to_string())
        };
        if n % 41 == 40 {
            return rl(Reply::status(503));
        }
        if n % 59 == 58 {
            return rl(Reply::status(404));
        }
        if secs < 0.8 || n % 3 == 0 {
            rl(Reply::status(200).with_body("{\"ok\":true}"))
        } else {
            rl(Reply::status(429).with_header("Retry-After", &((n % 4) + 1).to_string()).with_body(
                "{\"message\":\"Rate limit exceeded the maximum. Retry the request in [2] seconds\",\"code\":\"too.many.requests.retry.after\",\"status\":429}",
            ))
        }
    })
    .await
}

/// Runs a short throttled scenario against [`throttling_server`] and returns the output dir.
async fn run_into(dir: &Path) -> PathBuf {
    let server = throttling_server().await;
    let sc = common::scenario(
        dir,
        &format!(
            "name = \"report-fixture\"\ndescription = \"Two labels against a server that throttles after 0.8 s\"\n\
             [target]\nbase_url = \"{}\"\n\
             [[request]]\nname = \"get flow\"\npath = \"/api/v2/flows?pageSize=25\"\n\
             [[request]]\nname = \"publish\"\nmethod = \"POST\"\npath = \"/api/v2/flows/actions/publish?flow={{__thread}}\"\nbody = \"null\"\n\
             [load]\nthreads = 4\nramp_up = \"200ms\"\nloops = 60\nthink_time = \"35ms\"\n",
            server.url()
        ),
    );
    let out = dir.join("out");
    let args = RunArgs {
        scenario: sc,
        out: Some(out.clone()),
        quiet: true,
        load: LoadArgs {
            seed: Some(7),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    };
    assert_eq!(cli::run_cmd(args, CancellationToken::new()).await, 0);
    out
}

fn assert_same_files(a: &Path, b: &Path) {
    for f in REPORT_FILES {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {} ({} vs {} bytes)",
            a.display(),
            b.display(),
            x.len(),
            y.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rebuilds_byte_identical_files_from_a_fresh_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path()).await;
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert!(r.totals.first_429_s.is_some(), "the run was throttled");
    for f in REPORT_FILES {
        assert!(out.join(f).exists(), "surge run wrote {f}");
    }
    // --out elsewhere.
    let again = dir.path().join("again");
    let code = cli::main_with([
        "surge".as_ref(),
        "report".as_ref(),
        out.join("result.json").as_os_str(),
        "--out".as_ref(),
        again.as_os_str(),
    ])
    .await;
    assert_eq!(code, 0);
    assert_same_files(&out, &again);
    // Default: beside the result (a copy of it, so the run's own files are not the ones compared).
    let beside = dir.path().join("beside");
    std::fs::create_dir_all(&beside).unwrap();
    std::fs::copy(out.join("result.json"), beside.join("result.json")).unwrap();
    assert_eq!(
        cli::main_with([
            "surge".as_ref(),
            "report".as_ref(),
            beside.join("result.json").as_os_str()
        ])
        .await,
        0
    );
    assert_same_files(&out, &beside);
    assert_eq!(
        std::fs::read(out.join("result.json")).unwrap(),
        std::fs::read(beside.join("result.json")).unwrap(),
        "result.json is never rewritten"
    );
}

/// The committed fixture is a result written by an older run (and the files that run wrote);
/// today's `surge report` must rebuild the same bytes. When a report changes on purpose, rebuild
/// the fixture's files from its unchanged result with `SURGE_BLESS=1 cargo test --test report_e2e`
/// and review the diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_from_a_result_of_an_older_run_gives_the_same_files() {
    let fx = fixture_dir();
    let result = fx.join("result.json");
    assert!(
        result.exists(),
        "missing fixture {}: run `cargo test --test report_e2e -- --ignored write_report_fixture`",
        result.display()
    );
    if std::env::var("SURGE_BLESS").as_deref() == Ok("1") {
        assert_eq!(
            cli::main_with(["surge".as_ref(), "report".as_ref(), result.as_os_str()]).await,
            0
        );
        eprintln!(
            "SURGE_BLESS=1: rewrote the report files of {}",
            fx.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let code = cli::main_with([
        "surge".as_ref(),
        "report".as_ref(),
        result.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ])
    .await;
    assert_eq!(code, 0);
    assert_same_files(&fx, dir.path());
}

/// Writes `tests/fixtures/report-v1/` from a real run against the loopback test server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the committed fixture; run on purpose"]
async fn write_report_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path()).await;
    let fx = fixture_dir();
    std::fs::create_dir_all(&fx).unwrap();
    for f in std::iter::once(&"result.json").chain(REPORT_FILES) {
        std::fs::copy(out.join(f), fx.join(f)).unwrap();
    }
    eprintln!("wrote {}", fx.display());
}

fn surge_report(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let not_json = dir.path().join("garbage.json");
    std::fs::write(&not_json, "{\n  \"schema\": \"surge/result\",\n  oops\n}\n").unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"schema\": \"k6/summary\", \"metrics\": {}}").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        "{\"schema\": \"surge/result\", \"schema_version\": 99}",
    )
    .unwrap();
    let truncated = dir.path().join("truncated.json");
    let full = std::fs::read_to_string(fixture_dir().join("result.json")).unwrap();
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    for (file, want) in [
        (&missing, "cannot read".to_string()),
        (&not_json, format!("{}:3:", not_json.display())),
        (&other, "not \"surge/result\"".to_string()),
        (
            &newer,
            "schema_version 99 is newer than this surge reads".to_string(),
        ),
        (&truncated, format!("{}:", truncated.display())),
    ] {
        let (code, err) = surge_report(&[
            file.as_os_str(),
            "--out".as_ref(),
            dir.path().join("o").as_os_str(),
        ]);
        assert_eq!(code, 2, "{}: {err}", file.display());
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(&*file.display().to_string()),
            "names the file: {err}"
        );
        assert!(err.contains(&want), "{want:?} in {err}");
        assert!(
            !dir.path().join("o").exists(),
            "nothing written for bad input"
        );
    }
    let (code, _) = surge_report(&[]);
    assert_eq!(code, 2, "a missing argument is a usage error");
}

/// A version 1 result (whose `plan` held the whole checked plan) reads as version 2: its load,
/// auth and stop reason come through typed, and `surge check` finds no thresholds in it.
#[test]
fn a_version_1_result_reads_with_its_plan_summary() {
    use surge::record::meta::AuthKind;
    let text = std::fs::read_to_string(fixture_dir().join("result.json")).unwrap();
    assert!(text.contains("\"schema_version\": 1"), "the fixture is v1");
    let r = RunResult::read(&fixture_dir().join("result.json")).unwrap();
    assert_eq!(r.schema_version, surge::record::result::SCHEMA_VERSION);
    assert_eq!(r.stop_reason, surge::record::StopReason::Completed);
    assert_eq!(r.plan.auth.kind, AuthKind::None);
    assert_eq!(r.plan.groups.len(), 1);
    assert_eq!(
        r.plan.groups[0].describe(),
        "thread_group: delay = 0.0; duration = none; loops = 60; on_error = continue; ramp_up = 0.2; think_time = kind: constant, pause: 0.035; threads = 4"
    );
    assert!(r.plan.thresholds.is_empty());
}
