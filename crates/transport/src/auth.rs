//! Bearer tokens for the users: a fixed token (from an environment variable or a file), or
//! OAuth client credentials fetched from the login host's `/oauth/token`, cached, refreshed
//! before `expires_in` runs out and once on a 401. Tokens and secrets never reach any output:
//! header values are marked sensitive and no `Debug` here prints them.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::HeaderValue;
use tokio::time::Instant;

use surge_record::ErrorClass;

/// Errors obtaining a token. Messages name the variable, file or URL, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// An environment variable the scenario names is not set.
    #[error("environment variable {0} is not set (the scenario's [auth] reads it)")]
    MissingEnv(String),
    /// The token file could not be read or is empty.
    #[error("token file {path}: {message}")]
    TokenFile {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The token endpoint could not be reached.
    #[error("token request to {url} failed: {class}")]
    Unreachable {
        /// The token URL.
        url: String,
        /// The transport error class.
        class: &'static str,
    },
    /// The token endpoint refused.
    #[error("token request to {url} answered {status}: {message}")]
    Refused {
        /// The token URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's `error`/`description`/`message`, shortened.
        message: String,
    },
    /// A token that is not a valid header value.
    #[error("the token from {0} is not a valid header value")]
    BadToken(String),
}

/// Client id and secret. `Debug` shows the id only.
#[derive(Clone)]
pub struct Credentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Posts a form to the token endpoint (implemented by each transport, so OAuth works over
/// TCP and in-process alike).
pub trait TokenFetch: Send + Sync {
    /// `POST url` with `Authorization: <basic>` and a form body; the status and body.
    fn post_form(
        &self,
        url: String,
        basic: HeaderValue,
        form: &'static str,
    ) -> BoxFuture<'_, Result<(u16, Bytes), ErrorClass>>;
}

struct Token {
    header: HeaderValue,
    refresh_at: Instant,
}

struct Slot {
    current: RwLock<Option<Token>>,
    /// Bumped (under the write lock) each time a new token is stored, so users can keep their
    /// own copy and check it with one atomic load instead of taking the lock per request.
    generation: std::sync::atomic::AtomicU64,
    refreshing: tokio::sync::Mutex<()>,
}

/// A user's own copy of its token, valid while the slot's generation is unchanged and the
/// refresh time has not come. `Debug` never shows the token.
#[derive(Clone)]
pub struct AuthCache {
    header: HeaderValue,
    generation: u64,
    refresh_at: Instant,
}

impl fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCache")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A pool of OAuth tokens from one client; user `u` uses token `u % tokens`
/// ([`TokenPool::slot_of`]).
pub struct TokenPool {
    fetch: Arc<dyn TokenFetch>,
    token_url: String,
    basic: HeaderValue,
    margin: Duration,
    slots: Vec<Slot>,
    fetches: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TokenPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPool")
            .field("token_url", &self.token_url)
            .field("tokens", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl TokenPool {
    /// A pool of `tokens` tokens fetched from `{login_url}/oauth/token`.
    pub fn new(
        fetch: Arc<dyn TokenFetch>,
        login_url: &str,
        creds: &Credentials,
        tokens: u32,
        margin: Duration,
    ) -> TokenPool {
        let raw = format!("{}:{}", creds.client_id, creds.client_secret);
        let mut basic = HeaderValue::try_from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        basic.set_sensitive(true);
        TokenPool {
            fetch,
            token_url: format!("{}/oauth/token", login_url.trim_end_matches('/')),
            basic,
            margin,
            slots: (0..tokens.max(1))
                .map(|_| Slot {
                    generation: std::sync::atomic::AtomicU64::new(0),
                    current: RwLock::new(None),
                    refreshing: tokio::sync::Mutex::new(()),
                })
                .collect(),
            fetches: 0.into(),
        }
    }

    /// Token requests made so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The token slot `user` uses: `user mod tokens`, the same in one process and in every
    /// segment of a distributed run (user ids are global).
    pub fn slot_of(&self, user: u32) -> usize {
        user as usize % self.slots.len()
    }

    /// Fetches now the token of every slot `users` use (each slot once, in slot order), so a
    /// bad client id or an unreachable login host fails the run before it starts, and a slot no
    /// user of this process uses is never fetched: N segments fetch together the tokens one
    /// process would.
    ///
    /// # Errors
    /// The first failure.
    pub async fn prime(&self, users: impl IntoIterator<Item = u32>) -> Result<(), AuthError> {
        let mut used = vec![false; self.slots.len()];
        let mut left = used.len();
        for u in users {
            let i = self.slot_of(u);
            if !used[i] {
                used[i] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        for (i, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            self.refresh(i, None).await?;
        }
        Ok(())
    }

    fn valid(&self, i: usize) -> Option<HeaderValue> {
        let g = self.slots[i]
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .map(|t| t.header.clone())
    }

    /// As [`TokenPool::header_for`], from the user's own `cache` while it is current: one atomic
    /// load per request instead of a lock shared by every user of the token.
    pub async fn header_cached(
        &self,
        user: u32,
        cache: &mut Option<AuthCache>,
    ) -> Option<HeaderValue> {
        let i = self.slot_of(user);
        let slot = &self.slots[i];
        if let Some(c) = cache.as_ref() {
            if c.generation == slot.generation.load(std::sync::atomic::Ordering::Acquire)
                && Instant::now() < c.refresh_at
            {
                return Some(c.header.clone());
            }
        }
        let h = self.header_for(user).await?;
        let cur = slot.current.read().unwrap_or_else(|e| e.into_inner());
        *cache = cur.as_ref().filter(|t| t.header == h).map(|t| AuthCache {
            header: t.header.clone(),
            generation: slot.generation.load(std::sync::atomic::Ordering::Acquire),
            refresh_at: t.refresh_at,
        });
        Some(h)
    }

    /// The `Authorization` value for `user`, refreshing when due. When a refresh fails the last
    /// token is used as it is (the server's 401 is then recorded as any other response).
    pub async fn header_for(&self, user: u32) -> Option<HeaderValue> {
        let i = self.slot_of(user);
        if let Some(h) = self.valid(i) {
            return Some(h);
        }
        match self.refresh(i, None).await {
            Ok(h) => Some(h),
            Err(_) => self.slots[i]
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|t| t.header.clone()),
        }
    }

    /// After a 401 with `used`: fetch a new token for `user` (once, however many users saw the
    /// 401 with the same token) and return it.
    pub async fn after_unauthorized(&self, user: u32, used: &HeaderValue) -> Option<HeaderValue> {
        self.refresh(self.slot_of(user), Some(used)).await.ok()
    }

    async fn refresh(
        &self,
        i: usize,
        stale: Option<&HeaderValue>,
    ) -> Result<HeaderValue, AuthError> {
        let slot = &self.slots[i];
        let _g = slot.refreshing.lock().await;
        // Someone else refreshed while we waited.
        {
            let cur = slot.current.read().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = cur.as_ref() {
                let fresh = Instant::now() < t.refresh_at;
                let replaced = stale.is_some_and(|s| *s != t.header);
                if (stale.is_none() && fresh) || replaced {
                    return Ok(t.header.clone());
                }
            }
        }
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (status, body) = self
            .fetch
            .post_form(
                self.token_url.clone(),
                self.basic.clone(),
                "grant_type=client_credentials",
            )
            .await
            .map_err(|c| AuthError::Unreachable {
                url: self.token_url.clone(),
                class: c.name(),
            })?;
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        if status != 200 {
            let msg = ["error_description", "description", "message", "error"]
                .iter()
                .filter_map(|k| json.get(*k).and_then(|v| v.as_str()))
                .next()
                .unwrap_or("no error message")
                .chars()
                .take(200)
                .collect();
            return Err(AuthError::Refused {
                url: self.token_url.clone(),
                status,
                message: msg,
            });
        }
        let token = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| AuthError::Refused {
                url: self.token_url.clone(),
                status,
                message: "the answer has no access_token".into(),
            })?;
        let expires_in = json
            .get("expires_in")
            .and_then(|v| v.as_f64())
            .unwrap_or(86_400.0)
            .max(0.0);
        let lifetime = surge_record::duration::saturating_secs(expires_in);
        // Refresh `margin` early, but never sooner than half the lifetime.
        let early = self.margin.min(lifetime / 2);
        let mut header = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| AuthError::BadToken(self.token_url.clone()))?;
        header.set_sensitive(true);
        let mut cur = slot.current.write().unwrap_or_else(|e| e.into_inner());
        *cur = Some(Token {
            header: header.clone(),
            refresh_at: Instant::now() + lifetime - early,
        });
        slot.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        drop(cur);
        Ok(header)
    }
}

/// How users authenticate during a run.
#[derive(Debug, Clone)]
pub enum AuthRuntime {
    /// No header.
    None,
    /// The same token for everyone.
    Static(HeaderValue),
    /// OAuth tokens.
    OAuth(Arc<TokenPool>),
    /// HTTP Digest: each user answers the server's challenge (see [`super::digest`]).
    Digest(Arc<super::digest::DigestCredentials>),
}

impl AuthRuntime {
    /// A fixed bearer token from an environment variable.
    ///
    /// # Errors
    /// Unset variable or an invalid header value.
    pub fn bearer_from_env(var: &str) -> Result<AuthRuntime, AuthError> {
        let t = std::env::var(var).map_err(|_| AuthError::MissingEnv(var.to_string()))?;
        Self::bearer(t.trim(), &format!("${var}"))
    }

    /// A fixed bearer token from a file (first line, trimmed).
    ///
    /// # Errors
    /// Unreadable or empty file, or an invalid header value.
    pub fn bearer_from_file(path: &std::path::Path) -> Result<AuthRuntime, AuthError> {
        let text = surge_record::limits::read_to_string(path, surge_record::limits::TOKEN_BYTES)
            .map_err(|e| AuthError::TokenFile {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        let t = text.lines().next().unwrap_or("").trim();
        if t.is_empty() {
            return Err(AuthError::TokenFile {
                path: path.display().to_string(),
                message: "is empty".into(),
            });
        }
        Self::bearer(t, &path.display().to_string())
    }

    fn bearer(token: &str, from: &str) -> Result<AuthRuntime, AuthError> {
        let t = token.strip_prefix("Bearer ").unwrap_or(token);
        let mut h = HeaderValue::try_from(format!("Bearer {t}"))
            .map_err(|_| AuthError::BadToken(from.to_string()))?;
        h.set_sensitive(true);
        Ok(AuthRuntime::Static(h))
    }

    /// The header for `user`.
    pub async fn header_for(&self, user: u32) -> Option<HeaderValue> {
        match self {
            AuthRuntime::None => None,
            AuthRuntime::Static(h) => Some(h.clone()),
            AuthRuntime::OAuth(p) => p.header_for(user).await,
            AuthRuntime::Digest(_) => None,
        }
    }

    /// HTTP Basic credentials from two environment variables.
    ///
    /// # Errors
    /// An unset variable.
    pub fn basic_from_env(user_var: &str, pass_var: &str) -> Result<AuthRuntime, AuthError> {
        use base64::Engine as _;
        let (u, p) = Self::env_pair(user_var, pass_var)?;
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        let mut h = HeaderValue::try_from(format!("Basic {enc}"))
            .map_err(|_| AuthError::MissingEnv(user_var.to_string()))?;
        h.set_sensitive(true);
        Ok(AuthRuntime::Static(h))
    }

    /// HTTP Digest credentials from two environment variables.
    ///
    /// # Errors
    /// An unset variable.
    pub fn digest_from_env(user_var: &str, pass_var: &str) -> Result<AuthRuntime, AuthError> {
        let (username, password) = Self::env_pair(user_var, pass_var)?;
        Ok(AuthRuntime::Digest(Arc::new(
            super::digest::DigestCredentials { username, password },
        )))
    }

    fn env_pair(user_var: &str, pass_var: &str) -> Result<(String, String), AuthError> {
        let get = |v: &str| std::env::var(v).map_err(|_| AuthError::MissingEnv(v.to_string()));
        Ok((get(user_var)?, get(pass_var)?))
    }

    /// The header for `user`, from its own `cache` while current (see [`TokenPool::header_cached`]).
    pub async fn header_cached(
        &self,
        user: u32,
        cache: &mut Option<AuthCache>,
    ) -> Option<HeaderValue> {
        match self {
            AuthRuntime::OAuth(p) => p.header_cached(user, cache).await,
            other => other.header_for(user).await,
        }
    }

    /// A new header after a 401, when one can be had (OAuth only).
    pub async fn after_unauthorized(&self, user: u32, used: &HeaderValue) -> Option<HeaderValue> {
        match self {
            AuthRuntime::OAuth(p) => p.after_unauthorized(user, used).await,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mints `tok-N` tokens that live `expires_in` seconds.
    struct Mint {
        n: std::sync::atomic::AtomicU64,
        expires_in: u64,
    }

    impl TokenFetch for Mint {
        fn post_form(
            &self,
            _url: String,
            _basic: HeaderValue,
            _form: &'static str,
        ) -> BoxFuture<'_, Result<(u16, Bytes), ErrorClass>> {
            let n = self.n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let body = format!(
                "{{\"access_token\":\"tok-{n}\",\"expires_in\":{}}}",
                self.expires_in
            );
            Box::pin(async move { Ok((200, Bytes::from(body))) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn users_keep_their_token_until_it_is_replaced_or_due() {
        let mint = Arc::new(Mint {
            n: 0.into(),
            expires_in: 600,
        });
        let creds = Credentials {
            client_id: "id".into(),
            client_secret: "secret".into(),
        };
        let pool = TokenPool::new(
            mint.clone(),
            "http://login",
            &creds,
            1,
            Duration::from_secs(60),
        );
        pool.prime(0..2).await.unwrap();
        let (mut a, mut b) = (None, None);
        for _ in 0..100 {
            assert_eq!(pool.header_cached(0, &mut a).await.unwrap(), "Bearer tok-1");
            assert_eq!(pool.header_cached(1, &mut b).await.unwrap(), "Bearer tok-1");
        }
        assert_eq!(pool.fetches(), 1, "one token shared, fetched once");
        // A 401 seen by user 0 replaces the token: user 1's copy is dropped at its next request.
        let used = HeaderValue::from_static("Bearer tok-1");
        assert_eq!(
            pool.after_unauthorized(0, &used).await.unwrap(),
            "Bearer tok-2"
        );
        assert_eq!(pool.header_cached(1, &mut b).await.unwrap(), "Bearer tok-2");
        // Refreshed `margin` (60 s) before expiry: at 540 s a new token comes.
        tokio::time::advance(Duration::from_secs(541)).await;
        assert_eq!(pool.header_cached(1, &mut b).await.unwrap(), "Bearer tok-3");
        assert_eq!(pool.fetches(), 3);
        // Neither the pool nor a cache shows a token or the secret in Debug.
        let shown = format!("{pool:?} {b:?} {creds:?}");
        assert!(
            !shown.contains("tok-") && !shown.contains("secret\""),
            "{shown}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn priming_fetches_the_slots_the_users_use_once_each() {
        let creds = Credentials {
            client_id: "id".into(),
            client_secret: "secret".into(),
        };
        // users → slots primed (4 slots: user u uses u mod 4)
        let table: &[(&[u32], u64)] = &[
            (&[], 0),
            (&[2], 1),
            (&[1, 5, 9, 13], 1),
            (&[0, 2, 4, 6, 8], 2),
            (&[3, 2, 1, 0, 7, 6], 4),
        ];
        for (users, fetched) in table {
            let mint = Arc::new(Mint {
                n: 0.into(),
                expires_in: 600,
            });
            let p = TokenPool::new(mint, "http://login", &creds, 4, Duration::from_secs(60));
            p.prime(users.iter().copied()).await.unwrap();
            assert_eq!(p.fetches(), *fetched, "{users:?}");
            // A primed user's first request needs no fetch.
            for &u in users.iter() {
                p.header_for(u).await.unwrap();
            }
            assert_eq!(p.fetches(), *fetched, "{users:?}");
        }
    }
}
