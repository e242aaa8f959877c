//! One request as a user sends it ([`Session`]: the user's connection and what it keeps between
//! requests, its cookie jar, HTTP cache and credentials): the plan's
//! [`Gate`](crate::pace::Gate) (the `pace` or `adaptive` policy's client-side limit), the 429
//! policy's retries (and one retry after a 401: a Digest challenge answered, or OAuth's fresh
//! token), every attempt recorded; then, for a request that reads its answer, the verdict of its
//! extractors, assertions and poll ([`answer`], read by nothing else); and a back-off after
//! resource errors. A plain request asks the transport for nothing beyond status and timings and
//! never parses its answer.

mod answer;

use std::time::Duration;

use http::HeaderValue;
use rand::rngs::StdRng;
use rand::RngExt as _;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::txn::Txns;
use super::Vars;
use crate::cache::UserCache;
use crate::ctx::Ctx;
use crate::plan_rt::{PlanRt, Prepared};
use answer::{PollNext, PollTurn, Verdict};
use surge_plan::template::Scope;
use surge_record::samples::{Streamed, StreamedSample};
use surge_record::{ErrorClass, Sample};
use surge_transport::auth::AuthCache;
use surge_transport::digest::Challenge;
use surge_transport::{Exchange, OutRequest, Transport};

/// The first wait after a resource error (out of open files, ports); it doubles with each one
/// in a row up to [`RESOURCE_WAIT_MAX`], jittered, and resets on any other outcome.
const RESOURCE_WAIT_MIN: Duration = Duration::from_millis(50);
/// The longest wait after resource errors in a row.
const RESOURCE_WAIT_MAX: Duration = Duration::from_secs(1);

/// How one request (all its attempts, or all its polls) ended.
pub(super) enum Sent {
    /// Its final verdict.
    Done(Verdict),
    /// A GET the user's cache held fresh: not sent, nothing recorded, a success.
    Cached(Verdict),
    /// The user must stop (stop token, or no request slot left).
    Stop,
}

/// A poll in progress: its number and its bounds.
#[derive(Debug, Clone, Copy)]
struct PollState {
    n: u32,
    deadline: Option<Instant>,
    max: Option<u32>,
    interval: Duration,
}

/// What follows an answer ([`Session::again`]).
struct Again {
    /// A Digest challenge to answer with credentials.
    digest_401: bool,
    /// The same request again at once, with fresh credentials.
    retry_401: bool,
    /// The 429 policy's wait before the next attempt, when it retries.
    policy_wait: Option<Duration>,
}

impl PollState {
    fn turn(&self) -> PollTurn {
        let fits_time = self
            .deadline
            .is_none_or(|d| Instant::now() + self.interval < d);
        PollTurn {
            another_fits: fits_time && self.max.is_none_or(|m| self.n < m),
        }
    }
}

fn ms(d: Duration) -> u32 {
    d.as_millis().min(u128::from(u32::MAX)) as u32
}

/// A user's side of its requests, kept between them: its connection, the URL it sends to, its
/// credentials, cookie jar and HTTP cache, its abort, and its back-off after resource errors.
pub(super) struct Session<C> {
    /// This user's connection.
    conn: C,
    /// The URL of the request being sent (its buffer reused).
    url: String,
    /// This user's cached `Authorization` (OAuth: its token while it is good).
    auth: Option<AuthCache>,
    /// The server's Digest challenge this user answers (Digest authentication).
    digest: Option<Challenge>,
    /// This user's HTTP cache, when the plan keeps one.
    cache: Option<UserCache>,
    /// This user's cookie jar, when the plan keeps cookies.
    jar: Option<cookie_store::CookieStore>,
    /// The run's abort, as this user's own child token: waiting on it per request touches no
    /// state shared with other users.
    abort: CancellationToken,
    /// The current back-off after resource errors (zero when the last attempt had none).
    resource_wait: Duration,
}

impl<C> Session<C> {
    /// A new user's session on `conn`, with the cache and jar `plan` keeps, cancelled by `abort`.
    pub(super) fn new(conn: C, plan: &PlanRt, abort: CancellationToken) -> Session<C> {
        Session {
            conn,
            url: String::with_capacity(128),
            auth: None,
            digest: None,
            cache: plan.user_cache(),
            jar: plan.cookie_jar(),
            abort,
            resource_wait: Duration::ZERO,
        }
    }

    /// An iteration begins: the cache and the jar are emptied when the plan says so.
    pub(super) fn iteration_begins(&mut self, plan: &PlanRt) {
        if plan.clears_cache_each_iteration() {
            if let Some(c) = &mut self.cache {
                c.clear();
            }
        }
        if plan.clears_cookies_each_iteration() {
            if let Some(jar) = &mut self.jar {
                jar.clear();
            }
        }
    }

    /// Sends request `step` for the user of `vars` (polling it when it polls); records every
    /// attempt and counts it in the open `txns`.
    pub(super) async fn request<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        vars: &mut Vars,
        txns: &mut Txns,
        step: usize,
        intended: Instant,
        stop: &CancellationToken,
    ) -> Sent {
        let Some(p) = ctx.plan.request(step).poll() else {
            return self.send(ctx, vars, txns, step, intended, stop, None).await;
        };
        let first = Instant::now();
        let mut poll = PollState {
            n: 1,
            deadline: p.timeout.map(|t| first + t),
            max: p.max_polls,
            interval: p.interval,
        };
        let mut intended = intended;
        loop {
            let v = match self
                .send(ctx, vars, txns, step, intended, stop, Some(poll))
                .await
            {
                Sent::Done(v) => v,
                other => return other,
            };
            if v.poll != PollNext::Again {
                return Sent::Done(v);
            }
            let until = Instant::now() + poll.interval;
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Sent::Stop,
                _ = sleep_until(until) => {}
            }
            txns.paused(poll.interval);
            poll.n += 1;
            intended = until;
        }
    }

    /// One logical request with its retries: every attempt recorded, the last one judged.
    #[allow(clippy::too_many_arguments)] // the user's parts it changes, and the request's place
    async fn send<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        vars: &mut Vars,
        txns: &mut Txns,
        step: usize,
        intended: Instant,
        stop: &CancellationToken,
        poll: Option<PollState>,
    ) -> Sent {
        if !ctx.take_slot() {
            return Sent::Stop;
        }
        let req = ctx.plan.request(step);
        let scope = vars.scope();
        ctx.plan.url_into(req, &scope, &mut self.url);
        let get = req.method() == http::Method::GET;
        if get && self.fresh_in_cache() {
            // No request and no sample (JMeter's default for a cached resource).
            ctx.counters.give_back_slot();
            return Sent::Cached(answer::cached());
        }
        let headers = self.headers(req, &scope);
        let body = req.body(&scope);
        let streamed = req.streamed(&scope);
        let mut authz = match ctx.client.authorization(vars.id, &mut self.auth).await {
            None => self.digest_answer(ctx, req.method(), &mut vars.rng),
            some => some,
        };
        let gate = ctx.policy.gate(step);
        let (mut attempt, mut intended, mut retry_wait) = (1u16, intended, Duration::ZERO);
        loop {
            let pace_wait = match gate {
                Some(g) => match g.acquire(vars.id, stop).await {
                    Some(w) => w,
                    None => {
                        ctx.counters.give_back_slot();
                        return Sent::Stop;
                    }
                },
                None => Duration::ZERO,
            };
            let out = OutRequest {
                method: req.method(),
                url: &self.url,
                headers: &headers,
                authorization: authz.clone(),
                body: body.clone(),
                streamed: streamed.clone(),
                capture: req.capture(),
            };
            let active = ctx.counters.active();
            let start = Instant::now();
            let x = tokio::select! {
                biased;
                x = ctx.client.send(&mut self.conn, out) => x,
                _ = self.abort.cancelled() => Exchange::failed(ErrorClass::Cancelled, 0),
            };
            self.keep_state(&x, get);
            let status = x.status.ok();
            if let Some(g) = gate {
                g.observe(vars.id, start, status, x.retry_after_ms, x.rate_limit);
            }
            // Decide now whether a retry follows (and reserve its slot), so the sample says
            // whether it is the request's final outcome.
            let Again {
                digest_401,
                retry_401,
                policy_wait,
            } = self.again(ctx, &x, attempt, authz.is_some(), &mut vars.rng);
            let retry =
                (retry_401 || policy_wait.is_some()) && !stop.is_cancelled() && ctx.take_slot();
            let verdict = if retry || req.is_plain() {
                answer::plain(req.spec(), &x)
            } else {
                let service = x.end.saturating_duration_since(start);
                answer::judge(
                    req.spec(),
                    &x,
                    service,
                    &mut vars.data,
                    &mut vars.rng,
                    vars.last_ok,
                    poll.map(|p| p.turn()),
                )
            };
            let sample = Sample {
                step: step as u16,
                user: vars.id,
                active,
                status: verdict.key,
                intended_us: ctx.recording.us(intended.min(start)),
                start_us: ctx.recording.us(start),
                ttfb_us: ctx.recording.us(x.ttfb),
                end_us: ctx.recording.us(x.end),
                bytes_in: x.bytes_in,
                bytes_out: x.bytes_out,
                attempt,
                last: !retry,
                retry_wait_ms: ms(retry_wait),
                pace_wait_ms: ms(pace_wait),
                retry_after_ms: x.retry_after_ms,
                rate_limit: x.rate_limit,
                limit_key: x.limit_key,
                check: verdict.check.map(surge_record::CheckId::new),
            };
            self.recorded(ctx, txns, &sample).await;
            if !retry {
                if x.status == Err(ErrorClass::Resource) {
                    // This machine is out of file descriptors or ports: the next attempt would
                    // fail at once too. Wait instead of spinning; stops are honoured meanwhile.
                    if !self.back_off(stop, &mut vars.rng).await {
                        return Sent::Stop;
                    }
                } else {
                    self.resource_wait = Duration::ZERO;
                }
                return Sent::Done(verdict);
            }
            attempt += 1;
            if retry_401 {
                authz = self
                    .after_401(ctx, vars, req.method(), authz, digest_401)
                    .await;
                retry_wait = Duration::ZERO;
                intended = Instant::now();
                continue;
            }
            let wait = policy_wait.unwrap_or_default();
            let until = Instant::now() + wait;
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    // The retry never comes: the last recorded attempt is the final outcome.
                    ctx.counters.give_back_slot();
                    ctx.recording.add_final(vars.id, Instant::now(), sample.status.outcome());
                    return Sent::Stop;
                }
                _ = sleep_until(until) => {}
            }
            retry_wait = wait;
            intended = until;
        }
    }

    /// Whether the request goes again after this answer: a Digest challenge is answered once by
    /// the same request with its credentials; an OAuth token refused (401) once with a fresh
    /// one; otherwise the 429 policy says whether, and after how long.
    fn again<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        x: &Exchange,
        attempt: u16,
        had_authz: bool,
        rng: &mut StdRng,
    ) -> Again {
        let status = x.status.ok();
        let digest_401 = status == Some(401) && attempt == 1 && self.took_challenge(ctx, x);
        let retry_401 = digest_401
            || (status == Some(401) && attempt == 1 && had_authz && ctx.client.refreshes_on_401());
        let policy_wait = match status {
            Some(s) if !retry_401 => ctx
                .policy
                .retry_wait(s, attempt, x.retry_after_ms, || rng.random::<f64>()),
            _ => None,
        };
        Again {
            digest_401,
            retry_401,
            policy_wait,
        }
    }

    /// The request's headers: constant ones borrowed as they are; templated ones rendered, and
    /// the jar's cookies joined to any `Cookie` the plan sets itself.
    fn headers<'r>(
        &self,
        req: &'r Prepared,
        scope: &Scope<'_>,
    ) -> std::borrow::Cow<'r, [(http::HeaderName, HeaderValue)]> {
        let cookie = self.cookie_header();
        let validators = match &self.cache {
            Some(c) if req.method() == http::Method::GET => c.validators(&self.url),
            _ => Vec::new(),
        };
        req.headers(scope, validators, cookie)
    }

    /// With Digest authentication: the answer to the challenge this user holds, for its URL.
    fn digest_answer<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        method: &http::Method,
        rng: &mut StdRng,
    ) -> Option<HeaderValue> {
        let creds = ctx.client.digest()?;
        let ch = self.digest.as_mut()?;
        let after_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |x| x.1);
        let uri = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        let cnonce = format!("{:016x}", rng.random::<u64>());
        let mut h = HeaderValue::try_from(ch.answer(creds, method.as_str(), uri, &cnonce)).ok()?;
        h.set_sensitive(true);
        Some(h)
    }

    /// With Digest authentication: keeps the challenge of a 401; true when there is one.
    fn took_challenge<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        x: &surge_transport::Exchange,
    ) -> bool {
        if ctx.client.digest().is_none() {
            return false;
        }
        let challenge = x
            .captured
            .as_ref()
            .and_then(|c| c.headers.as_ref())
            .and_then(|h| {
                h.get_all(http::header::WWW_AUTHENTICATE)
                    .iter()
                    .find_map(|v| Challenge::parse(v.to_str().ok()?))
            });
        match challenge {
            Some(c) => {
                self.digest = Some(c);
                true
            }
            None => false,
        }
    }

    /// The `Cookie` header the user's jar holds for its URL, when it holds any.
    fn cookie_header(&self) -> Option<HeaderValue> {
        let jar = self.jar.as_ref()?;
        jar.iter_any().next()?;
        let url = url::Url::parse(&self.url).ok()?;
        let mut v = String::new();
        for (name, value) in jar.get_request_values(&url) {
            if !v.is_empty() {
                v.push_str("; ");
            }
            v.push_str(name);
            v.push('=');
            v.push_str(value);
        }
        let mut h = HeaderValue::from_str(&v).ok().filter(|_| !v.is_empty())?;
        h.set_sensitive(true);
        Some(h)
    }

    /// The `Authorization` for the retry after a 401: the answer to the Digest challenge it
    /// carried, or OAuth's next token (else the same).
    async fn after_401<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        vars: &mut Vars,
        method: &http::Method,
        used: Option<HeaderValue>,
        digest: bool,
    ) -> Option<HeaderValue> {
        if digest {
            return self.digest_answer(ctx, method, &mut vars.rng);
        }
        let used = used.expect("an OAuth retry implies a header");
        ctx.client
            .after_unauthorized(vars.id, &used)
            .await
            .or(Some(used))
    }

    /// True when the user's cache holds a fresh answer for its URL.
    fn fresh_in_cache(&self) -> bool {
        let now = std::time::SystemTime::now();
        self.cache.as_ref().is_some_and(|c| c.fresh(&self.url, now))
    }

    /// What an answer leaves in the user's state: its cookies, and (a 2xx to a GET) what the
    /// cache keeps of it.
    fn keep_state(&mut self, x: &surge_transport::Exchange, get: bool) {
        self.keep_cookies(x);
        if let (Some(c), Ok(200..=299), true) = (&mut self.cache, x.status, get) {
            if let Some(h) = x.captured.as_ref().and_then(|c| c.headers.as_ref()) {
                c.store(&self.url, h, std::time::SystemTime::now());
            }
        }
    }

    /// Stores the cookies an answer sets in the user's jar.
    fn keep_cookies(&mut self, x: &surge_transport::Exchange) {
        let (Some(jar), Some(c)) = (self.jar.as_mut(), x.captured.as_ref()) else {
            return;
        };
        if c.set_cookies.is_empty() {
            return;
        }
        let Ok(url) = url::Url::parse(&self.url) else {
            return;
        };
        let cookies = c.set_cookies.iter().filter_map(|v| {
            let s = v.to_str().ok()?;
            cookie_store::RawCookie::parse(s.to_string()).ok()
        });
        jar.store_response_cookies(cookies, &url);
    }

    /// Records an attempt, counts it in the open transactions, and streams it when asked.
    /// (`&mut self`: the future holds the session across the stream's send, and a user's
    /// future must be `Send` with a connection that need not be `Sync`.)
    async fn recorded<T>(&mut self, ctx: &Ctx<T>, txns: &mut Txns, sample: &Sample) {
        ctx.recording.record(sample);
        let in_parent = txns.count(&ctx.plan, sample);
        ctx.recording
            .stream(|| {
                Streamed::Sample(StreamedSample {
                    sample: *sample,
                    // Raw samples (CSV, JTL) never carry a credential from a query.
                    url: surge_record::secrets::redact_url(&self.url).into_owned(),
                    in_parent,
                })
            })
            .await;
    }

    /// Waits out a resource error: 50 ms, doubling per error in a row up to 1 s, jittered to
    /// between half and all of it so that users do not retry in step. False when stopped.
    async fn back_off(&mut self, stop: &CancellationToken, rng: &mut StdRng) -> bool {
        self.resource_wait = (self.resource_wait * 2).clamp(RESOURCE_WAIT_MIN, RESOURCE_WAIT_MAX);
        let wait = self.resource_wait.mul_f64(0.5 + 0.5 * rng.random::<f64>());
        tokio::select! {
            biased;
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }
}
