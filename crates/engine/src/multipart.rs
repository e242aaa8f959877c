//! A request's `multipart/form-data` body as it is sent: each part's head made once, form
//! values rendered per request, files handed to the transport to stream from disk.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use surge_plan::multipart::{Part, PartContent};
use surge_plan::template::{Scope, Template};
use surge_transport::streamed::{Piece, Streamed};

/// What a part sends after its head.
enum Content {
    Text(Template),
    File { path: Arc<Path>, len: u64 },
}

/// The parts of one request, ready to render.
pub(crate) struct Multipart {
    /// Each part's head (the boundary line before it, its headers) and its content.
    parts: Vec<(Bytes, Content)>,
    /// The closing boundary.
    tail: Bytes,
    /// `multipart/form-data; boundary=…`.
    content_type: HeaderValue,
}

impl Multipart {
    /// The body of `parts`, under a boundary of its own (random, so no file holds it).
    pub(crate) fn new(parts: &[Part]) -> Option<Multipart> {
        if parts.is_empty() {
            return None;
        }
        let boundary = format!(
            "surge-{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let content_type =
            HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}")).ok()?;
        let parts = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut head = String::new();
                if i > 0 {
                    head.push_str("\r\n");
                }
                head.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                    p.name
                ));
                if let Some(f) = &p.filename {
                    head.push_str(&format!("; filename=\"{f}\""));
                }
                head.push_str("\r\n");
                if let Some(ct) = &p.content_type {
                    head.push_str(&format!("Content-Type: {ct}\r\n"));
                }
                head.push_str("\r\n");
                let content = match &p.content {
                    PartContent::Text(t) => Content::Text(t.clone()),
                    PartContent::File { path, len } => Content::File {
                        path: Arc::from(path.as_path()),
                        len: *len,
                    },
                };
                (Bytes::from(head), content)
            })
            .collect();
        Some(Multipart {
            parts,
            tail: Bytes::from(format!("\r\n--{boundary}--\r\n")),
            content_type,
        })
    }

    /// Its `Content-Type`, with the boundary.
    pub(crate) fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// The body for one request, form values rendered in `scope`.
    pub(crate) fn render(&self, scope: &Scope<'_>) -> Streamed {
        let mut s = Streamed::default();
        for (head, content) in &self.parts {
            s.push(Piece::Bytes(head.clone()));
            s.push(match content {
                Content::Text(t) => Piece::Bytes(Bytes::from(t.render(scope))),
                Content::File { path, len } => Piece::File {
                    path: path.clone(),
                    len: *len,
                },
            });
        }
        s.push(Piece::Bytes(self.tail.clone()));
        s
    }
}
