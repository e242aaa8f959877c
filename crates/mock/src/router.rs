//! The axum router and its gateway: correlation ids, ground-truth counting, Bearer auth, fault injection,
//! the per-request rate-limit models, latency, and the Genesys error body on every non-2xx answer.

use super::errors::ApiError;
use super::limits::{retry_after_secs, LimitKind, WindowState};
use super::state::{route_index, MockState, ROUTES};
use super::{flows_api, misc_api};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use tokio::time::{Duration, Instant};

/// `ININ-Correlation-Id` (lower case on the wire, as HTTP/2 requires).
pub static CORRELATION: HeaderName = HeaderName::from_static("inin-correlation-id");
static RL_ALLOWED: HeaderName = HeaderName::from_static("inin-ratelimit-allowed");
static RL_COUNT: HeaderName = HeaderName::from_static("inin-ratelimit-count");
static RL_RESET: HeaderName = HeaderName::from_static("inin-ratelimit-reset");
/// `Surge-Mock-Preset` on every answer: which preset is answering (the real API never sends it).
pub static PRESET_HEADER: HeaderName = HeaderName::from_static("surge-mock-preset");

/// A fault the mock injected, as a response extension (so an in-process caller can classify it without a
/// socket). `ConnectionReset` answers also fail their body stream with `io::ErrorKind::ConnectionReset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockFault {
    Error500,
    Error503RetryAfter,
    Error503,
    ConnectionReset,
    Stall,
}

/// Who is calling, for handlers (inserted by the gateway on `/api/v2` routes).
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
}

/// Builds the mock's router over `state`. Serve it over TCP ([`super::MockServer`]) or call it in-process
/// with `tower::ServiceExt::oneshot`.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/oauth/token", post(misc_api::token))
        .route(
            "/api/v2/flows",
            get(flows_api::list).post(flows_api::create),
        )
        .route(
            "/api/v2/flows/{flowId}",
            get(flows_api::get_flow)
                .put(flows_api::update)
                .delete(flows_api::delete),
        )
        .route("/api/v2/flows/actions/{action}", post(flows_api::action))
        .route(
            "/api/v2/flows/{flowId}/latestconfiguration",
            get(flows_api::latest_configuration),
        )
        .route("/api/v2/flows/{flowId}/versions", get(flows_api::versions))
        .route("/api/v2/flows/jobs", post(misc_api::create_job))
        .route("/api/v2/flows/jobs/{jobId}", get(misc_api::get_job))
        .route("/mock/uploads/{jobId}", put(misc_api::upload))
        .route("/mock/stats", get(misc_api::stats))
        .route_layer(middleware::from_fn_with_state(state.clone(), gateway))
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .layer(middleware::map_response_with_state(
            state.clone(),
            name_the_preset,
        ))
        .with_state(state)
}

/// Every answer names the preset that gave it, so a client pointed at a `surge mock` by URL
/// can tell which model it is measuring.
async fn name_the_preset(State(st): State<MockState>, mut resp: Response) -> Response {
    resp.headers_mut().insert(
        PRESET_HEADER.clone(),
        HeaderValue::from_static(st.cfg().preset.name()),
    );
    resp
}

/// The route pattern of a request, as counted in stats (`unmatched` for paths the mock does not serve).
pub fn route_name(method: &Method, path: &str) -> &'static str {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let pattern = match segs.as_slice() {
        ["oauth", "token"] => "/oauth/token".to_string(),
        ["mock", "stats"] => "/mock/stats".to_string(),
        ["mock", "uploads", _] => "/mock/uploads/{jobId}".to_string(),
        ["api", "v2", "flows"] => "/api/v2/flows".to_string(),
        ["api", "v2", "flows", "jobs"] => "/api/v2/flows/jobs".to_string(),
        ["api", "v2", "flows", "jobs", _] => "/api/v2/flows/jobs/{jobId}".to_string(),
        ["api", "v2", "flows", "actions", a] => format!("/api/v2/flows/actions/{a}"),
        ["api", "v2", "flows", _] => "/api/v2/flows/{flowId}".to_string(),
        ["api", "v2", "flows", _, tail] => format!("/api/v2/flows/{{flowId}}/{tail}"),
        _ => return ROUTES[ROUTES.len() - 1],
    };
    ROUTES[route_index(&format!("{method} {pattern}"))]
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `pageSize` of the query (25 when absent), for the page-size-graded endpoint limit.
fn page_size(query: Option<&str>) -> u32 {
    query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("pageSize=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

fn throttle(st: &MockState, kind: LimitKind, value: u64, wait: Duration) -> ApiError {
    st.count_throttled(kind);
    let ra = st.cfg().retry_after;
    ApiError::too_many(
        retry_after_secs(wait, ra.min_s, ra.override_s),
        kind.key(),
        kind.namespace(),
        value,
    )
}

async fn gateway(State(st): State<MockState>, mut req: Request, next: Next) -> Response {
    let now = Instant::now();
    let route = route_name(req.method(), req.uri().path());
    st.count_route(route_index(route));
    let cid = st.correlation_id();
    let mut rl: Option<WindowState> = None;
    let mut refused = false;
    let mut fault = None;
    let result: Result<Response, ApiError> = 'gate: {
        if !req.uri().path().starts_with("/api/v2") {
            break 'gate Ok(next.run(req).await);
        }
        let Some(token) = bearer(req.headers()) else {
            refused = true;
            break 'gate Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ));
        };
        let Some(t) = st.token(token) else {
            refused = true;
            break 'gate Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad.credentials",
                "Invalid login credentials.",
            ));
        };
        match st.check_token_limit(&t, now) {
            Ok(s) => rl = s,
            Err((value, wait)) => {
                rl = Some(WindowState {
                    allowed: value as u32,
                    count: value as u32,
                    reset_s: wait.as_millis().div_ceil(1000) as u64,
                });
                refused = true;
                break 'gate Err(throttle(&st, LimitKind::Token, value, wait));
            }
        }
        if let Err((value, wait)) = st.check_org_app_user(t.client, now) {
            refused = true;
            break 'gate Err(throttle(&st, LimitKind::OrgAppUser, value, wait));
        }
        if let Err((value, wait)) = st.check_endpoint(route, page_size(req.uri().query()), now) {
            refused = true;
            break 'gate Err(throttle(&st, LimitKind::Endpoint, value, wait));
        }
        if let Err((value, wait)) = st.check_gateway(&t, now) {
            refused = true;
            break 'gate Err(throttle(&st, LimitKind::Gateway, value, wait));
        }
        fault = draw_fault(&st);
        if let Some(f) = fault {
            break 'gate Err(fault_error(&st, f).await);
        }
        req.extensions_mut().insert(Caller {
            client_id: st.0.clients[t.client].id.clone(),
        });
        Ok(next.run(req).await)
    };
    let mut resp = match result {
        Ok(r) => match r.extensions().get::<ApiError>().cloned() {
            Some(e) => {
                refused |= e.status == StatusCode::TOO_MANY_REQUESTS;
                e.response(&cid)
            }
            None => r,
        },
        Err(e) => e.response(&cid),
    };
    let lat = &st.cfg().latency;
    let dist = if refused {
        lat.refusal
    } else {
        lat.per_route.get(route).copied().unwrap_or(lat.default)
    };
    let delay = st.0.draws.duration(dist);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if fault == Some(MockFault::ConnectionReset) {
        resp = connection_reset();
    }
    if let Some(f) = fault {
        resp.extensions_mut().insert(f);
    }
    finish(&st, &mut resp, &cid, rl);
    resp
}

fn finish(st: &MockState, resp: &mut Response, cid: &str, rl: Option<WindowState>) {
    st.count_status(resp.status().as_u16());
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(cid) {
        h.insert(CORRELATION.clone(), v);
    }
    if let Some(s) = rl {
        h.insert(RL_ALLOWED.clone(), HeaderValue::from(s.allowed));
        h.insert(RL_COUNT.clone(), HeaderValue::from(s.count));
        h.insert(RL_RESET.clone(), HeaderValue::from(s.reset_s));
    }
}

fn draw_fault(st: &MockState) -> Option<MockFault> {
    let f = &st.cfg().faults;
    let total = f.error_500_share
        + f.error_503_retry_after_share
        + f.error_503_share
        + f.reset_share
        + f.stall_share;
    if total <= 0.0 {
        return None;
    }
    let mut u = st.0.draws.unit();
    for (share, fault) in [
        (f.error_500_share, MockFault::Error500),
        (f.error_503_retry_after_share, MockFault::Error503RetryAfter),
        (f.error_503_share, MockFault::Error503),
        (f.reset_share, MockFault::ConnectionReset),
        (f.stall_share, MockFault::Stall),
    ] {
        if u < share {
            return Some(fault);
        }
        u -= share;
    }
    None
}

async fn fault_error(st: &MockState, f: MockFault) -> ApiError {
    let cfg = &st.cfg().faults;
    match f {
        MockFault::Error500 | MockFault::ConnectionReset => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "The server encountered an unexpected condition (mock-injected fault).",
        ),
        MockFault::Error503RetryAfter | MockFault::Error503 => {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service.unavailable",
                "The service is currently unavailable (mock-injected fault).",
            );
            if f == MockFault::Error503RetryAfter {
                e.retry_after = Some(u64::from(cfg.retry_after_503_s.max(1)));
            }
            e
        }
        MockFault::Stall => {
            tokio::time::sleep(Duration::from_millis(cfg.stall_ms)).await;
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway.timeout",
                "The request timed out (mock-injected stall).",
            )
        }
    }
}

/// A response whose body fails: over TCP hyper aborts the connection mid-answer; in-process the body
/// read yields `io::ErrorKind::ConnectionReset`.
fn connection_reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "mock-injected connection reset",
        ))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn fallback(State(st): State<MockState>, req: Request) -> Response {
    st.count_route(ROUTES.len() - 1);
    let cid = st.correlation_id();
    let path = req.uri().path();
    let message = if let Some(rest) = path.strip_prefix("/api/v2/architect/flows") {
        let id = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        let id = if id.is_empty() { "{flowId}" } else { id };
        format!(
            "No resource at {path}: the Genesys Cloud API has no /api/v2/architect/flows path. \
             A flow is at GET /api/v2/flows/{id}; publish it with POST /api/v2/flows/actions/publish?flow={id}."
        )
    } else {
        format!("No resource found at {} {path}.", req.method())
    };
    let mut resp = ApiError::not_found(message).response(&cid);
    let delay = st.0.draws.duration(st.cfg().latency.refusal);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    finish(&st, &mut resp, &cid, None);
    resp
}

impl IntoResponse for ApiError {
    /// A bare status carrying the error; the gateway renders the body with the correlation id.
    fn into_response(self) -> Response {
        let mut r = self.status.into_response();
        r.extensions_mut().insert(self);
        r
    }
}
