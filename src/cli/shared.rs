//! The flags that `surge run`, `surge probe` and `surge sweep` share, declared once and flattened
//! into each (`#[command(flatten)]`), so that their names, short forms and help cannot drift
//! apart. A flag whose help says something of its own command stays with that command: `--out`
//! (each names its default folder) and `--quiet` (a sweep still prints its comparison).

use std::path::PathBuf;

use clap::Args;

/// How the scenario is changed and run, and whether to ask first (run, probe, sweep).
#[derive(Debug, Clone, Default, Args)]
pub struct LoadArgs {
    /// Override a scenario field, e.g. --set load.threads=20 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Do not ask before sending load to a host outside loopback.
    #[arg(long, short)]
    pub yes: bool,
    /// Seed for random think times and backoff jitter, and for the built-in mock's draws
    /// (latencies, compile times, faults; its flow ids stay) (default with --simulate: 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run on virtual time against the in-process mock (no sockets): minutes of load finish in
    /// well under a second, and a seed gives the same counts twice.
    #[arg(long)]
    pub simulate: bool,
}

/// Where the requests go instead of the scenario's target (run, probe).
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Send requests here instead of the scenario's target (a URL, or `mock`).
    #[arg(long)]
    pub target: Option<String>,
}

/// Pacing read from an earlier result or probe (run, sweep).
#[derive(Debug, Clone, Default, Args)]
pub struct PaceArgs {
    /// Pace every request as this result.json's diagnosis or this limit.json (`surge probe`)
    /// recommends (a retry_after safety net is added when the scenario does not retry).
    #[arg(long, value_name = "RESULT.json|limit.json")]
    pub pace_from: Option<PathBuf>,
}

/// What the run shows while it runs (run, probe, sweep).
#[derive(Debug, Clone, Default, Args)]
pub struct LiveArgs {
    /// Serve Prometheus metrics (OpenMetrics text) at http://ADDR/metrics while the run goes
    /// on: ADDR is HOST:PORT, or PORT alone for 127.0.0.1 (another host only when written).
    #[arg(long, value_name = "ADDR", value_parser = surge_live::parse_addr)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Serve a live page of the run (charts updated every second, the 429 diagnosis, then a
    /// link to report.html) at http://ADDR/ (default 127.0.0.1:5665; --live=ADDR for another).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true,
          default_missing_value = "127.0.0.1:5665", value_parser = surge_live::parse_addr)]
    pub live: Option<std::net::SocketAddr>,
    /// After the run, keep serving the final values (result.json's) and the live page this
    /// long, so that a scraper reads them (e.g. 2 scrape intervals).
    #[arg(long, value_name = "DURATION", value_parser = surge_record::duration::parse_flag)]
    pub linger: Option<std::time::Duration>,
}
