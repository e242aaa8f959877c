//! How a run stops ([`Stops`]): the stop that ends issuing, the abort that cancels requests in
//! flight, the same pair for the teardown groups (apart, so that teardown runs after the run's
//! stop), and the reason the run gives for stopping.

use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use surge_plan::Phase;
use surge_record::StopReason;

/// The run's stop signals and its stop reason.
pub(crate) struct Stops {
    /// Ends issuing: no group starts or goes on after it.
    stop: CancellationToken,
    /// Cancels what is in flight (after the grace).
    abort: CancellationToken,
    /// Stops the teardown groups (a cancel), apart from the run's stop.
    teardown_stop: CancellationToken,
    /// Cancels what teardown users have in flight after the grace.
    teardown_abort: CancellationToken,
    /// Why the run stopped; None while it runs (and when it completes).
    reason: Mutex<Option<StopReason>>,
}

impl Stops {
    pub(crate) fn new() -> Stops {
        Stops {
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            teardown_stop: CancellationToken::new(),
            teardown_abort: CancellationToken::new(),
            reason: Mutex::new(None),
        }
    }

    /// Stops the run for `reason`.
    pub(crate) fn stop_with(&self, reason: StopReason) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        // The first reason wins, but a failure of surge itself is always said.
        if r.is_none() || reason.is_failed() && !r.as_ref().is_some_and(StopReason::is_failed) {
            *r = Some(reason);
        }
        drop(r);
        self.stop.cancel();
    }

    /// A user task ended by a panic (or was cancelled from outside): the run stops and fails
    /// loudly (stop reason `failed: …`, exit 1), keeping everything already recorded.
    pub(crate) fn task_died(&self, what: &str, e: tokio::task::JoinError) {
        let why = match e.try_into_panic() {
            Ok(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("{what} panicked: {msg}")
            }
            Err(_) => format!("{what} was cancelled"),
        };
        self.stop_with(StopReason::Failed(why));
        self.abort.cancel();
    }

    /// True once the run stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when the run stops.
    pub(crate) async fn stopped(&self) {
        self.stop.cancelled().await
    }

    /// The stop and the abort of `phase`'s groups: the teardown's own pair, or the run's.
    fn pair(&self, phase: Phase) -> (&CancellationToken, &CancellationToken) {
        if phase == Phase::Teardown {
            (&self.teardown_stop, &self.teardown_abort)
        } else {
            (&self.stop, &self.abort)
        }
    }

    /// The stop and the abort of `phase`'s groups, to hold while they run.
    pub(crate) fn of_phase(&self, phase: Phase) -> (CancellationToken, CancellationToken) {
        let (stop, abort) = self.pair(phase);
        (stop.clone(), abort.clone())
    }

    /// A group's own stop, under its phase's.
    pub(crate) fn for_group(&self, phase: Phase) -> CancellationToken {
        self.pair(phase).0.child_token()
    }

    /// A user's own abort, under its phase's: waiting on it per request touches no state shared
    /// with other users.
    pub(crate) fn for_user(&self, phase: Phase) -> CancellationToken {
        self.pair(phase).1.child_token()
    }

    /// Why the run stopped so far.
    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the run stopped, taken at its end (completed when nothing stopped it).
    pub(crate) fn take_reason(&self) -> StopReason {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}
