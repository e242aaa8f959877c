//! Opening one connection for a user: resolve the host, TCP connect (no Nagle), a `CONNECT`
//! tunnel when HTTPS (or h2c) goes through a forward proxy, then the TLS handshake. Every
//! failure is an [`ErrorClass`], never a panic.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

use super::classify::io_class;
use super::proxy::ProxyUrl;
use surge_record::ErrorClass;

/// Where a request goes: scheme, host and port, with what each request and handshake needs of
/// them prepared once.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// `https://`.
    pub https: bool,
    /// Host as in the URL (IPv6 in brackets).
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// `Host` header value: `host`, or `host:port` when the port is not the default.
    pub host_header: HeaderValue,
    /// The URI authority (for absolute-form and HTTP/2 requests).
    pub authority: http::uri::Authority,
    /// The name the TLS certificate must carry.
    pub server_name: ServerName<'static>,
    /// Addresses to connect to instead of resolving `host` (`[target] resolve`); empty: resolve.
    pub fixed: Vec<std::net::IpAddr>,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL.
    pub fn of(url: &url::Url) -> Option<Origin> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = match url.host()? {
            url::Host::Domain(d) => d.to_string(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => format!("[{ip}]"),
        };
        let port = url.port_or_known_default()?;
        let default = if https { 443 } else { 80 };
        let hostport = if port == default {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Some(Origin {
            https,
            host_header: HeaderValue::try_from(hostport.as_str()).ok()?,
            authority: hostport.parse().ok()?,
            server_name: ServerName::try_from(bare.to_string()).ok()?,
            port,
            host,
            fixed: Vec::new(),
        })
    }

    /// True when both are the same scheme, host and port.
    pub fn same(&self, other: &Origin) -> bool {
        self.https == other.https && self.port == other.port && self.host == other.host
    }
}

/// One connection's byte stream: plain TCP or TLS over it.
#[derive(Debug)]
pub(crate) enum Io {
    /// Plain TCP (possibly to a proxy).
    Plain(TcpStream),
    /// TLS (possibly inside a `CONNECT` tunnel).
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Io {
    /// True when TLS negotiated HTTP/2 by ALPN.
    pub fn alpn_h2(&self) -> bool {
        match self {
            Io::Plain(_) => false,
            Io::Tls(t) => t.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }

    /// True unless the peer has closed the connection or sent something unasked (a TLS
    /// close_notify, say): one non-blocking peek at the socket, whatever the runtime last saw.
    pub fn peer_open(&self) -> bool {
        let tcp = match self {
            Io::Plain(s) => s,
            Io::Tls(t) => t.get_ref().0,
        };
        let mut one = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        matches!(
            socket2::SockRef::from(tcp).peek(&mut one),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Opens a connection to `origin`: directly, or to `proxy` (with a `CONNECT` tunnel to
/// `origin` when `tunnel`); TLS when the origin is HTTPS. The caller bounds it with the
/// connect timeout.
pub(crate) async fn dial(
    origin: &Origin,
    proxy: Option<&ProxyUrl>,
    tunnel: bool,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Io, ErrorClass> {
    let tcp = match proxy {
        Some(p) => {
            let mut s = tcp(p.host(), p.port(), &[]).await?;
            if tunnel {
                connect_tunnel(&mut s, origin, p).await?;
            }
            s
        }
        None => tcp(&origin.host, origin.port, &origin.fixed).await?,
    };
    if !origin.https {
        return Ok(Io::Plain(tcp));
    }
    let tls = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(origin.server_name.clone(), tcp)
        .await
        .map_err(|e| io_class(&e).unwrap_or(ErrorClass::Tls))?;
    Ok(Io::Tls(Box::new(tls)))
}

/// Resolves `host` (unless `fixed` says where it is) and connects to the first address that
/// answers.
async fn tcp(host: &str, port: u16, fixed: &[std::net::IpAddr]) -> Result<TcpStream, ErrorClass> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        _ if !fixed.is_empty() => fixed.iter().map(|ip| (*ip, port).into()).collect(),
        Ok(ip) => vec![(ip, port).into()],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| super::classify::lookup_class(&e))?
            .collect(),
    };
    let mut last = ErrorClass::Dns;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = connect_class(&e),
        }
    }
    Err(last)
}

/// Why a TCP connect failed: refused or unreachable is `refused`; out of descriptors or of
/// local ports (this machine's limits, not the server's answer) is `resource`.
fn connect_class(e: &io::Error) -> ErrorClass {
    use io::ErrorKind as K;
    if let Some(c) = io_class(e) {
        return c;
    }
    match e.kind() {
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => ErrorClass::Refused,
        _ => ErrorClass::Other,
    }
}

/// Asks the proxy for a tunnel to `origin` and reads its answer: 2xx opens the tunnel;
/// anything else (407 without valid credentials, 403, 502) is [`ErrorClass::Proxy`].
async fn connect_tunnel(
    s: &mut TcpStream,
    origin: &Origin,
    p: &ProxyUrl,
) -> Result<(), ErrorClass> {
    let target = format!("{}:{}", origin.host, origin.port);
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
    if let Some(a) = p.authorization() {
        req.extend_from_slice(b"Proxy-Authorization: ");
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    s.write_all(&req)
        .await
        .map_err(|e| io_class(&e).unwrap_or(ErrorClass::Reset))?;
    // Read the answer's head byte by byte up to its blank line, so no byte of the tunnel is
    // consumed here (a proxy sends nothing more until the client speaks).
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(ErrorClass::InvalidResponse);
        }
        match s.read(&mut byte).await {
            Ok(0) => return Err(ErrorClass::Reset),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(io_class(&e).unwrap_or(ErrorClass::Reset)),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&head) {
        Ok(httparse::Status::Complete(_)) => match resp.code {
            Some(200..=299) => Ok(()),
            _ => Err(ErrorClass::Proxy),
        },
        _ => Err(ErrorClass::InvalidResponse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peek_tells_an_open_connection_from_one_the_peer_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = Io::Plain(TcpStream::connect(addr).await.unwrap());
        let (mut server, _) = listener.accept().await.unwrap();
        assert!(client.peer_open());
        server.write_all(b"x").await.unwrap();
        server.flush().await.unwrap();
        // Unasked bytes: not reusable either.
        for _ in 0..100 {
            if !client.peer_open() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!client.peer_open());
        let client = Io::Plain(TcpStream::connect(addr).await.unwrap());
        let (server, _) = listener.accept().await.unwrap();
        drop(server);
        for _ in 0..100 {
            if !client.peer_open() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!client.peer_open(), "closed by the peer");
    }
}
