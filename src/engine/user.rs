//! One user: draws data, runs the request sequence once per iteration, and applies the client
//! policy on 429 (retry after Retry-After, backoff; pacing and the adaptive rate through the
//! plan's [`Gate`](super::pace::Gate), passed before a paced request and told of its answer).
//! Every attempt is recorded.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use rand::RngExt as _;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::data::{Exhausted, UserData};
use super::executor::{Ctx, GroupRt};
use crate::record::samples::StreamedSample;
use crate::record::{ErrorClass, Sample, StatusKey};
use crate::scenario::template::Scope;
use crate::scenario::{OnError, ThinkTime};
use crate::transport::auth::AuthRuntime;
use crate::transport::{Exchange, OutRequest, Transport};

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IterEnd {
    /// Go on with the next iteration.
    Next,
    /// This user stops (its stop token, stop_thread, data exhausted, no request slot left).
    StopUser,
}

/// How one step ended.
enum StepEnd {
    /// The final attempt's success per `expect_status`.
    Done(bool),
    /// The user must stop (stop token, or no request slot left).
    Stop,
}

/// A user's own state across iterations.
pub(super) struct User {
    /// Global user id (from 0, across groups).
    pub id: u32,
    /// Number within the group, from 1 (JMeter's thread number).
    pub number: u32,
    data: UserData,
    rng: rand::rngs::StdRng,
    url: String,
    iteration: u64,
    auth: Option<crate::transport::auth::AuthCache>,
}

impl User {
    pub(super) fn new<T>(ctx: &Ctx<T>, grp: &GroupRt, local: u32) -> User {
        let id = grp.user_base + local;
        let rng = match ctx.seed {
            Some(s) => rand::SeedableRng::seed_from_u64(s ^ ((u64::from(id) << 32) | 0x5eed)),
            None => rand::make_rng(),
        };
        User {
            id,
            number: local + 1,
            data: UserData::new(&ctx.data, ctx.nvars),
            rng,
            url: String::with_capacity(128),
            auth: None,
            iteration: 0,
        }
    }

    /// Runs one iteration: the group's requests in order, each after its think time.
    pub(super) async fn iteration<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        grp: &GroupRt,
        mut due: Instant,
        stop: &CancellationToken,
    ) -> IterEnd {
        match self.data.draw(&ctx.data) {
            Ok(()) => {}
            Err(Exhausted::StopThread) => return IterEnd::StopUser,
            Err(Exhausted::StopTest) => {
                ctx.stop_with(crate::record::StopReason::DataExhausted);
                return IterEnd::StopUser;
            }
        }
        self.iteration += 1;
        ctx.iterations.fetch_add(1, Ordering::Relaxed);
        for &step in &grp.steps {
            // Timers run before each sampler, as JMeter's do.
            let pause = match grp.think {
                ThinkTime::None => Duration::ZERO,
                ThinkTime::Constant { pause } => pause,
                ThinkTime::Uniform { min, max } => {
                    if max > min {
                        self.rng.random_range(min..=max)
                    } else {
                        min
                    }
                }
            };
            if !pause.is_zero() {
                due = Instant::now() + pause;
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => return IterEnd::StopUser,
                    _ = sleep_until(due) => {}
                }
            }
            if stop.is_cancelled() {
                return IterEnd::StopUser;
            }
            let ok = match self.step(ctx, step, due, stop).await {
                StepEnd::Done(ok) => ok,
                StepEnd::Stop => return IterEnd::StopUser,
            };
            due = Instant::now();
            if !ok {
                match grp.on_error {
                    OnError::Continue => {}
                    OnError::NextLoop => return IterEnd::Next,
                    OnError::StopThread => return IterEnd::StopUser,
                    OnError::StopTest => {
                        ctx.stop_with(crate::record::StopReason::StopTest);
                        return IterEnd::StopUser;
                    }
                }
            }
        }
        IterEnd::Next
    }

    /// Sends one step with its retries; records every attempt.
    async fn step<T: Transport>(
        &mut self,
        ctx: &Ctx<T>,
        step: usize,
        intended: Instant,
        stop: &CancellationToken,
    ) -> StepEnd {
        if !ctx.take_slot() {
            return StepEnd::Stop;
        }
        let req = &ctx.requests[step];
        let scope = Scope {
            vars: &self.data.values,
            thread: self.number,
            iteration: self.iteration,
        };
        self.url.clear();
        self.url.push_str(&ctx.base_url);
        req.path.render_into(&scope, &mut self.url);
        // Constant headers are borrowed as they are; only templated ones are rendered.
        let headers: std::borrow::Cow<'_, [(http::HeaderName, HeaderValue)]> =
            if req.dyn_headers.is_empty() {
                std::borrow::Cow::Borrowed(&req.const_headers)
            } else {
                let mut h = req.const_headers.clone();
                for (k, t) in &req.dyn_headers {
                    let v = HeaderValue::try_from(t.render(&scope))
                        .unwrap_or_else(|_| HeaderValue::from_static(""));
                    h.push((k.clone(), v));
                }
                std::borrow::Cow::Owned(h)
            };
        let body = req.body.as_ref().map(|b| Bytes::from(b.render(&scope)));
        let mut authz = ctx.auth.header_cached(self.id, &mut self.auth).await;
        let gate = ctx.gate.as_ref().filter(|g| g.applies(step));
        let policy = &ctx.policy;
        let (mut attempt, mut intended, mut retry_wait) = (1u16, intended, Duration::ZERO);
        loop {
            let pace_wait = match gate {
                Some(g) => match g.acquire(self.id, stop).await {
                    Some(w) => w,
                    None => {
                        ctx.give_back_slot();
                        return StepEnd::Stop;
                    }
                },
                None => Duration::ZERO,
            };
            let out = OutRequest {
                method: &req.method,
                url: &self.url,
                headers: &headers,
                authorization: authz.clone(),
                body: body.clone(),
                capture: crate::transport::Capture::NONE,
            };
            let active = ctx.active.load(Ordering::Relaxed);
            let start = Instant::now();
            let x = tokio::select! {
                biased;
                x = ctx.transport.send(out) => x,
                _ = ctx.abort.cancelled() => Exchange::failed(ErrorClass::Cancelled, 0),
            };
            let status = x.status.ok();
            if let Some(g) = gate {
                g.observe(self.id, start, status, x.retry_after_ms, x.rate_limit);
            }
            // Decide now whether a retry follows (and reserve its slot), so the sample says
            // whether it is the request's final outcome.
            let retry_401 = status == Some(401)
                && attempt == 1
                && authz.is_some()
                && matches!(ctx.auth, AuthRuntime::OAuth(_));
            let policy_wait = match status {
                Some(s) if !retry_401 && policy.retries(s) => {
                    policy.wait(attempt, x.retry_after_ms, self.rng.random::<f64>())
                }
                _ => None,
            };
            let retry =
                (retry_401 || policy_wait.is_some()) && !stop.is_cancelled() && ctx.take_slot();
            let sample = Sample {
                step: step as u16,
                user: self.id,
                active,
                status: match x.status {
                    Ok(s) => StatusKey::Http(s),
                    Err(c) => StatusKey::Error(c),
                },
                intended_us: ctx.us(intended.min(start)),
                start_us: ctx.us(start),
                ttfb_us: ctx.us(x.ttfb),
                end_us: ctx.us(x.end),
                bytes_in: x.bytes_in,
                bytes_out: x.bytes_out,
                attempt,
                last: !retry,
                retry_wait_ms: retry_wait.as_millis().min(u128::from(u32::MAX)) as u32,
                pace_wait_ms: pace_wait.as_millis().min(u128::from(u32::MAX)) as u32,
                retry_after_ms: x.retry_after_ms,
                rate_limit: x.rate_limit,
                limit_key: x.limit_key,
            };
            ctx.recorder.record(&sample);
            if let Some(tx) = &ctx.samples {
                let _ = tx
                    .send(StreamedSample {
                        sample,
                        url: self.url.clone(),
                    })
                    .await;
            }
            if !retry {
                return StepEnd::Done(req.is_success(status));
            }
            attempt += 1;
            if retry_401 {
                let used = authz.clone().expect("retry_401 implies a header");
                authz = ctx
                    .auth
                    .after_unauthorized(self.id, &used)
                    .await
                    .or(Some(used));
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
                    ctx.give_back_slot();
                    ctx.recorder.add_final(self.id, ctx.us(Instant::now()), sample.status.outcome());
                    return StepEnd::Stop;
                }
                _ = sleep_until(until) => {}
            }
            retry_wait = wait;
            intended = until;
        }
    }
}

/// A closed-model user: loops until its loops are done or it is stopped.
pub(super) async fn closed_user<T: Transport>(
    ctx: Arc<Ctx<T>>,
    g: usize,
    local: u32,
    start_due: Instant,
    loops: Option<u64>,
    stop: CancellationToken,
) {
    let grp = &ctx.groups[g];
    let mut user = User::new(&ctx, grp, local);
    ctx.user_event(1);
    let mut due = start_due;
    let mut n: u64 = 0;
    while loops.is_none_or(|l| n < l) && !stop.is_cancelled() {
        n += 1;
        if user.iteration(&ctx, grp, due, &stop).await == IterEnd::StopUser {
            break;
        }
        due = Instant::now();
    }
    ctx.user_event(-1);
}

/// An open-model user: runs one iteration per arrival it receives, until the arrivals end.
/// It counts as active while it runs an iteration.
pub(super) async fn open_user<T: Transport>(
    ctx: Arc<Ctx<T>>,
    g: usize,
    local: u32,
    first: Option<Instant>,
    arrivals: async_channel::Receiver<Instant>,
    idle: Arc<AtomicU32>,
    stop: CancellationToken,
) {
    let grp = &ctx.groups[g];
    let mut user = User::new(&ctx, grp, local);
    let mut next = first;
    loop {
        let due = match next.take() {
            Some(at) => at,
            None => {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    a = arrivals.recv() => match a {
                        Ok(at) => at,
                        Err(_) => break,
                    },
                }
            }
        };
        ctx.user_event(1);
        let end = user.iteration(&ctx, grp, due, &stop).await;
        ctx.user_event(-1);
        if end == IterEnd::StopUser {
            break;
        }
        idle.fetch_add(1, Ordering::AcqRel);
    }
}
