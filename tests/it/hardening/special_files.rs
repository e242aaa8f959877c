//! Case 5 (and the sweep of the "done when"). Every file surge reads is bounded: the
//! scenario, a CSV, a test plan, a JTL, a result, a limit file, a token file, a CA certificate
//! and the mock's config, each given as `/dev/zero` and as a 1 GB sparse file, ends with exit 2
//! and one line naming the file, using less than 200 MB of memory (measured by the kernel: the
//! child's peak RSS from wait4).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs surge in `dir`; (exit code, stderr, peak RSS in KiB). Killed (and failed) after 60 s.
/// The child is reaped by `wait4` (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measured(dir: &Path, args: &[&str]) -> (Option<i32>, String, i64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, rss) = loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid; wait4 on our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break (status, usage.ru_maxrss);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().unwrap(), rss)
}

#[test]
fn every_input_file_as_dev_zero_or_a_sparse_gigabyte_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = d.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let scenario = |name: &str, extra: &str| {
        let s = format!("name = \"z\"\n[target]\nbase_url = \"https://127.0.0.1:9\"\n{extra}[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 1\nloops = 1\n");
        std::fs::write(d.join(name), s).unwrap();
    };
    for (tag, src) in [("zero", Path::new("/dev/zero")), ("big", big.as_path())] {
        let src = src.display().to_string();
        for ext in ["toml", "jmx", "jtl", "json", "limit.json"] {
            let link = d.join(format!("{tag}.{ext}"));
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&src, &link).unwrap();
        }
        scenario(
            &format!("token-{tag}.toml"),
            &format!("[auth]\nkind = \"bearer\"\ntoken_file = \"{src}\"\n"),
        );
        scenario(&format!("ca-{tag}.toml"), "");
        let ca = std::fs::read_to_string(d.join(format!("ca-{tag}.toml")))
            .unwrap()
            .replace("[[request]]", &format!("ca_cert = \"{src}\"\n[[request]]"));
        std::fs::write(d.join(format!("ca-{tag}.toml")), ca).unwrap();
        scenario(
            &format!("csv-{tag}.toml"),
            &format!("[[data]]\nkind = \"csv\"\nfile = \"{src}\"\n"),
        );
        scenario(&format!("ok-{tag}.toml"), "");
        let sets: Vec<Vec<String>> = vec![
            vec!["run".into(), format!("{tag}.toml")],
            vec!["run".into(), format!("{tag}.jmx")],
            vec!["run".into(), format!("csv-{tag}.toml")],
            vec!["run".into(), format!("token-{tag}.toml")],
            vec!["run".into(), format!("ca-{tag}.toml")],
            vec![
                "run".into(),
                format!("ok-{tag}.toml"),
                "--pace-from".into(),
                format!("{tag}.limit.json"),
            ],
            vec![
                "report".into(),
                format!("{tag}.json"),
                "-o".into(),
                "rep".into(),
            ],
            vec![
                "report".into(),
                format!("{tag}.jtl"),
                "-o".into(),
                "rep".into(),
            ],
            vec!["check".into(), format!("{tag}.json")],
            vec![
                "mock".into(),
                "--config".into(),
                src.clone(),
                "--port".into(),
                "0".into(),
            ],
        ];
        for args in sets {
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            if a[0] == "run" {
                a.extend(["-q", "--yes", "-o", "out"]);
            }
            let (code, err, rss_kib) = measured(d, &a);
            assert!(!err.contains("panicked"), "{a:?}: {err}");
            assert_eq!(code, Some(2), "{a:?}: {err}");
            assert!(err.starts_with("error: "), "{a:?}: {err}");
            assert!(rss_kib < 200 * 1024, "{a:?}: peak RSS {rss_kib} KiB: {err}");
        }
    }
}
