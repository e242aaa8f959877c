use tokio::io::{duplex, AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

use super::*;

/// A client over an in-memory pipe of `cap` bytes (small: reads come in pieces), and the server
/// end.
fn pair(cap: usize) -> (H1<DuplexStream>, DuplexStream) {
    let (c, s) = duplex(cap);
    (H1::new(c), s)
}

async fn body_of(c: &mut H1<DuplexStream>, framing: Framing) -> (Vec<u8>, usize) {
    let mut got = Vec::new();
    let wire = c
        .read_body(framing, |d| got.extend_from_slice(d))
        .await
        .unwrap();
    (got, wire)
}

#[tokio::test]
async fn content_length_keep_alive_and_a_second_exchange_on_the_same_connection() {
    let (mut c, mut s) = pair(64 * 1024);
    for round in 0..2 {
        let h = HeaderValue::from_static("x");
        c.write_request(
            &http::Method::GET,
            "/a?b=1",
            [(&http::header::HOST, &h)],
            None,
        )
        .await
        .unwrap();
        let mut req = vec![0; 1024];
        let n = s.read(&mut req).await.unwrap();
        assert_eq!(
            std::str::from_utf8(&req[..n]).unwrap(),
            "GET /a?b=1 HTTP/1.1\r\nhost: x\r\n\r\n",
            "round {round}"
        );
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nRetry-After: 2\r\ninin-ratelimit-allowed: 300\r\nInin-RateLimit-Count: 12\r\ninin-ratelimit-reset: 40\r\n\r\nhello")
            .await
            .unwrap();
        let head = c.read_head(false, false).await.unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
        assert_eq!(head.retry_after_ms, Some(2000));
        assert_eq!(
            head.rate_limit,
            Some(RateLimitHeaders {
                allowed: 300,
                count: 12,
                reset: 40
            })
        );
        assert!(head.headers.is_none());
        assert_eq!(body_of(&mut c, head.framing).await, (b"hello".to_vec(), 5));
        assert!(c.idle_ok().await);
    }
}

#[tokio::test]
async fn chunked_bodies_in_small_pieces_with_extensions_and_trailers() {
    let (mut c, mut s) = pair(7);
    let server = tokio::spawn(async move {
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: t\r\n\r\n")
            .await
            .unwrap();
        s
    });
    let head = c.read_head(false, true).await.unwrap();
    assert_eq!(head.framing, Framing::Chunked);
    assert_eq!(head.headers.as_ref().unwrap()["x-a"], "1");
    let (body, wire) = body_of(&mut c, head.framing).await;
    assert_eq!(body, b"helloabcdefghijklmnopqrstuvwxyz");
    assert_eq!(
        wire,
        "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: t\r\n\r\n".len()
    );
    assert!(head.keep_alive);
    drop(server.await.unwrap());
}

#[tokio::test]
async fn close_delimited_bodies_end_the_connection() {
    let (mut c, mut s) = pair(1024);
    s.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        .await
        .unwrap();
    drop(s);
    let head = c.read_head(false, false).await.unwrap();
    assert_eq!(head.framing, Framing::Close);
    assert!(!head.keep_alive);
    assert_eq!(body_of(&mut c, head.framing).await.0, b"until the end");
}

#[tokio::test]
async fn heads_without_bodies_informational_heads_and_connection_tokens() {
    let cases: &[(&[u8], bool, u16, Framing, bool)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
            true,
            200,
            Framing::Length(0),
            true,
        ),
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            false,
            204,
            Framing::Length(0),
            true,
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            false,
            304,
            Framing::Length(0),
            true,
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n",
            false,
            429,
            Framing::Length(0),
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
            200,
            Framing::Chunked,
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 0\r\n\r\n",
            false,
            200,
            Framing::Length(0),
            false,
        ),
        (
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            false,
            200,
            Framing::Length(0),
            false,
        ),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            false,
            200,
            Framing::Length(0),
            true,
        ),
    ];
    for (wire, head_req, status, framing, keep) in cases {
        let (mut c, mut s) = pair(4096);
        s.write_all(wire).await.unwrap();
        let h = c.read_head(*head_req, false).await.unwrap();
        let shown = String::from_utf8_lossy(wire);
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (*status, *framing, *keep),
            "{shown}"
        );
        assert_eq!(h.len, wire.len(), "{shown}");
    }
}

#[tokio::test]
async fn broken_answers_are_classified() {
    let cases: &[(&[u8], ErrorClass)] = &[
        (b"SSH-2.0-OpenSSH\r\n\r\n", ErrorClass::InvalidResponse),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            ErrorClass::InvalidResponse,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            ErrorClass::InvalidResponse,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-", ErrorClass::Reset),
        (b"", ErrorClass::Reset),
    ];
    for (wire, class) in cases {
        let (mut c, mut s) = pair(4096);
        s.write_all(wire).await.unwrap();
        drop(s);
        assert_eq!(
            c.read_head(false, false).await.unwrap_err(),
            *class,
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
    // A body cut short, and a bad chunk size.
    let (mut c, mut s) = pair(4096);
    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    drop(s);
    let h = c.read_head(false, false).await.unwrap();
    assert_eq!(
        c.read_body(h.framing, |_| {}).await.unwrap_err(),
        ErrorClass::Reset
    );
    let (mut c, mut s) = pair(4096);
    s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        .await
        .unwrap();
    let h = c.read_head(false, false).await.unwrap();
    assert_eq!(
        c.read_body(h.framing, |_| {}).await.unwrap_err(),
        ErrorClass::InvalidResponse
    );
    // A head too long for any buffer.
    let (mut c, mut s) = pair(256 * 1024);
    let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
    while long.len() < MAX_HEAD + 10 {
        long.extend_from_slice(
            b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    s.write_all(&long).await.unwrap();
    assert_eq!(
        c.read_head(false, false).await.unwrap_err(),
        ErrorClass::InvalidResponse
    );
}

#[tokio::test]
async fn bodies_are_written_with_their_length_small_ones_in_the_same_write() {
    for size in [0usize, 3, INLINE_BODY + 1] {
        let (mut c, mut s) = pair(256 * 1024);
        let body = vec![b'b'; size];
        let ct = HeaderValue::from_static("application/json");
        c.write_request(
            &http::Method::POST,
            "http://h/x",
            [(&http::header::CONTENT_TYPE, &ct)],
            (size > 0).then_some(&body[..]),
        )
        .await
        .unwrap();
        let head = format!("POST http://h/x HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n");
        let mut got = vec![0; head.len() + size];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..head.len()], head.as_bytes());
        assert!(got[head.len()..].iter().all(|b| *b == b'b'));
    }
    // A large body streams through a larger buffer, given back after.
    let (mut c, mut s) = pair(256 * 1024);
    let n = 200_000;
    let server = tokio::spawn(async move {
        s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        s.write_all(&vec![b'z'; n]).await.unwrap();
        s
    });
    let h = c.read_head(false, false).await.unwrap();
    let mut seen = 0;
    assert_eq!(
        c.read_body(h.framing, |d| seen += d.len()).await.unwrap(),
        n
    );
    assert_eq!(seen, n);
    assert_eq!(
        c.buf.capacity(),
        0,
        "the buffer is given back after the answer"
    );
    drop(server.await.unwrap());
}

#[tokio::test]
async fn an_idle_connection_the_server_closed_is_not_reused() {
    let (mut c, s) = pair(1024);
    assert!(c.idle_ok().await);
    drop(s);
    assert!(!c.idle_ok().await);
    let (mut c, mut s) = pair(1024);
    s.write_all(b"unasked").await.unwrap();
    assert!(!c.idle_ok().await);
}

#[test]
fn chunk_sizes_and_tokens() {
    assert_eq!(chunk_size(b"1A"), Some(26));
    assert_eq!(chunk_size(b"0;x=y"), Some(0));
    assert_eq!(chunk_size(b""), None);
    assert_eq!(chunk_size(b"g"), None);
    assert!(has_token(b"Keep-Alive, Close", "close"));
    assert!(!has_token(b"closed", "close"));
    assert_eq!(itoa(0, &mut [0; 20]), b"0");
    assert_eq!(itoa(1234567, &mut [0; 20]), b"1234567");
}
