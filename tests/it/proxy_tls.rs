//! Behind a corporate network: surge through a forward proxy (absolute-form HTTP, `CONNECT` for
//! HTTPS) and trusting a company CA, against a loopback proxy and TLS server the test starts. Each
//! run is the `surge` binary in a child process, so its environment (`HTTPS_PROXY`, `NO_PROXY`,
//! `SSL_CERT_FILE`) is the test's to set; the proxy's and the server's own counts are the truth,
//! and no proxy credential may appear in the terminal or any output file.

use crate::common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{proxy, serve, serve_with, tls, Reply};
use surge::record::{ErrorClass, RunResult, StatusKey};

/// A host name no resolver knows: only the test proxy (which maps every name to its backend)
/// can reach it, so a request that arrives went through the proxy.
const HOST: &str = "api.surge-test.invalid";

const PROXY_VARS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

struct Run {
    code: i32,
    terminal: String,
    out: PathBuf,
    result: RunResult,
}

/// `surge run` in a child process with a clean proxy environment plus `env`.
async fn surge(dir: &Path, name: &str, scenario: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let sc = dir.join(format!("{name}.toml"));
    std::fs::write(&sc, scenario).unwrap();
    let out = dir.join(format!("out-{name}"));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"));
    cmd.arg("run").arg(&sc).arg("--out").arg(&out).arg("--yes");
    cmd.args(args);
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().await.unwrap();
    let terminal = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let result = RunResult::read(&out.join("result.json"))
        .unwrap_or_else(|e| panic!("{name}: no result ({e}):\n{terminal}"));
    Run {
        code: o.status.code().unwrap_or(-1),
        terminal,
        out,
        result,
    }
}

fn scenario(base: &str, target_extra: &str, users: u32, loops: u32) -> String {
    format!(
        "name = \"corp\"\n[target]\nbase_url = \"{base}\"\n{target_extra}\n[[request]]\nname = \"get\"\npath = \"/api/v2/flows?pageSize=1\"\n[load]\nthreads = {users}\nloops = {loops}\n"
    )
}

fn by(r: &RunResult, k: StatusKey) -> u64 {
    r.totals.by_status.get(&k).copied().unwrap_or(0)
}

/// Neither `secret` nor the Basic value of `user:secret` appears in the terminal or any file.
fn assert_never_shown(run: &Run, user: &str, secret: &str) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    for needle in [secret, basic.as_str()] {
        assert!(
            !run.terminal.contains(needle),
            "terminal shows a credential:\n{}",
            run.terminal
        );
        for entry in std::fs::read_dir(&run.out).unwrap() {
            let p = entry.unwrap().path();
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
            assert!(!text.contains(needle), "{} shows a credential", p.display());
        }
    }
    assert!(run.out.join("report.html").exists() && run.out.join("summary.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_goes_through_a_named_proxy_whose_credentials_are_never_shown() {
    let backend = serve(|_| Reply::status(200).with_body("{}")).await;
    let px = proxy::start(backend.addr, Some("alice:s3cret-pw")).await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{HOST}:{}", backend.addr.port());
    let named = format!("proxy = \"http://alice:s3cret-pw@{}\"", px.addr);
    let run = surge(
        dir.path(),
        "named",
        &scenario(&base, &named, 3, 5),
        &[],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    // Every request went through the proxy (absolute form) and reached the server.
    assert_eq!(run.result.totals.requests, 15);
    assert_eq!(by(&run.result, StatusKey::Http(200)), 15);
    assert_eq!(px.forwarded(), 15);
    assert_eq!(px.refused(), 0);
    assert_eq!(backend.total(), 15);
    let lines = px.counts.lines.lock().unwrap().clone();
    assert!(
        lines[0].starts_with(&format!("GET {base}/api/v2/flows?pageSize=1 ")),
        "{lines:?}"
    );
    // The summary and result.json say which proxy, never its credentials.
    let shown = format!("http://{} (target.proxy)", px.addr);
    assert_eq!(run.result.target.proxy.as_deref(), Some(shown.as_str()));
    assert!(
        run.terminal.contains(&format!("via proxy {shown}")),
        "{}",
        run.terminal
    );
    assert_never_shown(&run, "alice", "s3cret-pw");

    // The same credentials from a variable the scenario names; a wrong password is the proxy's
    // 407, recorded as the status it is.
    let named = format!(
        "proxy = \"{}\"\nproxy_credentials_env = \"CORP_PROXY\"",
        px.url()
    );
    let env = [("CORP_PROXY", "alice:s3cret-pw")];
    let run = surge(
        dir.path(),
        "from-env",
        &scenario(&base, &named, 2, 2),
        &env,
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 4, "{}", run.terminal);
    assert_never_shown(&run, "alice", "s3cret-pw");
    let env = [("CORP_PROXY", "alice:wrong-pw")];
    let run = surge(
        dir.path(),
        "wrong",
        &scenario(&base, &named, 1, 2),
        &env,
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(407)), 2, "{}", run.terminal);
    assert_never_shown(&run, "alice", "wrong-pw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_connect_and_only_a_trusted_ca_is_accepted() {
    let ca = tls::ca_for(&[HOST, "127.0.0.1"], &[b"http/1.1"]);
    let backend = serve_with(
        |_| Reply::status(200).with_body("{}"),
        Some(ca.acceptor.clone()),
    )
    .await;
    let px = proxy::start(backend.addr, Some("bob:tunnel-pw")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corp-ca.pem"), &ca.ca_pem).unwrap();
    let base = format!("https://{HOST}:{}", backend.addr.port());

    // HTTPS_PROXY from the environment, the CA from the scenario: one tunnel per user, each
    // user's requests on its own kept connection.
    let env = [("HTTPS_PROXY", &*format!("http://bob:tunnel-pw@{}", px.addr))];
    let run = surge(
        dir.path(),
        "connect",
        &scenario(&base, "ca_cert = \"corp-ca.pem\"", 3, 4),
        &env,
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    assert_eq!(
        by(&run.result, StatusKey::Http(200)),
        12,
        "{}",
        run.terminal
    );
    assert_eq!(px.tunnels(), 3);
    assert_eq!(px.forwarded(), 0);
    assert_eq!(backend.total(), 12);
    assert_eq!(backend.connections(), 3);
    let lines = px.counts.lines.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .all(|l| l == &format!("CONNECT {HOST}:{} HTTP/1.1", backend.addr.port())),
        "{lines:?}"
    );
    let shown = format!("http://{} (HTTPS_PROXY)", px.addr);
    assert_eq!(run.result.target.proxy.as_deref(), Some(shown.as_str()));
    assert!(run
        .result
        .target
        .ca_cert
        .as_deref()
        .is_some_and(|c| c.ends_with("corp-ca.pem")));
    assert_never_shown(&run, "bob", "tunnel-pw");

    // Without the CA the server is not trusted: error:tls, and nothing reaches it.
    let run = surge(
        dir.path(),
        "untrusted",
        &scenario(&base, "", 1, 3),
        &env,
        &[],
    )
    .await;
    assert_eq!(
        by(&run.result, StatusKey::Error(ErrorClass::Tls)),
        3,
        "{}",
        run.terminal
    );
    assert_eq!(backend.total(), 12);

    // A tunnel the proxy refuses (no credentials) is error:proxy.
    let env = [("HTTPS_PROXY", &*px.url())];
    let run = surge(
        dir.path(),
        "refused",
        &scenario(&base, "ca_cert = \"corp-ca.pem\"", 1, 2),
        &env,
        &[],
    )
    .await;
    assert_eq!(
        by(&run.result, StatusKey::Error(ErrorClass::Proxy)),
        2,
        "{}",
        run.terminal
    );
    assert_eq!(px.refused(), 2);

    // SSL_CERT_FILE replaces the system roots, as OpenSSL reads it: direct to 127.0.0.1.
    let direct = format!("https://127.0.0.1:{}", backend.addr.port());
    let ca_file = dir.path().join("corp-ca.pem");
    let env = [("SSL_CERT_FILE", ca_file.to_str().unwrap())];
    let run = surge(
        dir.path(),
        "ssl-cert-file",
        &scenario(&direct, "", 1, 2),
        &env,
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 2, "{}", run.terminal);
    assert_eq!(run.result.target.proxy, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_loopback_and_proxy_none_go_direct() {
    let backend = serve(|_| Reply::status(200)).await;
    let px = proxy::start(backend.addr, None).await;
    let dir = tempfile::tempdir().unwrap();
    let loopback = backend.url();
    let named = format!("proxy = \"{}\"", px.url());

    // A proxy from the environment never takes loopback targets (nor the built-in mock).
    let env = [("HTTP_PROXY", &*px.url()), ("ALL_PROXY", &*px.url())];
    let run = surge(
        dir.path(),
        "env-loopback",
        &scenario(&loopback, "", 1, 3),
        &env,
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 3, "{}", run.terminal);
    assert_eq!(run.result.target.proxy, None);
    assert!(!run.terminal.contains("via proxy"));
    let mock = "name = \"m\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"unlimited\"\n[[request]]\nname = \"flows\"\npath = \"/api/v2/flows\"\n[auth]\nkind = \"client_credentials\"\n[load]\nthreads = 1\nloops = 2\n";
    let run = surge(dir.path(), "env-mock", mock, &env, &[]).await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 2, "{}", run.terminal);
    assert_eq!(px.forwarded() + px.tunnels(), 0);

    // A named proxy does take loopback targets, except hosts NO_PROXY names (the environment's
    // or the scenario's), and `--set target.proxy=none` turns it off.
    let run = surge(
        dir.path(),
        "named",
        &scenario(&loopback, &named, 1, 3),
        &[],
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 3, "{}", run.terminal);
    assert_eq!(px.forwarded(), 3);
    let env = [("NO_PROXY", "localhost,127.0.0.0/8")];
    let run = surge(
        dir.path(),
        "no-proxy-env",
        &scenario(&loopback, &named, 1, 3),
        &env,
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 3, "{}", run.terminal);
    let with_list = format!("{named}\nno_proxy = \"127.0.0.1\"");
    let run = surge(
        dir.path(),
        "no-proxy-field",
        &scenario(&loopback, &with_list, 1, 3),
        &[],
        &[],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 3, "{}", run.terminal);
    let run = surge(
        dir.path(),
        "off",
        &scenario(&loopback, &named, 1, 3),
        &[],
        &["--set", "target.proxy=none"],
    )
    .await;
    assert_eq!(by(&run.result, StatusKey::Http(200)), 3, "{}", run.terminal);
    assert_eq!(
        px.forwarded(),
        3,
        "only the named run went through the proxy"
    );
    // Five runs of three requests against the server (the mock run has its own).
    assert_eq!(backend.total(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_token_requests_take_the_same_proxy_and_ca() {
    let ca = tls::ca_for(&[HOST, "login.surge-test.invalid"], &[b"http/1.1"]);
    let backend = serve_with(
        |r| {
            if r.path == "/oauth/token" {
                Reply::status(200).with_body("{\"access_token\":\"tok-1\",\"expires_in\":3600}")
            } else if r.header("authorization") == Some("Bearer tok-1") {
                Reply::status(200)
            } else {
                Reply::status(401)
            }
        },
        Some(ca.acceptor.clone()),
    )
    .await;
    let px = proxy::start(backend.addr, Some("carol:oauth-pw")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();
    let base = format!("https://{HOST}:{}", backend.addr.port());
    let sc = format!(
        "{}\n[auth]\nkind = \"client_credentials\"\n",
        scenario(
            &base,
            &format!(
                "ca_cert = \"ca.pem\"\nlogin_url = \"https://login.surge-test.invalid:{}\"",
                backend.addr.port()
            ),
            2,
            3
        )
    );
    let env = [
        (
            "HTTPS_PROXY",
            &*format!("http://carol:oauth-pw@{}", px.addr),
        ),
        ("GENESYS_CLIENT_ID", "client"),
        ("GENESYS_CLIENT_SECRET", "client-secret"),
    ];
    let run = surge(dir.path(), "oauth", &sc, &env, &[]).await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    assert_eq!(by(&run.result, StatusKey::Http(200)), 6, "{}", run.terminal);
    let log = backend.log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|(p, _)| p == "/oauth/token").count(),
        1,
        "{log:?}"
    );
    // One tunnel for the token request, one per user.
    assert_eq!(px.tunnels(), 3);
    let lines = px.counts.lines.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CONNECT login.surge-test.invalid:")),
        "{lines:?}"
    );
    assert_never_shown(&run, "carol", "oauth-pw");
    assert!(!run.terminal.contains("client-secret"));
}
