//! JMeter's enterprise HTTP elements run by surge: a DNS Cache Manager's static host, a
//! Keystore Configuration with the `javax.net.ssl.keyStore*` properties, and an HTTP sampler's
//! multipart upload with a file parameter, against a loopback TLS server that requires a client
//! certificate and checks every body byte for byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::common::pki::{Pki, HOST, P12_PASSWORD};
use crate::common::{serve_with, Reply};

const PLAN: &str = include_str!("../fixtures/jmx/enterprise_upload.jmx");
const REPORT: &str = "quarterly numbers\n1,2,3\n";

/// The body JMeter's sampler means, under `boundary`.
fn expected(boundary: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nQ3\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.txt\"\r\nContent-Type: text/plain\r\n\r\n{REPORT}\r\n--{boundary}--\r\n"
    )
}

async fn surge(pki: &Pki, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"));
    cmd.current_dir(pki.path()).args(args);
    for v in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "JMETER_KEYSTORE_PASSWORD",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("SSL_CERT_FILE", pki.path().join("ca.pem"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_plan_uploads_over_mutual_tls_to_its_static_host() {
    let pki = Pki::new();
    std::fs::write(pki.path().join("plan.jmx"), PLAN).unwrap();
    std::fs::write(pki.path().join("report.txt"), REPORT).unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let ok2 = ok.clone();
    let srv = serve_with(
        move |r| {
            let boundary = r
                .header("content-type")
                .and_then(|v| v.strip_prefix("multipart/form-data; boundary="));
            let good = r.method == "POST"
                && r.path == "/upload"
                && r.header("host").is_some_and(|h| h.starts_with(HOST))
                && boundary.is_some_and(|b| r.body == expected(b).as_bytes());
            if good {
                ok2.fetch_add(1, Ordering::SeqCst);
                Reply::status(200)
            } else {
                Reply::status(400)
            }
        },
        Some(pki.acceptor(true)),
    )
    .await;
    let port = format!("port={}", srv.addr.port());
    let run = [
        "run",
        "plan.jmx",
        "-J",
        &port,
        "-J",
        "javax.net.ssl.keyStore=client.p12",
        "-J",
        "javax.net.ssl.keyStoreType=PKCS12",
        "--out",
        "out",
        "--yes",
    ];
    let (code, terminal) = surge(&pki, &run, &[("JMETER_KEYSTORE_PASSWORD", P12_PASSWORD)]).await;
    assert_eq!(code, 0, "{terminal}");
    assert_eq!(ok.load(Ordering::SeqCst), 4, "{terminal}");
    assert_eq!(srv.total(), 4, "{terminal}");
    assert!(!terminal.contains(P12_PASSWORD));
    for entry in std::fs::read_dir(pki.path().join("out")).unwrap() {
        let p = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
        assert!(
            !text.contains(P12_PASSWORD),
            "{} shows the password",
            p.display()
        );
    }

    // Without the keystore property: the import says what to pass, and the server refuses.
    let (code, text) = surge(&pki, &["import", "plan.jmx", "-J", &port], &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("pass -J javax.net.ssl.keyStore=client.p12"),
        "{text}"
    );
    assert!(!text.contains("client_p12 ="), "{text}");
    let (_, terminal) = surge(
        &pki,
        &["run", "plan.jmx", "-J", &port, "--out", "out2", "--yes"],
        &[],
    )
    .await;
    assert_eq!(
        srv.total(),
        4,
        "no request got through without the certificate: {terminal}"
    );

    // A JKS keystore: surge says how to convert it.
    let (_, text) = surge(
        &pki,
        &[
            "import",
            "plan.jmx",
            "-J",
            &port,
            "-J",
            "javax.net.ssl.keyStore=k.jks",
            "-J",
            "javax.net.ssl.keyStoreType=JKS",
        ],
        &[],
    )
    .await;
    assert!(
        text.contains("keystore type JKS") && text.contains("keytool -importkeystore"),
        "{text}"
    );
}
