//! The command line (clap derive). `main.rs` calls [`main_with`] and exits with its code, so
//! tests drive the whole tool in-process.

pub mod progress;
pub mod report;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::run::{self, RunError, RunOptions};

/// Exit codes, documented in the README.
pub mod exit {
    /// Passed.
    pub const OK: i32 = 0;
    /// A threshold or regression check failed, or outputs could not be written.
    pub const FAILED: i32 = 1;
    /// Usage or configuration error.
    pub const USAGE: i32 = 2;
    /// The run was aborted (Ctrl-C).
    pub const ABORTED: i32 = 3;
}

/// surge: load tests for REST APIs that throttle with HTTP 429.
#[derive(Debug, Parser)]
#[command(name = "surge", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write result.json, CSV files and a summary.
    Run(RunArgs),
    /// Rebuild report.html and the CSV files from a saved result.json, offline.
    Report(report::ReportArgs),
}

/// `surge run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Send requests here instead of the scenario's target (a URL, or `mock`).
    #[arg(long)]
    pub target: Option<String>,
    /// Output directory (default reports/<name>-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Override a scenario field, e.g. --set load.threads=20 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also stream every request as a CSV row to this file.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not ask before sending load to a host outside loopback.
    #[arg(long, short)]
    pub yes: bool,
    /// Seed for random think times.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Parses `args` (program name first), runs, prints, and returns the exit code.
pub async fn main_with<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping: waiting briefly for requests in flight, then writing the result (Ctrl-C)");
                cancel.cancel();
            }
        });
    }
    match cli.command {
        Command::Run(a) => run_cmd(a, cancel).await,
        Command::Report(a) => report::cmd(a).await,
    }
}

/// `surge run` with a given cancellation token (tests cancel it to simulate Ctrl-C).
pub async fn run_cmd(a: RunArgs, cancel: CancellationToken) -> i32 {
    let mut plan = match crate::scenario::load(&a.scenario, &a.set) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = run::apply_target(&mut plan, a.target.as_deref()) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    if let crate::scenario::Endpoint::Url { base_url, .. } = &plan.target.endpoint {
        if !run::is_loopback(base_url) && !a.yes {
            eprintln!("This sends load to a host outside this machine:\n{}", run::plan_summary(&plan));
            let stdin = std::io::stdin();
            if !stdin.is_terminal() {
                eprintln!("error: --yes: not given, and there is no terminal to confirm on; add --yes to proceed");
                return exit::USAGE;
            }
            eprint!("Proceed? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let _ = stdin.read_line(&mut line);
            if !matches!(line.trim(), "y" | "Y" | "yes") {
                eprintln!("not run");
                return exit::USAGE;
            }
        }
    }
    let opts = RunOptions {
        target: None,
        out: a.out,
        samples: a.samples,
        progress: !a.quiet && std::io::stdout().is_terminal(),
        cancel: cancel.clone(),
        seed: a.seed,
        grace: None,
    };
    match run::run_plan(plan, opts).await {
        Ok(rep) => {
            if !a.quiet {
                print!("{}", crate::report::terminal::summary(&rep.result));
            }
            println!("result: {}", rep.out_dir.join("result.json").display());
            println!("report: {}", rep.out_dir.join("report.html").display());
            if rep.result.stop_reason == "cancelled" {
                exit::ABORTED
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                RunError::Io(_) => exit::FAILED,
                _ => exit::USAGE,
            }
        }
    }
}
