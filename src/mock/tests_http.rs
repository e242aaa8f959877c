//! HTTP-level tests of every endpoint, error body and header, in-process (`router()` + `oneshot`) on
//! tokio's paused clock.

use super::config::{Dist, LatencyConfig};
use super::flows_store::flow_id;
use super::{router, MockConfig, MockFault, MockState, Preset};
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::time::Duration;
use tower::ServiceExt;

fn quiet(preset: Preset) -> MockConfig {
    let mut cfg = MockConfig::preset(preset);
    cfg.latency = LatencyConfig {
        default: Dist::new(0.0, 0.0),
        per_route: BTreeMap::new(),
        refusal: Dist::new(0.0, 0.0),
    };
    cfg
}

struct T {
    app: Router,
    state: MockState,
    token: String,
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> Response<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    app.clone()
        .oneshot(b.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap()
}

async fn json(resp: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&bytes).unwrap()
}

async fn login(app: &Router, id: &str, secret: &str, body: &str) -> Response<Body> {
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{id}:{secret}"),
    );
    let req = Request::post("/oauth/token")
        .header("authorization", format!("Basic {auth}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.clone().oneshot(req).await.unwrap()
}

async fn setup(cfg: MockConfig) -> T {
    let state = MockState::new(cfg);
    let app = router(state.clone());
    let v = json(
        login(
            &app,
            "surge-mock-client",
            "surge-mock-secret",
            "grant_type=client_credentials",
        )
        .await,
    )
    .await;
    T {
        app,
        state,
        token: v["access_token"].as_str().unwrap().to_string(),
    }
}

fn assert_error_body(v: &Value, status: u16, code: &str) {
    assert_eq!(v["status"], status, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        v["contextId"].as_str().is_some_and(|m| m.len() == 36),
        "{v}"
    );
    assert_eq!(v["details"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[tokio::test(start_paused = true)]
async fn oauth_token_mints_distinct_tokens_and_answers_login_errors() {
    let state = MockState::new(quiet(Preset::Documented));
    let app = router(state.clone());
    let r = login(
        &app,
        "surge-mock-client",
        "surge-mock-secret",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("inin-correlation-id"));
    let a = json(r).await;
    assert_eq!(a["token_type"], "bearer");
    assert_eq!(a["expires_in"], 86_400);
    let b = json(
        login(
            &app,
            "surge-mock-client",
            "surge-mock-secret",
            "grant_type=client_credentials",
        )
        .await,
    )
    .await;
    assert_ne!(a["access_token"], b["access_token"]);
    let r = login(
        &app,
        "surge-mock-client",
        "wrong",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(json(r).await["error"], "invalid_client");
    let r = login(
        &app,
        "surge-mock-client",
        "surge-mock-secret",
        "grant_type=password",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["error"], "unsupported_grant_type");
    let r = login(&app, "surge-mock-client", "surge-mock-secret", "").await;
    assert_eq!(r.status(), 400);
    let v = json(r).await;
    assert_eq!(v["error"], "invalid_request");
    assert!(v["description"].is_string());
}

#[tokio::test(start_paused = true)]
async fn tokens_expire_and_expired_ones_are_dropped() {
    let mut cfg = quiet(Preset::Unlimited);
    cfg.clients[0].expires_in = 10;
    let t = setup(cfg).await;
    assert_eq!(
        send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "")
            .await
            .status(),
        200
    );
    tokio::time::advance(Duration::from_secs(11)).await;
    let r = send(&t.app, "GET", "/api/v2/flows", Some(&t.token), "").await;
    assert_eq!(r.status(), 401);
    assert_error_body(&json(r).await, 401, "bad.credentials");
    assert_eq!(
        t.state.token_count(),
        0,
        "the expired token was dropped on use"
    );
    // minting many short-lived tokens keeps the map bounded
    for _ in 0..10 {
        for _ in 0..100 {
            login(
                &t.app,
                "surge-mock-client",
                "surge-mock-secret",
                "grant_type=client_credentials",
            )
            .await;
        }
        tokio::time::advance(Duration::from_secs(11)).await;
    }
    assert!(
        t.state.token_count() <= 228,
        "{} tokens held",
        t.state.token_count()
    );
}

#[tokio::test(start_paused = true)]
async fn missing_or_bad_bearer_is_401_with_the_genesys_body() {
    let t = setup(quiet(Preset::Documented)).await;
    let r = send(&t.app, "GET", "/api/v2/flows", None, "").await;
    assert_eq!(r.status(), 401);
    let cid = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let v = json(r).await;
    assert_error_body(&v, 401, "authentication.required");
    assert_eq!(v["contextId"], cid.as_str());
    let r = send(&t.app, "GET", "/api/v2/flows", Some("nope"), "").await;
    assert_error_body(&json(r).await, 401, "bad.credentials");
}

#[tokio::test(start_paused = true)]
async fn unknown_paths_are_404_and_architect_flows_names_the_real_path() {
    let t = setup(quiet(Preset::Documented)).await;
    let id = flow_id(1, 3);
    let r = send(
        &t.app,
        "GET",
        &format!("/api/v2/architect/flows/{id}"),
        Some(&t.token),
        "",
    )
    .await;
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("inin-correlation-id"));
    let v = json(r).await;
    assert_error_body(&v, 404, "not.found");
    let m = v["message"].as_str().unwrap();
    assert!(
        m.contains(&format!("/api/v2/flows/{id}")) && m.contains("actions/publish"),
        "{m}"
    );
    let r = send(&t.app, "GET", "/nothing/here", None, "").await;
    assert_error_body(&json(r).await, 404, "not.found");
    let r = send(
        &t.app,
        "POST",
        "/api/v2/flows/actions/explode?flow=x",
        Some(&t.token),
        "null",
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = send(
        &t.app,
        "GET",
        &format!("/api/v2/flows/{id}-x"),
        Some(&t.token),
        "",
    )
    .await;
    assert_error_body(&json(r).await, 404, "not.found");
    let stats = t.state.stats();
    assert_eq!(stats.requests_by_path.get("unmatched"), Some(&3));
}

#[tokio::test(start_paused = true)]
async fn list_flows_pages_filters_and_sorts() {
    let t = setup(quiet(Preset::Documented)).await;
    let v = json(
        send(
            &t.app,
            "GET",
            "/api/v2/flows?pageSize=25&pageNumber=2",
            Some(&t.token),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["total"], 500);
    assert_eq!(v["pageCount"], 20);
    assert_eq!(v["pageNumber"], 2);
    assert_eq!(v["entities"].as_array().unwrap().len(), 25);
    assert_eq!(v["entities"][0]["name"], "surge-flow-0026");
    assert_eq!(v["nextUri"], "/api/v2/flows?pageNumber=3&pageSize=25");
    assert!(v["previousUri"].is_string() && v["firstUri"].is_string() && v["lastUri"].is_string());
    let f = &v["entities"][0];
    for k in [
        "id",
        "name",
        "division",
        "type",
        "active",
        "checkedInVersion",
        "selfUri",
        "lockedClient",
    ] {
        assert!(f.get(k).is_some(), "flow lacks {k}");
    }
    let v = json(
        send(
            &t.app,
            "GET",
            "/api/v2/flows?name=flow-012&type=inboundcall",
            Some(&t.token),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["total"], 10);
    let v = json(send(&t.app, "GET", "/api/v2/flows?type=BOT", Some(&t.token), "").await).await;
    assert_eq!(v["total"], 0);
    let ids = format!("{},{}", flow_id(1, 1), flow_id(1, 2));
    let v = json(
        send(
            &t.app,
            "GET",
            &format!("/api/v2/flows?id={ids}&sortOrder=desc"),
            Some(&t.token),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["entities"][0]["name"], "surge-flow-0002");
    assert!(v.get("nextUri").is_none());
    let r = send(
        &t.app,
        "GET",
        "/api/v2/flows?pageSize=0",
        Some(&t.token),
        "",
    )
    .await;
    assert_error_body(&json(r).await, 400, "bad.request");
}

#[tokio::test(start_paused = true)]
async fn flow_crud_actions_configuration_and_versions() {
    let t = setup(quiet(Preset::Documented)).await;
    let tok = Some(t.token.as_str());
    let r = send(
        &t.app,
        "POST",
        "/api/v2/flows",
        tok,
        r#"{"name":"new one","type":"inboundchat"}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    let f = json(r).await;
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(f["type"], "INBOUNDCHAT");
    let r = send(
        &t.app,
        "POST",
        "/api/v2/flows",
        tok,
        r#"{"name":"no type"}"#,
    )
    .await;
    assert_error_body(&json(r).await, 400, "bad.request");
    let v = json(
        send(
            &t.app,
            "PUT",
            &format!("/api/v2/flows/{id}"),
            tok,
            r#"{"name":"renamed"}"#,
        )
        .await,
    )
    .await;
    assert_eq!(v["name"], "renamed");
    let v = json(send(&t.app, "GET", &format!("/api/v2/flows/{id}"), tok, "").await).await;
    assert_eq!(v["name"], "renamed");
    // bodiless POSTs with body `null` and Content-Type: application/json
    let a = |action: &str| format!("/api/v2/flows/actions/{action}?flow={id}");
    let v = json(send(&t.app, "POST", &a("checkout"), tok, "null").await).await;
    assert_eq!(v["lockedClient"]["id"], "surge-mock-client");
    let v = json(send(&t.app, "POST", &a("checkin"), tok, "null").await).await;
    assert_eq!(
        (
            v["actionName"].as_str(),
            v["actionStatus"].as_str(),
            v["complete"].as_bool()
        ),
        (Some("CHECKIN"), Some("SUCCESS"), Some(true))
    );
    for action in ["unlock", "revert", "deactivate"] {
        let r = send(&t.app, "POST", &a(action), tok, "null").await;
        assert_eq!(r.status(), 200, "{action}");
        assert_eq!(json(r).await["id"], id.as_str());
    }
    let v = json(send(&t.app, "GET", &format!("/api/v2/flows/{id}"), tok, "").await).await;
    assert_eq!(v["active"], false);
    let r = send(&t.app, "POST", "/api/v2/flows/actions/publish", tok, "null").await;
    assert_error_body(&json(r).await, 400, "bad.request");
    let v = json(
        send(
            &t.app,
            "GET",
            &format!("/api/v2/flows/{id}/latestconfiguration"),
            tok,
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["id"], id.as_str());
    let v = json(
        send(
            &t.app,
            "GET",
            &format!("/api/v2/flows/{id}/versions"),
            tok,
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["entities"][0]["type"], "CHECKIN");
    assert!(v["entities"][0]["dateCreated"].is_i64());
    let r = send(&t.app, "DELETE", &format!("/api/v2/flows/{id}"), tok, "").await;
    assert_eq!(r.status(), 200);
    let r = send(&t.app, "GET", &format!("/api/v2/flows/{id}"), tok, "").await;
    assert_eq!(r.status(), 404);
}

#[tokio::test(start_paused = true)]
async fn publish_life_cycle_goes_through_the_documented_statuses() {
    let mut cfg = quiet(Preset::Documented);
    cfg.compile_backlog.workers = 1;
    cfg.compile_backlog.compile = Dist::new(3_000.0, 3_000.0);
    cfg.compile_backlog.notify_ms = 500;
    let t = setup(cfg).await;
    let tok = Some(t.token.as_str());
    let (a, b) = (flow_id(1, 1), flow_id(1, 2));
    let op = json(
        send(
            &t.app,
            "POST",
            &format!("/api/v2/flows/actions/publish?flow={a}"),
            tok,
            "null",
        )
        .await,
    )
    .await;
    assert_eq!(
        (op["actionName"].as_str(), op["actionStatus"].as_str()),
        (Some("PUBLISH"), Some("STARTED"))
    );
    assert_eq!(op["complete"], false);
    let op_b = json(
        send(
            &t.app,
            "POST",
            &format!("/api/v2/flows/actions/publish?flow={b}&version=1.0"),
            tok,
            "null",
        )
        .await,
    )
    .await;
    assert_eq!(op_b["actionStatus"], "STARTED");
    // a second publish of a while its first one runs: 409 (a modelling choice)
    let r = send(
        &t.app,
        "POST",
        &format!("/api/v2/flows/actions/publish?flow={a}"),
        tok,
        "null",
    )
    .await;
    assert_error_body(&json(r).await, 409, "general.conflict");
    let status = |v: &Value| {
        v["currentOperation"]["actionStatus"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let get = |id: String| {
        let app = t.app.clone();
        let token = t.token.clone();
        async move {
            json(
                send(
                    &app,
                    "GET",
                    &format!("/api/v2/flows/{id}"),
                    Some(&token),
                    "",
                )
                .await,
            )
            .await
        }
    };
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(status(&get(a.clone()).await), "PENDING_GENERATION");
    assert_eq!(
        status(&get(b.clone()).await),
        "STARTED",
        "waits for the single worker"
    );
    tokio::time::advance(Duration::from_millis(3_000)).await;
    let v = get(a.clone()).await;
    assert_eq!(status(&v), "PENDING_BACKEND_NOTIFICATION");
    assert!(v["publishedVersion"].is_null());
    assert_eq!(status(&get(b.clone()).await), "PENDING_GENERATION");
    tokio::time::advance(Duration::from_millis(500)).await;
    let v = get(a.clone()).await;
    assert_eq!(status(&v), "SUCCESS");
    assert_eq!(v["currentOperation"]["complete"], true);
    assert_eq!(v["publishedVersion"]["id"], "2.0");
    assert!(v["publishedVersion"]["datePublished"].is_string());
    let s = t.state.stats().operations_by_status;
    assert_eq!(
        (s.get("SUCCESS"), s.get("PENDING_GENERATION")),
        (Some(&1), Some(&1))
    );
    // a finished publish can be followed by a new one
    let r = send(
        &t.app,
        "POST",
        &format!("/api/v2/flows/actions/publish?flow={a}"),
        tok,
        "null",
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(
        &t.app,
        "POST",
        "/api/v2/flows/actions/publish?flow=missing",
        tok,
        "null",
    )
    .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test(start_paused = true)]
async fn publish_failure_rate_ends_in_failure() {
    let mut cfg = quiet(Preset::Documented);
    cfg.compile_backlog.failure_rate = 1.0;
    cfg.compile_backlog.compile = Dist::new(100.0, 100.0);
    let t = setup(cfg).await;
    let a = flow_id(1, 1);
    send(
        &t.app,
        "POST",
        &format!("/api/v2/flows/actions/publish?flow={a}"),
        Some(&t.token),
        "null",
    )
    .await;
    tokio::time::advance(Duration::from_secs(1)).await;
    let v = json(
        send(
            &t.app,
            "GET",
            &format!("/api/v2/flows/{a}"),
            Some(&t.token),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(v["currentOperation"]["actionStatus"], "FAILURE");
    assert_eq!(v["currentOperation"]["errorCode"], "flow.publish.failed");
    assert!(v["publishedVersion"].is_null());
    assert_eq!(
        t.state.stats().operations_by_status.get("FAILURE"),
        Some(&1)
    );
}

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
