//! `surge compare`'s table fits the terminal it is printed on: the built binary writes to a
//! pseudo-terminal of a set width (the real terminal wins over `COLUMNS`), and without a
//! terminal it reads `COLUMNS`, then uses 100.

#![cfg(unix)]

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::path::Path;
use std::process::{Command, Stdio};

/// A pseudo-terminal `cols` wide: (the master to read from, the path of its slave).
fn pty(cols: u16) -> (File, String) {
    // SAFETY: plain libc calls on a descriptor this function owns; each result is checked.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let ws = libc::winsize {
            ws_row: 50,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(master, libc::TIOCSWINSZ, &ws), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .to_string();
        (File::from_raw_fd(master), path)
    }
}

/// `surge compare` of `results` printed on a terminal `cols` wide, with `COLUMNS` as given.
fn compare_on_terminal(dir: &Path, results: &[String], cols: u16, columns: &str) -> String {
    let (mut master, slave) = pty(cols);
    let out = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .arg("compare")
        .args(results)
        .args(["-o", &format!("c{cols}")])
        .env("COLUMNS", columns)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The child holds the only slave descriptor now: the master reads until it closes (EIO).
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    assert!(child.wait().unwrap().success());
    String::from_utf8_lossy(&bytes).replace('\r', "")
}

fn widest(t: &str) -> usize {
    t.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn blocks(t: &str) -> usize {
    t.lines().filter(|l| l.starts_with("attempts ")).count()
}

#[test]
fn compare_fits_the_terminal_then_columns_then_100() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/architect-publish-burst.toml"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(d)
        .args([
            "sweep",
            seed,
            "--simulate",
            "-q",
            "--vary",
            "seed=1..6",
            "-o",
            "sw",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let mut results: Vec<String> = std::fs::read_dir(d.join("sw"))
        .unwrap()
        .map(|e| e.unwrap().path().join("result.json"))
        .filter(|p| p.exists())
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    results.sort();
    assert_eq!(results.len(), 6);

    // A wide terminal holds every run in one block, whatever COLUMNS says.
    let wide = compare_on_terminal(d, &results, 200, "60");
    assert_eq!(blocks(&wide), 1, "{wide}");
    assert!(widest(&wide) > 100 && widest(&wide) <= 200, "{wide}");
    // A narrow one splits them into blocks that fit it.
    let narrow = compare_on_terminal(d, &results, 64, "200");
    assert!(blocks(&narrow) >= 2, "{narrow}");
    assert!(widest(&narrow) <= 64, "{narrow}");

    // No terminal: COLUMNS, then 100.
    let piped = |columns: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_surge"));
        c.current_dir(d)
            .arg("compare")
            .args(&results)
            .arg("-o")
            .arg(format!("p{columns:?}").replace(['"', '(', ')'], ""));
        c.env_remove("COLUMNS");
        if let Some(v) = columns {
            c.env("COLUMNS", v);
        }
        // No terminal on any stream.
        let o = c
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let t = piped(Some("64"));
    assert!(widest(&t) <= 64 && blocks(&t) >= 2, "{t}");
    let t = piped(None);
    assert!(widest(&t) <= 100 && widest(&t) > 64, "{t}");
}
