//! The client of the OAuth token requests (reqwest): the hot path's TLS set-up (so the same
//! authorities and client certificate), proxy decision and host mapping, for the login URL.

use std::sync::Arc;

use http::HeaderValue;
use surge_plan::resolve::HostMapping;
use surge_plan::{HttpVersion, Target};

use super::super::proxy::Proxies;
use super::TransportError;

/// The token client for `login_url`.
///
/// # Errors
/// [`TransportError::Client`] when reqwest cannot build it.
pub(super) fn token_client(
    target: &Target,
    tls: &Arc<rustls::ClientConfig>,
    proxies: &Proxies,
    login_url: Option<&str>,
    user_agent: &HeaderValue,
) -> Result<reqwest::Client, TransportError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(target.connect_timeout)
        .timeout(target.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .user_agent(user_agent.clone())
        .tls_backend_preconfigured((**tls).clone())
        .no_proxy();
    if let Some(p) = login_url.and_then(|u| proxies.reqwest_proxy_for(u)) {
        b = b.proxy(p);
    }
    // The token requests connect where the hot path would: reqwest maps a name for the
    // URL's own port, so a mapping applies only when its port is the login URL's.
    if let Some(u) = login_url.and_then(|u| url::Url::parse(u).ok()) {
        if let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) {
            if let Some(addrs) = HostMapping::find(&target.resolve, host, port) {
                let addrs: Vec<std::net::SocketAddr> =
                    addrs.iter().map(|ip| (*ip, port).into()).collect();
                b = b.resolve_to_addrs(host, &addrs);
            }
        }
    }
    b = match target.http {
        HttpVersion::Auto => b,
        HttpVersion::Http1 => b.http1_only(),
        HttpVersion::Http2 => b.http2_prior_knowledge(),
    };
    b.build().map_err(|e| TransportError::Client(e.to_string()))
}
