//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! # Layout
//! - [`scenario`]: scenario files (TOML) → validated [`scenario::Plan`]; errors name file, line, field.
//! - [`schedule`]: pure pacers ("when is the next start due?"), tested as tables.
//! - [`engine`]: the one executor: users as tokio tasks, data sources, shutdown.
//! - [`transport`]: HTTP (reqwest + rustls) and OAuth; `Retry-After` and rate-limit headers.
//! - [`record`]: samples, HDR recording per second, the aggregate and `result.json`.
//! - [`report`]: the HTML report, CSV files and the terminal summary.
//! - [`analysis`]: analyses of a result: the 429 diagnosis.
//! - [`run`]: `surge run` from plan to written outputs.
//! - [`mock_target`]: starts the built-in mock for `base_url = "mock"`.
//! - [`cli`]: the command line (`surge run …`); `main.rs` only maps its outcome to an exit code.

pub mod analysis;
pub mod cli;
pub mod engine;
pub mod record;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod mock_target;
pub mod run;
pub mod transport;
