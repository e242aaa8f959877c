//! HTTP over TCP for the load: each user owns its connection ([`HttpConn`]: HTTP/1.1
//! keep-alive, or HTTP/2 when ALPN picks it or `http = "http2"`), so no pool is shared on the
//! hot path. HTTP/1.1 is surge's own (`h1`), HTTP/2 hyper's, both over rustls for
//! HTTPS; a forward proxy by absolute-form
//! requests (plain HTTP) or a `CONNECT` tunnel (HTTPS, h2c); connect and whole-request
//! timeouts; redirects are not followed (a 3xx is an outcome). The OAuth token requests go
//! through reqwest with the same TLS roots and the same proxy decision.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http2;
use tokio::time::Instant;

use super::auth::TokenFetch;
use super::classify::{classify, classify_hyper};
use super::conn::{HttpConn, Kind, Live};
use super::dial::{dial, Io, Origin};
use super::h1::{WriteError, H1};
use super::headers::{parse_rate_limit, parse_retry_after};
use super::proxy::{Proxies, ProxyUrl};
use super::tls::{client_config, load_ca, Alpn, TlsError};
use super::{BodyKeeper, Exchange, OutRequest, Transport};

// Header names and values the hot path writes, built once.
static HOST: HeaderName = http::header::HOST;
static USER_AGENT: HeaderName = http::header::USER_AGENT;
static ACCEPT: HeaderName = http::header::ACCEPT;
static AUTHORIZATION: HeaderName = http::header::AUTHORIZATION;
static CONNECTION: HeaderName = http::header::CONNECTION;
static PROXY_AUTHORIZATION: HeaderName = http::header::PROXY_AUTHORIZATION;
static CONTENT_LENGTH: HeaderName = http::header::CONTENT_LENGTH;
static ACCEPT_ANY: HeaderValue = HeaderValue::from_static("*/*");
static CLOSE: HeaderValue = HeaderValue::from_static("close");
use surge_plan::resolve::HostMapping;
use surge_plan::{HttpVersion, Target};
use surge_record::ErrorClass;

pub use super::tls::install_crypto;

/// An HTTP/2 request's body: in memory, or streamed (an upload read from files as it goes).
pub(crate) type H2Body = http_body_util::Either<
    Full<Bytes>,
    http_body_util::StreamBody<
        futures::stream::BoxStream<'static, std::io::Result<hyper::body::Frame<Bytes>>>,
    >,
>;

/// The transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// TLS roots or the scenario's `ca_cert`.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// The token client.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// How requests on a route reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Straight to the server.
    Direct,
    /// Plain HTTP through a proxy: absolute-form requests with `Proxy-Authorization`.
    Forward,
    /// Through a proxy's `CONNECT` tunnel (HTTPS, or h2c).
    Tunnel,
}

/// Where requests under one origin go, decided once: the origin, the proxy (if any) and how.
#[derive(Debug)]
pub(crate) struct Route {
    /// The URL prefix this route serves (the API base, no trailing slash).
    prefix: String,
    /// The base URL's own path, without its trailing slash ("" for `/`).
    base_path: String,
    pub(crate) origin: Origin,
    pub(crate) proxy: Option<ProxyUrl>,
    pub(crate) mode: Mode,
}

impl Route {
    fn new(
        url: &url::Url,
        proxies: &Proxies,
        http: HttpVersion,
        resolve: &[HostMapping],
    ) -> Option<Route> {
        let mut origin = Origin::of(url)?;
        if let Some(addrs) = HostMapping::find(resolve, &origin.host, origin.port) {
            origin.fixed = addrs.to_vec();
        }
        let proxy = proxies.for_url(url).cloned();
        let mode = match &proxy {
            None => Mode::Direct,
            Some(_) if origin.https || http == HttpVersion::Http2 => Mode::Tunnel,
            Some(_) => Mode::Forward,
        };
        Some(Route {
            prefix: url.as_str().trim_end_matches('/').to_string(),
            base_path: url.path().trim_end_matches('/').to_string(),
            origin,
            proxy,
            mode,
        })
    }

    /// True when a connection opened for `other` serves this route too.
    pub(crate) fn same(&self, other: &Route) -> bool {
        std::ptr::eq(self, other)
            || (self.origin.same(&other.origin)
                && self.proxy == other.proxy
                && self.mode == other.mode)
    }
}

/// Bytes that pass unchanged both through URL parsing (reqwest's) and into a request target.
fn plain_target_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'%'
        )
}

/// The HTTP transport: per-user connections, a proxy decision per route.
#[derive(Clone)]
pub struct HttpTransport {
    tls: Arc<rustls::ClientConfig>,
    proxies: Arc<Proxies>,
    base: Option<Arc<Route>>,
    http: HttpVersion,
    keep_alive: bool,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: HeaderValue,
    /// `[target] resolve`: names connected to at fixed addresses.
    resolve: Arc<[HostMapping]>,
    /// For the OAuth token requests.
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base", &self.base.as_ref().map(|r| &r.prefix))
            .field("http", &self.http)
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport for `target`, through `proxies`. `login_url` is where the OAuth token
    /// requests go (their proxy is decided for it, as the hot path's is for each origin).
    ///
    /// # Errors
    /// The scenario's `ca_cert` cannot be read, rustls cannot be set up, or reqwest cannot
    /// build the token client.
    pub fn new(
        target: &Target,
        proxies: Proxies,
        login_url: Option<&str>,
    ) -> Result<HttpTransport, TransportError> {
        let extra = match &target.ca_cert {
            Some(p) => load_ca(p)?,
            None => Vec::new(),
        };
        let alpn = match target.http {
            HttpVersion::Auto => Alpn::Both,
            HttpVersion::Http1 => Alpn::Http1,
            HttpVersion::Http2 => Alpn::Http2,
        };
        let identity = match &target.client_cert {
            Some(cc) => Some(surge_plan::identity::load(cc).map_err(TlsError::ClientCert)?),
            None => None,
        };
        let named = target.client_cert.as_ref().map(|cc| match cc {
            surge_plan::identity::ClientCert::Pem { .. } => format!("target.client_cert: {cc}"),
            surge_plan::identity::ClientCert::Pkcs12 { .. } => format!("target.client_p12: {cc}"),
        });
        let tls = client_config(&extra, identity.zip(named.as_deref()), alpn)?;
        let user_agent = HeaderValue::from_static(concat!("surge/", env!("CARGO_PKG_VERSION")));
        let client = client::token_client(target, &tls, &proxies, login_url, &user_agent)?;
        Ok(HttpTransport {
            tls,
            proxies: Arc::new(proxies),
            base: None,
            http: target.http,
            keep_alive: target.keep_alive,
            connect_timeout: target.connect_timeout,
            timeout: target.timeout,
            user_agent,
            resolve: target.resolve.clone().into(),
            client,
        })
    }

    /// Requests to URLs starting with `base` use the route decided here once (no URL parse, no
    /// proxy decision per request).
    pub fn with_base(mut self, base: &str) -> HttpTransport {
        self.base = url::Url::parse(base)
            .ok()
            .and_then(|u| Route::new(&u, &self.proxies, self.http, &self.resolve))
            .map(Arc::new);
        self
    }

    /// The route and request target of `url`: from the base's route when under it, else
    /// parsed (a URL to another origin).
    fn route(&self, url: &str) -> Option<(Arc<Route>, PathAndQuery)> {
        if let Some(base) = &self.base {
            if let Some(rest) = url
                .strip_prefix(base.prefix.as_str())
                .filter(|r| r.starts_with('/'))
            {
                if rest.bytes().all(plain_target_byte) {
                    let pq = if base.base_path.is_empty() {
                        PathAndQuery::from_maybe_shared(Bytes::copy_from_slice(rest.as_bytes()))
                    } else {
                        PathAndQuery::try_from(format!("{}{rest}", base.base_path))
                    };
                    if let Ok(pq) = pq {
                        return Some((base.clone(), pq));
                    }
                }
            }
        }
        let u = url::Url::parse(url).ok()?;
        let pq = PathAndQuery::try_from(&u[url::Position::BeforePath..url::Position::AfterQuery])
            .ok()?;
        match &self.base {
            Some(b) if Origin::of(&u).is_some_and(|o| o.same(&b.origin)) => Some((b.clone(), pq)),
            _ => Some((
                Arc::new(Route::new(&u, &self.proxies, self.http, &self.resolve)?),
                pq,
            )),
        }
    }

    /// Opens a connection for `route` within the connect timeout. Boxed: its state (a TLS
    /// handshake's) is large and needed only while connecting, not in every idle user's task.
    fn open<'a>(
        &'a self,
        route: &'a Arc<Route>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Live, ErrorClass>> + Send + 'a>>
    {
        Box::pin(self.open_inner(route))
    }

    async fn open_inner(&self, route: &Arc<Route>) -> Result<Live, ErrorClass> {
        let work = async {
            let tunnel = route.mode == Mode::Tunnel;
            let io = dial(&route.origin, route.proxy.as_ref(), tunnel, &self.tls).await?;
            let h2 = match self.http {
                HttpVersion::Http2 => true,
                HttpVersion::Http1 => false,
                HttpVersion::Auto => io.alpn_h2(),
            };
            Live::handshake(route.clone(), io, h2).await
        };
        match tokio::time::timeout(self.connect_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(ErrorClass::Timeout),
        }
    }

    /// One exchange on the user's connection (opened, or opened again, as needed).
    async fn exchange(
        &self,
        conn: &mut HttpConn,
        route: Arc<Route>,
        pq: PathAndQuery,
        req: &OutRequest<'_>,
        bytes_out: u32,
    ) -> Exchange {
        let fail = |class: ErrorClass| Exchange::failed(class, bytes_out);
        let mut fresh = false;
        let mut live = match conn.reusable(&route).await {
            Some(l) => l,
            None => match self.open(&route).await {
                Ok(l) => {
                    fresh = true;
                    conn.keep(l)
                }
                Err(c) => return fail(c),
            },
        };
        loop {
            live.set_busy(true);
            let attempt = match &mut live.kind {
                Kind::H1(h1) => self.exchange_h1(h1, &route, &pq, req).await,
                Kind::H2(tx) => Box::pin(self.exchange_h2(tx, &route, pq.clone(), req)).await,
            };
            match attempt {
                Attempt::Done(x, reusable) => {
                    live.set_busy(false);
                    if !reusable || !self.keep_alive {
                        conn.close();
                    }
                    return x;
                }
                // A kept connection the server had closed: once more on a new one.
                Attempt::NotSent(_) if !fresh => {
                    conn.close();
                    match self.open(&route).await {
                        Ok(l) => {
                            fresh = true;
                            live = conn.keep(l);
                        }
                        Err(c) => return fail(c),
                    }
                }
                Attempt::NotSent(c) | Attempt::Failed(c) => {
                    conn.close();
                    return fail(c);
                }
            }
        }
    }

    /// HTTP/1.1: the request written by [`H1`], the response read in place.
    async fn exchange_h1(
        &self,
        h1: &mut H1<Io>,
        route: &Route,
        pq: &PathAndQuery,
        req: &OutRequest<'_>,
    ) -> Attempt {
        let forward = route.mode == Mode::Forward;
        let absolute;
        let target = if forward {
            absolute = format!("http://{}{}", route.origin.authority, pq.as_str());
            absolute.as_str()
        } else {
            pq.as_str()
        };
        let has = |n: &HeaderName| req.headers.iter().any(|(k, _)| k == n);
        let streamed_len = req
            .streamed
            .as_ref()
            .map(|s| (&CONTENT_LENGTH, HeaderValue::from(s.len())));
        let headers = (!has(&HOST))
            .then_some((&HOST, &route.origin.host_header))
            .into_iter()
            .chain(req.headers.iter().map(|(k, v)| (k, v)))
            .chain(req.authorization.as_ref().map(|a| (&AUTHORIZATION, a)))
            .chain((!has(&USER_AGENT)).then_some((&USER_AGENT, &self.user_agent)))
            .chain((!has(&ACCEPT)).then_some((&ACCEPT, &ACCEPT_ANY)))
            .chain((!self.keep_alive).then_some((&CONNECTION, &CLOSE)))
            .chain(
                forward
                    .then(|| route.proxy.as_ref().and_then(ProxyUrl::authorization))
                    .flatten()
                    .map(|a| (&PROXY_AUTHORIZATION, a)),
            )
            .chain(streamed_len.as_ref().map(|(k, v)| (*k, v)));
        let sent = h1
            .write_request(req.method, target, headers, req.body.as_deref())
            .await;
        let mut bytes_out = match sent {
            Ok(n) => n,
            Err(WriteError::NotSent(c)) => return Attempt::NotSent(c),
            Err(WriteError::Failed(c)) => return Attempt::Failed(c),
        };
        if let Some(s) = &req.streamed {
            if let Err(WriteError::Failed(c) | WriteError::NotSent(c)) = h1.write_streamed(s).await
            {
                return Attempt::Failed(c);
            }
            bytes_out = bytes_out.saturating_add(usize::try_from(s.len()).unwrap_or(usize::MAX));
        }
        let head = match h1
            .read_head(*req.method == Method::HEAD, req.capture.headers)
            .await
        {
            Ok(h) => h,
            Err(c) => return Attempt::Failed(c),
        };
        let ttfb = Instant::now();
        let mut keeper = BodyKeeper::new(head.status, req.capture);
        let body = h1.read_body(head.framing, |d| keeper.push(d)).await;
        let bytes_in = head.len + *body.as_ref().unwrap_or(&0);
        let wire = |n: usize| n.min(u32::MAX as usize) as u32;
        let Ok(_) = body else {
            let mut x = Exchange::failed(body.err().unwrap_or(ErrorClass::Body), wire(bytes_out));
            x.ttfb = ttfb;
            x.bytes_in = wire(bytes_in);
            return Attempt::Done(x, false);
        };
        let cookies = if req.capture.cookies {
            head.set_cookies
        } else {
            Vec::new()
        };
        let (limit_key, captured) = keeper.finish(|| head.headers, cookies);
        let x = Exchange {
            status: Ok(head.status),
            ttfb,
            end: Instant::now(),
            bytes_in: wire(bytes_in),
            bytes_out: wire(bytes_out),
            retry_after_ms: head.retry_after_ms,
            rate_limit: head.rate_limit,
            limit_key,
            captured,
        };
        Attempt::Done(x, head.keep_alive)
    }

    /// HTTP/2 through hyper.
    async fn exchange_h2(
        &self,
        tx: &mut http2::SendRequest<H2Body>,
        route: &Route,
        pq: PathAndQuery,
        req: &OutRequest<'_>,
    ) -> Attempt {
        let bytes_out = req.wire_len().min(u32::MAX as usize) as u32;
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(if route.origin.https {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        });
        parts.authority = Some(route.origin.authority.clone());
        parts.path_and_query = Some(pq);
        let body = match &req.streamed {
            None => H2Body::Left(Full::new(req.body.clone().unwrap_or_default())),
            Some(s) => H2Body::Right(http_body_util::StreamBody::new(s.clone().into_frames())),
        };
        let mut r = Request::new(body);
        *r.method_mut() = req.method.clone();
        *r.uri_mut() = http::Uri::from_parts(parts).unwrap_or_default();
        *r.version_mut() = http::Version::HTTP_2;
        let h = r.headers_mut();
        h.reserve(req.headers.len() + 3);
        for (k, v) in req.headers {
            h.append(k.clone(), v.clone());
        }
        if let Some(a) = &req.authorization {
            h.append(http::header::AUTHORIZATION, a.clone());
        }
        if !h.contains_key(http::header::USER_AGENT) {
            h.insert(http::header::USER_AGENT, self.user_agent.clone());
        }
        if !h.contains_key(http::header::ACCEPT) {
            h.insert(http::header::ACCEPT, ACCEPT_ANY.clone());
        }
        if let Some(s) = &req.streamed {
            h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(s.len()));
        }
        let resp = match tx.try_send_request(r).await {
            Ok(r) => r,
            Err(e) if e.message().is_some() => return Attempt::NotSent(classify_hyper(e.error())),
            Err(e) => return Attempt::Failed(classify_hyper(e.error())),
        };
        let ttfb = Instant::now();
        let status = resp.status().as_u16();
        let (parts, mut body) = resp.into_parts();
        let headers = parts.headers;
        let mut bytes_in: usize = 17;
        for (k, v) in &headers {
            bytes_in += k.as_str().len() + v.len() + 4;
        }
        let mut keeper = BodyKeeper::new(status, req.capture);
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(c) = f.into_data() {
                        bytes_in += c.len();
                        keeper.push(&c);
                    }
                }
                Err(e) => {
                    let class = match classify_hyper(&e) {
                        ErrorClass::Other => ErrorClass::Body,
                        c => c,
                    };
                    let mut x = Exchange::failed(class, bytes_out);
                    x.ttfb = ttfb;
                    x.bytes_in = bytes_in.min(u32::MAX as usize) as u32;
                    return Attempt::Done(x, true);
                }
            }
        }
        let retry_after_ms = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let rate_limit = parse_rate_limit(&headers);
        let cookies = super::set_cookies_of(req.capture, &headers);
        let (limit_key, captured) = keeper.finish(|| Some(headers), cookies);
        let x = Exchange {
            status: Ok(status),
            ttfb,
            end: Instant::now(),
            bytes_in: bytes_in.min(u32::MAX as usize) as u32,
            bytes_out,
            retry_after_ms,
            rate_limit,
            limit_key,
            captured,
        };
        Attempt::Done(x, true)
    }
}

/// How one attempt on a connection went.
enum Attempt {
    /// An exchange (answered or failed) and whether the connection can carry the next one.
    Done(Exchange, bool),
    /// Nothing reached the server: the connection had closed (safe to send again elsewhere).
    NotSent(ErrorClass),
    /// It failed after the request (possibly) went out.
    Failed(ErrorClass),
}

impl Transport for HttpTransport {
    type Conn = HttpConn;

    fn conn(&self) -> HttpConn {
        HttpConn::default()
    }

    async fn send(&self, conn: &mut HttpConn, req: OutRequest<'_>) -> Exchange {
        let bytes_out = req.wire_len().min(u32::MAX as usize) as u32;
        let Some((route, pq)) = self.route(req.url) else {
            return Exchange::failed(ErrorClass::InvalidResponse, bytes_out);
        };
        let deadline = Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.exchange(conn, route, pq, &req, bytes_out))
            .await
        {
            Ok(x) => x,
            Err(_) => {
                conn.close();
                Exchange::failed(ErrorClass::Timeout, bytes_out)
            }
        }
    }
}

impl TokenFetch for HttpTransport {
    fn post_form(
        &self,
        url: String,
        basic: HeaderValue,
        form: &'static str,
    ) -> BoxFuture<'_, Result<(u16, Bytes), ErrorClass>> {
        Box::pin(async move {
            let r = self
                .client
                .post(&url)
                .header(http::header::AUTHORIZATION, basic)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            let status = r.status().as_u16();
            let body = r.bytes().await.map_err(|e| classify(&e))?;
            Ok((status, body))
        })
    }
}

mod client;
#[cfg(test)]
mod tests;
