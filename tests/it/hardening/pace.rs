//! Case 3: a pace file is checked as a scenario's `on_429.rate` is: exit 2 naming the file and the
//! field, never a panic.

use super::{stderr, surge, BASE};

fn limit(advice: &str) -> String {
    format!(r#"{{"schema": "surge/limit", "advice": {{{advice}}}}}"#)
}

#[test]
fn pace_files_out_of_range_are_refused_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), BASE).unwrap();
    let ok = r#""recommended_rate_per_s": 5, "burst": 1"#;
    let cases = [
        (r#""recommended_rate_per_s": 0, "burst": 1"#, "advice.recommended_rate_per_s: must be between one request per 720h and 1000000/s, got 0/s"),
        (r#""recommended_rate_per_s": -5, "burst": 1"#, "advice.recommended_rate_per_s: must be between"),
        (r#""recommended_rate_per_s": 1e-300, "burst": 1"#, "advice.recommended_rate_per_s: must be between"),
        (r#""recommended_rate_per_s": 1e300, "burst": 1"#, "advice.recommended_rate_per_s: must be between"),
        (r#""recommended_rate_per_s": 5, "burst": 0"#, "advice.burst: must be between 1 and 1000000, got 0"),
        (r#""recommended_rate_per_s": 5, "burst": 5, "window_s": -1"#, "advice.window_s: "),
        (r#""recommended_rate_per_s": 5, "burst": 5, "window_s": 0"#, "advice.window_s: must be longer than 0s"),
        (r#""recommended_rate_per_s": 5, "burst": 5, "window_s": 1e300"#, "advice.window_s: "),
    ];
    for (advice, want) in cases {
        std::fs::write(dir.path().join("limit.json"), limit(advice)).unwrap();
        for simulate in [true, false] {
            let mut args = vec![
                "run",
                "s.toml",
                "--pace-from",
                "limit.json",
                "-q",
                "-o",
                "out",
            ];
            if simulate {
                args.push("--simulate");
            }
            let o = surge(dir.path(), &args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{advice}: {err}");
            assert!(
                err.contains("error: --pace-from limit.json: ") && err.contains(want),
                "{advice}: {err}"
            );
            assert!(!dir.path().join("out").exists(), "nothing ran: {advice}");
        }
        // The same file named by the scenario.
        let s = format!("{BASE}[on_429]\npolicy = \"pace\"\nrate = \"from:limit.json\"\n");
        std::fs::write(dir.path().join("p.toml"), s).unwrap();
        let o = surge(
            dir.path(),
            &["run", "p.toml", "--simulate", "-q", "-o", "out"],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{advice}: {err}");
        assert!(
            err.contains("on_429.rate: ") && err.contains("limit.json: ") && err.contains(want),
            "{advice}: {err}"
        );
    }
    // A result.json's advice names its place in the file.
    std::fs::write(
        dir.path().join("r.json"),
        r#"{"schema": "surge/result", "diagnosis": {"advice": {"recommended_rate_per_s": 0, "burst": 1}}}"#,
    )
    .unwrap();
    let o = surge(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--simulate",
            "--pace-from",
            "r.json",
            "-q",
            "-o",
            "out",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("r.json: diagnosis.advice.recommended_rate_per_s: must be between"),
        "{err}"
    );
    // A sound file still paces the run.
    std::fs::write(dir.path().join("limit.json"), limit(ok)).unwrap();
    let o = surge(
        dir.path(),
        &[
            "run",
            "s.toml",
            "--simulate",
            "--pace-from",
            "limit.json",
            "-o",
            "out",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("pace: "),
        "{err}"
    );
}
