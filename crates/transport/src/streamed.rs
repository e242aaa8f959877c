//! A request body sent in pieces, some read from files as they go out (a multipart upload): its
//! length is known before the first byte (so `Content-Length` is sent), and a file is read in
//! chunks of [`CHUNK`] bytes, never whole, so a 50 MB upload by many users costs each user one
//! chunk of memory.

use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::StreamExt as _;
use hyper::body::Frame;
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// How much of a file is read at a time.
pub const CHUNK: usize = 64 * 1024;

/// One piece of a streamed body.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Bytes held in memory (part headers, form fields, boundaries).
    Bytes(Bytes),
    /// The first `len` bytes of a file (its size when the run started).
    File {
        /// The file.
        path: Arc<Path>,
        /// How many bytes are sent.
        len: u64,
    },
}

/// A body of pieces and its length.
#[derive(Debug, Clone, Default)]
pub struct Streamed {
    pieces: Vec<Piece>,
    len: u64,
}

/// A file that no longer holds the bytes counted when the run started.
fn shrunk(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("{} is shorter than when the run started", path.display()),
    )
}

impl Streamed {
    /// Appends a piece.
    pub fn push(&mut self, p: Piece) {
        self.len += match &p {
            Piece::Bytes(b) => b.len() as u64,
            Piece::File { len, .. } => *len,
        };
        self.pieces.push(p);
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes every piece to `w` (files in chunks); the caller flushes.
    ///
    /// # Errors
    /// The writer's, a file's (unreadable, or shorter than counted).
    pub async fn write_to<W: AsyncWrite + Unpin>(&self, w: &mut W) -> io::Result<()> {
        let mut buf = Vec::new();
        for p in &self.pieces {
            match p {
                Piece::Bytes(b) => w.write_all(b).await?,
                Piece::File { path, len } => {
                    buf.resize(CHUNK, 0);
                    let mut f = tokio::fs::File::open(path).await?.take(*len);
                    let mut left = *len;
                    while left > 0 {
                        let n = f.read(&mut buf).await?;
                        if n == 0 {
                            return Err(shrunk(path));
                        }
                        w.write_all(&buf[..n]).await?;
                        left -= n as u64;
                    }
                }
            }
        }
        Ok(())
    }

    /// The body as a stream of frames (HTTP/2), files read chunk by chunk as they are polled.
    pub fn into_frames(self) -> BoxStream<'static, io::Result<Frame<Bytes>>> {
        futures::stream::iter(self.pieces)
            .flat_map(|p| match p {
                Piece::Bytes(b) => futures::stream::once(async move { Ok(b) }).boxed(),
                Piece::File { path, len } => file_chunks(path, len).boxed(),
            })
            .map(|r| r.map(Frame::data))
            .boxed()
    }

    /// The whole body in memory (the in-process mock's requests; never the network's).
    ///
    /// # Errors
    /// A file's.
    pub async fn collect(&self) -> io::Result<Bytes> {
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.write_to(&mut out).await?;
        Ok(Bytes::from(out))
    }
}

/// The first `len` bytes of `path`, [`CHUNK`] at a time.
fn file_chunks(
    path: Arc<Path>,
    len: u64,
) -> impl futures::Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures::stream::try_unfold(
        (None::<tokio::fs::File>, path, len),
        |(f, path, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let mut f = match f {
                Some(f) => f,
                None => tokio::fs::File::open(&path).await?,
            };
            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let mut buf = BytesMut::zeroed(want);
            let n = f.read(&mut buf).await?;
            if n == 0 {
                return Err(shrunk(&path));
            }
            buf.truncate(n);
            Ok(Some((buf.freeze(), (Some(f), path, left - n as u64))))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pieces_and_file_chunks_come_out_in_order_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.bin");
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let mut s = Streamed::default();
        s.push(Piece::Bytes(Bytes::from_static(b"head|")));
        s.push(Piece::File {
            path: file.clone().into(),
            len: data.len() as u64,
        });
        s.push(Piece::Bytes(Bytes::from_static(b"|tail")));
        let mut want = b"head|".to_vec();
        want.extend_from_slice(&data);
        want.extend_from_slice(b"|tail");
        assert_eq!(s.len(), want.len() as u64);
        assert_eq!(s.collect().await.unwrap(), want);
        let mut framed = Vec::new();
        let mut frames = s.clone().into_frames();
        while let Some(f) = frames.next().await {
            let d = f.unwrap().into_data().unwrap();
            assert!(d.len() <= CHUNK);
            framed.extend_from_slice(&d);
        }
        assert_eq!(framed, want);
        // A file cut short after the length was counted fails, both ways.
        std::fs::write(&file, b"short").unwrap();
        assert!(s.collect().await.is_err());
        let mut frames = s.into_frames();
        let mut failed = false;
        while let Some(f) = frames.next().await {
            failed |= f.is_err();
        }
        assert!(failed);
    }
}
