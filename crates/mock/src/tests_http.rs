//! HTTP-level tests of every endpoint, error body and header, in-process (`router()` + `oneshot`) on
//! tokio's paused clock.

use super::config::{Dist, LatencyConfig};
use super::flows_store::flow_id;
use super::{router, MockConfig, MockState, Preset};
use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::time::Duration;
use tower::ServiceExt;

pub(super) fn quiet(preset: Preset) -> MockConfig {
    let mut cfg = MockConfig::preset(preset);
    cfg.latency = LatencyConfig {
        default: Dist::new(0.0, 0.0),
        per_route: BTreeMap::new(),
        refusal: Dist::new(0.0, 0.0),
    };
    cfg
}

pub(super) struct T {
    pub(super) app: Router,
    pub(super) state: MockState,
    pub(super) token: String,
}

pub(super) async fn send(
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

pub(super) async fn json(resp: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&bytes).unwrap()
}

pub(super) async fn login(app: &Router, id: &str, secret: &str, body: &str) -> Response<Body> {
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

pub(super) async fn setup(cfg: MockConfig) -> T {
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

pub(super) fn assert_error_body(v: &Value, status: u16, code: &str) {
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
