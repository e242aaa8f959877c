//! A forward HTTP proxy on 127.0.0.1:0 for tests: absolute-form requests are relayed (origin
//! form) to a backend, `CONNECT` opens a tunnel to one; every host name maps to the backend the
//! test names, so a test can use a name no resolver knows and still send nothing off this
//! machine. It can demand credentials (407 otherwise) and keeps its own counts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The proxy's own counts: the ground truth for "requests went through it".
#[derive(Default)]
pub struct ProxyCounts {
    /// Absolute-form requests relayed.
    pub forwarded: AtomicU64,
    /// `CONNECT` tunnels opened.
    pub tunnels: AtomicU64,
    /// Requests and tunnels refused with 407.
    pub refused: AtomicU64,
    /// Request lines seen (`GET http://…`, `CONNECT host:port`).
    pub lines: Mutex<Vec<String>>,
}

pub struct TestProxy {
    pub addr: SocketAddr,
    pub counts: Arc<ProxyCounts>,
}

impl TestProxy {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn forwarded(&self) -> u64 {
        self.counts.forwarded.load(Ordering::SeqCst)
    }
    pub fn tunnels(&self) -> u64 {
        self.counts.tunnels.load(Ordering::SeqCst)
    }
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::SeqCst)
    }
}

/// A proxy relaying everything to `backend`, demanding `credentials` (`user:password`) when
/// given.
pub async fn start(backend: SocketAddr, credentials: Option<&str>) -> TestProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(ProxyCounts::default());
    let want = credentials.map(|c| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c)
        )
    });
    {
        let counts = counts.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (counts, want) = (counts.clone(), want.clone());
                tokio::spawn(async move {
                    let _ = client(sock, backend, &counts, want.as_deref()).await;
                });
            }
        });
    }
    TestProxy { addr, counts }
}

/// A request or response head: the first line and the header lines.
async fn head<R: tokio::io::AsyncBufRead + Unpin>(
    rd: &mut R,
) -> std::io::Result<Option<(String, Vec<String>)>> {
    let mut first = String::new();
    if rd.read_line(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end().to_string();
        if h.is_empty() {
            break;
        }
        headers.push(h);
    }
    Ok(Some((first.trim_end().to_string(), headers)))
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

const REFUSE: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n";

async fn client(
    sock: TcpStream,
    backend: SocketAddr,
    counts: &ProxyCounts,
    want: Option<&str>,
) -> std::io::Result<()> {
    let mut rd = BufReader::new(sock);
    let mut upstream: Option<BufReader<TcpStream>> = None;
    while let Some((line, headers)) = head(&mut rd).await? {
        counts.lines.lock().unwrap().push(line.clone());
        let authorized = want.is_none_or(|w| header(&headers, "proxy-authorization") == Some(w));
        if line.starts_with("CONNECT ") {
            if !authorized {
                counts.refused.fetch_add(1, Ordering::SeqCst);
                rd.get_mut().write_all(REFUSE).await?;
                continue;
            }
            let mut up = TcpStream::connect(backend).await?;
            counts.tunnels.fetch_add(1, Ordering::SeqCst);
            rd.get_mut()
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
            let early = rd.buffer().to_vec();
            up.write_all(&early).await?;
            let mut down = rd.into_inner();
            tokio::io::copy_bidirectional(&mut down, &mut up).await?;
            return Ok(());
        }
        // Absolute form: `GET http://host:port/path HTTP/1.1`.
        let mut parts = line.splitn(3, ' ');
        let (method, target, version) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let len: usize = header(&headers, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        rd.read_exact(&mut body).await?;
        if !authorized {
            counts.refused.fetch_add(1, Ordering::SeqCst);
            rd.get_mut().write_all(REFUSE).await?;
            continue;
        }
        let Some(rest) = target.strip_prefix("http://") else {
            rd.get_mut()
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await?;
            continue;
        };
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        counts.forwarded.fetch_add(1, Ordering::SeqCst);
        if upstream.is_none() {
            upstream = Some(BufReader::new(TcpStream::connect(backend).await?));
        }
        let up = upstream.as_mut().expect("just set");
        let mut out = format!("{method} {path} {version}\r\n");
        for h in headers
            .iter()
            .filter(|h| !h.to_ascii_lowercase().starts_with("proxy-authorization"))
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        up.get_mut().write_all(out.as_bytes()).await?;
        up.get_mut().write_all(&body).await?;
        let Some((status, rheaders)) = head(up).await? else {
            return Ok(());
        };
        let rlen: usize = header(&rheaders, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut rbody = vec![0; rlen];
        up.read_exact(&mut rbody).await?;
        let mut back = format!("{status}\r\n");
        for h in &rheaders {
            back.push_str(h);
            back.push_str("\r\n");
        }
        back.push_str("\r\n");
        rd.get_mut().write_all(back.as_bytes()).await?;
        rd.get_mut().write_all(&rbody).await?;
    }
    Ok(())
}
