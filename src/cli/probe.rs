//! `surge probe SCENARIO [--max-requests N] [--out DIR] [--scope tokens]`: finds the limit the
//! target puts on the scenario's requests, with as few requests as it can, and writes
//! `limit.json` (for `surge run --pace-from`) and `probe.html`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio_util::sync::CancellationToken;

use super::{exit, LoadArgs, TargetArgs};
use crate::run::probe::search::SearchConfig;
use crate::run::probe::{probe, ProbeOptions};
use crate::run::{self, RunError};

/// What `--scope` varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Search again with the requests spread over two tokens: a per-token limit doubles.
    Tokens,
}

/// `surge probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The scenario file (TOML): its first group's requests are what is probed.
    pub scenario: PathBuf,
    /// `--target`.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output directory (default reports/probe-<name>-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// `--set`, `--yes`, `--seed`, `--simulate`.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Requests every search together may send (each may cost quota).
    #[arg(long, default_value_t = 1500)]
    pub max_requests: u64,
    /// Time every search together may take.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = surge_record::duration::parse_flag)]
    pub max_duration: Duration,
    /// Also tell a per-token limit from a shared one: search again over two tokens.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
    /// Requests per second to start the search at (it grows ×1.5 per second until a 429).
    #[arg(long, default_value_t = 2.0)]
    pub start_rate: f64,
    /// The most requests per second the search sends.
    #[arg(long, default_value_t = 1000.0)]
    pub max_rate: f64,
    /// `--metrics`, `--live`, `--linger` (each search's series carry its folder as run_id).
    #[command(flatten)]
    pub live: super::LiveArgs,
}

/// Runs `surge probe` and returns the exit code.
pub async fn cmd(a: ProbeArgs, cancel: CancellationToken) -> i32 {
    let live = match super::live::Live::start(&a.live).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let code = probe_cmd(a, cancel, super::live::Live::hub(live.as_ref())).await;
    if let Some(l) = live {
        l.end().await;
    }
    code
}

/// `surge probe`, feeding `hub` when there is one.
async fn probe_cmd(
    a: ProbeArgs,
    cancel: CancellationToken,
    hub: Option<std::sync::Arc<surge_live::Hub>>,
) -> i32 {
    if surge_plan::jmx::is_jmx(&a.scenario) {
        eprintln!(
            "error: surge probe reads TOML scenarios; convert the plan first: surge import {}",
            a.scenario.display()
        );
        return exit::USAGE;
    }
    for (flag, v) in [("--start-rate", a.start_rate), ("--max-rate", a.max_rate)] {
        if !(v.is_finite() && v > 0.0) {
            eprintln!("error: {flag}: must be more than 0, got {v}");
            return exit::USAGE;
        }
    }
    if a.max_requests == 0 || a.max_duration.is_zero() {
        let flag = if a.max_requests == 0 {
            "--max-requests"
        } else {
            "--max-duration"
        };
        eprintln!(
            "error: {flag}: must be more than 0 (a probe that may send nothing finds nothing)"
        );
        return exit::USAGE;
    }
    if a.max_rate < a.start_rate {
        eprintln!(
            "error: --max-rate: must be at least --start-rate ({})",
            a.start_rate
        );
        return exit::USAGE;
    }
    let mut plan = match surge_plan::load(&a.scenario, &a.load.set) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = run::apply_target(&mut plan, a.target.target.as_deref()) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    if let surge_plan::Endpoint::Url { base_url, .. } = &plan.target.endpoint {
        if !run::is_loopback(base_url) && !a.load.yes {
            eprintln!(
                "error: --yes: surge probe sends up to {} requests to {base_url} (outside this machine), \
                 each of which may cost quota; add --yes to proceed",
                a.max_requests
            );
            return exit::USAGE;
        }
    }
    let opts = ProbeOptions {
        out: a.out,
        max_requests: a.max_requests,
        max_duration: a.max_duration,
        scope_tokens: a.scope == Some(ScopeArg::Tokens),
        simulate: a.load.simulate,
        seed: a.load.seed,
        cancel: cancel.clone(),
        search: SearchConfig {
            start_rate: a.start_rate,
            max_rate: a.max_rate,
            ..SearchConfig::default()
        },
        live: hub,
    };
    if let Err(e) = crate::run::probe::check(&plan, &opts) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    super::say_which_mock_answers(&plan).await;
    if std::io::stdout().is_terminal() {
        println!(
            "probing {} (at most {} requests, {})…",
            plan.name,
            a.max_requests,
            surge_record::duration::format(a.max_duration)
        );
    }
    match probe(plan, opts).await {
        Ok(rep) => {
            for line in &rep.file.words.headline {
                println!("{line}");
            }
            println!("limit: {}", rep.out_dir.join("limit.json").display());
            println!("report: {}", rep.out_dir.join("probe.html").display());
            if cancel.is_cancelled() {
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
