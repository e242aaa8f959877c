//! `surge run`: plan → target → transport and auth → executor → result → outputs.
//!
//! The one place that wires the stages together (it imports `scenario`, `mock`, `transport`,
//! `engine`, `record`, `analysis` and `report`). Must not import `cli`: progress display is the
//! caller's [`RunObserver`], and nothing here prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use surge_engine::{self as engine, ExecOptions, OnTick};
use surge_mock::{MockConfig, MockServer, MockStats, Preset};
use surge_plan::schedule::Segment;
use surge_plan::{ConfigError, Endpoint, Plan};
use surge_record::result::RunResult;
use surge_record::samples::{CsvSamples, SampleSink, SampleWriter, StreamMeta};
use surge_record::Tick;
use surge_transport::auth::{AuthError, Credentials};

mod assemble;
pub mod out_dir;
pub mod probe;
pub mod resources;
pub mod segment;
mod target;
mod virtual_time;
mod wire;

pub(crate) use self::assemble::{assemble, Target};
pub use self::target::{apply_target, is_loopback, mock_preset_at, plan_summary};
use self::virtual_time::SimMock;
pub(crate) use self::wire::{auth_runtime, http_transport};

/// Options of one run that are not in the scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--out`: the output directory (default `reports/<name>-<UTC timestamp>`).
    pub out: Option<PathBuf>,
    /// `--samples`: also stream raw samples to this CSV file.
    pub samples: Option<PathBuf>,
    /// Told of the run's progress once a second (e.g. the command line's progress bar); the
    /// library itself never prints.
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Fired by Ctrl-C or SIGTERM: stop issuing, give requests in flight the grace, write.
    pub cancel: CancellationToken,
    /// Fired by a second Ctrl-C or SIGTERM: cancel requests in flight at once, write.
    pub stop_now: CancellationToken,
    /// Seed for think-time randomness.
    pub seed: Option<u64>,
    /// Grace for requests in flight after a stop (default 3 s).
    pub grace: Option<Duration>,
    /// Run on virtual time against the in-process mock (`--simulate`).
    pub simulate: bool,
    /// `--jtl`: also stream every attempt to this file in JMeter's JTL CSV format.
    pub jtl: Option<PathBuf>,
    /// A bearer token given on the command line (`surge run plan.jmx -J token=…`), used
    /// instead of the plan's token source when the plan authenticates with a bearer token.
    pub bearer_token: Option<Secret>,
    /// Run one segment of a distributed run (`--segment I/N`) instead of the whole plan.
    pub segment: Option<segment::SegmentRun>,
    /// Sleep until this barrier before the first request (`--start-at`).
    pub start_at: Option<segment::Barrier>,
    /// Set just before the first request may go (after the files, the token and `--start-at`):
    /// until then a stop has nothing to keep, and the caller may end the process at once.
    pub load_started: Arc<std::sync::atomic::AtomicBool>,
    /// The live hub (`--metrics`, `--live`): fed once a second and with the result at the end.
    pub live: Option<Arc<surge_live::Hub>>,
}

/// Watches a run from outside: once a second while it goes on, and once when the measurement
/// has ended (before the result is written). Called from the aggregator, never the hot path.
pub trait RunObserver: std::fmt::Debug + Send + Sync {
    /// The live view of the last second.
    fn tick(&self, t: &Tick);
    /// The measurement has ended.
    fn finished(&self) {}
}

/// A secret given on the command line; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Errors before or after the measurement. Each maps to an exit code in `main.rs`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario is wrong (exit 2).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A flag is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Credentials are missing or refused (exit 2).
    #[error("auth: {0}")]
    Auth(#[from] AuthError),
    /// Output could not be written (exit 1); the message says what was kept.
    #[error("{0}")]
    Io(String),
}

/// A finished run: its result and where the outputs were written.
#[derive(Debug)]
pub struct RunReport {
    /// The result, as written to `result.json`.
    pub result: RunResult,
    /// The output directory.
    pub out_dir: PathBuf,
    /// Samples written to `--samples`, when asked.
    pub samples_written: Option<u64>,
    /// The built-in mock's own counts, when the target was the mock.
    pub mock_stats: Option<MockStats>,
    /// The open-files limit during the run (raised to the hard limit when the plan needed it).
    pub open_files: Option<resources::OpenFiles>,
    /// Outputs that could not be written (a full disk), each naming its file; every other
    /// output was written.
    pub output_errors: Vec<String>,
}

/// Each group's name and first user id.
pub fn group_bases(plan: &Plan) -> Vec<(String, u32)> {
    let mut base = 0;
    plan.groups
        .iter()
        .map(|g| {
            let b = base;
            base += g.max_users();
            (g.name.clone(), b)
        })
        .collect()
}

/// `reports/<prefix>-<UTC timestamp>` (not created: see [`out_dir::claim_fresh`]).
pub fn stamped_dir(prefix: &str) -> PathBuf {
    out_dir::stamped(prefix)
}

/// What a run settles before it sends anything: every environment variable it reads is set, an
/// output folder of its own (never another run's), and enough open files for its users.
fn before_the_run(
    plan: &Plan,
    opts: &RunOptions,
    builtin_mock: bool,
) -> Result<(PathBuf, Option<resources::OpenFiles>), RunError> {
    if let Some((i, name)) = plan.missing_env() {
        return Err(RunError::Usage(format!(
            "{}: data[{i}].env: the environment variable {name} is not set (it holds a value the scenario reads from the environment)",
            plan.source.display()
        )));
    }
    let out_dir = match (&opts.out, &opts.segment) {
        (Some(o), _) => {
            segment::check_out(opts, o)?;
            out_dir::claim_given(o).map_err(|e| RunError::Usage(format!("--out: {e}")))?
        }
        (None, Some(s)) => {
            segment::check_out(opts, &s.default_out())?;
            out_dir::claim_given(&s.default_out()).map_err(RunError::Usage)?
        }
        (None, None) => out_dir::claim_fresh(&stamped_dir(&plan.name))
            .map_err(|e| RunError::Usage(format!("cannot create the output folder: {e}")))?,
    };
    // A folder nothing can be written to is found before anything is sent.
    surge_record::atomic::check_writable(&out_dir).map_err(|e| {
        RunError::Usage(format!(
            "--out: cannot write into the output folder: {e}; nothing was sent"
        ))
    })?;
    let open_files = if opts.simulate {
        None
    } else {
        resources::raise_open_files(resources::needed(plan.max_users(), builtin_mock))
    };
    Ok((out_dir, open_files))
}

/// Runs a checked plan and writes its outputs.
///
/// # Errors
/// [`RunError`]; once the measurement has started, the result is written whatever happens
/// (an output error says which files were kept).
pub async fn run_plan(plan: Plan, opts: RunOptions) -> Result<RunReport, RunError> {
    let preset = match &plan.target.endpoint {
        Endpoint::Mock { preset } => Some(*preset),
        Endpoint::Url { .. } if opts.simulate => {
            return Err(RunError::Usage(
                "--simulate: the target must be the built-in mock (base_url = \"mock\", or --target mock)".into(),
            ))
        }
        Endpoint::Url { .. } => None,
    };
    // A mock scenario sent to a URL: the `surge mock` there says which preset answers.
    let answered_by = match &plan.target.endpoint {
        Endpoint::Url { base_url, .. } if plan.target.written_for_mock.is_some() => {
            mock_preset_at(base_url).await
        }
        _ => None,
    };
    segment::check(&opts, preset.is_some())?;
    let (out_dir, open_files) = before_the_run(&plan, &opts, preset.is_some())?;
    // With a barrier, the run's clock starts at the barrier (every segment's alike).
    let started = opts
        .start_at
        .map_or_else(time::OffsetDateTime::now_utc, |b| b.at);
    let started_unix_ms = (started.unix_timestamp_nanos() / 1_000_000) as u64;
    let labels: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let mut sinks: Vec<Box<dyn SampleSink>> = Vec::new();
    if let Some(p) = &opts.samples {
        sinks.push(Box::new(
            CsvSamples::create(p).map_err(|e| RunError::Usage(format!("--samples: {e}")))?,
        ));
    }
    if let Some(p) = &opts.jtl {
        sinks.push(Box::new(
            surge_report::jtl::JtlWriter::create(p, &plan)
                .map_err(|e| RunError::Usage(format!("--jtl: {e}")))?,
        ));
    }
    let writer = if sinks.is_empty() {
        None
    } else {
        let meta = StreamMeta {
            labels: labels.clone(),
            epoch_unix_ms: started_unix_ms,
            groups: group_bases(&plan),
            transactions: plan.transactions.iter().map(|t| t.name.clone()).collect(),
        };
        Some(
            SampleWriter::start(sinks, meta)
                .map_err(|e| RunError::Io(format!("samples writer: {e}")))?,
        )
    };
    let progress = opts.observer.clone();
    if let Some(hub) = &opts.live {
        hub.begin(live_info(&plan, &opts, &out_dir));
    }
    // One callback per second: the caller's observer, the live hub, and the thresholds that
    // may abort the run.
    let gate = surge_analysis::threshold_eval::LiveGate::new(&plan.thresholds);
    let on_tick: Option<OnTick> = if progress.is_none() && gate.is_none() && opts.live.is_none() {
        None
    } else {
        let p = progress.clone();
        let hub = opts.live.clone();
        let f: OnTick = Arc::new(move |t: &Tick| {
            if let Some(p) = &p {
                p.tick(t);
            }
            if let Some(h) = &hub {
                h.tick(t);
            }
            gate.as_ref()
                .and_then(|g| g.tick(t))
                .map(|b| surge_report::gate_report::words::breach(&b))
        });
        Some(f)
    };
    let exec = ExecOptions {
        base_url: String::new(),
        cancel: opts.cancel.clone(),
        stop_now: opts.stop_now.clone(),
        grace: opts.grace.unwrap_or(engine::DEFAULT_GRACE),
        samples: writer.as_ref().map(|w| w.tx.clone()),
        on_tick,
        seed: opts.seed,
        segment: opts.segment.as_ref().map(|s| s.segment),
        dial: None,
        workers: engine::Workers::per_core(),
    };
    let mut m = measure(&plan, preset, &opts, exec).await?;
    if let Some(p) = &progress {
        p.finished();
    }
    // From here on nothing measured is thrown away: a file that cannot be written is said in
    // `output_errors`, and every other output is still written.
    let mut output_errors = Vec::new();
    let samples_written = writer.and_then(|w| match w.finish() {
        Ok(written) => {
            output_errors.extend(
                written
                    .failed
                    .iter()
                    .map(|f| sink_failure(f, written.samples, &opts)),
            );
            Some(written.samples)
        }
        Err(e) => {
            output_errors.push(format!("raw samples: {e}"));
            None
        }
    });

    let second_hists = m.out.aggregate.take_second_hists();
    let late = m.late;
    let answered = preset.or(answered_by);
    let (result, result_mock_stats) = build_result(&plan, m, &opts, started, answered);
    let result = segment::with_record(result, &opts, late, second_hists, &plan);
    if let Some(hub) = &opts.live {
        hub.finish(&result);
    }
    if let Err(e) = surge_report::write_outputs(&result, &out_dir) {
        output_errors.push(e.to_string());
    } else if let Some(hub) = &opts.live {
        hub.report_written(out_dir.join("report.html"));
    }
    if let Some(stats) = &result_mock_stats {
        // The mock's own counts: the ground truth to hold surge's figures against.
        let p = out_dir.join("mock_stats.json");
        let text = serde_json::to_string_pretty(stats).unwrap_or_default();
        if let Err(e) = surge_record::atomic::write(&p, text) {
            output_errors.push(e.to_string());
        }
    }
    Ok(RunReport {
        result,
        out_dir,
        samples_written,
        mock_stats: result_mock_stats,
        open_files,
        output_errors,
    })
}

/// A `--samples` or `--jtl` file that stopped being written, in words: which flag, why, and
/// what it still holds.
fn sink_failure(f: &surge_record::samples::SinkFailure, all: u64, opts: &RunOptions) -> String {
    let flag = if opts.jtl.as_deref() == Some(f.path.as_path()) {
        "--jtl"
    } else {
        "--samples"
    };
    format!(
        "{flag} {}: {}; stopped writing it: it holds at most {} of the run's {all} samples (the result and the reports hold them all)",
        f.path.display(),
        f.error,
        f.samples_before,
    )
}

/// The names of a run's live series: a segment carries its distributed run's id, a plain run
/// its output folder's name.
fn live_info(plan: &Plan, opts: &RunOptions, out_dir: &std::path::Path) -> surge_live::RunInfo {
    surge_live::RunInfo {
        scenario: plan.name.clone(),
        run_id: match &opts.segment {
            Some(s) => s.run_id.clone(),
            None => out_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
        segment: opts
            .segment
            .as_ref()
            .map(|s| format!("{}/{}", s.segment.index, s.segment.count))
            .unwrap_or_default(),
    }
}

/// What the measurement gave: the executor's output and where it went.
struct Measured {
    out: engine::ExecOutput,
    base_url: String,
    mock_stats: Option<MockStats>,
    /// The proxy the API requests went through (shown form).
    proxy: Option<String>,
    /// How late after the start barrier the first request could go (segments only).
    late: Option<Duration>,
}

/// Runs the plan against its target: the built-in mock (on loopback, or in-process on virtual
/// time), or a URL.
async fn measure(
    plan: &Plan,
    preset: Option<surge_mock::Preset>,
    opts: &RunOptions,
    mut exec: ExecOptions,
) -> Result<Measured, RunError> {
    match preset {
        Some(p) if opts.simulate => {
            exec.seed = Some(opts.seed.unwrap_or(1));
            exec.workers = engine::Workers::Ambient;
            let (out, base_url, mock_stats) = simulate(
                plan.clone(),
                MockConfig::preset(p).with_draw_seed(exec.seed),
                exec,
                opts.load_started.clone(),
            )
            .await?;
            Ok(Measured {
                out,
                base_url,
                mock_stats,
                proxy: None,
                late: None,
            })
        }
        Some(p) => {
            // `--seed` varies the mock's draws too (latencies, compile times), never its flow ids.
            let cfg = MockConfig::preset(p).with_draw_seed(opts.seed);
            let m = MockServer::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| {
                    RunError::Usage(format!("cannot start the built-in mock on 127.0.0.1: {e}"))
                })?;
            let url = m.url();
            let creds = Credentials {
                client_id: m.client_id().to_string(),
                client_secret: m.client_secret().to_string(),
            };
            let (transport, proxy) = http_transport(plan, &url, &url)?;
            let auth = auth_runtime(
                plan,
                exec.segment.unwrap_or(Segment::WHOLE),
                &url,
                Arc::new(transport.clone()),
                Some(creds),
                None,
            )
            .await?;
            exec.base_url = url.clone();
            let late = segment::at_start(opts).await?;
            mark_started(opts);
            let out = engine::execute_http(plan, Arc::new(transport), auth, exec).await;
            Ok(Measured {
                out,
                base_url: url,
                mock_stats: Some(m.shutdown().await),
                proxy,
                late,
            })
        }
        None => {
            let Endpoint::Url {
                base_url,
                login_url,
            } = &plan.target.endpoint
            else {
                unreachable!("no preset means a URL")
            };
            let (transport, proxy) = http_transport(plan, base_url, login_url)?;
            let auth = auth_runtime(
                plan,
                exec.segment.unwrap_or(Segment::WHOLE),
                login_url,
                Arc::new(transport.clone()),
                None,
                opts.bearer_token.as_ref(),
            )
            .await?;
            exec.base_url = base_url.clone();
            let late = segment::at_start(opts).await?;
            mark_started(opts);
            let out = engine::execute_http(plan, Arc::new(transport), auth, exec).await;
            Ok(Measured {
                out,
                base_url: base_url.clone(),
                mock_stats: None,
                proxy,
                late,
            })
        }
    }
}

/// The first request may go now: from here on a stop keeps what is measured.
fn mark_started(opts: &RunOptions) {
    opts.load_started
        .store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The result file's content, and the mock's own counts when the run started the mock.
fn build_result(
    plan: &Plan,
    m: Measured,
    opts: &RunOptions,
    started: time::OffsetDateTime,
    answered: Option<Preset>,
) -> (RunResult, Option<MockStats>) {
    let target = Target {
        base_url: m.base_url,
        preset: answered,
        mock: matches!(plan.target.endpoint, Endpoint::Mock { .. }),
        proxy: m.proxy,
    };
    let result = assemble(plan, m.out, target, started, opts.simulate);
    (result, m.mock_stats)
}

/// Runs `plan` against the mock in-process on virtual time.
async fn simulate(
    plan: Plan,
    cfg: MockConfig,
    mut exec: ExecOptions,
    load_started: Arc<std::sync::atomic::AtomicBool>,
) -> Result<(engine::ExecOutput, String, Option<MockStats>), RunError> {
    virtual_time::run("surge-simulate", move || async move {
        let mock = SimMock::new(cfg, plan.target.timeout);
        let auth = auth_runtime(
            &plan,
            exec.segment.unwrap_or(Segment::WHOLE),
            &mock.url,
            Arc::new(mock.transport.clone()),
            mock.creds,
            None,
        )
        .await?;
        exec.base_url = mock.url.clone();
        load_started.store(true, std::sync::atomic::Ordering::SeqCst);
        let out = engine::execute_in_process(&plan, Arc::new(mock.transport), auth, exec).await;
        Ok((out, mock.url, Some(mock.state.stats())))
    })
    .await
}
