//! surge-record: measurement and the result file. Samples ([`sample`]), HDR histograms
//! ([`hist`]), the sharded recorder and its aggregate ([`recorder`]), the live per-second snapshot
//! ([`tick`]), the result file ([`result`], with how the run ended and what it was asked to do in
//! [`meta`]), distributed runs (a segment's record, [`distributed`], and the exact merge of N
//! segments into one result, [`merge`]), and `limit.json`'s pace ([`pace`]).
//!
//! Also the rules every room applies to what it reads and shows: the one duration grammar
//! ([`duration`]), bounds on every input ([`limits`]), what a file is ([`filekind`]), what is a
//! credential and how outputs hide it ([`secrets`]), wording helpers ([`text`]), which mock preset
//! answered ([`preset`]); and hand-built results for tests and benchmarks ([`synthetic`]).
//!
//! At the bottom of the house: imports no other surge crate; every other crate reads it. The map
//! of the crates and their rules is `ARCHITECTURE.md` at the repository's root.

pub mod atomic;
pub mod distributed;
pub mod duration;
pub mod filekind;
pub mod hist;
pub mod limit_key;
pub mod limits;
pub mod merge;
pub mod meta;
pub mod pace;
pub mod preset;
pub mod recorder;
pub mod result;
pub mod sample;
pub mod samples;
pub mod secrets;
pub mod synthetic;
pub mod text;
pub mod tick;

pub use hist::Hist;
pub use meta::{PlanSummary, StopReason};
pub use preset::Preset;
pub use recorder::{Aggregate, Recorder};
pub use result::RunResult;
pub use sample::{
    CheckId, ErrorClass, Failure, Outcome, RateLimitHeaders, Sample, StatusKey, TxnSample,
};
pub use text::plural;
pub use tick::Tick;
