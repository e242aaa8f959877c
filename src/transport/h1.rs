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
use crate::record::{ErrorClass, RateLimitHeaders};

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
}

/// Why writing a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The connection refused the first byte: nothing reached the server.
    NotSent(ErrorClass),
    /// It failed part way.
    Failed(ErrorClass),
}

/// One HTTP/1.1 connection.
#[derive(Debug)]
pub(crate) struct H1<S> {
    io: S,
    /// Read storage: `buf[pos..filled]` is read and not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// The request being written.
    out: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1<S> {
    /// A connection over `io`.
    pub fn new(io: S) -> H1<S> {
        H1 {
            io,
            buf: vec![0; INIT_BUF],
            pos: 0,
            filled: 0,
            out: Vec::new(),
        }
    }

    /// True when the idle connection can take a request: the server has not closed it and sent
    /// nothing unasked. Costs no system call while the socket is known not readable.
    pub async fn idle_ok(&mut self) -> bool {
        if self.pos != self.filled {
            return false;
        }
        self.pos = 0;
        self.filled = 0;
        let (io, buf) = (&mut self.io, &mut self.buf);
        poll_fn(|cx| {
            let mut rb = ReadBuf::new(&mut buf[..1]);
            Poll::Ready(Pin::new(&mut *io).poll_read(cx, &mut rb).is_pending())
        })
        .await
    }

    /// Writes a request: `method target HTTP/1.1`, `headers` as given, then the body (with its
    /// `content-length`, unless a header sets one).
    /// Returns the bytes written.
    pub async fn write_request<'h>(
        &mut self,
        method: &http::Method,
        target: &str,
        headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
        body: Option<&[u8]>,
    ) -> Result<usize, WriteError> {
        let out = &mut self.out;
        out.clear();
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
        // The first write tells whether the connection took anything at all.
        let first = self.io.write(&self.out).await;
        let n = match first {
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
        self.io.write_all(&self.out[n..]).await.map_err(fail)?;
        if let Some(b) = rest {
            self.io.write_all(b).await.map_err(fail)?;
        }
        self.io.flush().await.map_err(fail)?;
        let written = self.out.len() + rest.map_or(0, <[u8]>::len);
        if self.out.capacity() > INLINE_BODY * 2 {
            self.out = Vec::new();
        }
        Ok(written)
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    async fn fill(&mut self, limit: usize) -> Result<usize, ErrorClass> {
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        } else if self.filled == self.buf.len() && self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        if self.filled == self.buf.len() {
            if self.buf.len() >= limit {
                return Err(ErrorClass::InvalidResponse);
            }
            let grown = (self.buf.len() * 2).min(limit);
            self.buf.resize(grown, 0);
        }
        match self.io.read(&mut self.buf[self.filled..]).await {
            Ok(n) => {
                self.filled += n;
                Ok(n)
            }
            Err(e) => Err(io_class(&e).unwrap_or(ErrorClass::Reset)),
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
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&self.buf[self.pos..self.filled]) {
                Ok(httparse::Status::Complete(n)) => {
                    len += n;
                    let status = resp.code.unwrap_or(0);
                    if (100..200).contains(&status) && status != 101 {
                        self.pos += n;
                        continue;
                    }
                    let head = head_of(&resp, status, head_request, keep_headers, len)?;
                    self.pos += n;
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(ErrorClass::InvalidResponse),
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
                    let avail = &self.buf[self.pos..self.filled];
                    data(avail);
                    wire += avail.len();
                    self.pos = self.filled;
                    if self.fill(MAX_BODY_BUF).await.map_err(body_class)? == 0 {
                        break wire;
                    }
                }
            }
            Framing::Chunked => self.read_chunked(&mut data).await?,
        };
        if self.buf.len() > INIT_BUF && self.pos == self.filled {
            self.buf = vec![0; INIT_BUF];
            self.pos = 0;
            self.filled = 0;
        }
        Ok(wire)
    }

    async fn read_exact(
        &mut self,
        n: u64,
        data: &mut impl FnMut(&[u8]),
    ) -> Result<usize, ErrorClass> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.filled {
                // Large bodies stream through a bigger buffer (given back when they end).
                if left > self.buf.len() as u64 && self.buf.len() < MAX_BODY_BUF {
                    self.buf.resize(MAX_BODY_BUF, 0);
                }
                if self.fill(MAX_BODY_BUF).await.map_err(body_class)? == 0 {
                    return Err(ErrorClass::Reset);
                }
            }
            let take = (self.filled - self.pos).min(usize::try_from(left).unwrap_or(usize::MAX));
            data(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take as u64;
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// A CRLF-terminated line of at most 4 KiB (without its CRLF), consumed; its wire length.
    async fn line(&mut self) -> Result<(std::ops::Range<usize>, usize), ErrorClass> {
        loop {
            let avail = &self.buf[self.pos..self.filled];
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
    let keep_alive = !close && framing != Framing::Close && (!http10 || keep_alive_token);
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
