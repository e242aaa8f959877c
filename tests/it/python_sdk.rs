//! Runs `tests/python/sdk_check.py` (the official Genesys Cloud Python SDK against the mock). Skipped,
//! with a notice, only when `SURGE_SKIP_PYTHON` is set; otherwise `python3` with `PureCloudPlatformClientV2`
//! installed is required.

use surge::mock::config::{ClientConfig, Dist};
use surge::mock::{MockConfig, MockServer, Preset};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_talks_to_the_mock() {
    if std::env::var_os("SURGE_SKIP_PYTHON").is_some() {
        eprintln!("SURGE_SKIP_PYTHON is set: skipping the Python SDK check");
        return;
    }
    let mut cfg = MockConfig::preset(Preset::Documented);
    cfg.latency.default = Dist::new(5.0, 20.0);
    cfg.latency.per_route.clear();
    cfg.compile_backlog.compile = Dist::new(600.0, 900.0);
    cfg.clients.push(ClientConfig {
        id: "limited-client".into(),
        secret: "limited-secret".into(),
        expires_in: 3600,
        token_rate_per_minute: Some(3),
    });
    let server = MockServer::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_check.py");
    let args = [
        script,
        &server.url(),
        server.client_id(),
        server.client_secret(),
        "limited-client",
        "limited-secret",
    ]
    .map(String::from);
    let out = tokio::process::Command::new("python3")
        .args(&args)
        .output()
        .await
        .expect("python3 runs");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let stats = server.shutdown().await;
    assert!(out.status.success(), "sdk_check.py failed");
    assert!(stats.responses_by_status.get(&429).is_some_and(|n| *n >= 1));
    assert_eq!(stats.operations_by_status.get("SUCCESS"), Some(&1));
}
