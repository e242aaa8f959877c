//! One user's own connection, kept between its requests (HTTP/1.1 keep-alive or one HTTP/2
//! connection), as a JMeter thread keeps its own. HTTP/1.1 is spoken on the user's own task by
//! `h1` (no second task, no channel, no cross-thread wake-up per request); an HTTP/2
//! connection runs on a task hyper spawns beside the user, on the same runtime.

use std::sync::Arc;
use std::time::Duration;

use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;

use super::classify::classify_hyper;
use super::dial::Io;
use super::h1::H1;
use super::http::Route;
use surge_record::ErrorClass;

/// A user's connection state: empty until its first request.
#[derive(Default)]
pub struct HttpConn {
    live: Option<Live>,
}

impl std::fmt::Debug for HttpConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConn")
            .field("open", &self.live.is_some())
            .finish()
    }
}

/// After this long idle, a kept HTTP/1.1 connection is checked with a system call before it is
/// used again (a server closes idle connections: nginx after 75 s, load balancers sooner).
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// An open connection and the route it serves.
pub(super) struct Live {
    route: Arc<Route>,
    pub(super) kind: Kind,
    /// A request was started and did not finish (its future was dropped): the connection's
    /// state is unknown, so it is not reused.
    busy: bool,
    /// When the last exchange on it ended.
    idle_since: Instant,
}

/// The protocol spoken on a connection.
pub(super) enum Kind {
    /// HTTP/1.1, on the user's task.
    H1(H1<Io>),
    /// HTTP/2, driven by a task of its own.
    H2(http2::SendRequest<super::http::H2Body>),
}

impl HttpConn {
    /// The open connection for `route`, when one is open, idle and still usable; a connection
    /// that is not is closed.
    pub(super) async fn reusable(&mut self, route: &Route) -> Option<&mut Live> {
        let ok = match self.live.as_mut() {
            None => false,
            Some(l) if l.busy || !l.route.same(route) => false,
            Some(l) => l.ready().await,
        };
        if !ok {
            self.live = None;
        }
        self.live.as_mut()
    }

    /// Keeps `live` as this user's connection.
    pub(super) fn keep(&mut self, live: Live) -> &mut Live {
        self.live.insert(live)
    }

    /// Closes the connection (after a failure, a timeout, or with keep-alive off).
    pub(super) fn close(&mut self) {
        self.live = None;
    }
}

impl Live {
    /// Starts HTTP/2 (its handshake) or HTTP/1.1 (nothing to exchange yet) over `io`.
    pub(super) async fn handshake(route: Arc<Route>, io: Io, h2: bool) -> Result<Live, ErrorClass> {
        let kind = if h2 {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                .handshake(TokioIo::new(io))
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Kind::H2(tx)
        } else {
            Kind::H1(H1::new(io))
        };
        Ok(Live {
            route,
            kind,
            busy: false,
            idle_since: Instant::now(),
        })
    }

    /// Says whether a request can go on this connection now (a close by the server seen): what
    /// the runtime knows of the socket, and after an idle second what the socket itself says.
    async fn ready(&mut self) -> bool {
        match &mut self.kind {
            Kind::H1(h1) => {
                h1.idle_ok().await
                    && (self.idle_since.elapsed() < CHECK_AFTER_IDLE || h1.io().peer_open())
            }
            Kind::H2(tx) => !tx.is_closed() && tx.ready().await.is_ok(),
        }
    }

    /// Marks a request started (`true`) or finished (`false`).
    pub(super) fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
        if !busy {
            self.idle_since = Instant::now();
        }
    }
}
