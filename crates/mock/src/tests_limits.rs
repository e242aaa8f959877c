//! HTTP-level tests of the rate-limit models, faults, latency, jobs and the ground-truth stats,
//! in-process on tokio's paused clock (helpers in `tests_http`).

use super::config::Dist;
use super::flows_store::flow_id;
use super::tests_http::*;
use super::{MockFault, Preset};
use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::time::Duration;

fn assert_429(v: &Value, key: &str, namespace: &str, value: u64, ra: u64) {
    assert_error_body(v, 429, "too.many.requests.retry.after");
    assert_eq!(
        v["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{ra}] seconds")
    );
    assert_eq!(v["limit"]["key"], key);
    assert_eq!(v["limit"]["namespace"], namespace);
    assert_eq!(v["limit"]["value"], value);
}

#[tokio::test(start_paused = true)]
async fn token_limit_429_names_its_model_and_headers_count_every_response() {
    let mut cfg = quiet(Preset::Documented);
    cfg.token_limit.per_minute = 3;
    let t = setup(cfg).await;
    for i in 1..=3 {
        let r = send(
            &t.app,
            "GET",
            &format!("/api/v2/flows/{}", flow_id(1, 1)),
            Some(&t.token),
            "",
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
        assert_eq!(r.headers()["inin-ratelimit-count"], i.to_string().as_str());
        assert_eq!(r.headers()["inin-ratelimit-reset"], "60");
    }
    tokio::time::advance(Duration::from_millis(10_200)).await;
    let r = send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "50");
    assert_eq!(r.headers()["inin-ratelimit-count"], "3");
    assert_429(
        &json(r).await,
        "token.rate.per.minute",
        "oauth.token",
        3,
        50,
    );
    // a second token has its own window
    let v = json(
        login(
            &t.app,
            "surge-mock-client",
            "surge-mock-secret",
            "grant_type=client_credentials",
        )
        .await,
    )
    .await;
    let other = v["access_token"].as_str().unwrap();
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", Some(other), "")
            .await
            .status(),
        200
    );
    tokio::time::advance(Duration::from_millis(49_800)).await;
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "")
            .await
            .status(),
        200
    );
    assert_eq!(
        t.state
            .stats()
            .throttled_by_limit
            .get("token.rate.per.minute"),
        Some(&1)
    );
}

#[tokio::test(start_paused = true)]
async fn org_app_user_limit_is_per_client_across_tokens() {
    let mut cfg = quiet(Preset::Documented);
    cfg.org_app_user_limit.per_minute = 2;
    let t = setup(cfg).await;
    let v = json(
        login(
            &t.app,
            "surge-mock-client",
            "surge-mock-secret",
            "grant_type=client_credentials",
        )
        .await,
    )
    .await;
    let other = v["access_token"].as_str().unwrap();
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "")
            .await
            .status(),
        200
    );
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", Some(other), "")
            .await
            .status(),
        200
    );
    let r = send(&t.app, "GET", "/api/v2/flows", Some(other), "").await;
    assert_eq!(r.headers()["retry-after"], "60");
    assert_429(
        &json(r).await,
        "org.app.user.rate.per.minute",
        "platform.api",
        2,
        60,
    );
}

#[tokio::test(start_paused = true)]
async fn get_flows_limit_is_graded_by_page_size() {
    let mut cfg = quiet(Preset::Documented);
    cfg.endpoint_limits[0].page_size_tiers = vec![(25, 3), (500, 1)];
    let t = setup(cfg).await;
    let tok = Some(t.token.as_str());
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows?pageSize=500", tok, "")
            .await
            .status(),
        200
    );
    let r = send(&t.app, "GET", "/api/v2/flows?pageSize=100", tok, "").await;
    assert_429(
        &json(r).await,
        "endpoint.rate.per.minute",
        "architect.flows",
        1,
        60,
    );
    for _ in 0..3 {
        assert_eq!(
            send(&t.app, "GET", "/api/v2/flows?pageSize=25", tok, "")
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", tok, "").await.status(),
        429
    );
    // other routes are not limited by it
    assert_eq!(
        send(
            &t.app,
            "GET",
            &format!("/api/v2/flows/{}", flow_id(1, 1)),
            tok,
            ""
        )
        .await
        .status(),
        200
    );
}

#[tokio::test(start_paused = true)]
async fn compile_backlog_hypothesis_refuses_at_capacity_with_wait_until_a_slot_frees() {
    let mut cfg = quiet(Preset::Documented);
    cfg.compile_backlog.enabled = true;
    cfg.compile_backlog.workers = 1;
    cfg.compile_backlog.capacity = 1;
    cfg.compile_backlog.compile = Dist::new(5_000.0, 5_000.0);
    let t = setup(cfg).await;
    let publish = |n: u32| format!("/api/v2/flows/actions/publish?flow={}", flow_id(1, n));
    assert_eq!(
        send(&t.app, "POST", &publish(1), Some(&t.token), "null")
            .await
            .status(),
        200
    );
    assert_eq!(
        send(&t.app, "POST", &publish(2), Some(&t.token), "null")
            .await
            .status(),
        200
    );
    tokio::time::advance(Duration::from_millis(1_500)).await;
    let r = send(&t.app, "POST", &publish(3), Some(&t.token), "null").await;
    assert_eq!(r.headers()["retry-after"], "4");
    assert_429(
        &json(r).await,
        "HYPOTHESIS.publish.compile.backlog.capacity",
        "HYPOTHESIS.architect.compile",
        1,
        4,
    );
    tokio::time::advance(Duration::from_millis(3_500)).await;
    assert_eq!(
        send(&t.app, "POST", &publish(3), Some(&t.token), "null")
            .await
            .status(),
        200
    );
    let s = t.state.stats();
    assert_eq!(
        s.throttled_by_limit
            .get("HYPOTHESIS.publish.compile.backlog.capacity"),
        Some(&1)
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_override_replaces_the_computed_value() {
    let mut cfg = quiet(Preset::Documented);
    cfg.token_limit.per_minute = 1;
    cfg.retry_after.override_s = Some(1);
    let t = setup(cfg).await;
    send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "").await;
    let r = send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "").await;
    assert_eq!(r.headers()["retry-after"], "1");
    assert_429(&json(r).await, "token.rate.per.minute", "oauth.token", 1, 1);
}

async fn one_fault(set: impl FnOnce(&mut super::config::FaultConfig)) -> (T, Response<Body>) {
    let mut cfg = quiet(Preset::Unlimited);
    set(&mut cfg.faults);
    let t = setup(cfg).await;
    let r = send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "").await;
    (t, r)
}

#[tokio::test(start_paused = true)]
async fn faults_500_503_reset_and_stall() {
    let (_, r) = one_fault(|f| f.error_500_share = 1.0).await;
    assert_eq!(
        r.extensions().get::<MockFault>(),
        Some(&MockFault::Error500)
    );
    assert_error_body(&json(r).await, 500, "internal.server.error");
    let (_, r) = one_fault(|f| {
        f.error_503_retry_after_share = 1.0;
        f.retry_after_503_s = 7;
    })
    .await;
    assert_eq!(r.headers()["retry-after"], "7");
    assert_error_body(&json(r).await, 503, "service.unavailable");
    let (_, r) = one_fault(|f| f.error_503_share = 1.0).await;
    assert!(!r.headers().contains_key("retry-after"));
    assert_error_body(&json(r).await, 503, "service.unavailable");
    let (_, r) = one_fault(|f| f.reset_share = 1.0).await;
    assert_eq!(
        r.extensions().get::<MockFault>(),
        Some(&MockFault::ConnectionReset)
    );
    let err = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .unwrap_err();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    let mut io = None;
    while let Some(e) = src {
        io = io.or(e.downcast_ref::<std::io::Error>().map(|e| e.kind()));
        src = e.source();
    }
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionReset), "{err:?}");
    let start = tokio::time::Instant::now();
    let (_, r) = one_fault(|f| {
        f.stall_share = 1.0;
        f.stall_ms = 120_000;
    })
    .await;
    assert!(start.elapsed() >= Duration::from_secs(120));
    assert_error_body(&json(r).await, 504, "gateway.timeout");
    // shares are reproducible draws: 30 % of 300 requests, the same count for the same seed
    let count = || async {
        let mut cfg = quiet(Preset::Unlimited);
        cfg.faults.error_500_share = 0.3;
        let t = setup(cfg).await;
        let mut n = 0;
        for _ in 0..300 {
            n += u32::from(
                send(
                    &t.app,
                    "GET",
                    "/api/v2/flows?pageSize=1",
                    Some(&t.token),
                    "",
                )
                .await
                .status()
                    == StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
        n
    };
    let (a, b) = (count().await, count().await);
    assert_eq!(a, b);
    assert!((60..120).contains(&a), "{a}");
}

#[tokio::test(start_paused = true)]
async fn latency_follows_the_route_model() {
    let mut cfg = quiet(Preset::Documented);
    cfg.latency
        .per_route
        .insert("GET /api/v2/flows/{flowId}".into(), Dist::new(700.0, 700.0));
    cfg.latency.refusal = Dist::new(5.0, 5.0);
    let t = setup(cfg).await;
    let start = tokio::time::Instant::now();
    send(
        &t.app,
        "GET",
        &format!("/api/v2/flows/{}", flow_id(1, 1)),
        Some(&t.token),
        "",
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(700));
    let start = tokio::time::Instant::now();
    send(
        &t.app,
        "GET",
        &format!("/api/v2/flows/{}", flow_id(1, 1)),
        None,
        "",
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(5));
}

#[tokio::test(start_paused = true)]
async fn jobs_register_upload_and_succeed() {
    let t = setup(quiet(Preset::Documented)).await;
    let tok = Some(t.token.as_str());
    let v = json(send(&t.app, "POST", "/api/v2/flows/jobs", tok, "null").await).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert!(v["presignedUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/mock/uploads/{id}")));
    assert!(v["headers"].is_object());
    let uri = format!("/api/v2/flows/jobs/{id}?expand=messages");
    let get = || send(&t.app, "GET", &uri, tok, "");
    let v = json(get().await).await;
    assert_eq!(v["status"], "Registered");
    assert!(v["messages"].is_array());
    assert_eq!(
        send(&t.app, "PUT", &format!("/mock/uploads/{id}"), None, "x")
            .await
            .status(),
        200
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(json(get().await).await["status"], "Started");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(json(get().await).await["status"], "Success");
    let r = send(&t.app, "GET", "/api/v2/flows/jobs/nope", tok, "").await;
    assert_error_body(&json(r).await, 404, "not.found");
}

#[tokio::test(start_paused = true)]
async fn stats_count_paths_statuses_limits_and_operations() {
    let mut cfg = quiet(Preset::Documented);
    cfg.token_limit.per_minute = 2;
    let t = setup(cfg).await;
    let tok = Some(t.token.as_str());
    send(
        &t.app,
        "POST",
        &format!("/api/v2/flows/actions/publish?flow={}", flow_id(1, 9)),
        tok,
        "null",
    )
    .await;
    send(&t.app, "GET", "/api/v2/flows", tok, "").await;
    send(&t.app, "GET", "/api/v2/flows", tok, "").await;
    send(&t.app, "GET", "/api/v2/flows", None, "").await;
    let v = json(send(&t.app, "GET", "/mock/stats", None, "").await).await;
    let s: super::MockStats = serde_json::from_value(v).unwrap();
    assert_eq!(s.requests_by_path.get("POST /oauth/token"), Some(&1));
    assert_eq!(s.requests_by_path.get("GET /api/v2/flows"), Some(&3));
    assert_eq!(
        s.requests_by_path.get("POST /api/v2/flows/actions/publish"),
        Some(&1)
    );
    // the stats request itself is counted on arrival, its status after it answers
    assert_eq!(s.requests_by_path.get("GET /mock/stats"), Some(&1));
    assert_eq!(s.total_requests, 6);
    assert_eq!(
        s.responses_by_status,
        BTreeMap::from([(200, 3), (401, 1), (429, 1)])
    );
    assert_eq!(
        s.throttled_by_limit,
        BTreeMap::from([("token.rate.per.minute".to_string(), 1)])
    );
    assert_eq!(s.operations_by_status.values().sum::<u64>(), 1);
    assert!(t.state.stats().summary().contains("429=1"));
}

#[tokio::test(start_paused = true)]
async fn the_bucket_preset_admits_its_burst_then_its_rate_org_wide() {
    let mut cfg = quiet(Preset::Bucket);
    cfg.gateway_limit.burst = 3;
    let t = setup(cfg).await;
    let get = |token: String| {
        let app = t.app.clone();
        async move { send(&app, "GET", "/api/v2/flows", Some(&token), "").await }
    };
    for _ in 0..3 {
        assert_eq!(get(t.token.clone()).await.status(), 200);
    }
    let r = get(t.token.clone()).await;
    assert_eq!(r.status(), 429);
    // 10/s: a request is admitted again in 100 ms, said as 1 s (whole seconds, rounded up).
    assert_eq!(r.headers()["retry-after"], "1");
    assert_429(&json(r).await, "gateway.token.bucket", "mock.gateway", 3, 1);
    // One bucket for the organization: another token is refused too.
    let v = json(
        login(
            &t.app,
            "surge-mock-client",
            "surge-mock-secret",
            "grant_type=client_credentials",
        )
        .await,
    )
    .await;
    let other = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(get(other.clone()).await.status(), 429);
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(get(other).await.status(), 200);
}
