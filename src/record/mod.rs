//! Measurement: samples ([`sample`]), HDR histograms ([`hist`]), the sharded recorder and its
//! aggregate ([`recorder`]), the result file ([`result`]), and distributed runs: a segment's
//! record ([`distributed`]) and the exact merge of N segments into one result ([`merge`]).

pub mod distributed;
pub mod hist;
pub mod limit_key;
pub mod merge;
pub mod recorder;
pub mod result;
pub mod sample;
pub mod samples;

pub use hist::Hist;
pub use recorder::{Aggregate, Recorder};
pub use result::RunResult;
pub use sample::{ErrorClass, Outcome, RateLimitHeaders, Sample, StatusKey};
