//! The plan as its users read it while it runs ([`PlanRt`]), built once and never changed: the
//! requests prepared for sending ([`Prepared`]: constant headers made once, what of the answer to
//! keep), the transactions, the conditions, the cookie and cache settings, the data sources, and
//! what a new user starts with (its variables, its random source).

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};

use super::cache::UserCache;
use super::data::{SharedData, UserData};
use surge_plan::cond::{Answer, Cond};
use surge_plan::conversation::Poll;
use surge_plan::schedule::Segment;
use surge_plan::steps::TransactionSpec;
use surge_plan::template::{Scope, Template};
use surge_plan::{Plan, RequestSpec};
use surge_transport::Capture;

/// One request as it is sent.
pub(crate) struct Prepared {
    method: Method,
    path: Template,
    const_headers: Vec<(HeaderName, HeaderValue)>,
    dyn_headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
    multipart: Option<super::multipart::Multipart>,
    spec: RequestSpec,
    /// What of the answer the transport keeps (nothing for a plain request).
    capture: Capture,
    /// No extractor, assertion or poll: the status alone judges it.
    plain: bool,
}

impl Prepared {
    /// `r` of `plan`, its constant headers made once.
    fn new(plan: &Plan, r: &RequestSpec) -> Prepared {
        let scope = Scope {
            vars: &[],
            thread: 0,
            iteration: 0,
        };
        let mut const_headers = Vec::new();
        let mut dyn_headers = Vec::new();
        for (k, t) in &r.headers {
            if t.is_constant() {
                match HeaderValue::try_from(t.render(&scope)) {
                    Ok(mut v) => {
                        v.set_sensitive(surge_plan::is_sensitive_header(k.as_str()));
                        const_headers.push((k.clone(), v));
                    }
                    Err(_) => dyn_headers.push((k.clone(), t.clone())),
                }
            } else {
                dyn_headers.push((k.clone(), t.clone()));
            }
        }
        let multipart = super::multipart::Multipart::new(&r.multipart);
        if let Some(m) = &multipart {
            const_headers.push((http::header::CONTENT_TYPE, m.content_type().clone()));
        }
        let (body, headers) = r.needs();
        Prepared {
            method: r.method.clone(),
            path: r.path.clone(),
            const_headers,
            dyn_headers,
            body: r.body.clone(),
            multipart,
            capture: Capture {
                body_limit: body.then_some(surge_plan::conversation::BODY_LIMIT),
                // Digest: a 401's challenge is read from its headers; a cached GET's
                // validators and freshness too.
                headers: headers
                    || matches!(plan.auth, surge_plan::Auth::Digest { .. })
                    || (plan.cache.enabled && r.method == Method::GET),
                cookies: plan.cookies.enabled,
            },
            plain: r.extract.is_empty() && r.asserts.is_empty() && r.poll.is_none(),
            spec: r.clone(),
        }
    }

    /// The request as the plan has it.
    pub(crate) fn spec(&self) -> &RequestSpec {
        &self.spec
    }

    /// Its poll, when it polls.
    pub(crate) fn poll(&self) -> Option<&Poll> {
        self.spec.poll.as_ref()
    }

    pub(crate) fn method(&self) -> &Method {
        &self.method
    }

    /// What of the answer the transport keeps.
    pub(crate) fn capture(&self) -> Capture {
        self.capture
    }

    /// No extractor, assertion or poll: the status alone judges it.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// Its body, rendered in `scope`.
    pub(crate) fn body(&self, scope: &Scope<'_>) -> Option<Bytes> {
        self.body.as_ref().map(|b| Bytes::from(b.render(scope)))
    }

    /// Its multipart body (files streamed from disk), when it uploads.
    pub(crate) fn streamed(
        &self,
        scope: &Scope<'_>,
    ) -> Option<surge_transport::streamed::Streamed> {
        self.multipart.as_ref().map(|m| m.render(scope))
    }

    /// Its headers: the constant ones borrowed as they are when nothing joins them; else those
    /// with the cache's `validators`, the templated ones rendered in `scope`, and `cookie` (the
    /// jar's) joined to any `Cookie` the plan sets itself.
    pub(crate) fn headers(
        &self,
        scope: &Scope<'_>,
        validators: Vec<(HeaderName, HeaderValue)>,
        cookie: Option<HeaderValue>,
    ) -> Cow<'_, [(HeaderName, HeaderValue)]> {
        if self.dyn_headers.is_empty() && cookie.is_none() && validators.is_empty() {
            return Cow::Borrowed(&self.const_headers);
        }
        let mut h = self.const_headers.clone();
        h.extend(validators);
        for (k, t) in &self.dyn_headers {
            let v = HeaderValue::try_from(t.render(scope))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            h.push((k.clone(), v));
        }
        if let Some(c) = cookie {
            match h.iter_mut().find(|(k, _)| k == http::header::COOKIE) {
                Some((_, v)) => {
                    let mut both = v.as_bytes().to_vec();
                    both.extend_from_slice(b"; ");
                    both.extend_from_slice(c.as_bytes());
                    *v = HeaderValue::from_bytes(&both).unwrap_or(c);
                }
                None => h.push((http::header::COOKIE, c)),
            }
        }
        Cow::Owned(h)
    }
}

/// What every user reads of the plan and no one changes.
pub(crate) struct PlanRt {
    /// API base URL (no trailing slash).
    base_url: String,
    requests: Vec<Prepared>,
    transactions: Vec<TransactionSpec>,
    conditions: Vec<Cond>,
    cookies: surge_plan::Cookies,
    cache: surge_plan::HttpCache,
    data: SharedData,
    /// Variables a user holds.
    nvars: usize,
    /// Seed of the users' randomness (None: from entropy).
    seed: Option<u64>,
}

impl PlanRt {
    /// `plan` against `base_url`, for the `segment` of a distributed run this process runs.
    pub(crate) fn new(plan: &Plan, base_url: &str, seed: Option<u64>, segment: Segment) -> PlanRt {
        PlanRt {
            base_url: base_url.trim_end_matches('/').to_string(),
            requests: plan
                .requests
                .iter()
                .map(|r| Prepared::new(plan, r))
                .collect(),
            transactions: plan.transactions.clone(),
            conditions: plan.conditions.clone(),
            cookies: plan.cookies,
            cache: plan.cache,
            data: SharedData::for_segment(&plan.data, segment),
            nvars: plan.vars.len(),
            seed,
        }
    }

    /// Request `step`.
    pub(crate) fn request(&self, step: usize) -> &Prepared {
        &self.requests[step]
    }

    /// Writes request `req`'s URL, rendered in `scope`, into `url` (cleared first).
    pub(crate) fn url_into(&self, req: &Prepared, scope: &Scope<'_>, url: &mut String) {
        url.clear();
        url.push_str(&self.base_url);
        req.path.render_into(scope, url);
    }

    /// Transaction `txn`.
    pub(crate) fn transaction(&self, txn: u16) -> &TransactionSpec {
        &self.transactions[usize::from(txn)]
    }

    /// How many transactions the plan has.
    pub(crate) fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    /// Whether condition `cond` holds for `answer`.
    pub(crate) fn holds(&self, cond: u16, answer: &Answer<'_>) -> bool {
        self.conditions[usize::from(cond)].eval(answer)
    }

    /// The run's data sources.
    pub(crate) fn data(&self) -> &SharedData {
        &self.data
    }

    /// A new user's variables, drawing from the sources bound to group `group`.
    pub(crate) fn user_data(&self, group: usize) -> UserData {
        UserData::in_group(&self.data, self.nvars, group)
    }

    /// User `id`'s random source: from the seed when there is one.
    pub(crate) fn user_rng(&self, id: u32) -> rand::rngs::StdRng {
        match self.seed {
            Some(s) => rand::SeedableRng::seed_from_u64(s ^ ((u64::from(id) << 32) | 0x5eed)),
            None => rand::make_rng(),
        }
    }

    /// A new user's HTTP cache, when the plan keeps one.
    pub(crate) fn user_cache(&self) -> Option<UserCache> {
        self.cache
            .enabled
            .then(|| UserCache::new(self.cache.use_expires, self.cache.max_entries as usize))
    }

    /// A new user's cookie jar, when the plan keeps cookies.
    pub(crate) fn cookie_jar(&self) -> Option<cookie_store::CookieStore> {
        self.cookies
            .enabled
            .then(cookie_store::CookieStore::default)
    }

    /// Users empty their caches at each iteration's start.
    pub(crate) fn clears_cache_each_iteration(&self) -> bool {
        self.cache.clear_each_iteration
    }

    /// Users empty their cookie jars at each iteration's start.
    pub(crate) fn clears_cookies_each_iteration(&self) -> bool {
        self.cookies.clear_each_iteration
    }
}
