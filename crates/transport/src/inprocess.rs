//! The in-process transport: requests go straight to the mock's axum router (no socket), so a
//! run can use tokio's paused clock (`surge run --simulate`). The same engine, the same mock
//! code, the same result format.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::HeaderValue;
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::auth::TokenFetch;
use super::headers::{parse_rate_limit, parse_retry_after};
use super::{Captured, Exchange, OutRequest, Transport};
use surge_mock::MockFault;
use surge_record::ErrorClass;

/// Calls a router in-process, with the plan's request timeout (on tokio's clock).
#[derive(Clone)]
pub struct InProcess {
    router: axum::Router,
    timeout: Duration,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// A transport to `router`.
    pub fn new(router: axum::Router, timeout: Duration) -> InProcess {
        InProcess { router, timeout }
    }

    async fn call(
        &self,
        req: http::Request<axum::body::Body>,
    ) -> Result<(http::response::Parts, Instant, Bytes), ErrorClass> {
        let router = self.router.clone();
        let work = async move {
            let resp = router.oneshot(req).await.map_err(|_| ErrorClass::Other)?;
            let ttfb = Instant::now();
            let (parts, body) = resp.into_parts();
            // The mock marks a connection reset; over TCP the socket would drop mid-answer.
            if parts.extensions.get::<MockFault>() == Some(&MockFault::ConnectionReset) {
                return Err(ErrorClass::Reset);
            }
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|_| ErrorClass::Reset)?;
            Ok((parts, ttfb, bytes))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(ErrorClass::Timeout),
        }
    }
}

fn build(
    method: &http::Method,
    url: &str,
    headers: &[(http::HeaderName, HeaderValue)],
    authz: Option<HeaderValue>,
    body: Option<Bytes>,
) -> Result<http::Request<axum::body::Body>, ErrorClass> {
    let mut b = http::Request::builder().method(method.clone()).uri(url);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    if let Some(a) = authz {
        b = b.header(http::header::AUTHORIZATION, a);
    }
    b.body(body.map_or_else(axum::body::Body::empty, axum::body::Body::from))
        .map_err(|_| ErrorClass::InvalidResponse)
}

impl Transport for InProcess {
    type Conn = ();

    fn conn(&self) {}

    async fn send(&self, _conn: &mut (), req: OutRequest<'_>) -> Exchange {
        let bytes_out = req.wire_len().min(u32::MAX as usize) as u32;
        let fail = |class: ErrorClass| Exchange::failed(class, bytes_out);
        let capture = req.capture;
        let body = match &req.streamed {
            None => req.body,
            Some(s) => match s.collect().await {
                Ok(b) => Some(b),
                Err(_) => return fail(ErrorClass::Other),
            },
        };
        let request = match build(req.method, req.url, req.headers, req.authorization, body) {
            Ok(r) => r,
            Err(c) => return fail(c),
        };
        match self.call(request).await {
            Err(c) => fail(c),
            Ok((parts, ttfb, body)) => {
                let mut bytes_in = 17 + body.len();
                for (k, v) in &parts.headers {
                    bytes_in += k.as_str().len() + v.len() + 4;
                }
                Exchange {
                    status: Ok(parts.status.as_u16()),
                    ttfb,
                    end: Instant::now(),
                    bytes_in: bytes_in.min(u32::MAX as usize) as u32,
                    bytes_out,
                    retry_after_ms: parts
                        .headers
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    rate_limit: parse_rate_limit(&parts.headers),
                    limit_key: if parts.status.as_u16() == 429 {
                        surge_record::limit_key::from_body(&body)
                    } else {
                        None
                    },
                    captured: Captured::keep(capture, &parts.headers, &body),
                }
            }
        }
    }
}

impl TokenFetch for InProcess {
    fn post_form(
        &self,
        url: String,
        basic: HeaderValue,
        form: &'static str,
    ) -> BoxFuture<'_, Result<(u16, Bytes), ErrorClass>> {
        Box::pin(async move {
            let ct = HeaderValue::from_static("application/x-www-form-urlencoded");
            let req = build(
                &http::Method::POST,
                &url,
                &[(http::header::CONTENT_TYPE, ct)],
                Some(basic),
                Some(Bytes::from_static(form.as_bytes())),
            )?;
            let (parts, _, body) = self.call(req).await?;
            Ok((parts.status.as_u16(), body))
        })
    }
}
