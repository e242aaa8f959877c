//! `[target]` and `[auth]`: where requests go (a URL, a Genesys region, or the built-in mock) and
//! how they authenticate (names of secrets, never secrets).

use std::path::Path;
use std::time::Duration;

use super::build::Checker;
use super::plan::*;
use surge_record::Preset;

pub(super) fn build_target(
    c: &mut Checker<'_>,
    t: super::spec::RawTarget,
    base_dir: &Path,
) -> Target {
    let connect_timeout = c.duration(
        "target.connect_timeout",
        t.connect_timeout.as_ref(),
        Duration::from_secs(10),
    );
    let timeout = c.duration(
        "target.timeout",
        t.timeout.as_ref(),
        Duration::from_secs(60),
    );
    if timeout.is_zero() {
        c.err("target.timeout", "must be longer than 0s");
    }
    let http = c.choice(
        "target.http",
        t.http.as_deref(),
        HttpVersion::Auto,
        &[
            ("auto", HttpVersion::Auto),
            ("http1", HttpVersion::Http1),
            ("http2", HttpVersion::Http2),
        ],
    );
    let region_domain = match &t.region {
        None => None,
        Some(r) => match REGIONS.iter().find(|(n, _)| n == r) {
            Some((_, d)) => Some(*d),
            None => {
                let names: Vec<&str> = REGIONS.iter().map(|(n, _)| *n).collect();
                c.err(
                    "target.region",
                    format!(
                        "{r:?} is not a Genesys Cloud region; one of: {}",
                        names.join(", ")
                    ),
                );
                None
            }
        },
    };
    let endpoint = match (&t.base_url, region_domain) {
        (Some(_), Some(_)) => {
            c.err("target.base_url", "set base_url or region, not both");
            Endpoint::Mock {
                preset: Preset::default(),
            }
        }
        (Some(u), None) if u == "mock" => Endpoint::Mock {
            preset: match t.mock_preset.as_deref().map(str::parse::<Preset>) {
                None => Preset::default(),
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    c.err("target.mock_preset", e.to_string());
                    Preset::default()
                }
            },
        },
        (Some(u), None) => match check_url(u) {
            Ok(base) => {
                let login = match &t.login_url {
                    Some(l) => check_url(l).unwrap_or_else(|e| {
                        c.err("target.login_url", e.to_string());
                        base.clone()
                    }),
                    None => derive_login(&base),
                };
                Endpoint::Url {
                    base_url: base,
                    login_url: login,
                }
            }
            Err(e) => {
                c.err("target.base_url", e.to_string());
                Endpoint::Mock {
                    preset: Preset::default(),
                }
            }
        },
        (None, Some(d)) => Endpoint::Url {
            base_url: format!("https://api.{d}"),
            login_url: t
                .login_url
                .clone()
                .unwrap_or_else(|| format!("https://login.{d}")),
        },
        (None, None) => {
            if t.region.is_none() {
                c.err(
                    "target",
                    "set base_url (a URL, or \"mock\" for the built-in mock) or region",
                );
            }
            Endpoint::Mock {
                preset: Preset::default(),
            }
        }
    };
    if t.mock_preset.is_some() && !matches!(endpoint, Endpoint::Mock { .. }) {
        c.err(
            "target.mock_preset",
            "applies only when base_url = \"mock\"",
        );
    }
    let proxy = build_proxy(c, t.proxy.as_deref(), t.proxy_credentials_env.as_deref());
    let client_cert = build_client_cert(c, &t, base_dir);
    let ca_cert = t.ca_cert.map(|f| {
        let p = base_dir.join(f);
        if let Err(e) = crate::pem::read_certificates(&p) {
            c.err("target.ca_cert", format!("{}: {e}", p.display()));
        }
        p
    });
    let resolve = t
        .resolve
        .iter()
        .flatten()
        .filter_map(|r| {
            crate::resolve::HostMapping::parse(r)
                .map_err(|e| c.err("target.resolve", e))
                .ok()
        })
        .collect();
    Target {
        endpoint,
        region: t.region,
        connect_timeout,
        timeout,
        http,
        keep_alive: t.keep_alive.unwrap_or(true),
        written_for_mock: None,
        proxy,
        no_proxy: t.no_proxy,
        proxy_credentials_env: t.proxy_credentials_env,
        ca_cert,
        client_cert,
        resolve,
    }
}

/// `client_cert` + `client_key`, or `client_p12` + `client_p12_password_env`: checked now, the
/// PKCS#12 bundle opened when its password's variable is set (a run without it stops before
/// sending anything).
fn build_client_cert(
    c: &mut Checker<'_>,
    t: &super::spec::RawTarget,
    base_dir: &Path,
) -> Option<crate::identity::ClientCert> {
    use crate::identity::ClientCert;
    let cc = match (&t.client_cert, &t.client_key, &t.client_p12) {
        (None, None, None) => {
            if t.client_p12_password_env.is_some() {
                c.err(
                    "target.client_p12_password_env",
                    "applies only with client_p12",
                );
            }
            return None;
        }
        (Some(_), Some(_), Some(_)) | (Some(_), None, Some(_)) | (None, Some(_), Some(_)) => {
            c.err(
                "target.client_p12",
                "set client_cert and client_key (PEM) or client_p12, not both",
            );
            return None;
        }
        (Some(_), None, None) => {
            c.err(
                "target.client_cert",
                "needs client_key (the PEM file of its private key)",
            );
            return None;
        }
        (None, Some(_), None) => {
            c.err(
                "target.client_key",
                "needs client_cert (the PEM file of its certificate)",
            );
            return None;
        }
        (Some(cert), Some(key), None) => {
            if t.client_p12_password_env.is_some() {
                c.err(
                    "target.client_p12_password_env",
                    "applies only with client_p12",
                );
            }
            ClientCert::Pem {
                cert: base_dir.join(cert),
                key: base_dir.join(key),
            }
        }
        (None, None, Some(f)) => {
            let Some(env) = &t.client_p12_password_env else {
                c.err("target.client_p12", "needs client_p12_password_env (the environment variable holding its password; the password never goes in the scenario)");
                return None;
            };
            ClientCert::Pkcs12 {
                file: base_dir.join(f),
                password_env: env.clone(),
            }
        }
    };
    let unset = matches!(&cc, ClientCert::Pkcs12 { password_env, .. } if std::env::var_os(password_env).is_none());
    if !unset {
        if let Err(e) = crate::identity::load(&cc) {
            c.err(e.field, e.message);
        }
    }
    Some(cc)
}

/// `[target] proxy`: `"none"`, a proxy URL, or unset (the environment's).
fn build_proxy(
    c: &mut Checker<'_>,
    raw: Option<&str>,
    credentials_env: Option<&str>,
) -> crate::proxy::ProxySetting {
    use crate::proxy::{ProxySetting, ProxyUrl};
    match raw.map(str::trim) {
        None => ProxySetting::Env,
        Some("none") => {
            if credentials_env.is_some() {
                c.err(
                    "target.proxy_credentials_env",
                    "applies only when there is a proxy (proxy = \"none\")",
                );
            }
            ProxySetting::Off
        }
        Some(u) => match ProxyUrl::parse(u) {
            Ok(p) if p.has_credentials() && credentials_env.is_some() => {
                c.err(
                    "target.proxy_credentials_env",
                    "the proxy URL already has credentials; set one or the other",
                );
                ProxySetting::Url(p)
            }
            Ok(p) => ProxySetting::Url(p),
            Err(e) => {
                c.err("target.proxy", format!("{e}; or \"none\""));
                ProxySetting::Env
            }
        },
    }
}

/// A base URL surge cannot send to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("{url:?} is not a URL ({reason})")]
    NotUrl {
        /// As given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// Another scheme than http or https.
    #[error("{0:?}: only http and https are supported")]
    Scheme(String),
    /// No host.
    #[error("{0:?} has no host")]
    NoHost(String),
    /// A password in the URL: a credential written where it would be kept.
    #[error("{0:?} holds a password: credentials never go in a URL; use [auth] (token_env, client_id_env/client_secret_env)")]
    Password(String),
    /// A query or a fragment, which a base URL cannot take.
    #[error("{0:?}: a base URL takes no query or fragment")]
    QueryOrFragment(String),
}

/// Validates a base URL and strips its trailing slash.
///
/// # Errors
/// [`UrlError`].
pub fn check_url(u: &str) -> Result<String, UrlError> {
    // Messages quote the URL: never with a secret in it.
    let shown = || surge_record::secrets::redact_url(u).into_owned();
    if !u.contains("://") {
        // `localhost:8080` parses as a URL of scheme `localhost`: say what to write instead.
        let s = shown();
        return Err(UrlError::NotUrl {
            reason: format!("no scheme: write http://{s} or https://{s}"),
            url: s,
        });
    }
    let parsed = url::Url::parse(u).map_err(|e| UrlError::NotUrl {
        url: shown(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(shown()));
    }
    if parsed.host_str().is_none() {
        return Err(UrlError::NoHost(shown()));
    }
    if parsed.password().is_some() {
        return Err(UrlError::Password(shown()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(UrlError::QueryOrFragment(shown()));
    }
    Ok(u.trim_end_matches('/').to_string())
}

/// `https://api.x` → `https://login.x`; anything else serves its own `/oauth/token`
/// (as the Genesys SDKs do when pointed at a non-`api.` host).
pub fn derive_login(base: &str) -> String {
    if base.contains("//api.") {
        base.replacen("//api.", "//login.", 1)
    } else {
        base.to_string()
    }
}

pub(super) fn build_auth(c: &mut Checker<'_>, a: super::spec::RawAuth, base_dir: &Path) -> Auth {
    let kind = a.kind.as_deref().unwrap_or("none");
    let stray = |c: &mut Checker<'_>, fields: &[(&str, bool)]| {
        for (f, set) in fields {
            if *set {
                c.err(
                    &format!("auth.{f}"),
                    format!("does not apply to kind = {kind:?}"),
                );
            }
        }
    };
    if !matches!(kind, "basic" | "digest") {
        stray(
            c,
            &[
                ("username_env", a.username_env.is_some()),
                ("password_env", a.password_env.is_some()),
            ],
        );
    }
    match kind {
        "none" => {
            stray(
                c,
                &[
                    ("token_env", a.token_env.is_some()),
                    ("token_file", a.token_file.is_some()),
                    ("client_id_env", a.client_id_env.is_some()),
                    ("client_secret_env", a.client_secret_env.is_some()),
                    ("tokens", a.tokens.is_some()),
                ],
            );
            Auth::None
        }
        "bearer" => {
            stray(
                c,
                &[
                    ("client_id_env", a.client_id_env.is_some()),
                    ("client_secret_env", a.client_secret_env.is_some()),
                    ("tokens", a.tokens.is_some()),
                ],
            );
            let source = match (a.token_env, a.token_file) {
                (Some(e), None) => TokenSource::Env(e),
                (None, Some(f)) => TokenSource::File(base_dir.join(f)),
                (Some(_), Some(_)) => {
                    c.err("auth.token_env", "set token_env or token_file, not both");
                    TokenSource::Env(String::new())
                }
                (None, None) => {
                    c.err("auth", "kind = \"bearer\" needs token_env (an environment variable name) or token_file; the token itself never goes in the scenario");
                    TokenSource::Env(String::new())
                }
            };
            Auth::Bearer { source }
        }
        "client_credentials" => {
            stray(
                c,
                &[
                    ("token_env", a.token_env.is_some()),
                    ("token_file", a.token_file.is_some()),
                ],
            );
            let tokens = match a.tokens {
                None => 1,
                Some(n) if (1..=1000).contains(&n) => n as u32,
                Some(n) => {
                    c.err(
                        "auth.tokens",
                        format!("must be between 1 and 1000, got {n}"),
                    );
                    1
                }
            };
            let refresh_margin = c.duration(
                "auth.refresh_margin",
                a.refresh_margin.as_ref(),
                Duration::from_secs(60),
            );
            Auth::ClientCredentials {
                client_id_env: a
                    .client_id_env
                    .unwrap_or_else(|| "GENESYS_CLIENT_ID".into()),
                client_secret_env: a
                    .client_secret_env
                    .unwrap_or_else(|| "GENESYS_CLIENT_SECRET".into()),
                tokens,
                refresh_margin,
            }
        }
        "basic" | "digest" => {
            stray(
                c,
                &[
                    ("token_env", a.token_env.is_some()),
                    ("token_file", a.token_file.is_some()),
                    ("client_id_env", a.client_id_env.is_some()),
                    ("client_secret_env", a.client_secret_env.is_some()),
                    ("tokens", a.tokens.is_some()),
                ],
            );
            let (Some(username_env), Some(password_env)) = (a.username_env, a.password_env) else {
                c.err("auth", format!("kind = {kind:?} needs username_env and password_env (environment variable names); credentials never go in the scenario"));
                return Auth::None;
            };
            if kind == "basic" {
                Auth::Basic {
                    username_env,
                    password_env,
                }
            } else {
                Auth::Digest {
                    username_env,
                    password_env,
                }
            }
        }
        other => {
            let kinds = ["none", "bearer", "client_credentials", "basic", "digest"];
            c.err(
                "auth.kind",
                format!(
                    "{other:?} is not one of: {}{}",
                    kinds.join(", "),
                    surge_record::text::did_you_mean(other, kinds)
                ),
            );
            Auth::None
        }
    }
}
