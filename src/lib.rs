//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! # Layout
//! - [`scenario`]: scenario files (TOML) → validated [`scenario::Plan`]; errors name file, line, field;
//!   JMeter test plans (`.jmx`) imported into the same plan ([`scenario::jmx`]).
//! - [`schedule`]: pure pacers ("when is the next start due?"), tested as tables.
//! - [`engine`]: the one executor: users as tokio tasks, data sources, shutdown.
//! - [`transport`]: HTTP (reqwest + rustls) and OAuth; `Retry-After` and rate-limit headers.
//! - [`record`]: samples, HDR recording per second, the aggregate and `result.json`.
//! - [`report`]: the HTML report, CSV files and the terminal summary; JMeter JTL results written and read ([`report::jtl`]).
//! - [`run`]: `surge run` from plan to written outputs (starts the mock for `base_url = "mock"`).
//! - [`mock`]: the built-in Genesys Cloud Architect mock (router, state, limit models, latency, faults).
//! - [`analysis`]: the 429 diagnosis, thresholds (expressions, verdicts, `abort_on_fail`), baseline
//!   checks and their JUnit/Markdown outputs.
//! - [`cli`]: the command line (`surge run …`); `main.rs` only maps its outcome to an exit code.

pub mod analysis;
pub mod cli;
pub mod engine;
pub mod mock;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod text;
pub mod transport;

pub use text::plural;
