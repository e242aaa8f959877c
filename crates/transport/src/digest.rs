//! HTTP Digest authentication (RFC 7616, MD5 as JMeter's HTTP Authorization Manager speaks
//! it): a user's first request goes without credentials; a 401 with a `Digest` challenge is
//! answered by the same request with its `Authorization`; later requests answer the same
//! challenge with a growing nonce count until the server sends a new one.

use md5::{Digest as _, Md5};

/// The credentials, read from the environment at the run's start. Never printed.
#[derive(Clone)]
pub struct DigestCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for DigestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A server's challenge, as a user keeps it, with its nonce count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    qop_auth: bool,
    /// Requests answered with this nonce so far.
    nc: u32,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

/// The `key=value` (or `key="value"`) parameters of a challenge.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), &q[(end + 1).min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((key, value));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

impl Challenge {
    /// Reads a `WWW-Authenticate: Digest …` value; None for another scheme or an algorithm
    /// other than MD5.
    pub fn parse(value: &str) -> Option<Challenge> {
        let v = value.trim();
        if v.len() < 7 || !v[..7].eq_ignore_ascii_case("digest ") {
            return None;
        }
        let p = params(&v[7..]);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("md5")) {
            return None;
        }
        Some(Challenge {
            realm: get("realm").unwrap_or_default(),
            nonce: get("nonce")?,
            opaque: get("opaque"),
            qop_auth: get("qop").is_some_and(|q| q.split(',').any(|x| x.trim() == "auth")),
            nc: 0,
        })
    }

    /// The `Authorization` value for `method` on `uri` (path and query), counting this use.
    pub fn answer(
        &mut self,
        creds: &DigestCredentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        self.nc += 1;
        let ha1 = md5_hex(&[&creds.username, &self.realm, &creds.password]);
        let ha2 = md5_hex(&[method, uri]);
        let nc = format!("{:08x}", self.nc);
        let mut out = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm=MD5",
            creds.username, self.realm, self.nonce
        );
        let response = if self.qop_auth {
            out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
            md5_hex(&[&ha1, &self.nonce, &nc, cnonce, "auth", &ha2])
        } else {
            md5_hex(&[&ha1, &self.nonce, &ha2])
        };
        out.push_str(&format!(", response=\"{response}\""));
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque=\"{o}\""));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_rfc_2617s_example() {
        // RFC 2617 §3.5: Mufasa / "Circle Of Life" at testrealm@host.com.
        let mut c = Challenge::parse(r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#).unwrap();
        let creds = DigestCredentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let a = c.answer(&creds, "GET", "/dir/index.html", "0a4f113b");
        assert!(
            a.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{a}"
        );
        assert!(
            a.contains("nc=00000001") && a.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#)
        );
        assert!(c.answer(&creds, "GET", "/", "x").contains("nc=00000002"));
        assert!(Challenge::parse("Basic realm=\"x\"").is_none());
        assert!(Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256").is_none());
        let d = format!("{creds:?}");
        assert!(!d.contains("Circle"), "{d}");
    }
}
