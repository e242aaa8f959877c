//! What a run counts as it goes ([`Counters`]): attempts issued under `max_requests`, iterations
//! begun, arrivals dropped for want of a free user, and users active now.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The run's counters, shared by every user.
pub(crate) struct Counters {
    /// Attempts issued (equals attempts recorded).
    issued: AtomicU64,
    /// At most this many attempts (`u64::MAX`: no cap).
    max_requests: u64,
    /// Iterations begun.
    iterations: AtomicU64,
    /// Arrivals that found no free user and none left to start (open model).
    dropped: AtomicU64,
    /// Users running an iteration (or, closed model, started and not yet done).
    active: AtomicU32,
}

impl Counters {
    /// Counters from zero, issuing at most `max_requests` attempts.
    pub(crate) fn new(max_requests: u64) -> Counters {
        Counters {
            issued: AtomicU64::new(0),
            max_requests,
            iterations: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            active: AtomicU32::new(0),
        }
    }

    /// Takes one request slot under `max_requests`; false when none is left.
    pub(crate) fn take_slot(&self) -> bool {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if n >= self.max_requests {
            self.issued.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Returns a slot taken for an attempt that was never sent.
    pub(crate) fn give_back_slot(&self) {
        self.issued.fetch_sub(1, Ordering::Relaxed);
    }

    /// A user begins an iteration.
    pub(crate) fn iteration_begun(&self) {
        self.iterations.fetch_add(1, Ordering::Relaxed);
    }

    /// An arrival found no user to run it.
    pub(crate) fn arrival_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// A user became active (`+1`) or idle/stopped (`-1`).
    pub(crate) fn user_event(&self, delta: i32) {
        if delta > 0 {
            self.active.fetch_add(1, Ordering::Relaxed);
        } else {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Users active now.
    pub(crate) fn active(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// Attempts issued so far.
    pub(crate) fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Iterations begun so far.
    pub(crate) fn iterations(&self) -> u64 {
        self.iterations.load(Ordering::Relaxed)
    }

    /// Arrivals dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
