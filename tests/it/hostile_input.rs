//! Hostile values in scenario files and flags, as a user meets them at the command line: every
//! one is refused with exit 2 and one line naming the file, the line (or the `--set` flag) and
//! the field, never a panic; durations follow the one documented grammar.

use std::path::Path;
use std::process::{Command, Output};

const BASE: &str = r#"name = "probe"
[target]
base_url = "mock"
mock_preset = "unlimited"
[[request]]
name = "get"
path = "/api/v2/flows"
[load]
threads = 2
loops = 3
[auth]
kind = "client_credentials"
"#;

fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Runs `BASE` (edited by `edit`) with `--set`s; returns (exit code, stderr).
fn run_with(edit: impl Fn(&str) -> String, sets: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), edit(BASE)).unwrap();
    let mut args = vec!["run", "s.toml", "--simulate", "-q", "-o", "out"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = surge(dir.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{sets:?}: {err}");
    (o.status.code().unwrap_or(-1), err)
}

#[test]
fn durations_too_long_for_any_clock_are_refused_naming_the_field() {
    for (set, field) in [
        ("load.ramp_up=2e19", "load.ramp_up"),
        ("load.think_time=1e300", "load.think_time"),
        ("target.timeout=1e300", "target.timeout"),
        ("target.connect_timeout=2e19", "target.connect_timeout"),
        ("limits.max_duration=1e300", "limits.max_duration"),
        ("load.delay=\"721h\"", "load.delay"),
    ] {
        let (code, err) = run_with(str::to_string, &[set]);
        assert_eq!(code, 2, "{set}: {err}");
        assert!(
            err.contains(&format!("--set {set}:"))
                && set.starts_with(field)
                && err.contains("longer than the longest duration surge takes (720h, 30 days)"),
            "{set}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one problem, said once: {err}");
    }
    // on_429's durations, in the file.
    for (table, field) in [
        ("policy = \"retry_after\"\ncap = 1e300", "on_429.cap"),
        (
            "policy = \"retry_after\"\nfallback = 2e19",
            "on_429.fallback",
        ),
        ("policy = \"backoff\"\nbase = 1e300", "on_429.base"),
    ] {
        let (code, err) = run_with(|b| format!("{b}[on_429]\n{table}\n"), &[]);
        assert_eq!(code, 2, "{table}: {err}");
        assert!(
            err.starts_with("error: s.toml:1") && err.contains(&format!(": {field}: ")),
            "{table}: {err}"
        );
    }
}

#[test]
fn rates_near_zero_or_beyond_a_process_are_refused() {
    for rate in ["1e-20", "1e-19", "0", "-1", "2e6"] {
        let (code, err) = run_with(
            |b| format!("{b}[on_429]\npolicy = \"pace\"\nrate = {rate}\n"),
            &[],
        );
        assert_eq!(code, 2, "{rate}: {err}");
        assert!(
            err.contains("on_429.rate: must be between one request per 720h and 1000000/s"),
            "{rate}: {err}"
        );
    }
    let arrivals = |rate: &str| {
        let load = format!("[load]\nprofile = \"constant_arrival_rate\"\nrate = {rate}\nduration = \"2s\"\nmax_users = 5\n");
        run_with(
            move |b| b.replace("[load]\nthreads = 2\nloops = 3\n", &load),
            &[],
        )
    };
    let (code, err) = arrivals("5e8");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("load.rate: at most 1000000 iterations a second"),
        "{err}"
    );
}

#[test]
fn one_strict_duration_grammar_with_messages_that_show_it() {
    for bad in ["10 sec", "10min", "1d", "30m1h", "x"] {
        let (code, err) = run_with(str::to_string, &[&format!("limits.max_duration={bad}")]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains("write a number of seconds (30, 0.5) or \"250ms\", \"10s\", \"5m\", \"1h30m\" (units h, m, s, ms)"),
            "{bad}: {err}"
        );
    }
    for good in ["250ms", "10s", "5m", "1h30m", "1m 30s", "90", "0.5"] {
        let (code, err) = run_with(str::to_string, &[&format!("limits.max_duration={good}")]);
        assert_eq!(code, 0, "{good}: {err}");
    }
    // A value of the wrong type says what a duration is, never an internal type name.
    let (code, err) = run_with(|b| format!("{b}[limits]\nmax_duration = true\n"), &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: s.toml:14:16: limits.max_duration: invalid type: boolean `true`, expected a duration: a number of seconds"), "{err}");
    assert!(
        !err.contains("untagged") && !err.contains("RawDuration"),
        "{err}"
    );
    // Flags take the same grammar.
    let dir = tempfile::tempdir().unwrap();
    let o = surge(dir.path(), &["merge", "x", "--wait", "10min"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown unit \"min\""), "{err}");
}

#[test]
fn numbers_beyond_toml_range_name_their_field_and_line() {
    let (code, err) = run_with(
        |b| b.replace("threads = 2", "threads = 100000000000000000000"),
        &[],
    );
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "error: s.toml:9:11: load.threads: 100000000000000000000 is out of range (a whole number is at most 9223372036854775807)"
    );
    let (code, err) = run_with(
        |b| b.replace("threads = 2", "threads = 2\nramp_up = 18446744073709551616"),
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: s.toml:10: load.ramp_up: 1.8446744073709552e19 s is longer"),
        "{err}"
    );
}

#[test]
fn set_errors_name_the_flag_not_a_line_the_file_does_not_have() {
    let (code, err) = run_with(str::to_string, &["limits.max_duration=-1"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "error: s.toml: --set limits.max_duration=-1: must not be negative, got -1; write a number of seconds (30, 0.5) or \"250ms\", \"10s\", \"5m\", \"1h30m\" (units h, m, s, ms)"
    );
}

#[test]
fn header_values_with_line_breaks_are_refused_naming_the_field() {
    let (code, err) = run_with(
        |b| {
            b.replace(
                "path = \"/api/v2/flows\"",
                "path = \"/api/v2/flows\"\nheaders = { X-Note = \"a\\r\\nInjected: yes\" }",
            )
        },
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim(),
        "error: s.toml:8: request[0].headers.X-Note: has a line break (CR or LF) at byte 1; a header value must be one line of text"
    );
    // A value from a data file is checked too, naming the source and the row.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "note\nfine\n\"two\nlines\"\n").unwrap();
    let text = BASE.replace(
        "path = \"/api/v2/flows\"",
        "path = \"/api/v2/flows\"\nheaders = { X-Note = \"{note}\" }",
    ) + "[[data]]\nkind = \"csv\"\nfile = \"d.csv\"\n";
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "out"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("request[0].headers.x-note: takes a value from data[0], whose data row 2 has a line break (CR or LF) at byte 3"),
        "{err}"
    );
}
