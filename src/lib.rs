//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! This crate is the binary's: the command line ([`cli`]) and the assembly of one run ([`run`])
//! from the workspace's crates, each a room of its own (see `ARCHITECTURE.md` at the repository's
//! root for the map, the invariants of each room and what each must never import). The rooms are
//! re-exported under their short names, so `surge::scenario::load` reads as it always did:
//!
//! - [`record`] (`surge-record`): samples, HDR histograms, the recorder, `result.json` and the
//!   exact merge of segments; the input rules every room shares ([`duration`], [`limits`],
//!   [`filekind`], [`secrets`], [`text`]).
//! - [`scenario`] and [`schedule`] (`surge-plan`): scenario files and JMeter plans into a
//!   validated plan, pure data; the pacers that schedule it.
//! - [`mock`] (`surge-mock`): the built-in Genesys Cloud Architect mock.
//! - [`transport`] (`surge-transport`): how one request reaches the server.
//! - [`engine`] (`surge-engine`): the one executor.
//! - [`analysis`] (`surge-analysis`): facts from results, numbers only.
//! - [`report`] (`surge-report`): every word and format.
//! - [`console`]: what surge prints; its `print!`/`println!`/`eprint!`/`eprintln!` stand in
//!   for std's in this crate, so a closed pipe (`surge … | head`) never panics.

// First, so its print macros are the ones every module below sees.
#[macro_use]
pub mod console;

pub mod cli;
pub mod run;

pub use surge_analysis as analysis;
pub use surge_engine as engine;
pub use surge_mock as mock;
pub use surge_plan as scenario;
pub use surge_plan::schedule;
pub use surge_record as record;
pub use surge_record::{duration, filekind, limits, plural, secrets, text};
pub use surge_report as report;
pub use surge_transport as transport;
