//! Analyses computed from a [`crate::record::RunResult`]: the 429 diagnosis ([`diagnosis`]).

pub mod diagnosis;
