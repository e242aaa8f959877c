//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! # Layout
//! Data flows one way: scenario → plan → schedule and executor → samples → `RunResult` →
//! reports and checks. Each module says at its top what it owns and what it must not import.
//!
//! - [`scenario`]: scenario files (TOML) → validated [`scenario::Plan`], section by section;
//!   errors name file, line and field (with "did you mean" for a misspelt one); JMeter test plans
//!   (`.jmx`) imported into the same plan ([`scenario::jmx`]).
//! - [`schedule`]: pure pacers ("when is the next start due?"), tested as tables; segments of a
//!   distributed run as pure subsets of the whole plan's starts ([`schedule::segment`]).
//! - [`engine`]: the one executor: users as tokio tasks, data sources, shutdown; the only place
//!   that sleeps and spawns.
//! - [`transport`]: HTTP (reqwest + rustls), the in-process mock transport, OAuth tokens, the
//!   `Retry-After` and rate-limit headers.
//! - [`record`]: samples, HDR recording per second, the aggregate, the per-second snapshot
//!   ([`record::Tick`]), and `result.json` ([`record::RunResult`], with its typed plan summary and
//!   [`record::StopReason`]), the exact merge of a distributed run's segments ([`record::merge`]).
//!   Imports nothing of surge.
//! - [`analysis`]: facts from results, computed once: the derived statistics every output shows
//!   ([`analysis::figures`]), the 429 diagnosis as numbers ([`analysis::diagnosis`]), limit fits,
//!   scope and the pace that keeps under a limit ([`analysis::limit`]), thresholds
//!   (expressions, verdicts, `abort_on_fail`), baseline checks and their statistics, run
//!   comparisons, JUnit/Markdown.
//! - [`report`]: formats and phrasing only, every number through [`report::format`](mod@report::format): the HTML
//!   report, CSV files, the terminal summary, the diagnosis in words ([`report::diagnosis`]);
//!   JMeter JTL results written and read ([`report::jtl`]).
//! - [`run`]: `surge run` from plan to written outputs (starts the mock for `base_url = "mock"`;
//!   progress is the caller's [`run::RunObserver`]; one segment of a distributed run, with its
//!   start barrier, in [`run::segment`]); `surge probe`'s searches in [`run::probe`].
//! - [`mock`]: the built-in Genesys Cloud Architect mock (router, state, limit models, latency,
//!   faults, the seed scenario's calibration driver); a wing of its own.
//! - [`cli`]: the command line (`surge run …`); `main.rs` only maps its outcome to an exit code.
//! - [`duration`]: the one duration grammar and the only checked conversions to `Duration`.
//! - [`limits`]: bounds on every input surge reads (sizes, lines, nesting), enforced while reading.
//! - [`filekind`]: what a file is from its first bytes, so a file of the wrong kind is named for
//!   what it is.
//! - [`secrets`]: what looks like a credential, and how every output hides it.
//! - [`text`]: wording shared by every output ([`plural`], "did you mean").
//! - [`console`]: what surge prints; its `print!`/`println!`/`eprint!`/`eprintln!` stand in
//!   for std's in every module, so a closed pipe (`surge … | head`) never panics.

// First, so its print macros are the ones every module below sees.
#[macro_use]
pub mod console;

pub mod analysis;
pub mod cli;
pub mod duration;
pub mod engine;
pub mod filekind;
pub mod limits;
pub mod mock;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod secrets;
pub mod text;
pub mod transport;

pub use text::plural;
