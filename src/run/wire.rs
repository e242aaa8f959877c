//! A run's network and credentials: the HTTP transport (proxies resolved against the
//! environment, the scenario's CA, one connection per user) and the auth runtime (tokens fetched
//! for the users of this process, or a fixed bearer, Basic or Digest credentials).

use std::sync::Arc;
use std::time::Duration;

use super::{is_loopback, segment, RunError, Secret};
use surge_plan::schedule::Segment;
use surge_plan::{Auth, Plan, TokenSource};
use surge_transport::auth::{AuthError, AuthRuntime, Credentials, TokenFetch, TokenPool};
use surge_transport::http::HttpTransport;
use surge_transport::proxy::{Proxies, ProxySetting};

/// The credentials of a run's users, ready before its first request.
pub(crate) async fn auth_runtime(
    plan: &Plan,
    seg: Segment,
    login_url: &str,
    fetch: Arc<dyn TokenFetch>,
    mock_creds: Option<Credentials>,
    bearer_token: Option<&Secret>,
) -> Result<AuthRuntime, RunError> {
    Ok(match &plan.auth {
        Auth::None => AuthRuntime::None,
        // A token given on the command line (`-J token=…` for a .jmx plan) wins over the
        // plan's token source, except against the mock, which mints its own.
        Auth::Bearer { .. } if mock_creds.is_none() && bearer_token.is_some() => {
            let t = bearer_token.expect("checked").0.trim();
            let mut h = http::HeaderValue::try_from(format!(
                "Bearer {}",
                t.strip_prefix("Bearer ").unwrap_or(t)
            ))
            .map_err(|_| {
                RunError::Usage("-J: the bearer token is not a valid header value".into())
            })?;
            h.set_sensitive(true);
            AuthRuntime::Static(h)
        }
        // Against the built-in mock, a bearer scenario gets one token minted by the mock and
        // shared by every user: the seed's one-token situation, without a real token.
        Auth::Bearer { .. } if mock_creds.is_some() => {
            let creds = mock_creds.expect("checked");
            let pool = TokenPool::new(fetch.clone(), login_url, &creds, 1, Duration::from_secs(60));
            pool.prime(segment::users(plan, seg)).await?;
            AuthRuntime::OAuth(Arc::new(pool))
        }
        Auth::Bearer {
            source: TokenSource::Env(v),
        } => AuthRuntime::bearer_from_env(v)?,
        Auth::Bearer {
            source: TokenSource::File(f),
        } => AuthRuntime::bearer_from_file(f)?,
        Auth::Basic {
            username_env,
            password_env,
        } => AuthRuntime::basic_from_env(username_env, password_env)?,
        Auth::Digest {
            username_env,
            password_env,
        } => AuthRuntime::digest_from_env(username_env, password_env)?,
        Auth::ClientCredentials {
            client_id_env,
            client_secret_env,
            tokens,
            refresh_margin,
        } => {
            let from_env = (
                std::env::var(client_id_env),
                std::env::var(client_secret_env),
            );
            // Against the built-in mock, its own client is used: real credentials from the
            // environment never travel to it.
            let creds = match (from_env, mock_creds) {
                (_, Some(c)) => c,
                ((Ok(id), Ok(secret)), None) => Credentials {
                    client_id: id,
                    client_secret: secret,
                },
                ((Err(_), _), None) => {
                    return Err(AuthError::MissingEnv(client_id_env.clone()).into())
                }
                ((_, Err(_)), None) => {
                    return Err(AuthError::MissingEnv(client_secret_env.clone()).into())
                }
            };
            let pool = TokenPool::new(fetch.clone(), login_url, &creds, *tokens, *refresh_margin);
            pool.prime(segment::users(plan, seg)).await?;
            AuthRuntime::OAuth(Arc::new(pool))
        }
    })
}

/// The network of a run against `base_url`: proxies resolved against the environment, the
/// scenario's CA, one connection per user.
pub(crate) fn http_transport(
    plan: &Plan,
    base_url: &str,
    login_url: &str,
) -> Result<(HttpTransport, Option<String>), RunError> {
    let t = &plan.target;
    // The environment's proxies never apply to loopback hosts: a run that only talks to such
    // hosts does not read them (so a proxy variable surge cannot use is no error there).
    let env_unused =
        t.proxy == ProxySetting::Env && is_loopback(base_url) && is_loopback(login_url);
    let proxies = if env_unused {
        Proxies::none()
    } else {
        Proxies::resolve(
            &t.proxy,
            t.no_proxy.as_deref(),
            t.proxy_credentials_env.as_deref(),
            |k| std::env::var(k).ok(),
        )
        .map_err(|e| RunError::Usage(format!("proxy: {e}")))?
    };
    let shown = proxies.describe(base_url);
    let transport = HttpTransport::new(t, proxies, Some(login_url))
        .map_err(|e| RunError::Usage(e.to_string()))?
        .with_base(base_url);
    Ok((transport, shown))
}
