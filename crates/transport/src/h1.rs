//! HTTP/1.1 on one user's own connection, written for the hot path: the request goes out in one
//! write (head and a small body together), the response head is parsed in place by httparse
//! from a small buffer the connection keeps, and the body is read and counted (kept only when
//! the caller asks) with Content-Length, chunked or close-delimited framing (RFC 9112 §6).
//! No channel, no second task, no allocation per request beyond what the caller keeps; each
//! connection holds a 4 KiB read buffer and its last request's bytes.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};

use super::classify::io_class;
use super::headers::{parse_retry_after, rate_limit_from};
use surge_record::{ErrorClass, RateLimitHeaders};

/// The read buffer a connection starts with (and shrinks back to after a large response).
const INIT_BUF: usize = 4 * 1024;
/// The largest read buffer while a body streams through it.
const MAX_BODY_BUF: usize = 64 * 1024;
/// A response head longer than this is `invalid_response`.
const MAX_HEAD: usize = 64 * 1024;
/// Headers parsed per response at most.
const MAX_HEADERS: usize = 100;
/// A body up to this long goes out in the same write as the head.
const INLINE_BODY: usize = 16 * 1024;

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes (0: no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A response head: what the transport records and what the body read needs.
#[derive(Debug)]
pub(crate) struct Head {
    /// Status code.
    pub status: u16,
    /// How the body ends.
    pub framing: Framing,
    /// The connection may carry the next request after this response.
    pub keep_alive: bool,
    /// Bytes of the head (status line, headers, blank line; informational heads included).
    pub len: usize,
    /// Parsed `Retry-After`, ms.
    pub retry_after_ms: Option<u32>,
    /// `inin-ratelimit-*`.
    pub rate_limit: Option<RateLimitHeaders>,
    /// Every header, when asked for.
    pub headers: Option<HeaderMap>,
    /// The `Set-Cookie` values (empty, and unallocated, when there are none).
    pub set_cookies: Vec<HeaderValue>,
}

/// Why writing a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The connection refused the first byte: nothing reached the server.
    NotSent(ErrorClass),
    /// It failed part way.
    Failed(ErrorClass),
}

/// Buffers borrowed by exchanges, per thread: each core's runtime has its own, so taking and
/// giving one back is a thread-local pop or push.
mod pool {
    use std::cell::RefCell;

    /// Free buffers kept per thread at most (16 MiB).
    const KEEP: usize = 4096;

    thread_local! {
        static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty buffer of [`super::INIT_BUF`] capacity.
    pub(super) fn take() -> Vec<u8> {
        FREE.try_with(|f| f.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| Vec::with_capacity(super::INIT_BUF))
    }

    /// Gives a buffer back (one that grew is dropped).
    pub(super) fn give(mut b: Vec<u8>) {
        if b.capacity() != super::INIT_BUF {
            return;
        }
        b.clear();
        let _ = FREE.try_with(|f| {
            let mut f = f.borrow_mut();
            if f.len() < KEEP {
                f.push(b);
            }
        });
    }
}

/// One HTTP/1.1 connection.
#[derive(Debug)]
pub(crate) struct H1<S> {
    io: S,
    /// The exchange's bytes: `buf[pos..]` is read and not yet consumed. Empty (no allocation)
    /// between exchanges.
    buf: Vec<u8>,
    pos: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1<S> {
    /// A connection over `io`.
    pub fn new(io: S) -> H1<S> {
        H1 {
            io,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// The byte stream.
    pub fn io(&self) -> &S {
        &self.io
    }

    /// True when the idle connection can take a request: the server has not closed it and sent
    /// nothing unasked. Costs no system call while the socket is known not readable.
    pub async fn idle_ok(&mut self) -> bool {
        if self.pos != self.buf.len() {
            return false;
        }
        let io = &mut self.io;
        poll_fn(|cx| {
            let mut one = [0u8; 1];
            let mut rb = ReadBuf::new(&mut one);
            Poll::Ready(Pin::new(&mut *io).poll_read(cx, &mut rb).is_pending())
        })
        .await
    }

    /// Writes a request: `method target HTTP/1.1`, `headers` as given, then the body (with its
    /// `content-length`, unless a header sets one). Returns the bytes written.
    pub async fn write_request<'h>(
        &mut self,
        method: &http::Method,
        target: &str,
        headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
        body: Option<&[u8]>,
    ) -> Result<usize, WriteError> {
        let mut out = std::mem::take(&mut self.buf);
        if out.capacity() == 0 {
            out = pool::take();
        }
        out.clear();
        self.pos = 0;
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let mut has_length = false;
        for (k, v) in headers {
            has_length |= k == http::header::CONTENT_LENGTH || k == http::header::TRANSFER_ENCODING;
            out.extend_from_slice(k.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let payload = matches!(
            *method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        );
        if !has_length && (body.is_some() || payload) {
            let n = body.map_or(0, <[u8]>::len);
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa(n as u64, &mut [0u8; 20]));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        let rest = match body {
            Some(b) if b.len() <= INLINE_BODY => {
                out.extend_from_slice(b);
                None
            }
            other => other,
        };
        let written = out.len() + rest.map_or(0, <[u8]>::len);
        let r = self.write_out(&out, rest).await;
        // The same buffer takes the answer.
        out.clear();
        self.buf = out;
        r.map(|()| written)
    }

    /// Writes a streamed body after a head written by [`H1::write_request`] (whose headers gave
    /// its `content-length`), and flushes.
    pub async fn write_streamed(
        &mut self,
        body: &crate::streamed::Streamed,
    ) -> Result<(), WriteError> {
        let fail =
            |e: std::io::Error| WriteError::Failed(io_class(&e).unwrap_or(ErrorClass::Other));
        body.write_to(&mut self.io).await.map_err(fail)?;
        self.io.flush().await.map_err(fail)
    }

    /// Writes `out` then `rest`; the first write tells whether the connection took anything.
    async fn write_out(&mut self, out: &[u8], rest: Option<&[u8]>) -> Result<(), WriteError> {
        let n = match self.io.write(out).await {
            Ok(0) => return Err(WriteError::NotSent(ErrorClass::Reset)),
            Ok(n) => n,
            Err(e) => {
                return Err(WriteError::NotSent(
                    io_class(&e).unwrap_or(ErrorClass::Reset),
                ))
            }
        };
        let fail =
            |e: std::io::Error| WriteError::Failed(io_class(&e).unwrap_or(ErrorClass::Reset));
        self.io.write_all(&out[n..]).await.map_err(fail)?;
        if let Some(b) = rest {
            self.io.write_all(b).await.map_err(fail)?;
        }
        self.io.flush().await.map_err(fail)
    }

    /// Reads more bytes into the buffer (growing it up to `limit`); `Ok(0)` at end of stream.
    async fn fill(&mut self, limit: usize) -> Result<usize, ErrorClass> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        if self.buf.capacity() == 0 {
            self.buf = pool::take();
        }
        if self.buf.len() == self.buf.capacity() {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            if self.buf.len() == self.buf.capacity() {
                let cap = self.buf.capacity();
                if cap >= limit {
                    return Err(ErrorClass::InvalidResponse);
                }
                self.buf.reserve_exact(cap.min(limit - cap));
            }
        }
        self.io
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| io_class(&e).unwrap_or(ErrorClass::Reset))
    }

    /// Gives the buffer back when everything in it has been read.
    fn release(&mut self) {
        if self.pos == self.buf.len() {
            pool::give(std::mem::take(&mut self.buf));
            self.pos = 0;
        }
    }

    /// Reads the response head (skipping informational `1xx` heads). `head_request`: the
    /// request was `HEAD` (no body follows whatever the head says). `keep_headers`: return
    /// every header too.
    pub async fn read_head(
        &mut self,
        head_request: bool,
        keep_headers: bool,
    ) -> Result<Head, ErrorClass> {
        let mut len = 0;
        loop {
            // The header slots live only in this block, not across the read below: an async
            // fn keeps across an await whatever is in scope there (3 KiB per idle user).
            let parsed = {
                let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut resp = httparse::Response::new(&mut slots);
                match resp.parse(&self.buf[self.pos..]) {
                    Ok(httparse::Status::Complete(n)) => {
                        len += n;
                        let status = resp.code.unwrap_or(0);
                        let head = if (100..200).contains(&status) && status != 101 {
                            None
                        } else {
                            Some(head_of(&resp, status, head_request, keep_headers, len)?)
                        };
                        Some((n, head))
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(_) => return Err(ErrorClass::InvalidResponse),
                }
            };
            match parsed {
                Some((n, Some(head))) => {
                    self.pos += n;
                    return Ok(head);
                }
                // An informational head: the answer follows.
                Some((n, None)) => {
                    self.pos += n;
                    continue;
                }
                None => {}
            }
            if self.fill(MAX_HEAD).await? == 0 {
                // Closed before a whole head: the request got no answer.
                return Err(ErrorClass::Reset);
            }
        }
    }

    /// Reads the body framed as `framing`, handing each piece of payload to `data`; returns
    /// the bytes read off the wire for it (chunk framing included).
    pub async fn read_body(
        &mut self,
        framing: Framing,
        mut data: impl FnMut(&[u8]),
    ) -> Result<usize, ErrorClass> {
        let wire = match framing {
            Framing::Length(n) => self.read_exact(n, &mut data).await?,
            Framing::Close => {
                let mut wire = 0;
                loop {
                    let avail = &self.buf[self.pos..];
                    data(avail);
                    wire += avail.len();
                    self.pos = self.buf.len();
                    if self.fill(MAX_BODY_BUF).await.map_err(body_class)? == 0 {
                        break wire;
                    }
                }
            }
            Framing::Chunked => self.read_chunked(&mut data).await?,
        };
        self.release();
        Ok(wire)
    }

    async fn read_exact(
        &mut self,
        n: u64,
        data: &mut impl FnMut(&[u8]),
    ) -> Result<usize, ErrorClass> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.buf.len() {
                // A large body streams through a bigger buffer (dropped when it ends).
                if left > self.buf.capacity() as u64 && self.buf.capacity() < MAX_BODY_BUF {
                    pool::give(std::mem::replace(
                        &mut self.buf,
                        Vec::with_capacity(MAX_BODY_BUF),
                    ));
                    self.pos = 0;
                }
                if self.fill(MAX_BODY_BUF).await.map_err(body_class)? == 0 {
                    return Err(ErrorClass::Reset);
                }
            }
            let take = (self.buf.len() - self.pos).min(usize::try_from(left).unwrap_or(usize::MAX));
            data(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take as u64;
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// A CRLF-terminated line of at most 4 KiB (without its CRLF), consumed; its wire length.
    async fn line(&mut self) -> Result<(std::ops::Range<usize>, usize), ErrorClass> {
        loop {
            let avail = &self.buf[self.pos..];
            if let Some(i) = avail.windows(2).position(|w| w == b"\r\n") {
                let r = self.pos..self.pos + i;
                self.pos += i + 2;
                return Ok((r, i + 2));
            }
            if avail.len() > 4096 {
                return Err(ErrorClass::InvalidResponse);
            }
            if self.fill(MAX_BODY_BUF).await.map_err(body_class)? == 0 {
                return Err(ErrorClass::Reset);
            }
        }
    }

    async fn read_chunked(&mut self, data: &mut impl FnMut(&[u8])) -> Result<usize, ErrorClass> {
        let mut wire = 0;
        loop {
            let (r, n) = self.line().await?;
            wire += n;
            let size = chunk_size(&self.buf[r]).ok_or(ErrorClass::InvalidResponse)?;
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    let (r, n) = self.line().await?;
                    wire += n;
                    if r.is_empty() {
                        return Ok(wire);
                    }
                }
            }
            wire += self.read_exact(size, data).await?;
            let (r, n) = self.line().await?;
            if !r.is_empty() {
                return Err(ErrorClass::InvalidResponse);
            }
            wire += n;
        }
    }
}

/// A transport failure while reading a body: what the socket says, else `body`.
fn body_class(c: ErrorClass) -> ErrorClass {
    match c {
        ErrorClass::Other => ErrorClass::Body,
        c => c,
    }
}

/// The hex size of a chunk-size line (extensions after `;` ignored).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|b| *b == b';').unwrap_or(line.len());
    let hex = std::str::from_utf8(&line[..end]).ok()?.trim();
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// True when the comma-separated `value` holds `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// What a parsed head says.
fn head_of(
    resp: &httparse::Response<'_, '_>,
    status: u16,
    head_request: bool,
    keep_headers: bool,
    len: usize,
) -> Result<Head, ErrorClass> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut retry_after = None;
    let (mut allowed, mut count, mut reset) = (None, None, None);
    let mut set_cookies = Vec::new();
    for h in resp.headers.iter() {
        let name = h.name;
        let v = h.value;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or(ErrorClass::InvalidResponse)?;
            if length.is_some_and(|l| l != n) {
                return Err(ErrorClass::InvalidResponse);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding decides; chunked must be last.
            let last = v.rsplit(|b| *b == b',').next().unwrap_or(b"").trim_ascii();
            chunked = last.eq_ignore_ascii_case(b"chunked");
            other_coding = !chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            close |= has_token(v, "close");
            keep_alive_token |= has_token(v, "keep-alive");
        } else if name.eq_ignore_ascii_case("retry-after") {
            retry_after = std::str::from_utf8(v)
                .ok()
                .and_then(|s| parse_retry_after(s, SystemTime::now()));
        } else if name.eq_ignore_ascii_case("set-cookie") {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                set_cookies.push(v);
            }
        } else if name.len() > 15 && name[..15].eq_ignore_ascii_case("inin-ratelimit-") {
            match name[15..].to_ascii_lowercase().as_str() {
                "allowed" => allowed = Some(v),
                "count" => count = Some(v),
                "reset" => reset = Some(v),
                _ => {}
            }
        }
    }
    let http10 = resp.version == Some(0);
    let mut framing =
        if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
            Framing::Length(0)
        } else if chunked {
            Framing::Chunked
        } else if other_coding {
            Framing::Close
        } else {
            match length {
                Some(n) => Framing::Length(n),
                None => Framing::Close,
            }
        };
    if status == 101 {
        framing = Framing::Length(0);
        close = true;
    }
    // Both a length and a transfer coding: the coding wins, and the connection is not trusted
    // with another request (RFC 9112 §6.3).
    let smuggled = length.is_some() && (chunked || other_coding);
    let keep_alive =
        !close && !smuggled && framing != Framing::Close && (!http10 || keep_alive_token);
    let headers = keep_headers.then(|| {
        let mut m = HeaderMap::with_capacity(resp.headers.len());
        for h in resp.headers.iter() {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_bytes(h.value),
            ) {
                m.append(k, v);
            }
        }
        m
    });
    Ok(Head {
        status,
        framing,
        keep_alive,
        len,
        retry_after_ms: retry_after,
        rate_limit: rate_limit_from(allowed, count, reset),
        headers,
        set_cookies,
    })
}

/// `n` in decimal, written into `buf`.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests;
