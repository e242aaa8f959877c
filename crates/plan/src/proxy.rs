//! A forward proxy as a scenario names it: `[target] proxy` (a URL, `"none"`, or the
//! environment's), parsed and checked when the scenario is read. Credentials live only in a
//! `Proxy-Authorization` value marked sensitive: `Debug`, `Display` and `Serialize` show the
//! proxy's scheme, host and port only. Which proxy each request goes through (the environment,
//! `NO_PROXY`) is the transport's decision.

use std::fmt;

use base64::Engine as _;
use http::HeaderValue;

/// A bad proxy setting. Messages name the setting and show the URL without its credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The value is not a URL an HTTP proxy can have.
    #[error("{0}")]
    Invalid(String),
    /// An environment variable the scenario names is not set.
    #[error("environment variable {0} is not set (the scenario's target.proxy_credentials_env reads it)")]
    MissingEnv(String),
}

/// An HTTP forward proxy: `http://[user:password@]host[:port]`. Shows without credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
}

impl ProxyUrl {
    /// Parses `http://[user:password@]host[:port]` (port 80 by default; a bare `host:port`
    /// means `http://`, as curl reads it). Credentials are percent-decoded.
    ///
    /// # Errors
    /// Not a URL, another scheme (`https://`, `socks5://`), a path or query, or no host. The
    /// message never repeats the credentials.
    pub fn parse(raw: &str) -> Result<ProxyUrl, ProxyError> {
        let raw = raw.trim();
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("http://{raw}")
        };
        let u = url::Url::parse(&with_scheme)
            .map_err(|e| ProxyError::Invalid(format!("{:?} is not a URL ({e})", redact(raw))))?;
        if u.scheme() != "http" {
            return Err(ProxyError::Invalid(format!(
                "{:?}: only http:// proxies are supported (HTTPS goes through them with CONNECT)",
                redact(raw)
            )));
        }
        if !(u.path().is_empty() || u.path() == "/") || u.query().is_some() {
            return Err(ProxyError::Invalid(format!(
                "{:?}: a proxy URL takes no path or query",
                redact(raw)
            )));
        }
        let host = match u.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => {
                return Err(ProxyError::Invalid(format!(
                    "{:?} has no host",
                    redact(raw)
                )))
            }
        };
        let mut p = ProxyUrl {
            host,
            port: u.port().unwrap_or(80),
            authorization: None,
        };
        if !u.username().is_empty() || u.password().is_some() {
            // A URL's userinfo is percent-encoded (RFC 3986 3.2.1), not form-encoded: `+` is a
            // plus sign, and an escape that is not one (`%zz`, a cut-short `%4`) stays as
            // written, as curl and the WHATWG URL standard read it. Basic credentials are UTF-8
            // (RFC 7617), so bytes that do not decode to it are refused.
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(std::borrow::Cow::into_owned)
                    .map_err(|_| ProxyError::Invalid("the proxy credentials are not UTF-8".into()))
            };
            let user = dec(u.username())?;
            let pass = dec(u.password().unwrap_or(""))?;
            p = p.with_credentials(&format!("{user}:{pass}"))?;
        }
        Ok(p)
    }

    /// The same proxy with `user:password` credentials (sent as `Proxy-Authorization: Basic`).
    ///
    /// # Errors
    /// Credentials that cannot be a header value.
    pub fn with_credentials(mut self, user_pass: &str) -> Result<ProxyUrl, ProxyError> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_pass.as_bytes());
        let mut v = HeaderValue::try_from(format!("Basic {encoded}"))
            .map_err(|_| ProxyError::Invalid("the proxy credentials are not valid".into()))?;
        v.set_sensitive(true);
        self.authorization = Some(v);
        Ok(self)
    }

    /// True when credentials go with requests to this proxy.
    pub fn has_credentials(&self) -> bool {
        self.authorization.is_some()
    }

    /// Host (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `Proxy-Authorization` value (sensitive), when the proxy has credentials.
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// `http://host:port`, never the credentials: what outputs show.
    pub fn shown(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())?;
        if self.authorization.is_some() {
            f.write_str(" (with credentials)")?;
        }
        Ok(())
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl serde::Serialize for ProxyUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown())
    }
}

/// `raw` with any userinfo replaced by `***`, for error messages.
pub fn redact(raw: &str) -> String {
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..end].rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest,
    }
}

/// Where a run's proxy comes from (the scenario's `[target] proxy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxySetting {
    /// The environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`), never for loopback hosts.
    #[default]
    Env,
    /// No proxy: every request goes direct (`proxy = "none"`).
    Off,
    /// This proxy, for every host `NO_PROXY` does not name (loopback included).
    Url(ProxyUrl),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `user:password` a proxy URL's credentials decode to, or the error.
    fn credentials(raw: &str) -> Result<String, ProxyError> {
        let auth = ProxyUrl::parse(raw)?.authorization().cloned().unwrap();
        let b64 = auth
            .to_str()
            .unwrap()
            .strip_prefix("Basic ")
            .unwrap()
            .to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        Ok(String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn userinfo_is_percent_decoded_as_curl_and_browsers_read_it() {
        let table = [
            ("http://user:pa%3Ass@p:3128", "user:pa:ss"),
            ("http://us%40er:p%20w@p:3128", "us@er:p w"),
            ("http://us+er:p+w@p:3128", "us+er:p+w"),
            ("http://user:p%2Bw@p:3128", "user:p+w"),
            ("http://user:p%zzw@p:3128", "user:p%zzw"),
            ("http://user:pw%4@p:3128", "user:pw%4"),
            ("http://user:%C3%A9@p:3128", "user:é"),
            ("http://user@p:3128", "user:"),
            ("http://:pw@p:3128", ":pw"),
        ];
        for (raw, want) in table {
            assert_eq!(credentials(raw).as_deref(), Ok(want), "{raw}");
        }
        let err = ProxyUrl::parse("http://user:%ff@p:3128").unwrap_err();
        assert_eq!(err.to_string(), "the proxy credentials are not UTF-8");
    }
}
