//! Measurement: samples ([`sample`]), HDR histograms ([`hist`]), the sharded recorder and its
//! aggregate ([`recorder`]), the live per-second snapshot ([`tick`]), the result file ([`result`],
//! with how the run ended and what it was asked to do in [`meta`]), and distributed runs: a
//! segment's record ([`distributed`]) and the exact merge of N segments into one result ([`merge`]).
//!
//! Plain data and its bookkeeping, at the bottom of the house: `record` imports no other module
//! of surge but the foundations beneath it (`duration`, `limits`, which import nothing), not
//! `scenario`, `engine`, `analysis`, `report` or `cli`; they all read it.

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
