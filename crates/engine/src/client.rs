//! What every user's requests go out through: the transport and the run's authentication
//! ([`Client`]), and the 429 policy's retries and the gate of paced requests ([`PolicyRt`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use super::pace::Gate;
use surge_plan::Policy;
use surge_transport::auth::{AuthCache, AuthRuntime};
use surge_transport::digest::DigestCredentials;
use surge_transport::{Exchange, OutRequest, Transport};

/// The transport and the authentication every user sends with.
pub(crate) struct Client<T> {
    transport: Arc<T>,
    auth: AuthRuntime,
}

impl<T: Transport> Client<T> {
    pub(crate) fn new(transport: Arc<T>, auth: AuthRuntime) -> Client<T> {
        Client { transport, auth }
    }

    /// A new user's connection.
    pub(crate) fn conn(&self) -> T::Conn {
        self.transport.conn()
    }

    /// Sends one request on `conn`.
    pub(crate) fn send<'a>(
        &'a self,
        conn: &'a mut T::Conn,
        out: OutRequest<'a>,
    ) -> impl Future<Output = Exchange> + 'a {
        self.transport.send(conn, out)
    }

    /// User `user`'s `Authorization`, from its `cache` while that is good.
    pub(crate) async fn authorization(
        &self,
        user: u32,
        cache: &mut Option<AuthCache>,
    ) -> Option<HeaderValue> {
        self.auth.header_cached(user, cache).await
    }

    /// The credentials that answer a Digest challenge (Digest authentication only).
    pub(crate) fn digest(&self) -> Option<&DigestCredentials> {
        match &self.auth {
            AuthRuntime::Digest(creds) => Some(creds),
            _ => None,
        }
    }

    /// True when a 401 to a request that carried a token calls for a fresh one (OAuth).
    pub(crate) fn refreshes_on_401(&self) -> bool {
        matches!(self.auth, AuthRuntime::OAuth(_))
    }

    /// A fresh `Authorization` for `user` after `used` was refused, when one can be had.
    pub(crate) async fn after_unauthorized(
        &self,
        user: u32,
        used: &HeaderValue,
    ) -> Option<HeaderValue> {
        self.auth.after_unauthorized(user, used).await
    }
}

/// The 429 policy at run time: whether and when a throttled request goes again, and the gate a
/// paced request passes first.
pub(crate) struct PolicyRt {
    policy: Policy,
    gate: Option<Gate>,
}

impl PolicyRt {
    /// `policy` with its gate for users spread over `tokens` tokens, in a process that runs one
    /// of `segments` segments (N segments pace together at the plan's rate).
    pub(crate) fn new(policy: &Policy, tokens: u32, segments: u32) -> PolicyRt {
        PolicyRt {
            gate: Gate::of(policy, tokens, segments),
            policy: policy.clone(),
        }
    }

    /// The gate request `step` passes, when it is paced.
    pub(crate) fn gate(&self, step: usize) -> Option<&Gate> {
        self.gate.as_ref().filter(|g| g.applies(step))
    }

    /// The wait before attempt `attempt + 1` after an answer of `status` to attempt `attempt`,
    /// when the policy retries it; `jitter` (a uniform draw in [0, 1)) is drawn only then.
    pub(crate) fn retry_wait(
        &self,
        status: u16,
        attempt: u16,
        retry_after_ms: Option<u32>,
        jitter: impl FnOnce() -> f64,
    ) -> Option<Duration> {
        if !self.policy.retries(status) {
            return None;
        }
        self.policy.wait(attempt, retry_after_ms, jitter())
    }
}
