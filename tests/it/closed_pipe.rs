//! `surge … | head`: a reader that closes the pipe at once loses nothing. Each command runs
//! twice through the built binary, once with its output read to the end and once with stdout
//! (and then stderr too) a pipe whose reading end is already closed; the second must exit with
//! the first's code, write the same files, and never panic.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/architect-publish-burst.toml"
);
const JMX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/jmx/seed_publish.jmx"
);

/// How the child's stdout and stderr are given.
#[derive(Clone, Copy, Debug)]
enum Pipes {
    /// Both read to the end.
    Read,
    /// stdout closed before the child writes; stderr read.
    StdoutClosed,
    /// Both closed before the child writes.
    BothClosed,
}

struct Ran {
    code: Option<i32>,
    stderr: String,
}

fn surge(dir: &Path, args: &[&str], pipes: Pipes) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "0")
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let mut stderr = String::new();
    match pipes {
        Pipes::Read => {
            let reader = std::thread::spawn(move || {
                let mut o = String::new();
                let mut out = out;
                let _ = out.read_to_string(&mut o);
            });
            let mut err = err;
            let _ = err.read_to_string(&mut stderr);
            reader.join().unwrap();
        }
        Pipes::StdoutClosed => {
            drop(out);
            let mut err = err;
            let _ = err.read_to_string(&mut stderr);
        }
        Pipes::BothClosed => {
            drop(out);
            drop(err);
        }
    }
    // Every command here is bounded (simulated runs, files on disk); a hang is a failure.
    let deadline = Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("surge {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran { code, stderr }
}

/// The files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Runs `args` (with `{out}` replaced by a fresh output name) three ways in three folders
/// prepared by `setup`, and holds the closed-pipe runs to the read run.
fn same_either_way(setup: &dyn Fn(&Path), args: &[&str]) {
    let mut seen = Vec::new();
    for pipes in [Pipes::Read, Pipes::StdoutClosed, Pipes::BothClosed] {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let before = files(dir.path());
        let ran = surge(dir.path(), args, pipes);
        assert!(
            !ran.stderr.contains("panicked") && ran.code != Some(101),
            "surge {args:?} with {pipes:?}: exit {:?}\n{}",
            ran.code,
            ran.stderr
        );
        let written: Vec<PathBuf> = files(dir.path())
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        seen.push((pipes, ran.code, written));
    }
    let (_, code, written) = &seen[0];
    for (pipes, c, w) in &seen[1..] {
        assert_eq!(c, code, "surge {args:?}: exit code with {pipes:?}");
        assert_eq!(w, written, "surge {args:?}: files written with {pipes:?}");
    }
}

fn seed_result(dir: &Path, name: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(["run", SEED, "--simulate", "-q", "-o", name])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn run_keeps_its_result_reports_verdicts_and_exit_code() {
    let none = |_: &Path| {};
    // A throttled run with a threshold that passes, one that fails, and CI outputs.
    same_either_way(
        &none,
        &[
            "run",
            SEED,
            "--simulate",
            "-o",
            "r",
            "--threshold",
            "rate(429) < 90%",
            "--junit",
            "junit.xml",
            "--summary-md",
            "summary.md",
            "--samples",
            "samples.csv",
        ],
    );
    same_either_way(
        &none,
        &[
            "run",
            SEED,
            "--simulate",
            "-o",
            "r",
            "--threshold",
            "rate(429) < 1%",
        ],
    );
    // Not one expected answer: exit 1 with stdout gone as with it read.
    let all_404 = |d: &Path| {
        std::fs::write(
            d.join("s.toml"),
            "name = \"gone\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"unlimited\"\n\
             [[request]]\nname = \"r\"\npath = \"/api/v2/nothing-here\"\n[load]\nthreads = 2\nloops = 3\n",
        )
        .unwrap();
    };
    same_either_way(&all_404, &["run", "s.toml", "--simulate", "-o", "r"]);
}

#[test]
fn report_check_compare_and_sweep_finish_on_a_closed_pipe() {
    let one = |d: &Path| seed_result(d, "a");
    let two = |d: &Path| {
        seed_result(d, "a");
        seed_result(d, "b");
    };
    same_either_way(&one, &["report", "a/result.json", "-o", "rebuilt"]);
    same_either_way(
        &one,
        &[
            "check",
            "a/result.json",
            "--threshold",
            "rate(429) < 1%",
            "--junit",
            "j.xml",
            "--summary-md",
            "s.md",
        ],
    );
    same_either_way(
        &two,
        &["check", "b/result.json", "--baseline", "a/result.json"],
    );
    same_either_way(
        &two,
        &["compare", "a/result.json", "b/result.json", "-o", "c"],
    );
    same_either_way(
        &|_: &Path| {},
        &[
            "sweep",
            SEED,
            "--simulate",
            "--vary",
            "seed=1,2",
            "-o",
            "sw",
        ],
    );
}

#[test]
fn import_help_and_errors_finish_on_a_closed_pipe() {
    let none = |_: &Path| {};
    same_either_way(&none, &["import", JMX]);
    same_either_way(&none, &["import", JMX, "-o", "s.toml"]);
    same_either_way(&none, &["--help"]);
    same_either_way(&none, &["run", "--help"]);
    same_either_way(&none, &["--version"]);
    // Errors go to stderr; a closed stderr does not change the exit code.
    same_either_way(&none, &["run", "missing.toml"]);
    same_either_way(&none, &["check", "--no-such-flag"]);
}

#[test]
fn import_to_a_full_disk_is_an_error_but_a_closed_pipe_is_not() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        eprintln!("no /dev/full here; skipped");
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["import", JMX])
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: writing the scenario to stdout: No space left on device"),
        "{err}"
    );
}
