//! The mistakes a newcomer makes, through the built binary: a file of the wrong kind is named for
//! what it is and what reads it (one line, exit 2, nothing sent); a run's folder stands for its
//! result; a JTL is judged by `surge check`; a result from a newer surge says so; a wrong type in
//! a scenario never names an internal type; CI files may go into a folder not yet made; every
//! `--help` reads.

use std::path::Path;
use std::process::{Command, Output};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/architect-retry-after.toml"
);
const JMX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/jmx/seed_publish.jmx"
);

fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `args`, expects exit 2 and one line on stderr that contains `want`; returns it.
fn refused(dir: &Path, args: &[&str], want: &str) -> String {
    let o = surge(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "surge {args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "surge {args:?}: {err}");
    assert!(
        lines[0].contains(want),
        "surge {args:?}:\n{err}\nwants: {want}"
    );
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

/// A folder with a run of the seed (which recommends a pace), its JTL, and an empty folder.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = surge(
        dir.path(),
        &[
            "run",
            SEED,
            "--simulate",
            "-q",
            "-o",
            "run",
            "--jtl",
            "run.jtl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    dir
}

#[test]
fn a_file_of_the_wrong_kind_is_named_for_what_it_is() {
    let dir = setup();
    let d = dir.path();
    // Where a scenario goes.
    refused(
        d,
        &["run", "run/result.json", "--simulate"],
        "error: run/result.json: not a scenario (TOML): it is a run's result (result.json): `surge report`, `surge check` and `surge compare` read it",
    );
    refused(
        d,
        &["run", "run.jtl", "--simulate"],
        "run.jtl: not a scenario (TOML): it is JMeter results (a JTL)",
    );
    refused(
        d,
        &["run", "empty", "--simulate"],
        "empty: not a scenario (TOML): it is a folder",
    );
    refused(
        d,
        &["sweep", JMX, "--vary", "seed=1,2", "--simulate"],
        "not a scenario (TOML): it is a JMeter test plan (.jmx): `surge run` runs it as it is, `surge import` converts it to a scenario",
    );
    // Where a result goes.
    refused(
        d,
        &["check", SEED, "--threshold", "p95 < 1s"],
        "architect-retry-after.toml: not a surge result: it is a scenario (TOML): `surge run` runs it",
    );
    refused(
        d,
        &["report", "empty"],
        "error: empty: not a surge result: it is a folder with no result.json in it",
    );
    refused(
        d,
        &["merge", "run.jtl"],
        "run.jtl: not a surge result: it is JMeter results (a JTL)",
    );
    refused(
        d,
        &["compare", "run/result.json", JMX],
        "not a surge result: it is a JMeter test plan (.jmx)",
    );
    // Where a JMeter plan goes.
    refused(
        d,
        &["import", "run/result.json"],
        "error: run/result.json: not a JMeter test plan (.jmx): it is a run's result (result.json)",
    );
    // Where a pace goes.
    refused(
        d,
        &["run", SEED, "--simulate", "--pace-from", "run.jtl"],
        "error: --pace-from run.jtl: neither a result.json nor a limit.json: it is JMeter results (a JTL)",
    );
    refused(
        d,
        &["run", SEED, "--simulate", "--pace-from", "empty"],
        "--pace-from empty: a folder with neither a limit.json (`surge probe`) nor a result.json (`surge run`) in it",
    );
}

#[test]
fn a_run_s_folder_stands_for_its_result_and_a_jtl_can_be_checked() {
    let dir = setup();
    let d = dir.path();
    // surge report on the folder rebuilds into the folder.
    std::fs::remove_file(d.join("run/summary.csv")).unwrap();
    let o = surge(d, &["report", "run"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(d.join("run/summary.csv").exists());
    // check, compare and --pace-from take it too.
    let o = surge(d, &["check", "run", "--baseline", "run"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = surge(d, &["compare", "run", "run/result.json", "-o", "cmp"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = surge(
        d,
        &[
            "run",
            SEED,
            "--simulate",
            "-q",
            "--pace-from",
            "run",
            "-o",
            "paced",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("pace: ≤ 5 req/s after a burst of ≤ 241 (from run;"));
    // A JTL is judged like a result: its thresholds, against a baseline.
    let o = surge(
        d,
        &["check", "run.jtl", "--threshold", "p95(publish) < 1ms"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(out.contains("FAIL  p95(publish) < 1ms"), "{out}");
    let o = surge(d, &["check", "run.jtl", "--baseline", "run.jtl"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn a_result_from_a_newer_surge_says_so_and_types_are_said_in_words() {
    let dir = setup();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("run/result.json")).unwrap();
    std::fs::write(
        d.join("new.json"),
        text.replacen("\"schema_version\": 2", "\"schema_version\": 9", 1),
    )
    .unwrap();
    refused(
        d,
        &["report", "new.json"],
        "error: new.json: schema_version 9 is newer than this surge reads (1 to 2): it was written by a later surge; read it with that version, or upgrade",
    );
    refused(
        d,
        &["run", SEED, "--simulate", "--set", "load.threads=many"],
        "--set load.threads=many: invalid type: string \"many\", expected a whole number",
    );
}

#[test]
fn flags_are_checked_before_anything_is_said_or_sent() {
    let d = std::env::temp_dir();
    refused(
        &d,
        &["run", SEED, "--target", "localhost:8080", "--yes"],
        "error: --target: \"localhost:8080\" is not a URL (no scheme: write http://localhost:8080 or https://localhost:8080)",
    );
    refused(
        &d,
        &["probe", SEED, "--simulate", "--max-requests", "0"],
        "error: --max-requests: must be more than 0",
    );
    // A bad threshold stops the run before it says which mock would answer.
    let o = surge(
        &d,
        &[
            "run",
            SEED,
            "--simulate",
            "--threshold",
            "p95(publish) < 1s for 10",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "", "{o:?}");
}

#[test]
fn ci_files_may_go_into_a_folder_not_yet_made() {
    let dir = setup();
    let d = dir.path();
    let o = surge(
        d,
        &[
            "check",
            "run",
            "--threshold",
            "rate(429) < 90%",
            "--junit",
            "ci/out/junit.xml",
            "--summary-md",
            "ci/out/summary.md",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(d.join("ci/out/junit.xml").is_file() && d.join("ci/out/summary.md").is_file());
}

#[test]
fn every_help_reads() {
    let d = std::env::temp_dir();
    let top = surge(&d, &["--help"]);
    let text = String::from_utf8_lossy(&top.stdout);
    assert_eq!(top.status.code(), Some(0));
    assert!(
        text.contains("Start here:") && text.contains("Exit codes: 0 passed"),
        "{text}"
    );
    for c in [
        "run", "mock", "check", "import", "report", "compare", "sweep", "merge", "k8s", "probe",
    ] {
        let o = surge(&d, &[c, "--help"]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{c}");
        assert!(text.contains(&format!("Usage: surge {c}")), "{c}: {text}");
        // No internal type names in what a user reads.
        for internal in ["MockConfig", "RunResult", "Option<", "Vec<"] {
            assert!(
                !text.contains(internal),
                "{c} --help names {internal}:\n{text}"
            );
        }
    }
}
