//! Cases 1 and 2: a full disk or a read-only folder throws nothing away: a `--samples` or `--jtl`
//! file that cannot be written stops being written and is said; `result.json`, `report.html`,
//! `thresholds.json` and `--junit` are each written whole (temporary file, then rename) or not
//! at all; the summary and the verdicts are always printed; a folder that cannot be written to
//! is refused before anything is sent.
//!
//! A full disk is simulated without root: `/dev/full` for a samples file, and a file size
//! limit (RLIMIT_FSIZE, with SIGXFSZ ignored so a write fails with EFBIG) for the rest.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use super::{stderr, surge, BASE};

/// 300 requests on the in-process mock.
fn scenario(dir: &Path) {
    let s = BASE.replace("threads = 2\nloops = 3", "threads = 3\nloops = 100");
    std::fs::write(dir.join("s.toml"), s).unwrap();
}

fn requests_in(result: &Path) -> u64 {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    v["totals"]["requests"].as_u64().unwrap()
}

#[test]
fn a_samples_or_jtl_file_on_a_full_disk_stops_and_everything_else_is_written() {
    for flag in ["--samples", "--jtl"] {
        let dir = tempfile::tempdir().unwrap();
        scenario(dir.path());
        let o = surge(
            dir.path(),
            &[
                "run",
                "s.toml",
                "--simulate",
                "-o",
                "out",
                flag,
                "/dev/full",
                "--threshold",
                "p95 < 10s",
                "--junit",
                "j.xml",
            ],
        );
        let err = stderr(&o);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{flag}: {err}");
        assert!(
            err.contains(&format!("error: {flag} /dev/full: No space left on device"))
                && err.contains("stopped writing it")
                && err.contains("the result and the reports hold them all"),
            "{flag}: {err}"
        );
        assert!(!err.contains("raw samples"), "{err}");
        assert_eq!(requests_in(&dir.path().join("out/result.json")), 300);
        for f in ["report.html", "thresholds.json", "summary.csv"] {
            assert!(dir.path().join("out").join(f).is_file(), "{flag}: {f}");
        }
        assert!(dir.path().join("j.xml").is_file());
        assert!(
            out.contains("requests 300") && out.contains("pass  p95 < 10s"),
            "{out}"
        );
    }
}

/// surge with every file it writes limited to `bytes` (a disk that fills up).
fn surge_with_file_limit(dir: &Path, bytes: u64, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_surge"));
    c.current_dir(dir).args(args).env_remove("RUST_BACKTRACE");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c.output().unwrap()
}

#[test]
fn a_result_or_report_that_does_not_fit_is_not_left_truncated_and_the_verdicts_still_come() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let args = [
        "run",
        "s.toml",
        "--simulate",
        "-o",
        "out",
        "--threshold",
        "p95 < 10s",
        "--junit",
        "j.xml",
    ];
    // result.json (~4 KB) and report.html (~30 KB) do not fit in 2 KB; the rest does.
    let o = surge_with_file_limit(dir.path(), 2048, &args);
    let err = stderr(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("result.json: File too large"), "{err}");
    assert!(err.contains("report.html: File too large"), "{err}");
    assert!(
        out.contains("requests 300"),
        "the summary is printed: {out}"
    );
    assert!(
        out.contains("pass  p95 < 10s"),
        "the verdicts are printed: {out}"
    );
    assert!(!out.contains("result: "), "no result is claimed: {out}");
    let o_dir = dir.path().join("out");
    assert!(
        !o_dir.join("result.json").exists(),
        "no truncated result.json"
    );
    assert!(
        !o_dir.join("report.html").exists(),
        "no truncated report.html"
    );
    assert!(o_dir.join("thresholds.json").is_file());
    assert!(dir.path().join("j.xml").is_file());
    let names: Vec<String> = std::fs::read_dir(&o_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
    // Room again: a re-run into the same folder is accepted and writes a whole result.
    let o = surge(dir.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(requests_in(&o_dir.join("result.json")), 300);
}

/// A folder this process cannot create files in: mode 555, or (as root, who ignores modes) a
/// folder of /proc.
fn read_only_dir(base: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = base.join("ro");
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(d.join("probe"), "x").is_ok() {
        return "/proc/1".into();
    }
    d
}

#[tokio::test]
async fn a_read_only_out_folder_or_junit_folder_is_refused_before_anything_is_sent() {
    let server = crate::common::serve(|_| crate::common::Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let s = format!(
        "name = \"ro\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"get\"\npath = \"/x\"\n[load]\nthreads = 2\nloops = 3\n",
        server.url()
    );
    std::fs::write(dir.path().join("s.toml"), s).unwrap();
    let ro = read_only_dir(dir.path());
    let ro_s = ro.display().to_string();
    let junit = format!("{ro_s}/j.xml");
    for args in [
        vec!["run", "s.toml", "-q", "-o", ro_s.as_str()],
        vec![
            "run",
            "s.toml",
            "-q",
            "-o",
            "out",
            "--junit",
            junit.as_str(),
        ],
    ] {
        let d = dir.path().to_path_buf();
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let o = tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            surge(&d, &a)
        })
        .await
        .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("cannot") && err.contains("nothing was sent"),
            "{args:?}: {err}"
        );
        assert!(err.contains(&ro_s), "names the folder: {err}");
    }
    assert_eq!(server.total(), 0, "nothing was sent");
}
