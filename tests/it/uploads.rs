//! File uploads (`[[request.multipart]]`): a loopback server the test starts checks every
//! multipart body byte for byte as it streams in (never holding it whole), and a 50 MB file
//! uploaded by 20 users leaves surge's peak memory (VmHWM of its process) far below the 1 GB
//! sent: files go out from disk in chunks.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// The test files' bytes: byte `i` is `i % 251` (so a shifted or repeated chunk shows).
fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

fn write_pattern(path: &Path, len: u64) {
    let block: Vec<u8> = (0..251 * 4096).map(pattern_byte).collect();
    let mut f = std::fs::File::create(path).unwrap();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        std::io::Write::write_all(&mut f, &block[..n]).unwrap();
        left -= n as u64;
    }
}

/// A stretch of the expected body.
#[derive(Clone)]
enum Seg {
    Lit(Vec<u8>),
    /// `n` bytes of the pattern file.
    Pattern(u64),
}

/// The expected body under `boundary`.
type Expect = Arc<dyn Fn(&str) -> Vec<Seg> + Send + Sync>;

struct Upload {
    port: u16,
    ok: Arc<AtomicU64>,
    bad: Arc<AtomicU64>,
}

/// Serves POST uploads on 127.0.0.1: 200 when the body is exactly `expect(boundary)` and its
/// `Content-Length` says its length, else 400.
async fn upload_server(expect: Expect) -> Upload {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ok, bad) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (ok2, bad2) = (ok.clone(), bad.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (expect, ok, bad) = (expect.clone(), ok2.clone(), bad2.clone());
            tokio::spawn(async move {
                let mut rd = BufReader::new(sock);
                while let Some(good) = one_request(&mut rd, &expect).await {
                    let status = if good { &ok } else { &bad };
                    status.fetch_add(1, Ordering::SeqCst);
                    let line: &[u8] = if good {
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                    } else {
                        b"HTTP/1.1 400 Bad\r\ncontent-length: 0\r\n\r\n"
                    };
                    if rd.get_mut().write_all(line).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Upload { port, ok, bad }
}

/// Reads one request and checks its body as it streams; None at the connection's end.
async fn one_request(rd: &mut BufReader<tokio::net::TcpStream>, expect: &Expect) -> Option<bool> {
    let mut line = String::new();
    if rd.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let post = line.starts_with("POST /upload ");
    let (mut len, mut boundary) = (None::<u64>, None::<String>);
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().ok(),
            "content-type" => {
                boundary = v
                    .trim()
                    .strip_prefix("multipart/form-data; boundary=")
                    .map(str::to_string)
            }
            _ => {}
        }
    }
    let len = len?;
    let segs = boundary.as_deref().map(|b| expect(b)).unwrap_or_default();
    let want: u64 = segs
        .iter()
        .map(|s| match s {
            Seg::Lit(b) => b.len() as u64,
            Seg::Pattern(n) => *n,
        })
        .sum();
    let mut good = post && boundary.is_some() && want == len;
    // Stream the body through, comparing as it goes.
    let (mut seg, mut at, mut left) = (0usize, 0u64, len);
    let mut buf = vec![0u8; 64 * 1024];
    // The pattern from every phase, compared a chunk at a time (a byte loop in a debug build
    // took most of a minute for the 1 GB test).
    let pattern: Vec<u8> = (0..(64 * 1024 + 251) as u64).map(pattern_byte).collect();
    while left > 0 {
        let n = rd.read(&mut buf[..left.min(65536) as usize]).await.ok()?;
        if n == 0 {
            return None;
        }
        left -= n as u64;
        let mut chunk = &buf[..n];
        while good && !chunk.is_empty() {
            let Some(s) = segs.get(seg) else {
                good = false;
                break;
            };
            let (seg_len, take) = match s {
                Seg::Lit(b) => {
                    let take = chunk.len().min(b.len() - at as usize);
                    good &= chunk[..take] == b[at as usize..at as usize + take];
                    (b.len() as u64, take)
                }
                Seg::Pattern(total) => {
                    let take = (chunk.len() as u64).min(total - at) as usize;
                    let from = (at % 251) as usize;
                    good &= chunk[..take] == pattern[from..from + take];
                    (*total, take)
                }
            };
            chunk = &chunk[take..];
            at += take as u64;
            if at == seg_len {
                seg += 1;
                at = 0;
            }
        }
    }
    Some(good && seg == segs.len())
}

async fn surge(dir: &Path, scenario: &str) -> (std::process::ExitStatus, String, u64) {
    let sc = dir.join("upload.toml");
    std::fs::write(&sc, scenario).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .arg("run")
        .arg(&sc)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--yes")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id().unwrap());
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let _ = tokio::join!(out.read_to_end(&mut a), err.read_to_end(&mut b));
        format!(
            "{}{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        )
    });
    // VmHWM is the process's peak resident size so far: the last reading before it exits.
    let mut peak_kb = 0;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        match tokio::time::timeout(std::time::Duration::from_millis(20), child.wait()).await {
            Ok(s) => break s.unwrap(),
            Err(_) => continue,
        }
    };
    (status, reader.await.unwrap(), peak_kb)
}

fn head(boundary: &str, first: bool, name: &str, file: Option<(&str, &str)>) -> Vec<u8> {
    let mut h = String::new();
    if !first {
        h.push_str("\r\n");
    }
    h.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
    ));
    if let Some((f, ct)) = file {
        h.push_str(&format!("; filename=\"{f}\"\r\nContent-Type: {ct}"));
    }
    h.push_str("\r\n\r\n");
    h.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_body_arrives_byte_for_byte_with_its_fields_files_names_and_types() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    // Not a multiple of the transport's 64 KiB chunk.
    const SMALL: u64 = 200_003;
    write_pattern(&dir.path().join("data/small.bin"), SMALL);
    std::fs::write(dir.path().join("data/rows.csv"), "a,b\n1,2\n").unwrap();
    let expect: Expect = Arc::new(|b: &str| {
        vec![
            Seg::Lit(head(b, true, "title", None)),
            Seg::Lit("Q3 report ✓".as_bytes().to_vec()),
            Seg::Lit(head(
                b,
                false,
                "doc",
                Some(("small.bin", "application/octet-stream")),
            )),
            Seg::Pattern(SMALL),
            Seg::Lit(head(b, false, "rows", Some(("renamed.csv", "text/csv")))),
            Seg::Lit(b"a,b\n1,2\n".to_vec()),
            Seg::Lit(format!("\r\n--{b}--\r\n").into_bytes()),
        ]
    });
    let srv = upload_server(expect).await;
    let scenario = format!(
        r#"name = "upload"
[target]
base_url = "http://127.0.0.1:{}"
[[request]]
name = "upload"
method = "POST"
path = "/upload"
[[request.multipart]]
name = "title"
value = "Q3 report ✓"
[[request.multipart]]
name = "doc"
file = "data/small.bin"
[[request.multipart]]
name = "rows"
file = "data/rows.csv"
filename = "renamed.csv"
content_type = "text/csv"
[load]
threads = 2
loops = 3
"#,
        srv.port
    );
    let (status, terminal, _) = surge(dir.path(), &scenario).await;
    assert!(status.success(), "{terminal}");
    assert_eq!(srv.ok.load(Ordering::SeqCst), 6, "{terminal}");
    assert_eq!(srv.bad.load(Ordering::SeqCst), 0, "{terminal}");

    // A mistake names the field and exits 2: a GET cannot upload, a file that is not there.
    let wrong = scenario
        .replace("method = \"POST\"", "method = \"GET\"")
        .replace("data/rows.csv", "data/missing.csv");
    let (status, terminal, _) = surge(dir.path(), &wrong).await;
    assert_eq!(status.code(), Some(2), "{terminal}");
    assert!(terminal.contains("request[0].method"), "{terminal}");
    assert!(
        terminal.contains("request[0].multipart[2].file"),
        "{terminal}"
    );
    assert!(terminal.contains("missing.csv"), "{terminal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_file_uploaded_by_20_users_is_streamed_not_held_in_memory() {
    const BIG: u64 = 50 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    write_pattern(&dir.path().join("big.bin"), BIG);
    let expect: Expect = Arc::new(|b: &str| {
        vec![
            Seg::Lit(head(
                b,
                true,
                "file",
                Some(("big.bin", "application/octet-stream")),
            )),
            Seg::Pattern(BIG),
            Seg::Lit(format!("\r\n--{b}--\r\n").into_bytes()),
        ]
    });
    let srv = upload_server(expect).await;
    let scenario = format!(
        "name = \"big\"\n[target]\nbase_url = \"http://127.0.0.1:{}\"\ntimeout = \"300s\"\n[[request]]\nname = \"upload\"\nmethod = \"POST\"\npath = \"/upload\"\n[[request.multipart]]\nname = \"file\"\nfile = \"big.bin\"\n[load]\nthreads = 20\nloops = 1\n",
        srv.port
    );
    let (status, terminal, peak_kb) = surge(dir.path(), &scenario).await;
    assert!(status.success(), "{terminal}");
    assert_eq!(srv.ok.load(Ordering::SeqCst), 20, "{terminal}");
    assert_eq!(srv.bad.load(Ordering::SeqCst), 0);
    // 20 × 50 MB = 1 GB went out; held whole, that is what surge's peak would be.
    assert!(peak_kb > 0, "VmHWM was read");
    assert!(peak_kb < 200_000, "surge peaked at {peak_kb} kB");
    eprintln!("surge's peak resident memory uploading 20 × 50 MB: {peak_kb} kB");
}

/// An HTTP/2 (prior knowledge) server that collects each body (small here) and compares it
/// with `expect(boundary)`; counts bodies that match and came over HTTP/2 with their length.
async fn h2c_upload_server(expect: Expect) -> Upload {
    use http_body_util::BodyExt as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ok, bad) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (ok2, bad2) = (ok.clone(), bad.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (expect, ok, bad) = (expect.clone(), ok2.clone(), bad2.clone());
            let svc =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (expect, ok, bad) = (expect.clone(), ok.clone(), bad.clone());
                    async move {
                        let h2 = req.version() == http::Version::HTTP_2;
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        };
                        let len = header("content-length").and_then(|v| v.parse::<usize>().ok());
                        let boundary = header("content-type").and_then(|v| {
                            v.strip_prefix("multipart/form-data; boundary=")
                                .map(str::to_string)
                        });
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let mut want = Vec::new();
                        for s in boundary.as_deref().map(|b| expect(b)).unwrap_or_default() {
                            match s {
                                Seg::Lit(b) => want.extend_from_slice(&b),
                                Seg::Pattern(n) => want.extend((0..n).map(pattern_byte)),
                            }
                        }
                        let good =
                            h2 && boundary.is_some() && len == Some(body.len()) && body == want;
                        (if good { &ok } else { &bad }).fetch_add(1, Ordering::SeqCst);
                        let status = if good { 200 } else { 400 };
                        let mut resp =
                            http::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                .await;
            });
        }
    });
    Upload { port, ok, bad }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_http2_streams_the_same_bytes_with_its_length() {
    const SIZE: u64 = 150_001;
    let dir = tempfile::tempdir().unwrap();
    write_pattern(&dir.path().join("f.bin"), SIZE);
    let expect: Expect = Arc::new(|b: &str| {
        vec![
            Seg::Lit(head(b, true, "note", None)),
            Seg::Lit(b"over h2".to_vec()),
            Seg::Lit(head(
                b,
                false,
                "file",
                Some(("f.bin", "application/octet-stream")),
            )),
            Seg::Pattern(SIZE),
            Seg::Lit(format!("\r\n--{b}--\r\n").into_bytes()),
        ]
    });
    let srv = h2c_upload_server(expect).await;
    let scenario = format!(
        "name = \"h2\"\n[target]\nbase_url = \"http://127.0.0.1:{}\"\nhttp = \"http2\"\n[[request]]\nname = \"upload\"\nmethod = \"PUT\"\npath = \"/upload\"\n[[request.multipart]]\nname = \"note\"\nvalue = \"over h2\"\n[[request.multipart]]\nname = \"file\"\nfile = \"f.bin\"\n[load]\nthreads = 2\nloops = 2\n",
        srv.port
    );
    let (status, terminal, _) = surge(dir.path(), &scenario).await;
    assert!(status.success(), "{terminal}");
    assert_eq!(srv.ok.load(Ordering::SeqCst), 4, "{terminal}");
    assert_eq!(srv.bad.load(Ordering::SeqCst), 0);
}
