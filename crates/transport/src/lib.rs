//! surge-transport: how a request reaches the server. [`http::HttpTransport`] sends it over TCP,
//! each user on its own connection ([`conn`]: surge's HTTP/1.1 client, hyper for HTTP/2, rustls),
//! through a forward proxy when one applies ([`proxy`]), trusting the system's roots and the
//! scenario's CA ([`tls`]); the executor is generic over [`Transport`], so the in-process transport
//! ([`inprocess`]) can call the mock's router directly. [`auth`] supplies credentials; [`headers`]
//! reads the throttling headers; [`classify`] names why a request got no response.
//!
//! Owns how one request is sent and what of its answer is kept. Depends on `surge-record`,
//! `surge-plan` (target settings) and `surge-mock` (the in-process router); never on the engine,
//! analysis or report. See `ARCHITECTURE.md` at the repository's root.

pub mod auth;
pub mod classify;
pub mod conn;
mod dial;
pub mod digest;
mod h1;
pub mod headers;
pub mod http;
pub mod inprocess;
pub mod proxy;
pub mod streamed;
pub mod tls;

use std::future::Future;

use bytes::Bytes;
use tokio::time::Instant;

use surge_record::{ErrorClass, RateLimitHeaders};

/// A request, ready to send.
#[derive(Debug)]
pub struct OutRequest<'a> {
    /// Method.
    pub method: &'a ::http::Method,
    /// Absolute URL.
    pub url: &'a str,
    /// Extra headers.
    pub headers: &'a [(::http::HeaderName, ::http::HeaderValue)],
    /// `Authorization` value, when the plan authenticates.
    pub authorization: Option<::http::HeaderValue>,
    /// Body.
    pub body: Option<Bytes>,
    /// A body sent in pieces read as they go (a multipart upload), instead of `body`.
    pub streamed: Option<streamed::Streamed>,
    /// What of the answer the caller needs beyond the status and timings (extractors and
    /// assertions read it). The default captures nothing, so a plain request reads and drops
    /// its body as it arrives.
    pub capture: Capture,
}

/// What of a response a transport keeps for the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capture {
    /// Keep the body, up to this many bytes (the rest is read and counted, not kept).
    pub body_limit: Option<usize>,
    /// Keep the response headers.
    pub headers: bool,
    /// Keep the `Set-Cookie` values (for the user's cookie jar); nothing is kept, and nothing
    /// allocated, when the answer sets none.
    pub cookies: bool,
}

impl Capture {
    /// Nothing beyond status and timings.
    pub const NONE: Capture = Capture {
        body_limit: None,
        headers: false,
        cookies: false,
    };

    /// True when nothing is to be kept.
    pub fn is_none(&self) -> bool {
        self.body_limit.is_none() && !self.headers && !self.cookies
    }
}

/// The parts of an answer kept because the request asked for them ([`Capture`]).
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The body (up to the limit asked for), when asked.
    pub body: Option<Bytes>,
    /// True when the body was longer than the limit and was cut.
    pub body_truncated: bool,
    /// The response headers, when asked.
    pub headers: Option<::http::HeaderMap>,
    /// The `Set-Cookie` values, when asked.
    pub set_cookies: Vec<::http::HeaderValue>,
}

/// The `Set-Cookie` values of `headers`, when `capture` asks for them.
pub(crate) fn set_cookies_of(
    capture: Capture,
    headers: &::http::HeaderMap,
) -> Vec<::http::HeaderValue> {
    if !capture.cookies {
        return Vec::new();
    }
    headers
        .get_all(::http::header::SET_COOKIE)
        .iter()
        .cloned()
        .collect()
}

impl Captured {
    /// Keeps what `capture` asks for of a complete answer (the same rule as a streamed body's,
    /// `BodyKeeper`).
    pub fn keep(
        capture: Capture,
        headers: &::http::HeaderMap,
        body: &Bytes,
    ) -> Option<Box<Captured>> {
        let mut k = BodyKeeper::new(0, capture);
        k.push(body);
        k.finish(|| Some(headers.clone()), set_cookies_of(capture, headers))
            .1
    }
}

/// A 429's body is read up to this many bytes for the limit it names.
pub const THROTTLED_BODY_LIMIT: usize = 16 * 1024;

/// Keeps what a response's body must give as it streams by: the part the caller asked for
/// ([`Capture::body_limit`]) and a 429's first 16 KiB for the limit it names. Holds nothing for
/// a plain request that is not throttled.
#[derive(Debug)]
pub(crate) struct BodyKeeper {
    status: u16,
    capture: Capture,
    limit: usize,
    kept: Option<Vec<u8>>,
    cut: bool,
}

impl BodyKeeper {
    /// For a response with `status` to a request that asked for `capture`.
    pub(crate) fn new(status: u16, capture: Capture) -> BodyKeeper {
        let limit = match (status == 429, capture.body_limit) {
            (true, asked) => Some(asked.unwrap_or(0).max(THROTTLED_BODY_LIMIT)),
            (false, asked) => asked,
        };
        BodyKeeper {
            status,
            capture,
            limit: limit.unwrap_or(0),
            kept: limit.map(|_| Vec::new()),
            cut: false,
        }
    }

    /// One piece of the body.
    #[inline]
    pub(crate) fn push(&mut self, data: &[u8]) {
        if let Some(k) = self.kept.as_mut() {
            let room = self.limit.saturating_sub(k.len());
            self.cut |= data.len() > room;
            k.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    /// The limit a 429's body names, and what the caller asked to keep (`headers`: the
    /// response's, when it asked for them; `set_cookies`: its `Set-Cookie` values, when asked).
    pub(crate) fn finish(
        self,
        headers: impl FnOnce() -> Option<::http::HeaderMap>,
        set_cookies: Vec<::http::HeaderValue>,
    ) -> (Option<u16>, Option<Box<Captured>>) {
        let limit_key = (self.status == 429)
            .then(|| {
                self.kept
                    .as_deref()
                    .and_then(surge_record::limit_key::from_body)
            })
            .flatten();
        let only_cookies = Capture {
            cookies: false,
            ..self.capture
        }
        .is_none();
        if self.capture.is_none() || (only_cookies && set_cookies.is_empty()) {
            return (limit_key, None);
        }
        let (body, body_truncated) = match (self.capture.body_limit, self.kept) {
            (Some(asked), Some(k)) if k.len() > asked => {
                (Some(Bytes::from(k).slice(..asked)), true)
            }
            (Some(_), Some(k)) => (Some(Bytes::from(k)), self.cut),
            _ => (None, false),
        };
        let headers = if self.capture.headers {
            headers()
        } else {
            None
        };
        (
            limit_key,
            Some(Box::new(Captured {
                body,
                body_truncated,
                headers,
                set_cookies,
            })),
        )
    }
}

impl OutRequest<'_> {
    /// Approximate bytes on the wire: request line, headers and body.
    pub fn wire_len(&self) -> usize {
        let mut n = self.method.as_str().len() + self.url.len() + 12;
        for (k, v) in self.headers {
            n += k.as_str().len() + v.len() + 4;
        }
        if let Some(a) = &self.authorization {
            n += 15 + a.len() + 4;
        }
        let streamed = self.streamed.as_ref().map_or(0, |s| {
            usize::try_from(s.len())
                .unwrap_or(usize::MAX)
                .saturating_add(20)
        });
        (n + self.body.as_ref().map_or(0, |b| b.len() + 20)).saturating_add(streamed)
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Status code, or why there was none.
    pub status: Result<u16, ErrorClass>,
    /// When the response headers arrived.
    pub ttfb: Instant,
    /// When the body was read.
    pub end: Instant,
    /// Bytes received (status line, headers, body).
    pub bytes_in: u32,
    /// Bytes sent.
    pub bytes_out: u32,
    /// Parsed `Retry-After`, ms.
    pub retry_after_ms: Option<u32>,
    /// `inin-ratelimit-*` headers.
    pub rate_limit: Option<RateLimitHeaders>,
    /// The limit a 429 body named (a `record::limit_key` id).
    pub limit_key: Option<u16>,
    /// What the request asked to keep of the answer ([`OutRequest::capture`]); `None` when it
    /// asked for nothing or no answer came.
    pub captured: Option<Box<Captured>>,
}

impl Exchange {
    /// A request that got no response: `class` says why; times are now.
    pub fn failed(class: ErrorClass, bytes_out: u32) -> Exchange {
        let now = Instant::now();
        Exchange {
            status: Err(class),
            ttfb: now,
            end: now,
            bytes_in: 0,
            bytes_out,
            retry_after_ms: None,
            rate_limit: None,
            limit_key: None,
            captured: None,
        }
    }
}

/// True when an I/O error says this machine ran out of something a request needs, not that the
/// server failed: open files (EMFILE, ENFILE), local ports or addresses (EADDRNOTAVAIL), buffer
/// space (ENOBUFS) or memory (ENOMEM). Every transport classifies these as
/// [`ErrorClass::Resource`], so the engine backs off instead of spinning.
pub fn is_resource_error(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        return matches!(
            code,
            libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS | libc::ENOMEM
        );
    }
    matches!(
        e.kind(),
        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::OutOfMemory
    )
}

/// Sends requests. Implementations never panic on a failure: every failure is an
/// [`Exchange`] with an error class.
pub trait Transport: Send + Sync + 'static {
    /// What one user keeps between its requests: its own connection, opened on its first
    /// request (`()` for a transport without connections).
    type Conn: Send + 'static;

    /// A new user's state. Cheap: no I/O happens until its first request.
    fn conn(&self) -> Self::Conn;

    /// Sends one request on the user's `conn` and reads the whole response.
    fn send(
        &self,
        conn: &mut Self::Conn,
        req: OutRequest<'_>,
    ) -> impl Future<Output = Exchange> + Send;
}
