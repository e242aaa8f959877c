//! HTTP over TCP with reqwest: rustls, a keep-alive pool shared by every user, HTTP/1.1 and
//! HTTP/2, connect and request timeouts, redirects not followed (a 3xx is an outcome).

use std::error::Error as _;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::time::Instant;

use super::headers::{parse_rate_limit, parse_retry_after};
use super::{Captured, Exchange, OutRequest, Transport};
use crate::record::ErrorClass;
use crate::scenario::{HttpVersion, Target};

/// Installs the rustls crypto provider once per process (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The reqwest-backed transport.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    /// The API base, parsed once: request URLs under it only set their path and query
    /// (no host re-parse, no IDNA) on the hot path.
    base: Option<(String, reqwest::Url)>,
}

impl HttpTransport {
    /// A client for `target`, pooling up to `users` idle connections per host.
    ///
    /// # Errors
    /// reqwest could not build the client (TLS set-up).
    pub fn new(target: &Target, users: u32) -> Result<HttpTransport, reqwest::Error> {
        install_crypto();
        let mut b = reqwest::Client::builder()
            .connect_timeout(target.connect_timeout)
            .timeout(target.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .no_proxy()
            .user_agent(concat!("surge/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(if target.keep_alive {
                users.max(1) as usize
            } else {
                0
            });
        b = match target.http {
            HttpVersion::Auto => b,
            HttpVersion::Http1 => b.http1_only(),
            HttpVersion::Http2 => b.http2_prior_knowledge(),
        };
        Ok(HttpTransport {
            client: b.build()?,
            base: None,
        })
    }

    /// Requests to URLs starting with `base` skip parsing the scheme and host.
    pub fn with_base(mut self, base: &str) -> HttpTransport {
        self.base = reqwest::Url::parse(base)
            .ok()
            .map(|u| (base.trim_end_matches('/').to_string(), u));
        self
    }

    /// `url` as a parsed URL: from the cached base when it starts with it.
    fn url(&self, url: &str) -> Result<reqwest::Url, ()> {
        if let Some((prefix, base)) = &self.base {
            if let Some(rest) = url
                .strip_prefix(prefix.as_str())
                .filter(|r| r.starts_with('/'))
            {
                let (path, query) = match rest.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (rest, None),
                };
                let mut u = base.clone();
                if base.path() == "/" {
                    u.set_path(path);
                } else {
                    u.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
                }
                u.set_query(query);
                return Ok(u);
            }
        }
        reqwest::Url::parse(url).map_err(|_| ())
    }

    /// The underlying client (for the OAuth token requests).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl Transport for HttpTransport {
    async fn send(&self, req: OutRequest<'_>) -> Exchange {
        let bytes_out = req.wire_len().min(u32::MAX as usize) as u32;
        let capture = req.capture;
        let Ok(url) = self.url(req.url) else {
            return Exchange::failed(ErrorClass::InvalidResponse, bytes_out);
        };
        let mut rb = self.client.request(req.method.clone(), url);
        for (k, v) in req.headers {
            rb = rb.header(k, v);
        }
        if let Some(a) = req.authorization {
            rb = rb.header(::http::header::AUTHORIZATION, a);
        }
        if let Some(body) = req.body {
            rb = rb.body(body);
        }
        let fail = |class: ErrorClass| Exchange::failed(class, bytes_out);
        let mut resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return fail(classify(&e)),
        };
        let ttfb = Instant::now();
        let status = resp.status().as_u16();
        let headers = resp.headers();
        let mut bytes_in: usize = 17;
        for (k, v) in headers {
            bytes_in += k.as_str().len() + v.len() + 4;
        }
        let retry_after_ms = headers
            .get(::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let rate_limit = parse_rate_limit(headers);
        let kept_headers = capture.headers.then(|| headers.clone());
        // A throttled response's body is kept (up to 16 KiB) to read the limit it names; any
        // body is kept up to the limit the caller asked for.
        let limit = match (status == 429, capture.body_limit) {
            (true, asked) => Some(asked.unwrap_or(0).max(16 * 1024)),
            (false, asked) => asked,
        };
        let mut keep: Option<Vec<u8>> = limit.map(|_| Vec::new());
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    bytes_in += c.len();
                    if let (Some(k), Some(limit)) = (keep.as_mut(), limit) {
                        let room = limit.saturating_sub(k.len());
                        truncated |= c.len() > room;
                        k.extend_from_slice(&c[..c.len().min(room)]);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let class = match classify(&e) {
                        ErrorClass::Other => ErrorClass::Body,
                        c => c,
                    };
                    let mut x = fail(class);
                    x.ttfb = ttfb;
                    x.bytes_in = bytes_in.min(u32::MAX as usize) as u32;
                    return x;
                }
            }
        }
        let limit_key = (status == 429)
            .then(|| {
                keep.as_deref()
                    .and_then(crate::record::limit_key::from_body)
            })
            .flatten();
        let captured = (!capture.is_none()).then(|| {
            let (body, body_truncated) = match (capture.body_limit, keep) {
                (Some(asked), Some(k)) if k.len() > asked => {
                    (Some(Bytes::from(k).slice(..asked)), true)
                }
                (Some(_), Some(k)) => (Some(Bytes::from(k)), truncated),
                _ => (None, false),
            };
            Box::new(Captured {
                body,
                body_truncated,
                headers: kept_headers,
            })
        });
        Exchange {
            status: Ok(status),
            ttfb,
            end: Instant::now(),
            bytes_in: bytes_in.min(u32::MAX as usize) as u32,
            bytes_out,
            retry_after_ms,
            rate_limit,
            limit_key,
            captured,
        }
    }
}

/// Maps a reqwest error to an [`ErrorClass`] by walking its source chain.
pub fn classify(e: &reqwest::Error) -> ErrorClass {
    if e.is_timeout() {
        return ErrorClass::Timeout;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    let mut text = String::new();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if super::is_resource_error(io) {
                return ErrorClass::Resource;
            }
            match io.kind() {
                K::ConnectionRefused => return ErrorClass::Refused,
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return ErrorClass::Reset
                }
                K::TimedOut => return ErrorClass::Timeout,
                _ => {}
            }
        }
        if s.downcast_ref::<rustls::Error>().is_some() {
            return ErrorClass::Tls;
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return ErrorClass::Reset;
            }
            if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
                return ErrorClass::InvalidResponse;
            }
            if h.is_timeout() {
                return ErrorClass::Timeout;
            }
        }
        text.push_str(&s.to_string().to_ascii_lowercase());
        text.push(' ');
        src = s.source();
    }
    if text.contains("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
    {
        ErrorClass::Dns
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        ErrorClass::Tls
    } else if text.contains("connection reset") || text.contains("connection closed") {
        ErrorClass::Reset
    } else if e.is_body() || e.is_decode() {
        ErrorClass::Body
    } else if text.contains("invalid") || text.contains("parse") {
        ErrorClass::InvalidResponse
    } else {
        ErrorClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_under_the_base_are_built_without_reparsing_and_match_a_full_parse() {
        let target = crate::scenario::load_str(
            "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n",
            std::path::Path::new("t.toml"),
            &[],
        )
        .unwrap()
        .target;
        for (base, url) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=a%20b&x=1",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
            (
                "https://api.example.com/prefix",
                "https://api.example.com/prefix/api/v2/flows?pageSize=25",
            ),
            ("http://127.0.0.1:8080", "http://other.host/x"),
        ] {
            let t = HttpTransport::new(&target, 1).unwrap().with_base(base);
            assert_eq!(
                t.url(url).unwrap(),
                reqwest::Url::parse(url).unwrap(),
                "{url}"
            );
        }
    }
}
