//! One user's own connection, kept between its requests (HTTP/1.1 keep-alive or one HTTP/2
//! connection), as a JMeter thread keeps its own. An HTTP/1.1 connection is driven on the
//! user's own task while it waits (no second task, no cross-thread wake-up per request); an
//! HTTP/2 connection runs on a task hyper spawns beside the user, on the same runtime.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::classify::classify_hyper;
use super::dial::Io;
use super::http::Route;
use crate::record::ErrorClass;

type H1Conn = http1::Connection<TokioIo<Io>, Full<Bytes>>;

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

/// An open connection and the route it serves.
pub(super) struct Live {
    route: Arc<Route>,
    kind: Kind,
    /// A request was started and did not finish (its future was dropped): the connection's
    /// state is unknown, so it is not reused.
    busy: bool,
}

enum Kind {
    H1 {
        tx: http1::SendRequest<Full<Bytes>>,
        conn: Pin<Box<H1Conn>>,
        done: bool,
    },
    H2 {
        tx: http2::SendRequest<Full<Bytes>>,
    },
}

/// How sending on a connection failed.
pub(super) enum SendError {
    /// Nothing was written: the connection had closed before (safe to send again elsewhere).
    NotSent(Box<hyper::Request<Full<Bytes>>>),
    /// Failed after (possibly) writing: the request's outcome.
    Failed(ErrorClass),
}

impl HttpConn {
    /// The open connection for `route`, when one is open, idle and still usable.
    pub(super) async fn reusable(&mut self, route: &Arc<Route>) -> Option<&mut Live> {
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

    /// The open connection.
    pub(super) fn live(&mut self) -> Option<&mut Live> {
        self.live.as_mut()
    }
}

impl Live {
    /// Handshakes HTTP/2 or HTTP/1.1 over `io`.
    pub(super) async fn handshake(route: Arc<Route>, io: Io, h2: bool) -> Result<Live, ErrorClass> {
        let io = TokioIo::new(io);
        let kind = if h2 {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                .handshake(io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Kind::H2 { tx }
        } else {
            let (tx, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            Kind::H1 {
                tx,
                conn: Box::pin(conn),
                done: false,
            }
        };
        Ok(Live {
            route,
            kind,
            busy: false,
        })
    }

    /// True for HTTP/2.
    pub(super) fn is_h2(&self) -> bool {
        matches!(self.kind, Kind::H2 { .. })
    }

    /// Polls the connection once (so a close by the server is seen) and says whether a
    /// request can go on it now.
    async fn ready(&mut self) -> bool {
        match &mut self.kind {
            Kind::H1 { tx, conn, done } => {
                if !*done {
                    poll_fn(|cx| {
                        if conn.as_mut().poll(cx).is_ready() {
                            *done = true;
                        }
                        Poll::Ready(())
                    })
                    .await;
                }
                !*done && tx.is_ready()
            }
            Kind::H2 { tx } => !tx.is_closed() && tx.ready().await.is_ok(),
        }
    }

    /// Marks a request started (`true`) or finished (`false`).
    pub(super) fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
    }

    /// Sends `req` and waits for the response head.
    pub(super) async fn send(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<Incoming>, SendError> {
        let sent = match &mut self.kind {
            Kind::H1 { tx, conn, done } => {
                let fut = tx.try_send_request(req);
                drive(conn, done, fut).await
            }
            Kind::H2 { tx } => tx.try_send_request(req).await,
        };
        sent.map_err(|mut e| match e.take_message() {
            Some(req) => SendError::NotSent(Box::new(req)),
            None => SendError::Failed(classify_hyper(e.error())),
        })
    }

    /// Reads the next frame of a response body from this connection.
    pub(super) async fn frame(
        &mut self,
        body: &mut Incoming,
    ) -> Option<Result<hyper::body::Frame<Bytes>, hyper::Error>> {
        use http_body_util::BodyExt as _;
        match &mut self.kind {
            Kind::H1 { conn, done, .. } => drive(conn, done, body.frame()).await,
            Kind::H2 { .. } => body.frame().await,
        }
    }
}

/// Polls `fut` while driving the HTTP/1.1 connection on this same task: the connection writes
/// the request and reads the response that `fut` waits for.
async fn drive<F: Future>(conn: &mut Pin<Box<H1Conn>>, done: &mut bool, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        if *done {
            return Poll::Pending;
        }
        if conn.as_mut().poll(cx).is_ready() {
            *done = true;
        }
        fut.as_mut().poll(cx)
    })
    .await
}
