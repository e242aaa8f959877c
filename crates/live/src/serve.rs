//! The live server: `/metrics` (and the live page, where asked) on one address, served by axum
//! on the run's own runtime. It opens on loopback unless the user names another address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::{metrics, page};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours to bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Reads a listen address as a user writes it: `HOST:PORT`, `:PORT` or `PORT` (both on
/// 127.0.0.1). Any other host than loopback must be written out.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let port_only = s.strip_prefix(':').unwrap_or(s);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    s.parse::<SocketAddr>().map_err(|_| {
        format!(
            "{s:?} is not a listen address (HOST:PORT with an IP address, or PORT for 127.0.0.1)"
        )
    })
}

/// A running server; [`Server::stop`] ends it.
#[derive(Debug)]
pub struct Server {
    /// Where it listens (the port the system chose, when asked for port 0).
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `router` on `addr`.
    async fn start(addr: SocketAddr, router: Router) -> Result<Server, ServeError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Ok(Server { addr, stop, task })
    }

    /// Serves `/metrics` from `hub` on `addr`.
    ///
    /// # Errors
    /// [`ServeError::Bind`] when the address cannot be listened on.
    pub async fn metrics(addr: SocketAddr, hub: Arc<Hub>) -> Result<Server, ServeError> {
        Server::start(addr, metrics_router(hub)).await
    }

    /// Serves the live page, its feed and `/metrics` from `hub` on `addr`.
    ///
    /// # Errors
    /// [`ServeError::Bind`] when the address cannot be listened on.
    pub async fn live(addr: SocketAddr, hub: Arc<Hub>) -> Result<Server, ServeError> {
        let router = page::router(Arc::clone(&hub)).merge(metrics_router(hub));
        Server::start(addr, router).await
    }

    /// Stops listening and waits (at most 2 s) for the requests being answered; a page still
    /// connected after that is cut.
    pub async fn stop(self) {
        self.stop.cancel();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(2), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// `GET /metrics`.
fn metrics_router(hub: Arc<Hub>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let hub = Arc::clone(&hub);
            async move {
                (
                    [(CONTENT_TYPE, metrics::CONTENT_TYPE)],
                    metrics::render(&hub),
                )
            }
        }),
    )
}
