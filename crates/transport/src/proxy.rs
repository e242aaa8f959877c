//! Which forward proxy a request goes through: the scenario's `[target] proxy` (or `"none"`,
//! parsed by `surge_plan::proxy`), else the conventional environment (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, upper or lower case). One decision ([`Proxies::for_target`]) serves the
//! hot path and the OAuth token requests alike.

use std::net::IpAddr;

pub use surge_plan::proxy::{redact, ProxyError, ProxySetting, ProxyUrl};

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
        self.for_url(&u).and_then(|p| reqwest_proxy(p).ok())
    }
}

/// The proxy reqwest is given for the token requests (credentials in a `Proxy-Authorization`
/// value, never in a URL).
fn reqwest_proxy(p: &ProxyUrl) -> Result<reqwest::Proxy, reqwest::Error> {
    let r = reqwest::Proxy::all(p.shown())?;
    Ok(match p.authorization() {
        Some(a) => r.custom_http_auth(a.clone()),
        None => r,
    })
}

#[cfg(test)]
mod tests;
