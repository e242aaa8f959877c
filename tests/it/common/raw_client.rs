//! A plain blocking HTTP/1.1 client for checking a limiter of `limiters.rs` without surge.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;

/// One keep-alive connection's client, for checking a limiter without surge: POSTs the publish
/// path with `Authorization: auth` and returns the status (reconnecting when the server closed).
pub struct RawClient {
    port: u16,
    auth: String,
    conn: Option<BufReader<TcpStream>>,
}

impl RawClient {
    pub fn new(port: u16, auth: &str) -> RawClient {
        RawClient {
            port,
            auth: auth.to_string(),
            conn: None,
        }
    }

    /// Sends one request and reads its answer; panics on a transport failure.
    pub fn publish(&mut self) -> u16 {
        use std::io::{Read, Write};
        let mut rd = match self.conn.take() {
            Some(c) => c,
            None => BufReader::new(TcpStream::connect(("127.0.0.1", self.port)).expect("connect")),
        };
        let req = format!(
            "POST /api/v2/flows/actions/publish?flow=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nContent-Length: 4\r\n\r\nnull",
            self.auth
        );
        rd.get_mut().write_all(req.as_bytes()).expect("write");
        let mut line = String::new();
        rd.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {line:?}"));
        let (mut len, mut close) = (0usize, false);
        loop {
            let mut h = String::new();
            rd.read_line(&mut h).expect("header");
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            if h.starts_with("connection:") && h.contains("close") {
                close = true;
            }
        }
        let mut body = vec![0; len];
        rd.read_exact(&mut body).expect("body");
        if !close {
            self.conn = Some(rd);
        }
        status
    }
}

/// `threads` requests sent at the same moment, one connection each; their statuses.
pub fn publish_at_once(port: u16, auth: &str, threads: u32) -> Vec<u16> {
    let gate = std::sync::Arc::new(std::sync::Barrier::new(threads as usize));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let gate = gate.clone();
            let mut c = RawClient::new(port, auth);
            std::thread::spawn(move || {
                gate.wait();
                c.publish()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a client thread"))
        .collect()
}
