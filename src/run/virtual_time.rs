//! Virtual time: the built-in mock called in-process on tokio's paused clock, in a runtime of
//! its own thread (one thread: timers fire in a fixed order, so a seed gives the same run
//! twice). `surge run --simulate` and `surge probe --simulate` both run here.

use std::future::Future;
use std::time::Duration;

use super::RunError;
use surge_mock::{MockConfig, MockState};
use surge_transport::auth::Credentials;
use surge_transport::inprocess::InProcess;

/// The mock as a simulated run reaches it.
pub(crate) struct SimMock {
    /// Its state (its own counts are read from it).
    pub state: MockState,
    /// Requests call its router in-process.
    pub transport: InProcess,
    /// Its first client: the credentials a run logs in with.
    pub creds: Option<Credentials>,
    /// The URL requests are written to (never resolved).
    pub url: String,
}

impl SimMock {
    /// A mock of `cfg`, its requests bounded by `timeout` (on the paused clock).
    pub fn new(cfg: MockConfig, timeout: Duration) -> SimMock {
        let creds = cfg.clients.first().map(|c| Credentials {
            client_id: c.id.clone(),
            client_secret: c.secret.clone(),
        });
        let state = MockState::new(cfg);
        SimMock {
            transport: InProcess::new(surge_mock::router(state.clone()), timeout),
            state,
            creds,
            url: "http://mock.invalid".to_string(),
        }
    }
}

/// Runs `work` on a paused-clock runtime in a thread named `name`, and waits for its result.
pub(crate) async fn run<R, F, Fut>(name: &str, work: F) -> Result<R, RunError>
where
    R: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<R, RunError>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(RunError::Io(format!("simulation runtime: {e}"))));
                    return;
                }
            };
            let _ = tx.send(rt.block_on(work()));
        })
        .map_err(|e| RunError::Io(format!("simulation thread: {e}")))?;
    rx.await
        .map_err(|_| RunError::Io("the simulation thread ended without a result".into()))?
}
