//! The HTTP transport against servers on loopback: each user keeps its own connection (or not,
//! with keep-alive off), HTTP/2 by ALPN over TLS and by prior knowledge, connections the server
//! closes, timeouts and broken answers classified, and the capture contract (a request keeps
//! its answer's body up to a limit and its headers only when it asks; a 429's body names its
//! limit) on HTTP/1.1 and HTTP/2 alike.

use crate::common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use common::{serve, tls, Reply};
use http_body_util::Full;
use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::{ErrorClass, RunResult, StatusKey};
use surge::transport::http::HttpTransport;
use surge::transport::proxy::Proxies;
use surge::transport::{Capture, OutRequest, Transport};
use tokio_util::sync::CancellationToken;

const LIMIT_BODY: &str = r#"{"message":"Rate limit exceeded the maximum","code":"too.many.requests","status":429,"limit":{"key":"flow.publish.rate","namespace":"architect","value":10}}"#;

fn target(base: &str, extra: &str) -> surge::scenario::Target {
    surge::scenario::load_str(
        &format!("name = \"t\"\n[target]\nbase_url = \"{base}\"\n{extra}\n[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n"),
        std::path::Path::new("t.toml"),
        &[],
    )
    .unwrap()
    .target
}

fn get<'a>(url: &'a str, capture: Capture) -> OutRequest<'a> {
    OutRequest {
        method: &http::Method::GET,
        url,
        headers: &[],
        authorization: None,
        body: None,
        streamed: None,
        capture,
    }
}

/// The capture contract, on whatever protocol `base` speaks.
async fn capture_contract<T: Transport>(t: &T, base: &str) {
    let mut conn = t.conn();
    let ok = format!("{base}/ok");
    let plain = t.send(&mut conn, get(&ok, Capture::NONE)).await;
    assert_eq!(plain.status, Ok(200));
    assert!(plain.captured.is_none(), "a plain request keeps nothing");
    assert!(plain.bytes_in > 10);

    let asked = Capture {
        body_limit: Some(5),
        headers: true,
        ..Capture::NONE
    };
    let x = t.send(&mut conn, get(&ok, asked)).await;
    let c = x.captured.expect("asked");
    assert_eq!(c.body.as_deref(), Some(&b"hello"[..]));
    assert!(c.body_truncated);
    assert_eq!(c.headers.as_ref().unwrap()["x-flow-id"], "f-1");

    let whole = Capture {
        body_limit: Some(1000),
        headers: false,
        ..Capture::NONE
    };
    let c = t.send(&mut conn, get(&ok, whole)).await.captured.unwrap();
    assert_eq!(c.body.as_deref(), Some(&b"hello, world"[..]));
    assert!(!c.body_truncated && c.headers.is_none());

    // A 429's body is read for the limit it names, whatever was asked.
    let limited = format!("{base}/limited");
    let x = t.send(&mut conn, get(&limited, Capture::NONE)).await;
    assert_eq!(x.status, Ok(429));
    assert_eq!(x.retry_after_ms, Some(2000));
    let named = x.limit_key.map(surge::record::limit_key::name);
    assert_eq!(named.as_deref(), Some("architect/flow.publish.rate"));
    assert!(x.captured.is_none());
    let x = t
        .send(
            &mut conn,
            get(
                &limited,
                Capture {
                    body_limit: Some(10),
                    headers: false,
                    ..Capture::NONE
                },
            ),
        )
        .await;
    assert!(x.limit_key.is_some());
    let c = x.captured.unwrap();
    assert_eq!(c.body.as_deref(), Some(&LIMIT_BODY.as_bytes()[..10]));
    assert!(c.body_truncated);
}

fn answer(path: &str) -> (u16, Vec<(&'static str, &'static str)>, &'static str) {
    match path {
        "/limited" => (429, vec![("retry-after", "2")], LIMIT_BODY),
        _ => (200, vec![("x-flow-id", "f-1")], "hello, world"),
    }
}

#[tokio::test]
async fn capture_contract_in_process() {
    let router = axum::Router::new().fallback(|uri: http::Uri| async move {
        let (status, headers, body) = answer(uri.path());
        let mut resp = http::Response::new(axum::body::Body::from(body));
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            resp.headers_mut()
                .insert(k, http::HeaderValue::from_static(v));
        }
        resp
    });
    let t = surge::transport::inprocess::InProcess::new(router, Duration::from_secs(5));
    capture_contract(&t, "http://in.process").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_contract_over_http1() {
    let server = serve(|r| {
        let (status, headers, body) = answer(&r.path);
        headers
            .into_iter()
            .fold(Reply::status(status), |rep, (k, v)| rep.with_header(k, v))
            .with_body(body)
    })
    .await;
    let t = HttpTransport::new(&target(&server.url(), ""), Proxies::none(), None)
        .unwrap()
        .with_base(&server.url());
    capture_contract(&t, &server.url()).await;
    assert_eq!(server.connections(), 1, "one user, one kept connection");
}

/// An HTTP/1.1 + HTTP/2 server (hyper's) inside TLS, with a test CA.
async fn h2_tls_server(ca: &tls::TestCa) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = ca.acceptor.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(sock).await else {
                    return;
                };
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let (status, headers, body) = answer(req.uri().path());
                        let mut resp =
                            http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        for (k, v) in headers {
                            resp.headers_mut()
                                .insert(k, http::HeaderValue::from_static(v));
                        }
                        resp.headers_mut().insert(
                            "x-version",
                            http::HeaderValue::from_str(&format!("{:?}", req.version())).unwrap(),
                        );
                        Ok::<_, Infallible>(resp)
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_by_alpn_over_tls_keeps_the_contract() {
    let ca = tls::ca_for(&["localhost"], &[b"h2", b"http/1.1"]);
    let addr = h2_tls_server(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, &ca.ca_pem).unwrap();
    let base = format!("https://localhost:{}", addr.port());
    let ca_line = format!("ca_cert = {:?}", pem.to_str().unwrap());
    let t = HttpTransport::new(&target(&base, &ca_line), Proxies::none(), None)
        .unwrap()
        .with_base(&base);
    capture_contract(&t, &base).await;
    // ALPN chose HTTP/2 (auto); http1 keeps HTTP/1.1 on the same server.
    let mut conn = t.conn();
    let url = format!("{base}/ok");
    let headers = Capture {
        body_limit: None,
        headers: true,
        ..Capture::NONE
    };
    let v =
        |x: surge::transport::Exchange| x.captured.unwrap().headers.unwrap()["x-version"].clone();
    assert_eq!(v(t.send(&mut conn, get(&url, headers)).await), "HTTP/2.0");
    let t1 = HttpTransport::new(
        &target(&base, &format!("{ca_line}\nhttp = \"http1\"")),
        Proxies::none(),
        None,
    )
    .unwrap()
    .with_base(&base);
    let mut conn = t1.conn();
    assert_eq!(v(t1.send(&mut conn, get(&url, headers)).await), "HTTP/1.1");
    capture_contract(&t1, &base).await;
}

fn args(scenario: std::path::PathBuf, out: std::path::PathBuf) -> RunArgs {
    RunArgs {
        scenario,
        out: Some(out),
        quiet: true,
        load: LoadArgs {
            seed: Some(1),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    }
}

async fn run(dir: &std::path::Path, name: &str, text: &str) -> RunResult {
    let sc = dir.join(format!("{name}.toml"));
    std::fs::write(&sc, text).unwrap();
    let out = dir.join(name);
    let code = cli::run_cmd(args(sc, out.clone()), CancellationToken::new()).await;
    assert_eq!(code, 0, "{name}");
    RunResult::read(&out.join("result.json")).unwrap()
}

fn by(r: &RunResult, k: StatusKey) -> u64 {
    r.totals.by_status.get(&k).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_keeps_its_connection_unless_keep_alive_is_off_or_the_server_closes() {
    let dir = tempfile::tempdir().unwrap();
    let sc = |base: &str, extra: &str| {
        format!("name = \"k\"\n[target]\nbase_url = \"{base}\"\n{extra}\n[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 4\nloops = 10\n")
    };
    let kept = serve(|_| Reply::status(200)).await;
    let r = run(dir.path(), "kept", &sc(&kept.url(), "")).await;
    assert_eq!(by(&r, StatusKey::Http(200)), 40);
    assert_eq!(kept.connections(), 4, "one connection per user");

    let off = serve(|_| Reply::status(200)).await;
    let r = run(dir.path(), "off", &sc(&off.url(), "keep_alive = false")).await;
    assert_eq!(by(&r, StatusKey::Http(200)), 40);
    assert_eq!(off.connections(), 40, "a connection per request");

    // The server closes after every other answer: the next request goes on a new connection.
    let closing = serve(|r| {
        if r.n % 2 == 0 {
            Reply::status(200).with_header("connection", "close")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let r = run(dir.path(), "closing", &sc(&closing.url(), "")).await;
    assert_eq!(by(&r, StatusKey::Http(200)), 40);
    assert_eq!(closing.total(), 40);
    assert!(closing.connections() > 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_closed_while_users_thought_are_replaced() {
    // Answers 200 and closes a connection idle for 300 ms, as servers close idle keep-alive
    // connections; users think 1.1 s between requests.
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c2 = conns.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut rd = tokio::io::BufReader::new(s);
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        let read = tokio::time::timeout(
                            Duration::from_millis(300),
                            rd.read_line(&mut line),
                        );
                        match read.await {
                            Ok(Ok(n)) if n > 0 => {}
                            _ => return,
                        }
                        head.push_str(&line);
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if rd.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        "idle",
        &format!("name = \"idle\"\n[target]\nbase_url = \"http://{addr}\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 2\nloops = 2\nthink_time = \"1100ms\"\n"),
    )
    .await;
    assert_eq!(
        by(&r, StatusKey::Http(200)),
        4,
        "no request lost to a closed connection"
    );
    assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_against_the_mock() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        "h2c",
        "name = \"h2c\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"unlimited\"\nhttp = \"http2\"\n[auth]\nkind = \"client_credentials\"\n[[request]]\nname = \"flows\"\npath = \"/api/v2/flows\"\n[load]\nthreads = 3\nloops = 5\n",
    )
    .await;
    assert_eq!(by(&r, StatusKey::Http(200)), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_a_timeout_and_garbage_an_invalid_response() {
    // A server that reads and never answers, and one that answers something not HTTP.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = garbage.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut b = [0u8; 1024];
                let _ = s.read(&mut b).await;
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
            });
        }
    });
    let t = HttpTransport::new(
        &target(&format!("http://{silent_addr}"), "timeout = \"300ms\""),
        Proxies::none(),
        None,
    )
    .unwrap();
    let mut conn = t.conn();
    let url = format!("http://{silent_addr}/");
    let x = tokio::time::timeout(
        Duration::from_secs(20),
        t.send(&mut conn, get(&url, Capture::NONE)),
    )
    .await
    .unwrap();
    assert_eq!(x.status, Err(ErrorClass::Timeout));
    let url = format!("http://{garbage_addr}/");
    let x = t.send(&mut conn, get(&url, Capture::NONE)).await;
    assert_eq!(x.status, Err(ErrorClass::InvalidResponse));
}
