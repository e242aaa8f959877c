//! Enterprise TLS: a client certificate (mutual TLS, from PEM files or a PKCS#12 bundle whose
//! password comes from the environment) and host mapping (`[target] resolve`, as curl's
//! `--resolve`), against a loopback TLS server the test starts under a made-up host name whose
//! certificate a test CA signs. Each run is the `surge` binary in a child process; the server's
//! own count is the truth, and the PKCS#12 password never appears in any output.

use std::path::PathBuf;

use crate::common::pki::{Pki, HOST, P12_PASSWORD};
use crate::common::{serve_with, Reply, TestServer};
use surge::record::{ErrorClass, RunResult, StatusKey};

/// Answers tokens at `/oauth/token` and 200 to requests bearing that token; records each
/// request's Host header in the log's second column.
async fn server(pki: &Pki, mutual: bool) -> TestServer {
    serve_with(
        |r| {
            if r.path.starts_with("/oauth/token") {
                return Reply::status(200).with_body(
                    r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#,
                );
            }
            match (r.header("authorization"), r.header("host")) {
                (Some("Bearer tok-1"), Some(h)) if h.starts_with(HOST) => {
                    Reply::status(200).with_body("{}")
                }
                _ => Reply::status(400),
            }
        },
        Some(pki.acceptor(mutual)),
    )
    .await
}

struct Run {
    code: i32,
    terminal: String,
    out: PathBuf,
    result: Option<RunResult>,
}

/// `surge run` of 2 users × 3 loops against [`HOST`] mapped to the server, with `target_extra`.
async fn surge(
    pki: &Pki,
    srv: &TestServer,
    name: &str,
    target_extra: &str,
    env: &[(&str, &str)],
) -> Run {
    let port = srv.addr.port();
    let scenario = format!(
        "name = \"mtls\"\n[target]\nbase_url = \"https://{HOST}:{port}\"\nlogin_url = \"https://{HOST}:{port}\"\nproxy = \"none\"\nca_cert = \"ca.pem\"\nresolve = [\"{HOST}:{port}:127.0.0.1\"]\n{target_extra}\n[auth]\nkind = \"client_credentials\"\n[[request]]\nname = \"get\"\npath = \"/api/v2/things\"\n[load]\nthreads = 2\nloops = 3\n"
    );
    let sc = pki.path().join(format!("{name}.toml"));
    std::fs::write(&sc, scenario).unwrap();
    let out = pki.path().join(format!("out-{name}"));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"));
    cmd.arg("run").arg(&sc).arg("--out").arg(&out).arg("--yes");
    cmd.env("GENESYS_CLIENT_ID", "id")
        .env("GENESYS_CLIENT_SECRET", "secret");
    cmd.env_remove("P12_PASS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().await.unwrap();
    let terminal = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Run {
        code: o.status.code().unwrap_or(-1),
        result: RunResult::read(&out.join("result.json")).ok(),
        terminal,
        out,
    }
}

fn ok200(r: &RunResult) -> u64 {
    r.totals
        .by_status
        .get(&StatusKey::Http(200))
        .copied()
        .unwrap_or(0)
}

fn never_shown(run: &Run, secret: &str) {
    assert!(
        !run.terminal.contains(secret),
        "terminal shows it:\n{}",
        run.terminal
    );
    if let Ok(dir) = std::fs::read_dir(&run.out) {
        for entry in dir {
            let p = entry.unwrap().path();
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
            assert!(!text.contains(secret), "{} shows it", p.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate_accepts_surges_from_pem_and_pkcs12() {
    let pki = Pki::new();
    let srv = server(&pki, true).await;

    // Without a certificate: the handshake is refused; nothing reaches the server.
    let run = surge(&pki, &srv, "none", "", &[]).await;
    assert_ne!(run.code, 0, "{}", run.terminal);
    assert_eq!(run.result.as_ref().map_or(0, ok200), 0, "{}", run.terminal);
    assert_eq!(
        srv.total(),
        0,
        "a request got through without a client certificate"
    );

    // PEM certificate and key: the token request and every request present it.
    let pem = "client_cert = \"client.pem\"\nclient_key = \"client.key\"";
    let run = surge(&pki, &srv, "pem", pem, &[]).await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    assert_eq!(ok200(run.result.as_ref().unwrap()), 6, "{}", run.terminal);
    let token_requests = srv
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.starts_with("/oauth/token"))
        .count();
    assert!(
        token_requests >= 1,
        "the token request went over mutual TLS too"
    );

    // PKCS#12 with its password from the environment, never shown.
    let p12 = "client_p12 = \"client.p12\"\nclient_p12_password_env = \"P12_PASS\"";
    let run = surge(&pki, &srv, "p12", p12, &[("P12_PASS", P12_PASSWORD)]).await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    assert_eq!(ok200(run.result.as_ref().unwrap()), 6, "{}", run.terminal);
    never_shown(&run, P12_PASSWORD);
    assert_eq!(srv.total() as usize, 12 + token_requests * 2);
}

/// A mistake: its name, the `[target]` lines, the environment, and what the error says.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_mistakes_name_the_field_and_file_and_exit_2() {
    let pki = Pki::new();
    let srv = server(&pki, true).await;
    let before = srv.total();
    let cases: [Case; 4] = [
        (
            "wrong-pw",
            "client_p12 = \"client.p12\"\nclient_p12_password_env = \"P12_PASS\"",
            &[("P12_PASS", "not-the-password")],
            "target.client_p12",
        ),
        (
            "unset-pw",
            "client_p12 = \"client.p12\"\nclient_p12_password_env = \"P12_PASS\"",
            &[],
            "P12_PASS is not set",
        ),
        (
            "key-missing",
            "client_cert = \"client.pem\"",
            &[],
            "target.client_cert",
        ),
        (
            "cert-as-key",
            "client_cert = \"client.pem\"\nclient_key = \"client.pem\"",
            &[],
            "client.pem: holds no PEM private key",
        ),
    ];
    for (name, extra, env, says) in cases {
        let run = surge(&pki, &srv, name, extra, env).await;
        assert_eq!(run.code, 2, "{name}: {}", run.terminal);
        assert!(run.terminal.contains(says), "{name}: {}", run.terminal);
        never_shown(&run, "not-the-password");
        never_shown(&run, P12_PASSWORD);
    }
    assert_eq!(srv.total(), before, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_sends_a_made_up_name_to_loopback_and_tls_still_checks_the_name() {
    let pki = Pki::new();
    let srv = server(&pki, false).await;
    // The name is the Host header and the certificate's: the handler answers 200 only then.
    let run = surge(&pki, &srv, "mapped", "", &[]).await;
    assert_eq!(run.code, 0, "{}", run.terminal);
    let r = run.result.as_ref().unwrap();
    assert_eq!(ok200(r), 6, "{}", run.terminal);
    assert_eq!(r.target.host, HOST);

    // Another name mapped to the same server: its certificate does not carry it.
    let port = srv.addr.port();
    let other = "other.enterprise-test.invalid";
    let scenario = format!(
        "name = \"other\"\n[target]\nbase_url = \"https://{other}:{port}\"\nproxy = \"none\"\nca_cert = \"ca.pem\"\nresolve = [\"{other}:{port}:127.0.0.1\"]\n[[request]]\nname = \"get\"\npath = \"/\"\n[load]\nthreads = 1\nloops = 2\n"
    );
    let sc = pki.path().join("other.toml");
    std::fs::write(&sc, scenario).unwrap();
    let out = pki.path().join("out-other");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .arg("run")
        .arg(&sc)
        .arg("--out")
        .arg(&out)
        .arg("--yes")
        .output()
        .await
        .unwrap();
    let r = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(
        r.totals
            .by_status
            .get(&StatusKey::Error(ErrorClass::Tls))
            .copied(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A mapping surge cannot read: exit 2 naming the field.
    std::fs::write(
        &sc,
        "name = \"bad\"\n[target]\nbase_url = \"https://x.test\"\nresolve = [\"x.test:443\"]\n[[request]]\nname = \"get\"\npath = \"/\"\n[load]\nthreads = 1\nloops = 1\n",
    )
    .unwrap();
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .arg("run")
        .arg(&sc)
        .arg("--yes")
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("target.resolve") && err.contains("HOST:PORT:ADDRESS"),
        "{err}"
    );
}
