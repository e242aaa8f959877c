//! The command line (clap derive). `main.rs` calls [`main_with`] and exits with its code, so
//! tests drive the whole tool in-process.
//!
//! The face: flags, printing, the progress bar ([`progress`], handed to a run as its observer)
//! and exit codes; `anyhow`-style messages end here. It may import every module; no module
//! imports it.
// The argument structs' doc comments are `--help` text, where `<name>` and `<UTC timestamp>`
// are placeholders a user reads, not HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod check;
pub mod compare;
pub mod dist;
mod field_flags;
mod gates;
pub mod import;
pub mod k8s;
mod live;
pub mod merge;
pub mod mock;
pub mod probe;
pub mod progress;
pub mod report;
mod shared;
pub mod stop;
pub mod sweep;

pub use shared::{LiveArgs, LoadArgs, PaceArgs, TargetArgs};

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
    /// The run was aborted (Ctrl-C, or a threshold with `abort_on_fail`).
    pub const ABORTED: i32 = 3;
}

/// Shown under `surge --help`: where to start, and what the exit codes mean.
const AFTER_HELP: &str = "\
Start here:
  surge run scenarios/architect-publish-burst.toml --simulate
      the seed batch against the built-in mock, on virtual time (a second or so)
  surge report reports/<run>/        rebuild a run's report.html and CSV files
  surge check reports/<run>/ --threshold 'p95(publish) < 5s' --junit junit.xml
      gate a CI job on a result

Exit codes: 0 passed; 1 a threshold or check failed, or not one request got an expected answer;
2 usage or configuration error (nothing was sent); 3 stopped early (Ctrl-C, SIGTERM,
abort_on_fail). Every command's options: surge COMMAND --help. Docs: README.md, docs/.";

/// surge: load tests for REST APIs that throttle with HTTP 429.
#[derive(Debug, Parser)]
#[command(name = "surge", version, about, long_about = None, after_help = AFTER_HELP)]
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
    /// Serve the built-in Genesys Cloud Architect mock (prints its URL and client credentials).
    Mock(mock::MockArgs),
    /// Gate a result in CI: thresholds, and regressions against a baseline result.
    Check(check::CheckArgs),
    /// Convert a JMeter test plan (.jmx) into a surge scenario (TOML, commented).
    Import(import::ImportArgs),
    /// Rebuild report.html and the CSV files from a saved result.json (or a JTL), offline.
    Report(report::ReportArgs),
    /// Compare runs side by side: compare.html and compare.csv, best run per figure.
    Compare(compare::CompareArgs),
    /// Run every combination of --vary values, then compare them.
    Sweep(sweep::SweepArgs),
    /// Merge the segments of a distributed run (`surge run --segment I/N`) into one result.
    Merge(merge::MergeArgs),
    /// Write Kubernetes manifests that run a scenario as N segments and merge them.
    K8s(k8s::K8sArgs),
    /// Find the limit a target puts on a scenario's requests (rate, burst, model, scope) with
    /// few requests; write limit.json for `surge run --pace-from`.
    Probe(probe::ProbeArgs),
}

/// `surge run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// The scenario file (TOML), or a JMeter test plan (.jmx), imported in memory.
    pub scenario: PathBuf,
    /// `--target`.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output directory (default reports/<name>-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// `--set`, `--yes`, `--seed`, `--simulate`.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Also stream every attempt (and every transaction that ends) as a CSV row to this file.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
    /// A pass/fail threshold, e.g. 'p95(publish) < 800ms' (repeatable; added to the scenario's).
    #[arg(long = "threshold", value_name = "EXPR")]
    pub threshold: Vec<String>,
    /// Write the threshold verdicts, and the run's 429 diagnosis, as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the threshold verdicts and the run's 429 diagnosis as Markdown here (e.g.
    /// $GITHUB_STEP_SUMMARY).
    #[arg(long = "summary-md", value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
    /// Also stream every request to this file in JMeter's JTL CSV format (5.x default columns).
    #[arg(long, value_name = "FILE")]
    pub jtl: Option<PathBuf>,
    /// A .jmx plan's JMeter property, read by ${__P(NAME)} (repeatable), as jmeter -JNAME=VALUE.
    #[arg(short = 'J', long = "jmeter-property", value_name = "NAME=VALUE")]
    pub jmeter_property: Vec<String>,
    /// After Ctrl-C or SIGTERM, how long requests in flight may finish before they are
    /// cancelled (a second signal cancels them at once).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = surge_record::duration::parse_flag)]
    pub grace: Option<std::time::Duration>,
    /// A .jmx plan: treat every import warning as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// `--pace-from`.
    #[command(flatten)]
    pub pace: PaceArgs,
    /// Distributed runs: segment, run id, start barrier.
    #[command(flatten)]
    pub dist: dist::DistArgs,
    /// `--metrics`, `--linger`.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Parses `args` (program name first), runs, prints, and returns the exit code.
pub async fn main_with<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // The work is in a function of no type parameter, so it is compiled once, here, and not
    // again in every crate that calls this (the binary, each test).
    main_args(args.into_iter().map(Into::into).collect()).await
}

async fn main_args(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if e.kind() == clap::error::ErrorKind::UnknownArgument => {
            let invalid = match e.get(clap::error::ContextKind::InvalidArg) {
                Some(clap::error::ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            match field_flags::hint(&args, &invalid) {
                Some(h) => eprintln!("{h}"),
                None => {
                    let _ = e.print();
                }
            }
            return exit::USAGE;
        }
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    // Only run, sweep and probe take over Ctrl-C and SIGTERM (they stop cleanly on them); every other
    // command keeps the default: the signal ends it.
    let stops = stop::Stops::default();
    if matches!(
        cli.command,
        Command::Run(_) | Command::Sweep(_) | Command::Probe(_)
    ) {
        // A probe's searches start their loads on their own: its signals keep their meaning.
        if matches!(cli.command, Command::Probe(_)) {
            stops
                .load_started
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        stops.listen();
    }
    match cli.command {
        Command::Run(a) => run_cmd_with(a, stops).await,
        Command::Check(a) => check::cmd(a).await,
        Command::Mock(a) => match mock::run(a).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::USAGE
            }
        },
        Command::Import(a) => import::import_cmd(&a),
        Command::Report(a) => report::cmd(a).await,
        Command::Compare(a) => compare::cmd(a).await,
        Command::Sweep(a) => sweep::cmd(a, stops).await,
        Command::Merge(a) => merge::cmd(a).await,
        Command::K8s(a) => k8s::cmd(&a),
        Command::Probe(a) => probe::cmd(a, stops.graceful.clone()).await,
    }
}

/// Says which mock preset will answer: the built-in mock's, or for a mock scenario sent to a URL
/// by `--target`, the preset the `surge mock` there answers with, with a warning before the run
/// when it is not the one the scenario was written for.
pub(crate) async fn say_which_mock_answers(plan: &surge_plan::Plan) {
    let (base_url, want) = match (&plan.target.endpoint, plan.target.written_for_mock) {
        (surge_plan::Endpoint::Mock { preset }, _) => {
            println!("target: {}", surge_report::format::mock_target(preset));
            return;
        }
        (surge_plan::Endpoint::Url { base_url, .. }, Some(want)) => (base_url, want),
        (surge_plan::Endpoint::Url { .. }, None) => return,
    };
    match run::mock_preset_at(base_url).await {
        Some(got) if got == want => println!("target: surge mock at {base_url}, preset {got}"),
        Some(got) => eprintln!(
            "warning: the scenario is written for mock preset {want}, but the surge mock at {base_url} answers with preset {got} (start it with `surge mock --preset {want}`, or expect other figures)"
        ),
        None => eprintln!(
            "note: the scenario is written for the built-in mock (preset {want}); {base_url} does not answer as a surge mock"
        ),
    }
}

/// `w` as one word for a POSIX shell (quoted only where it needs it), for commands surge prints.
pub(crate) fn quote_word(w: &str) -> String {
    surge_report::next::quote(w)
}

/// `--pace-from FILE` (run and sweep): paces `plan` as `shape` recommends (read from `f`), and
/// returns the line that says so.
pub(crate) fn pace_from(
    plan: &mut surge_plan::Plan,
    shape: &surge_record::pace::PaceShape,
    f: &std::path::Path,
) -> String {
    plan.on_429 = plan.on_429.clone().paced_from(shape, f);
    format!(
        "pace: {} (from {}; on_429 policy {})",
        surge_report::diagnosis::pace_text(shape),
        f.display(),
        plan.on_429.name
    )
}

/// `surge run` with a given cancellation token (tests cancel it to simulate Ctrl-C).
pub async fn run_cmd(a: RunArgs, cancel: CancellationToken) -> i32 {
    run_cmd_with(a, stop::Stops::from_cancel(cancel)).await
}

/// `surge run`, stopped gracefully by `stops.graceful` and at once by `stops.now`.
pub async fn run_cmd_with(a: RunArgs, stops: stop::Stops) -> i32 {
    let live = match live::Live::start(&a.live).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let code = run_with_hub(a, stops, live::Live::hub(live.as_ref())).await;
    if let Some(l) = live {
        l.end().await;
    }
    code
}

/// Whether the load may go: a target outside this machine needs `--yes` or a "y" typed at a
/// terminal (said on stderr when refused).
fn confirmed_remote(plan: &surge_plan::Plan, yes: bool) -> bool {
    let surge_plan::Endpoint::Url { base_url, .. } = &plan.target.endpoint else {
        return true;
    };
    if run::is_loopback(base_url) || yes {
        return true;
    }
    eprintln!(
        "This sends load to a host outside this machine:\n{}",
        run::plan_summary(plan)
    );
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!(
            "error: --yes: not given, and there is no terminal to confirm on; add --yes to proceed"
        );
        return false;
    }
    eprint!("Proceed? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = stdin.read_line(&mut line);
    if !matches!(line.trim(), "y" | "Y" | "yes") {
        eprintln!("not run");
        return false;
    }
    true
}

/// One connection (one descriptor) per user: warns before the run when even the hard limit
/// cannot hold them (run_plan raises the soft limit and says so afterwards too).
fn warn_open_files(plan: &surge_plan::Plan) {
    let builtin = matches!(plan.target.endpoint, surge_plan::Endpoint::Mock { .. });
    let needed = run::resources::needed(plan.max_users(), builtin);
    if let Some(f) = run::resources::raise_open_files(needed).filter(|f| f.soft < needed) {
        eprintln!(
            "warning: {} need about {needed} open files, and this process may open {} (the hard limit of `ulimit -n`); users past it will fail to connect (error:resource). Raise it with `ulimit -Hn` as root, or in /etc/security/limits.conf.",
            surge_record::plural(u64::from(plan.max_users()), "user"),
            f.soft
        );
    }
}

/// `surge run`, feeding `hub` when there is one.
async fn run_with_hub(
    a: RunArgs,
    stops: stop::Stops,
    hub: Option<std::sync::Arc<surge_live::Hub>>,
) -> i32 {
    let cancel = stops.graceful.clone();
    let mut bearer_token = None;
    let jmx = surge_plan::jmx::is_jmx(&a.scenario)
        || surge_record::filekind::FileKind::of_file(&a.scenario)
            == Some(surge_record::filekind::FileKind::Jmx);
    let loaded = if jmx {
        import::load_for_run(&a).map(|(p, token)| {
            bearer_token = token.map(run::Secret);
            p
        })
    } else {
        surge_plan::load(&a.scenario, &a.load.set).map_err(|e| e.to_string())
    };
    let mut plan = match loaded {
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
    if let Some(f) = &a.pace.pace_from {
        match surge_record::pace::read_recommended(f) {
            Ok(shape) => println!("{}", pace_from(&mut plan, &shape, f)),
            Err(e) => {
                eprintln!("error: --pace-from {e}");
                return exit::USAGE;
            }
        }
    }
    if let Err(e) = gates::add_cli_thresholds(&mut plan, &a.threshold) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    if let Err(e) = gates::check_ci_paths(a.junit.as_deref(), a.summary_md.as_deref()) {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    say_which_mock_answers(&plan).await;
    let thresholds = plan.thresholds.clone();
    let (segment, start_at) = match a.dist.resolve(&plan.name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(w) = segment
        .as_ref()
        .and_then(|s| run::segment::token_warning(&plan, s.segment.count))
    {
        eprintln!("warning: {w}");
    }
    if let Some(n) = dist::start_note(
        segment.as_ref(),
        start_at.as_ref(),
        time::OffsetDateTime::now_utc(),
    )
    .filter(|_| !a.quiet)
    {
        eprintln!("{n}");
    }
    if !confirmed_remote(&plan, a.load.yes) {
        return exit::USAGE;
    }
    if !a.load.simulate {
        warn_open_files(&plan);
    }
    let opts = RunOptions {
        out: a.out,
        samples: a.samples,
        observer: (!a.quiet && std::io::stdout().is_terminal()).then(|| {
            std::sync::Arc::new(progress::bar(&plan)) as std::sync::Arc<dyn run::RunObserver>
        }),
        cancel: cancel.clone(),
        stop_now: stops.now.clone(),
        seed: a.load.seed,
        grace: a.grace,
        simulate: a.load.simulate,
        jtl: a.jtl,
        bearer_token,
        segment,
        start_at,
        load_started: stops.load_started.clone(),
        live: hub,
    };
    match run::run_plan(plan, opts).await {
        Ok(rep) => {
            if !a.quiet {
                print!(
                    "{}",
                    surge_report::terminal::summary_at(
                        &rep.result,
                        &rep.out_dir.join("result.json")
                    )
                );
            }
            if let Some(why) = run::resources::explain(&rep.result, rep.open_files) {
                eprintln!("warning: {why}");
            }
            gates::print_written(&rep.out_dir);
            if let Some(note) = dist::merge_note(&rep) {
                println!("{note}");
            }
            gates::finish_run(
                &rep,
                &thresholds,
                a.quiet,
                a.junit.as_deref(),
                a.summary_md.as_deref(),
            )
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
