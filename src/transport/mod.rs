//! Transports: how a request reaches the server. [`http::HttpTransport`] sends it over TCP
//! with reqwest (rustls, keep-alive pool, HTTP/1.1 and HTTP/2); the executor is generic over
//! [`Transport`], so an in-process transport can call the mock's router directly.
//! [`auth`] supplies bearer tokens; [`headers`] reads the throttling headers.

pub mod auth;
pub mod headers;
pub mod http;
pub mod inprocess;

use std::future::Future;

use bytes::Bytes;
use tokio::time::Instant;

use crate::record::{ErrorClass, RateLimitHeaders};

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
        n + self.body.as_ref().map_or(0, |b| b.len() + 20)
    }
}

/// What came back.
#[derive(Debug, Clone, Copy)]
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
        }
    }
}

/// Sends requests. Implementations never panic on a failure: every failure is an
/// [`Exchange`] with an error class.
pub trait Transport: Send + Sync + 'static {
    /// Sends one request and reads the whole response.
    fn send(&self, req: OutRequest<'_>) -> impl Future<Output = Exchange> + Send;
}
