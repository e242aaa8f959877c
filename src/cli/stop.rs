//! How `surge run` and `surge sweep` stop on a signal. Ctrl-C or SIGTERM (what CI runners and
//! Kubernetes send on cancel) stops the run: no new requests, a short grace for those in flight,
//! then the result and reports are written, marked partial (exit 3). A second signal stops at
//! once: requests in flight are cancelled and recorded as such, and what was measured is still
//! written. A third quits without writing (exit 130), for a disk that hangs.
//!
//! Before the load starts (checking the scenario, reading its files, fetching a token, waiting
//! for `--start-at`) nothing has been measured, so the first signal ends the process at once
//! (exit 2, "nothing was sent"), whatever it is blocked on. The signals are received on a thread
//! of their own, so a blocking read (a FIFO) cannot keep them waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::exit;

/// The two levels of stopping a run takes: `graceful` (the first signal) and `now` (the second).
#[derive(Debug, Clone, Default)]
pub struct Stops {
    /// Stop issuing, let requests in flight finish within the grace, write the result.
    pub graceful: CancellationToken,
    /// Cancel requests in flight at once, write the result.
    pub now: CancellationToken,
    /// Set when the first request may go: before, a signal ends the process at once.
    pub load_started: Arc<AtomicBool>,
}

impl Stops {
    /// Stops that only `graceful` fires (tests cancel it to simulate Ctrl-C).
    pub fn from_cancel(graceful: CancellationToken) -> Stops {
        Stops {
            graceful,
            now: CancellationToken::new(),
            load_started: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Listens for Ctrl-C and SIGTERM for the rest of the process (on a thread of its own) and
    /// fires the stops, one level per signal, saying on stderr what each does.
    pub fn listen(&self) {
        let stops = self.clone();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("surge-signals".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let Ok(rt) = rt else {
                    let _ = ready_tx.send(false);
                    return;
                };
                rt.block_on(async move {
                    let Some(mut signals) = Signals::new() else {
                        let _ = ready_tx.send(false);
                        return;
                    };
                    let _ = ready_tx.send(true);
                    let mut n = 0;
                    while let Some(sig) = signals.next().await {
                        n += 1;
                        stops.on_signal(n, sig);
                    }
                });
            });
        // Registered before returning, so no signal falls between this and the work.
        if spawned.is_err() || ready.recv() != Ok(true) {
            eprintln!("warning: cannot listen for Ctrl-C and SIGTERM: they end surge at once");
        }
    }

    /// The `n`th signal, `sig`.
    fn on_signal(&self, n: u32, sig: &str) {
        if !self.load_started.load(Ordering::SeqCst) {
            eprintln!("\ncancelled ({sig}) before the load started; nothing was sent");
            std::process::exit(exit::USAGE);
        }
        match n {
            1 => {
                eprintln!("\nstopping ({sig}): waiting briefly for requests in flight, then writing the result; {sig} again stops at once");
                self.graceful.cancel();
            }
            2 => {
                eprintln!("\nstopping now ({sig}): cancelling requests in flight and writing what was measured; once more quits without writing");
                self.graceful.cancel();
                self.now.cancel();
            }
            _ => {
                eprintln!("\nquitting ({sig}) without writing the result");
                std::process::exit(130);
            }
        }
    }
}

/// Ctrl-C and (on Unix) SIGTERM, registered once so that no signal falls between two waits.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Option<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Some(Signals {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Signals {})
        }
    }

    /// The next signal's name; None when signals can no longer be received.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                r = self.int.recv() => r.map(|()| "Ctrl-C"),
                r = self.term.recv() => r.map(|()| "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
        }
    }
}
