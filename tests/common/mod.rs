//! A raw HTTP/1.1 test server on 127.0.0.1:0 that answers what a handler says, including
//! dropping the connection, and keeps its own count per status (the ground truth for tests).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub mod limiters;
pub mod proxy;
pub mod tls;

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// 0-based arrival number across the whole server.
    pub n: u64,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: vec![],
            body: String::new(),
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }
    pub fn with_body(mut self, b: &str) -> Reply {
        if let Reply::Respond { body, .. } = &mut self {
            *body = b.into();
        }
        self
    }
}

/// Requests seen: (path, Authorization).
pub type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

pub struct TestServer {
    pub addr: SocketAddr,
    /// Answers per status ("dropped" for connections closed without an answer).
    pub counts: Arc<Mutex<BTreeMap<String, u64>>>,
    pub requests: Arc<AtomicU64>,
    /// Connections accepted.
    pub connections: Arc<AtomicU64>,
    /// Every request seen (path and Authorization), in arrival order.
    pub log: Log,
    scheme: &'static str,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
    pub fn count(&self, key: &str) -> u64 {
        self.counts.lock().unwrap().get(key).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Serves `handler` over plain HTTP/1.1 on 127.0.0.1:0.
pub async fn serve(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> TestServer {
    serve_with(handler, None).await
}

/// Serves `handler` over HTTP/1.1 on 127.0.0.1:0, inside TLS when `tls` is given.
pub async fn serve_with(
    handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Conn {
        counts: Arc::default(),
        requests: Arc::new(AtomicU64::new(0)),
        log: Arc::default(),
        handler: Arc::new(handler),
    };
    let connections = Arc::new(AtomicU64::new(0));
    let server = TestServer {
        addr,
        counts: state.counts.clone(),
        requests: state.requests.clone(),
        connections: connections.clone(),
        log: state.log.clone(),
        scheme: if tls.is_some() { "https" } else { "http" },
    };
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            connections.fetch_add(1, Ordering::SeqCst);
            let state = state.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => state.run(sock).await,
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(sock).await {
                            state.run(s).await;
                        }
                    }
                }
            });
        }
    });
    server
}

/// One server's shared state, serving one connection at a time per task.
#[derive(Clone)]
struct Conn {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    requests: Arc<AtomicU64>,
    log: Log,
    handler: Handler,
}

impl Conn {
    async fn run<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(&self, sock: S) {
        let mut rd = BufReader::new(sock);
        loop {
            let mut line = String::new();
            if rd.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if rd.read_line(&mut h).await.unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            if rd.read_exact(&mut body).await.is_err() {
                return;
            }
            let n = self.requests.fetch_add(1, Ordering::SeqCst);
            let req = Req {
                method,
                path,
                headers,
                body,
                n,
            };
            self.log.lock().unwrap().push((
                req.path.clone(),
                req.header("authorization").map(str::to_string),
            ));
            match (self.handler)(&req) {
                Reply::Drop => {
                    *self
                        .counts
                        .lock()
                        .unwrap()
                        .entry("dropped".into())
                        .or_default() += 1;
                    return;
                }
                Reply::Respond {
                    status,
                    headers,
                    body,
                } => {
                    *self
                        .counts
                        .lock()
                        .unwrap()
                        .entry(status.to_string())
                        .or_default() += 1;
                    let mut out =
                        format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                    let close = headers
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v == "close");
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&body);
                    if rd.get_mut().write_all(out.as_bytes()).await.is_err()
                        || rd.get_mut().flush().await.is_err()
                        || close
                    {
                        let _ = rd.get_mut().shutdown().await;
                        return;
                    }
                }
            }
        }
    }
}

/// Writes a scenario file into `dir` and returns its path.
pub fn scenario(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("scenario.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Checks a `result.json` against the schema users are given.
pub fn assert_matches_schema(path: &std::path::Path) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/result.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
}
