//! surge: a load-testing harness for REST APIs that throttle with HTTP 429.
//!
//! # Layout
//! (filled in as modules land)
