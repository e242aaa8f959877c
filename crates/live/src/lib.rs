//! surge-live: a run seen while it runs. The [`Hub`] is fed once a second by the run's tick
//! (the recorder's live aggregate: every cell with its histograms so far) and once at the end
//! by the result itself, so the last values it serves are `result.json`'s. Readers (a
//! Prometheus scrape of [`metrics`], the live page) read the hub; the hot path never sees them.
//!
//! Depends on `surge-record` only: it serves numbers the recorder already has and computes no
//! fact of its own. See `ARCHITECTURE.md` at the repository's root.

pub mod hub;
pub mod metrics;
pub mod page;
pub mod serve;

pub use hub::{Hub, RunInfo, Snapshot};
pub use serve::{parse_addr, Server};
