//! Measurement: samples ([`sample`]), HDR histograms ([`hist`]), the sharded recorder and its
//! aggregate ([`recorder`]), and the result file ([`result`]).

pub mod hist;
pub mod limit_key;
pub mod recorder;
pub mod result;
pub mod sample;
pub mod samples;

pub use hist::Hist;
pub use recorder::{Aggregate, Recorder};
pub use result::RunResult;
pub use sample::{ErrorClass, Outcome, RateLimitHeaders, Sample, StatusKey};
