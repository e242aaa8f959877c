//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! # Layout
//! - `mock`: the built-in Genesys Cloud Architect mock server (router, state, limit models, latency, faults).

pub mod mock;
