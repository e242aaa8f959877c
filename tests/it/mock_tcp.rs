//! The mock over real loopback TCP: a smoke test of the login, a flow call, a 429 and a reset, and the
//! seed scenario end to end (50 threads, 10 s ramp, 10 loops, one token) against the `seed` preset.

use base64::Engine;
use std::time::Duration;
use surge::mock::calibration::run_seed_scenario;
use surge::mock::{MockConfig, MockServer, Preset};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn token(c: &reqwest::Client, s: &MockServer) -> String {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        s.client_id(),
        s.client_secret()
    ));
    let r = c
        .post(format!("{}/oauth/token", s.url()))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn over_tcp_login_list_throttle_reset_and_stats() {
    let mut cfg = MockConfig::preset(Preset::Unlimited);
    cfg.token_limit.enabled = true;
    cfg.token_limit.per_minute = 2;
    let server = MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let c = client();
    let t = token(&c, &server).await;
    let r = c
        .get(format!("{}/api/v2/flows?pageSize=2", server.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("inin-correlation-id"));
    assert_eq!(r.headers()["inin-ratelimit-count"], "1");
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["total"], 500);
    c.get(format!("{}/api/v2/flows", server.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let r = c
        .get(format!("{}/api/v2/flows", server.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 59
    );
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["code"], "too.many.requests.retry.after");
    assert_eq!(v["limit"]["key"], "token.rate.per.minute");
    let stats = server.shutdown().await;
    assert_eq!(stats.responses_by_status.get(&429), Some(&1));
    assert_eq!(stats.requests_by_path.get("GET /api/v2/flows"), Some(&3));

    // a connection reset is an error for the client, not a status
    let mut cfg = MockConfig::preset(Preset::Unlimited);
    cfg.faults.reset_share = 1.0;
    let server = MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let t = token(&c, &server).await;
    let outcome = match c
        .get(format!("{}/api/v2/flows", server.url()))
        .bearer_auth(&t)
        .send()
        .await
    {
        Err(e) => Err(e),
        Ok(r) => r.bytes().await.map(|_| ()),
    };
    assert!(outcome.is_err(), "a reset must fail the exchange");
    server.shutdown().await;
}

/// The seed scenario with JMeter semantics over loopback (the driver the in-process calibration
/// runs, sending each publish over TCP instead): about 40 s of wall time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_over_tcp_sees_the_seed_onset_and_share() {
    let cfg = MockConfig::preset(Preset::Seed);
    let seed = cfg.seed;
    let server = MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let c = client();
    let t = token(&c, &server).await;
    let url = server.url();
    let out = run_seed_scenario(seed, move |flow| {
        let (c, t, url) = (c.clone(), t.clone(), url.clone());
        async move {
            let r = c
                .post(format!("{url}/api/v2/flows/actions/publish?flow={flow}"))
                .bearer_auth(&t)
                .header("content-type", "application/json")
                .body("null")
                .send()
                .await
                .unwrap();
            let ra = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            (status, ra)
        }
    })
    .await;
    let stats = server.shutdown().await;
    println!(
        "statuses {:?}, Retry-After {:?}, first 429 {:?}, took {:?}",
        out.by_status, out.retry_after, out.first_429, out.duration
    );
    let n429 = out.by_status.get(&429).copied().unwrap_or(0);
    assert_eq!(out.by_status.values().sum::<u64>(), 500);
    assert!((50..=100).contains(&n429), "{n429} 429s of 500");
    assert_eq!(out.retry_after.get("2"), Some(&n429));
    let first = out.first_429.unwrap().as_secs_f64();
    assert!((20.0..=40.0).contains(&first), "first 429 at {first} s");
    assert_eq!(stats.responses_by_status.get(&429), Some(&n429));
    assert_eq!(
        stats
            .requests_by_path
            .get("POST /api/v2/flows/actions/publish"),
        Some(&500)
    );
}
