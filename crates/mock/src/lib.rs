//! surge-mock: the built-in Genesys Cloud Architect mock: the flow API, its login service and its
//! rate-limit models, served over TCP by [`MockServer`] or called in-process through [`router`].
//! See `crates/mock/README.md` for every modelling choice and the calibration of the `seed`
//! preset.
//!
//! A wing of its own: it depends on `surge-record` only (durations, wording, the preset's name),
//! so it can be served alone (`surge mock`) and stands for the real API in every test. See
//! `ARCHITECTURE.md` at the repository's root.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use surge_mock::{MockConfig, MockServer, Preset};
//! let server = MockServer::start(MockConfig::preset(Preset::Seed), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{} {} {}", server.url(), server.client_id(), server.client_secret());
//! let stats = server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod calibration;
pub mod config;
mod errors;
mod flows_api;
pub mod flows_store;
pub mod limits;
mod misc_api;
pub mod random;
mod router;
mod state;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_limits;

pub use config::{MockConfig, Preset};
pub use router::{router, MockFault, PRESET_HEADER};
pub use state::{MockState, MockStats, ROUTES};

use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The mock, served over TCP until [`MockServer::shutdown`] (or drop, which stops it too).
pub struct MockServer {
    state: MockState,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockServer {
    /// Binds `addr` (port 0 picks a free one) and serves in a background task.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(cfg: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = MockState::new(cfg);
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        Ok(MockServer {
            state,
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first configured client's id.
    pub fn client_id(&self) -> &str {
        self.state
            .cfg()
            .clients
            .first()
            .map_or("", |c| c.id.as_str())
    }

    /// The first configured client's secret.
    pub fn client_secret(&self) -> &str {
        self.state
            .cfg()
            .clients
            .first()
            .map_or("", |c| c.secret.as_str())
    }

    pub fn state(&self) -> &MockState {
        &self.state
    }

    /// The same data as `GET /mock/stats`.
    pub fn stats(&self) -> MockStats {
        self.state.stats()
    }

    /// Stops accepting, lets open connections finish (bounded: 5 s), and answers the final stats.
    pub async fn shutdown(mut self) -> MockStats {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.state.stats()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The initial flows' ids and names as CSV with the header `flow_id,flow_name` (what
/// `surge mock --export-flow-ids FILE` writes); deterministic for a seed and flow count.
pub fn flow_ids_csv(cfg: &MockConfig) -> String {
    let mut s = String::from("flow_id,flow_name\n");
    for n in 1..=cfg.flows {
        s += &format!(
            "{},{}\n",
            flows_store::flow_id(cfg.seed, n),
            flows_store::flow_name(n)
        );
    }
    s
}

/// Writes [`flow_ids_csv`] to `path`.
///
/// # Errors
/// The file cannot be written.
pub fn write_flow_ids_csv(cfg: &MockConfig, path: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(path, flow_ids_csv(cfg))
}
