//! How `surge run` and `surge sweep` stop on a signal. Ctrl-C or SIGTERM (what CI runners and
//! Kubernetes send on cancel) stops the run: no new requests, a short grace for those in flight,
//! then the result and reports are written, marked partial (exit 3). A second signal stops at
//! once: requests in flight are cancelled and recorded as such, and what was measured is still
//! written. A third quits without writing (exit 130), for a disk that hangs.

use tokio_util::sync::CancellationToken;

/// The two levels of stopping a run takes: `graceful` (the first signal) and `now` (the second).
#[derive(Debug, Clone, Default)]
pub struct Stops {
    /// Stop issuing, let requests in flight finish within the grace, write the result.
    pub graceful: CancellationToken,
    /// Cancel requests in flight at once, write the result.
    pub now: CancellationToken,
}

impl Stops {
    /// Stops that only `graceful` fires (tests cancel it to simulate Ctrl-C).
    pub fn from_cancel(graceful: CancellationToken) -> Stops {
        Stops {
            graceful,
            now: CancellationToken::new(),
        }
    }

    /// Listens for Ctrl-C and SIGTERM for the rest of the process and fires the stops, one
    /// level per signal, saying on stderr what each does.
    pub fn listen(&self) {
        let stops = self.clone();
        let Some(mut signals) = Signals::new() else {
            return;
        };
        tokio::spawn(async move {
            let mut n = 0;
            while let Some(sig) = signals.next().await {
                n += 1;
                match n {
                    1 => {
                        eprintln!("\nstopping ({sig}): waiting briefly for requests in flight, then writing the result; {sig} again stops at once");
                        stops.graceful.cancel();
                    }
                    2 => {
                        eprintln!("\nstopping now ({sig}): cancelling requests in flight and writing what was measured; once more quits without writing");
                        stops.graceful.cancel();
                        stops.now.cancel();
                    }
                    _ => {
                        eprintln!("\nquitting ({sig}) without writing the result");
                        std::process::exit(130);
                    }
                }
            }
        });
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
