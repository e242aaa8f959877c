//! Hardening, round two (issue 26): each numbered defect a user found by hand, as a test. The
//! modules follow the issue's groups; `docs/reliability.md` lists the guarantee each one holds.

mod disk;
mod pace;
mod results;
mod special_files;
mod stops;

use std::path::Path;
use std::process::{Command, Output};

/// A scenario on the in-process mock that sends 6 requests.
pub const BASE: &str = r#"name = "hardening"
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

/// Runs surge in `dir` with `args`, no backtraces.
pub fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// stderr as text, after checking that nothing panicked.
pub fn stderr(o: &Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !e.contains("panicked") && o.status.code() != Some(101),
        "a panic: {e}"
    );
    e
}
