//! One request as the client sends it: the plan's [`Gate`](super::pace::Gate) (the `pace` or
//! `adaptive` policy's client-side limit), the 429 policy's retries
//! (and OAuth's one retry after a 401), every attempt recorded; then, for a request that reads
//! its answer, the verdict of its extractors, assertions and poll. A plain request asks the
//! transport for nothing beyond status and timings and never parses its answer.

use std::time::Duration;

use http::HeaderValue;
use rand::RngExt as _;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::answer::{self, PollNext, PollTurn, Verdict};
use super::ctx::Ctx;
use super::plan_rt::Prepared;
use super::user::User;
use surge_plan::template::Scope;
use surge_record::samples::{Streamed, StreamedSample};
use surge_record::{ErrorClass, Outcome, Sample};
use surge_transport::{Exchange, OutRequest, Transport};

/// How one request (all its attempts, or all its polls) ended.
pub(super) enum Sent {
    /// Its final verdict.
    Done(Verdict),
    /// The user must stop (stop token, or no request slot left).
    Stop,
}

/// A poll in progress: its number and its bounds.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollState {
    n: u32,
    deadline: Option<Instant>,
    max: Option<u32>,
    interval: Duration,
}

/// What follows an answer ([`User::again`]).
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

impl<C> User<C> {
    /// Sends request `step` (polling it when it polls); records every attempt.
    pub(super) async fn request<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        step: usize,
        intended: Instant,
        stop: &CancellationToken,
    ) -> Sent {
        let Some(p) = ctx.plan.request(step).poll() else {
            return self.send(ctx, step, intended, stop, None).await;
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
            let v = match self.send(ctx, step, intended, stop, Some(poll)).await {
                Sent::Done(v) => v,
                Sent::Stop => return Sent::Stop,
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
            self.paused(poll.interval);
            poll.n += 1;
            intended = until;
        }
    }

    /// One logical request with its retries: every attempt recorded, the last one judged.
    async fn send<T: Transport<Conn = C>>(
        &mut self,
        ctx: &Ctx<T>,
        step: usize,
        intended: Instant,
        stop: &CancellationToken,
        poll: Option<PollState>,
    ) -> Sent {
        if !ctx.take_slot() {
            return Sent::Stop;
        }
        let req = ctx.plan.request(step);
        let scope = Scope {
            vars: &self.data.values,
            thread: self.number,
            iteration: self.iteration,
        };
        ctx.plan.url_into(req, &scope, &mut self.url);
        let get = req.method() == http::Method::GET;
        if get && self.fresh_in_cache() {
            // No request and no sample (JMeter's default for a cached resource), and nothing
            // sent, for a `while` pass that must send to go on.
            ctx.counters.give_back_slot();
            self.sent = self.sent.saturating_sub(1);
            return Sent::Done(answer::cached());
        }
        let headers = self.headers(req, &scope);
        let body = req.body(&scope);
        let mut authz = match ctx.client.authorization(self.id, &mut self.auth).await {
            None => self.digest_answer(ctx, req.method()),
            some => some,
        };
        let gate = ctx.policy.gate(step);
        let (mut attempt, mut intended, mut retry_wait) = (1u16, intended, Duration::ZERO);
        loop {
            let pace_wait = match gate {
                Some(g) => match g.acquire(self.id, stop).await {
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
                g.observe(self.id, start, status, x.retry_after_ms, x.rate_limit);
            }
            // Decide now whether a retry follows (and reserve its slot), so the sample says
            // whether it is the request's final outcome.
            let Again {
                digest_401,
                retry_401,
                policy_wait,
            } = self.again(ctx, &x, attempt, authz.is_some());
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
                    &mut self.data,
                    &mut self.rng,
                    self.last_ok,
                    poll.map(|p| p.turn()),
                )
            };
            let sample = Sample {
                step: step as u16,
                user: self.id,
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
            self.recorded(ctx, &sample).await;
            if !retry {
                if x.status == Err(ErrorClass::Resource) {
                    // This machine is out of file descriptors or ports: the next attempt would
                    // fail at once too. Wait instead of spinning; stops are honoured meanwhile.
                    if !self.back_off(stop).await {
                        return Sent::Stop;
                    }
                } else {
                    self.resource_wait = Duration::ZERO;
                }
                return Sent::Done(verdict);
            }
            attempt += 1;
            if retry_401 {
                authz = self.after_401(ctx, req.method(), authz, digest_401).await;
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
                    ctx.recording.add_final(self.id, Instant::now(), sample.status.outcome());
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
    fn again<T>(&mut self, ctx: &Ctx<T>, x: &Exchange, attempt: u16, had_authz: bool) -> Again {
        let status = x.status.ok();
        let digest_401 = status == Some(401) && attempt == 1 && self.took_challenge(ctx, x);
        let retry_401 = digest_401
            || (status == Some(401) && attempt == 1 && had_authz && ctx.client.refreshes_on_401());
        let policy_wait = match status {
            Some(s) if !retry_401 => ctx
                .policy
                .retry_wait(s, attempt, x.retry_after_ms, || self.rng.random::<f64>()),
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
    fn digest_answer<T>(&mut self, ctx: &Ctx<T>, method: &http::Method) -> Option<HeaderValue> {
        let creds = ctx.client.digest()?;
        let ch = self.digest.as_mut()?;
        let after_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |x| x.1);
        let uri = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        let cnonce = format!("{:016x}", self.rng.random::<u64>());
        let mut h = HeaderValue::try_from(ch.answer(creds, method.as_str(), uri, &cnonce)).ok()?;
        h.set_sensitive(true);
        Some(h)
    }

    /// With Digest authentication: keeps the challenge of a 401; true when there is one.
    fn took_challenge<T>(&mut self, ctx: &Ctx<T>, x: &surge_transport::Exchange) -> bool {
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
                    .find_map(|v| surge_transport::digest::Challenge::parse(v.to_str().ok()?))
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
    async fn after_401<T>(
        &mut self,
        ctx: &Ctx<T>,
        method: &http::Method,
        used: Option<HeaderValue>,
        digest: bool,
    ) -> Option<HeaderValue> {
        if digest {
            return self.digest_answer(ctx, method);
        }
        let used = used.expect("an OAuth retry implies a header");
        ctx.client
            .after_unauthorized(self.id, &used)
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
    async fn recorded<T>(&mut self, ctx: &Ctx<T>, sample: &Sample) {
        ctx.recording.record(sample);
        let mut in_parent = false;
        for t in self.open.iter_mut() {
            t.samples += 1;
            t.failing += u32::from(sample.status.outcome() != Outcome::Success);
            t.bytes_in += u64::from(sample.bytes_in);
            t.bytes_out += u64::from(sample.bytes_out);
            t.latency_us += sample.ttfb_us.saturating_sub(sample.start_us);
            in_parent |= ctx.plan.transaction(t.txn).parent_sample;
        }
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
}

/// The first wait after a resource error (out of open files, ports); it doubles with each one
/// in a row up to [`RESOURCE_WAIT_MAX`], jittered, and resets on any other outcome.
pub(super) const RESOURCE_WAIT_MIN: Duration = Duration::from_millis(50);
/// The longest wait after resource errors in a row.
pub(super) const RESOURCE_WAIT_MAX: Duration = Duration::from_secs(1);

impl<C> User<C> {
    /// Waits out a resource error: 50 ms, doubling per error in a row up to 1 s, jittered to
    /// between half and all of it so that users do not retry in step. False when stopped.
    async fn back_off(&mut self, stop: &CancellationToken) -> bool {
        self.resource_wait = (self.resource_wait * 2).clamp(RESOURCE_WAIT_MIN, RESOURCE_WAIT_MAX);
        let wait = self
            .resource_wait
            .mul_f64(0.5 + 0.5 * self.rng.random::<f64>());
        tokio::select! {
            biased;
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }
}
