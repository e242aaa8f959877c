//! Which mock preset answers: one default (`seed`) for `surge mock` and `base_url = "mock"`, the
//! preset checked when the scenario is read, named by the mock on every answer, and said and
//! recorded by `surge run` when `--target URL` sends a mock scenario to a `surge mock`.

use crate::common;

use std::process::Command;

use clap::Parser as _;
use surge::cli::{Cli, Command as Sub};
use surge::mock::{MockConfig, MockServer, Preset, PRESET_HEADER};
use surge::record::result::TargetKind;
use surge::record::RunResult;
use surge::scenario::Endpoint;

fn surge(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const MOCK_SCENARIO: &str = r#"name = "mocked"
[target]
base_url = "mock"
mock_preset = "PRESET"
[[request]]
name = "list"
path = "/api/v2/flows?pageSize=1"
expect_status = [200, 401]
[load]
threads = 1
loops = 2
"#;

#[test]
fn surge_mock_and_a_mock_scenario_default_to_the_same_preset() {
    let Sub::Mock(m) = Cli::try_parse_from(["surge", "mock"]).unwrap().command else {
        panic!("parsed as mock")
    };
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(
        dir.path(),
        &MOCK_SCENARIO.replace("mock_preset = \"PRESET\"\n", ""),
    );
    let plan = surge::scenario::load(&sc, &[]).unwrap();
    assert_eq!(plan.target.endpoint, Endpoint::Mock { preset: m.preset });
    assert_eq!(m.preset, Preset::Seed, "the README's main job is the seed");
    assert_eq!(MockConfig::default().preset, Preset::Seed);
}

#[test]
fn an_unknown_preset_is_an_error_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(dir.path(), &MOCK_SCENARIO.replace("PRESET", "sead"));
    let (code, _, err) = surge(&["run".as_ref(), sc.as_os_str(), "--quiet".as_ref()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}:4: target.mock_preset: \"sead\" is not a mock preset; one of: documented, seed, unlimited, bucket",
            sc.display()
        )
    );
}

/// A seed scenario sent by `--target` to a `surge mock` serving another preset: surge warns
/// before the run, and the result records the preset that answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_scenario_sent_to_another_preset_warns_and_records_it() {
    let server = MockServer::start(
        MockConfig::preset(Preset::Documented),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = server.url();
    // The mock names its preset on every answer, and in its stats.
    let resp = reqwest_get(&format!("{url}/api/v2/flows")).await;
    assert_eq!(resp, Some("documented".to_string()));
    assert_eq!(server.stats().preset, Preset::Documented);

    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(dir.path(), &MOCK_SCENARIO.replace("PRESET", "seed"));
    let out = dir.path().join("out");
    let (code, stdout, err) = run_at(&sc, &url, &out, ["--out", "--quiet"]).await;
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(
        err.contains(&format!(
            "warning: the scenario is written for mock preset seed, but the surge mock at {url} answers with preset documented"
        )),
        "{err}"
    );
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(r.target.kind, TargetKind::Url);
    assert_eq!(r.target.mock_preset, Some(Preset::Documented));
    server.shutdown().await;

    // The same preset: said on stdout, no warning.
    let server = MockServer::start(
        MockConfig::preset(Preset::Seed),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = server.url();
    let out = dir.path().join("out2");
    let (code, stdout, err) = run_at(&sc, &url, &out, ["-o", "-q"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert!(
        stdout.contains(&format!("target: surge mock at {url}, preset seed")),
        "{stdout}"
    );
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(r.target.mock_preset, Some(Preset::Seed));
    server.shutdown().await;
}

/// The built-in mock started by the run: said before the run, and recorded.
#[test]
fn the_built_in_mock_says_and_records_its_preset() {
    let dir = tempfile::tempdir().unwrap();
    let sc = common::scenario(dir.path(), &MOCK_SCENARIO.replace("PRESET", "unlimited"));
    let out = dir.path().join("out");
    let (code, stdout, err) = surge(&[
        "run".as_ref(),
        sc.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.starts_with("target: built-in mock, preset unlimited\n"),
        "{stdout}"
    );
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(
        (r.target.kind, r.target.mock_preset),
        (TargetKind::Mock, Some(Preset::Unlimited))
    );
}

/// `surge run SCENARIO --target URL <out flag> OUT <quiet flag>` in a child process.
async fn run_at(
    sc: &std::path::Path,
    url: &str,
    out: &std::path::Path,
    [out_flag, quiet_flag]: [&'static str; 2],
) -> (i32, String, String) {
    let (sc, url, out) = (sc.to_path_buf(), url.to_string(), out.to_path_buf());
    tokio::task::spawn_blocking(move || {
        surge(&[
            "run".as_ref(),
            sc.as_os_str(),
            "--target".as_ref(),
            url.as_ref(),
            out_flag.as_ref(),
            out.as_os_str(),
            quiet_flag.as_ref(),
        ])
    })
    .await
    .unwrap()
}

async fn reqwest_get(url: &str) -> Option<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::get(url).await.unwrap();
    r.headers()
        .get(PRESET_HEADER.as_str())
        .map(|v| v.to_str().unwrap().to_string())
}
