//! Secrets as a user meets them: credentials written literally into a scenario are refused the
//! same way whatever carries them (a sensitive header, any header whose value looks like one, a
//! query parameter, a URL's password), with a message saying how to pass them; passed from the
//! environment, they reach the server and appear in no output: result, samples CSV, JTL,
//! report, terminal.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2VjcmV0LXNpZ25hdHVyZQ";
const KEY: &str = "k-5ecret-4c3d";

fn surge(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_surge"));
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn scenario(base: &str, request: &str) -> String {
    format!("name = \"secrets\"\n[target]\nbase_url = \"{base}\"\n[[request]]\nname = \"r\"\n{request}\n[load]\nthreads = 1\nloops = 2\n")
}

fn refused(text: &str, sets: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let mut args = vec!["run", "s.toml", "-q", "-o", "out"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = surge(dir.path(), &args, &[]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing ran");
    for secret in [KEY, JWT] {
        assert!(
            !err.contains(secret),
            "the message repeats the secret: {err}"
        );
    }
    err
}

#[test]
fn literal_credentials_are_refused_the_same_way_wherever_they_are() {
    let how = "read it from the environment: add [[data]] with kind = \"env\", var = \"key\", env = \"MY_API_KEY\" and write {key} here";
    for (request, field) in [
        (
            format!("path = \"/x\"\nheaders = {{ X-Auth = \"Bearer {KEY}\" }}"),
            "request[0].headers.X-Auth: looks like a credential",
        ),
        (
            format!("path = \"/x\"\nheaders = {{ X-Custom = \"{JWT}\" }}"),
            "request[0].headers.X-Custom: looks like a credential",
        ),
        (
            format!("path = \"/x\"\nheaders = {{ X-Api-Key = \"{KEY}\" }}"),
            "request[0].headers.X-Api-Key: looks like a credential",
        ),
        (
            format!("path = \"/x?page=1&access_token={KEY}\""),
            "request[0].path: the query parameter access_token holds a credential",
        ),
        (
            format!("path = \"/x?api_key={KEY}&sig={KEY}\""),
            "request[0].path: the query parameter api_key, sig holds a credential",
        ),
        (
            format!("path = \"/x?q={JWT}\""),
            "request[0].path: the query parameter q holds a credential",
        ),
    ] {
        let err = refused(&scenario("http://127.0.0.1:9", &request), &[]);
        assert!(err.contains(field) && err.contains(how), "{request}: {err}");
    }
    let err = refused(
        &scenario(&format!("http://user:{KEY}@127.0.0.1:9"), "path = \"/x\""),
        &[],
    );
    assert!(
        err.contains("holds a password: credentials never go in a URL"),
        "{err}"
    );
    // Given on the command line, it is refused too, and not echoed.
    let err = refused(
        &scenario("http://127.0.0.1:9", "path = \"/x\""),
        &[&format!("request[0].headers.X-Token={KEY}")],
    );
    assert!(
        err.contains("--set request[0].headers.X-Token=<redacted>: looks like a credential"),
        "{err}"
    );
}

/// Answers 200 and keeps every request head it reads.
fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = heads.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut rd = BufReader::new(s.try_clone().unwrap());
                let mut w = s;
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if rd.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    seen.lock().unwrap().push(head);
                    if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, heads)
}

#[test]
fn credentials_from_the_environment_reach_the_server_and_no_output() {
    let (url, heads) = recording_server();
    let dir = tempfile::tempdir().unwrap();
    let text = scenario(
        &url,
        "path = \"/x?api_key={key}&page=1\"\nheaders = { X-Api-Key = \"{key}\", X-Auth = \"Bearer {key}\" }",
    ) + "[[data]]\nkind = \"env\"\nvar = \"key\"\nenv = \"SURGE_TEST_KEY\"\n";
    std::fs::write(dir.path().join("s.toml"), &text).unwrap();
    let args = [
        "run",
        "s.toml",
        "-o",
        "out",
        "--samples",
        "samples.csv",
        "--jtl",
        "run.jtl",
    ];
    // Without the variable, the run does not start, and says which one is missing.
    let o = surge(dir.path(), &args, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data[0].env: the environment variable SURGE_TEST_KEY is not set"),
        "{err}"
    );
    assert!(heads.lock().unwrap().is_empty());

    let o = surge(dir.path(), &args, &[("SURGE_TEST_KEY", KEY)]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 2);
    for h in heads.iter() {
        assert!(
            h.starts_with(&format!("GET /x?api_key={KEY}&page=1 ")),
            "{h}"
        );
        assert!(
            h.to_ascii_lowercase()
                .contains(&format!("x-api-key: {KEY}")),
            "{h}"
        );
        assert!(h.contains(&format!("Bearer {KEY}")), "{h}");
    }
    let mut outputs = vec![
        ("stdout".to_string(), out.into_owned()),
        ("stderr".to_string(), err.into_owned()),
    ];
    for f in [
        "out/result.json",
        "out/report.html",
        "samples.csv",
        "run.jtl",
    ] {
        outputs.push((
            f.to_string(),
            std::fs::read_to_string(dir.path().join(f)).unwrap(),
        ));
    }
    for entry in std::fs::read_dir(dir.path().join("out")).unwrap() {
        let p = entry.unwrap().path();
        outputs.push((
            p.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
        ));
    }
    for (name, text) in &outputs {
        assert!(!text.contains(KEY), "{name} holds the secret");
    }
    let samples = &outputs.iter().find(|(n, _)| n == "samples.csv").unwrap().1;
    assert!(
        samples.contains("/x?api_key=<redacted>&page=1"),
        "{samples}"
    );
}
