//! A user's own state end to end against a loopback server the test starts: the cookie jar
//! (the server sets a session cookie at login and counts the requests that bring it back;
//! `clear_each_iteration`; a jar turned off), HTTP Basic and HTTP Digest (the server answers
//! an unauthenticated request with a challenge and checks each answer with its own MD5).

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{serve, Reply};
use md5::Digest as _;
use surge::run::{run_plan, RunOptions};

async fn run(text: &str) -> surge::record::RunResult {
    let plan =
        surge::scenario::load_str(text, Path::new("s.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        out: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    run_plan(plan, opts).await.unwrap().result
}

fn session_server() -> impl Fn(&common::Req) -> Reply + Send + Sync + 'static {
    let next = Arc::new(Mutex::new(0u32));
    move |req| {
        if req.path == "/login" {
            let mut n = next.lock().unwrap();
            *n += 1;
            return Reply::status(200)
                .with_header("Set-Cookie", &format!("sid=s{n}; Path=/; HttpOnly"))
                .with_header("Set-Cookie", "theme=dark; Path=/other");
        }
        match req.header("cookie") {
            Some(c) if c.starts_with("sid=s") && !c.contains("theme") => Reply::status(200),
            Some(_) => Reply::status(400),
            None => Reply::status(401),
        }
    }
}

fn cookie_plan(base: &str, cookies: &str) -> String {
    format!(
        r#"
name = "cookies"
steps = [{{ once = true, steps = ["login"] }}, "api"]
{cookies}
[target]
base_url = "{base}"
[[request]]
name = "login"
path = "/login"
[[request]]
name = "api"
path = "/api"
[load]
threads = 2
loops = 3
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_keeps_its_cookies_and_sends_what_applies() {
    let server = serve(session_server()).await;
    let r = run(&cookie_plan(&server.url(), "")).await;
    assert_eq!(
        server.count("200"),
        2 + 6,
        "every api request brought its user's session"
    );
    assert_eq!(server.total(), 8);
    assert_eq!(r.totals.requests, 8);
    // Cleared at each iteration: only the first iteration (after the login) has a session.
    let server = serve(session_server()).await;
    let _ = run(&cookie_plan(
        &server.url(),
        "[cookies]\nclear_each_iteration = true",
    ))
    .await;
    assert_eq!(server.count("200"), 2 + 2);
    assert_eq!(server.count("401"), 4);
    // Off: no cookie is ever sent.
    let server = serve(session_server()).await;
    let _ = run(&cookie_plan(&server.url(), "[cookies]\nenabled = false")).await;
    assert_eq!(server.count("401"), 6);
}

fn md5_hex(s: &str) -> String {
    md5::Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a Digest answer as a server does.
fn digest_ok(header: &str, method: &str, user: &str, pass: &str) -> bool {
    let Some(rest) = header.strip_prefix("Digest ") else {
        return false;
    };
    let mut p = BTreeMap::new();
    for part in rest.split(", ") {
        if let Some((k, v)) = part.split_once('=') {
            p.insert(k.to_string(), v.trim_matches('"').to_string());
        }
    }
    let ha1 = md5_hex(&format!("{user}:{}:{pass}", p["realm"]));
    let ha2 = md5_hex(&format!("{method}:{}", p["uri"]));
    let want = md5_hex(&format!(
        "{ha1}:{}:{}:{}:auth:{ha2}",
        p["nonce"], p["nc"], p["cnonce"]
    ));
    p["username"] == user && p["response"] == want && p["nonce"] == "n0nce"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_and_digest_credentials_from_the_environment() {
    std::env::set_var("SURGE_TEST_BASIC_USER", "ann");
    std::env::set_var("SURGE_TEST_BASIC_PASS", "s3cret");
    let server = serve(|req| match req.header("authorization") {
        // base64("ann:s3cret")
        Some("Basic YW5uOnMzY3JldA==") => Reply::status(200),
        _ => Reply::status(401),
    })
    .await;
    let text = format!(
        r#"
name = "basic"
[target]
base_url = "{}"
[auth]
kind = "basic"
username_env = "SURGE_TEST_BASIC_USER"
password_env = "SURGE_TEST_BASIC_PASS"
[[request]]
name = "a"
path = "/a"
[load]
threads = 2
loops = 2
"#,
        server.url()
    );
    let _ = run(&text).await;
    assert_eq!(server.count("200"), 4);
    let basic_url = server.url();

    std::env::set_var("SURGE_TEST_DIGEST_USER", "Mufasa");
    std::env::set_var("SURGE_TEST_DIGEST_PASS", "Circle Of Life");
    let server = serve(|req| match req.header("authorization") {
        Some(h) if digest_ok(h, &req.method, "Mufasa", "Circle Of Life") => Reply::status(200),
        Some(_) => Reply::status(403),
        None => Reply::status(401).with_header(
            "WWW-Authenticate",
            r#"Digest realm="api@test", qop="auth", nonce="n0nce", opaque="op""#,
        ),
    })
    .await;
    let text = text
        .replace(&basic_url, &server.url())
        .replace("kind = \"basic\"", "kind = \"digest\"")
        .replace("BASIC", "DIGEST")
        .replace("path = \"/a\"", "path = \"/a?x=1\"");
    let r = run(&text).await;
    // Each user is challenged once, then answers every request with a growing nonce count.
    assert_eq!(server.count("401"), 2);
    assert_eq!(server.count("200"), 4);
    assert_eq!(server.count("403"), 0);
    assert_eq!(
        r.totals.requests, 6,
        "the challenged attempts are recorded too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_per_user_skips_fresh_gets_and_revalidates_stale_ones() {
    // /fresh may be cached a minute; /etag must be revalidated (the server answers 304 to a
    // matching If-None-Match).
    let server = serve(|req| match req.path.as_str() {
        "/fresh" => Reply::status(200).with_header("Cache-Control", "max-age=60"),
        "/etag" if req.header("if-none-match") == Some("\"v1\"") => Reply::status(304),
        "/etag" => Reply::status(200)
            .with_header("ETag", "\"v1\"")
            .with_header("Cache-Control", "no-cache"),
        _ => Reply::status(404),
    })
    .await;
    let text = format!(
        r#"
name = "cache"
[target]
base_url = "{}"
[cache]
enabled = true
[[request]]
name = "fresh"
path = "/fresh"
[[request]]
name = "etag"
path = "/etag"
[load]
threads = 2
loops = 3
"#,
        server.url()
    );
    let r = run(&text).await;
    // Each user: /fresh once (then fresh: no request, no sample); /etag once, then revalidated.
    assert_eq!(server.count("200"), 2 + 2);
    assert_eq!(server.count("304"), 2 * 2);
    assert_eq!(r.totals.requests, 8);
    // Cleared each iteration: every GET goes out again.
    let server2 = serve(|_| Reply::status(200).with_header("Cache-Control", "max-age=60")).await;
    let text = text.replace(&server.url(), &server2.url()).replace(
        "enabled = true",
        "enabled = true\nclear_each_iteration = true",
    );
    let _ = run(&text).await;
    assert_eq!(server2.count("200"), 12);
}
