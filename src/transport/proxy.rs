//! Which forward proxy a request goes through: the scenario's `[target] proxy` (or `"none"`),
//! else the conventional environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
//! upper or lower case). One decision ([`Proxies::for_target`]) serves the hot path and the
//! OAuth token requests alike. Credentials live only in a `Proxy-Authorization` value marked
//! sensitive: `Debug`, `Display` and `Serialize` show the proxy's scheme, host and port only.

use std::fmt;
use std::net::IpAddr;

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
            let dec = |s: &str| {
                percent_decode(s).ok_or_else(|| {
                    ProxyError::Invalid("the proxy credentials are not UTF-8".into())
                })
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

    /// The URL reqwest is given for the token requests (credentials in its userinfo).
    pub(crate) fn reqwest_proxy(&self) -> Result<reqwest::Proxy, reqwest::Error> {
        let p = reqwest::Proxy::all(self.shown())?;
        Ok(match &self.authorization {
            Some(a) => p.custom_http_auth(a.clone()),
            None => p,
        })
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

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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

/// Hosts that go direct: `NO_PROXY`'s forms (`*`, `host`, `.domain`, `domain`, `host:port`,
/// IP addresses and CIDR ranges), comma- or space-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<NoProxyEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyEntry {
    Net(ipnet::IpNet),
    Ip(IpAddr, Option<u16>),
    /// A domain, lower case without a leading dot: matches itself and its subdomains.
    Domain(String, Option<u16>),
}

impl NoProxy {
    /// Parses a `NO_PROXY` value. Unparsable entries are kept as domain names (they then
    /// match nothing real), as curl does.
    pub fn parse(raw: &str) -> NoProxy {
        let mut n = NoProxy::default();
        for item in raw.split([',', ' ', '\t']).map(str::trim) {
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                n.all = true;
                continue;
            }
            if let Ok(net) = item.parse::<ipnet::IpNet>() {
                n.entries.push(NoProxyEntry::Net(net));
                continue;
            }
            let (host, port) = split_port(item);
            let host = host.trim_start_matches("*.").trim_start_matches('.');
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            match bare.parse::<IpAddr>() {
                Ok(ip) => n.entries.push(NoProxyEntry::Ip(ip, port)),
                Err(_) => n
                    .entries
                    .push(NoProxyEntry::Domain(host.to_ascii_lowercase(), port)),
            }
        }
        n
    }

    /// True when `host:port` goes direct.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        let host_lc = bare.to_ascii_lowercase();
        let host_lc = host_lc.trim_end_matches('.');
        self.entries.iter().any(|e| match e {
            NoProxyEntry::Net(net) => ip.is_some_and(|ip| net.contains(&ip)),
            NoProxyEntry::Ip(want, p) => ip == Some(*want) && p.is_none_or(|p| p == port),
            NoProxyEntry::Domain(d, p) => {
                let d = d.trim_end_matches('.');
                let name_ok = host_lc == d
                    || (host_lc.len() > d.len()
                        && host_lc.ends_with(d)
                        && host_lc.as_bytes()[host_lc.len() - d.len() - 1] == b'.');
                name_ok && p.is_none_or(|p| p == port)
            }
        })
    }

    /// True when no host is excluded.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

/// `host:port` → (`host`, port); a bare IPv6 address or a host without a port → (it, None).
fn split_port(item: &str) -> (&str, Option<u16>) {
    if let Some(rest) = item.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h, p.parse().ok());
        }
        return (item, None);
    }
    if item.matches(':').count() == 1 {
        if let Some((h, p)) = item.split_once(':') {
            if let Ok(p) = p.parse() {
                return (h, Some(p));
            }
        }
    }
    (item, None)
}

/// True for `localhost` (and its subdomains), 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let h = bare.to_ascii_lowercase();
            let h = h.trim_end_matches('.');
            h == "localhost" || h.ends_with(".localhost")
        }
    }
}

/// The proxies of one run, resolved once: which proxy (if any) each request goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<ProxyUrl>,
    https: Option<ProxyUrl>,
    no_proxy: NoProxy,
    /// Named in the scenario: applies to loopback hosts too.
    explicit: bool,
    /// Where the proxy came from: `target.proxy` or the environment variable's name.
    source: Option<String>,
}

impl Proxies {
    /// No proxy at all (the in-process transport, `proxy = "none"`).
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// Resolves the scenario's setting against the environment (read through `env`, so tests
    /// need not change the process's). `credentials_env` names a variable holding
    /// `user:password` for the proxy; `no_proxy` is the scenario's list, added to `NO_PROXY`.
    ///
    /// # Errors
    /// A proxy URL in the environment that cannot be used (naming the variable), or a
    /// credentials variable that is not set.
    pub fn resolve(
        setting: &ProxySetting,
        no_proxy: Option<&str>,
        credentials_env: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Proxies, ProxyError> {
        let var = |names: &[&str]| -> Option<(String, String)> {
            names.iter().find_map(|n| {
                env(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n.to_string(), v))
            })
        };
        let parse_env = |found: Option<(String, String)>| -> Result<_, ProxyError> {
            found
                .map(|(name, v)| {
                    ProxyUrl::parse(&v).map(|p| (name.clone(), p)).map_err(|e| {
                        ProxyError::Invalid(format!("environment variable {name}: {e}"))
                    })
                })
                .transpose()
        };
        let mut p = match setting {
            ProxySetting::Off => return Ok(Proxies::none()),
            ProxySetting::Url(u) => Proxies {
                http: Some(u.clone()),
                https: Some(u.clone()),
                explicit: true,
                source: Some("target.proxy".into()),
                ..Proxies::default()
            },
            ProxySetting::Env => {
                let all = parse_env(var(&["all_proxy", "ALL_PROXY"]))?;
                let http = parse_env(var(&["http_proxy", "HTTP_PROXY"]))?.or(all.clone());
                let https = parse_env(var(&["https_proxy", "HTTPS_PROXY"]))?.or(all);
                let source = match (&https, &http) {
                    (Some((a, _)), Some((b, _))) if a != b => Some(format!("{a}, {b}")),
                    (Some((a, _)), _) | (None, Some((a, _))) => Some(a.clone()),
                    (None, None) => None,
                };
                Proxies {
                    http: http.map(|(_, p)| p),
                    https: https.map(|(_, p)| p),
                    source,
                    ..Proxies::default()
                }
            }
        };
        let mut np = var(&["no_proxy", "NO_PROXY"])
            .map(|(_, v)| v)
            .unwrap_or_default();
        if let Some(extra) = no_proxy {
            np.push(',');
            np.push_str(extra);
        }
        p.no_proxy = NoProxy::parse(&np);
        if let Some(name) = credentials_env {
            if p.http.is_some() || p.https.is_some() {
                let creds = env(name).ok_or_else(|| ProxyError::MissingEnv(name.to_string()))?;
                for slot in [&mut p.http, &mut p.https] {
                    if let Some(u) = slot.take() {
                        *slot = Some(u.with_credentials(creds.trim())?);
                    }
                }
            }
        }
        Ok(p)
    }

    /// The proxy a request to `scheme://host:port` goes through, or `None` for direct. An
    /// environment proxy never applies to loopback hosts; `NO_PROXY` applies to every proxy.
    pub fn for_target(&self, https: bool, host: &str, port: u16) -> Option<&ProxyUrl> {
        let p = if https {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }?;
        if !self.explicit && is_loopback_host(host) {
            return None;
        }
        if self.no_proxy.matches(host, port) {
            return None;
        }
        Some(p)
    }

    /// As [`Proxies::for_target`], for a URL.
    pub fn for_url(&self, url: &url::Url) -> Option<&ProxyUrl> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        self.for_target(url.scheme() == "https", host, port)
    }

    /// Where the proxy came from (`target.proxy`, or the variable's name), when there is one.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// What the summary and result.json say about `url`: the proxy it goes through and where
    /// that came from, e.g. `http://proxy.corp:3128 (HTTPS_PROXY)`; never credentials.
    pub fn describe(&self, url: &str) -> Option<String> {
        let u = url::Url::parse(url).ok()?;
        let p = self.for_url(&u)?;
        Some(match &self.source {
            Some(s) => format!("{} ({s})", p.shown()),
            None => p.shown(),
        })
    }

    /// The reqwest proxy for requests to `url` (the OAuth token requests): the same decision
    /// as the hot path's, or `None` for direct.
    pub(crate) fn reqwest_proxy_for(&self, url: &str) -> Option<reqwest::Proxy> {
        let u = url::Url::parse(url).ok()?;
        self.for_url(&u).and_then(|p| p.reqwest_proxy().ok())
    }
}

#[cfg(test)]
mod tests;
