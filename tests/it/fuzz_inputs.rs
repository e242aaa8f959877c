//! The property tier: mutated scenarios, `.jmx` test plans, JTL files, result files and
//! threshold expressions fed to surge's readers. Whatever the mutation, a reader returns a
//! value or an error that names the place (the file, and its line or the field; for an
//! expression the character), never panics and never hangs (each case must end within 20 s);
//! through the binary, the exit code is 0, 1 or 2.
//!
//! Mutations are drawn by proptest from a fixed seed, so a failure reproduces; the number of
//! cases per reader is `SURGE_FUZZ_CASES` (default 256, a few seconds for the whole tier in a
//! debug build on 2 cores). A longer run, before a release:
//! `SURGE_FUZZ_CASES=5000 cargo test --release --test fuzz_inputs`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Pieces that break parsers: numbers beyond every range, quotes, brackets, line breaks,
/// control bytes, markup, keywords of the formats.
const TOKENS: &[&str] = &[
    "1e300",
    "-1",
    "-0",
    "NaN",
    "inf",
    "18446744073709551616",
    "1e-20",
    "0",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "=",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{7f}",
    "é",
    "<",
    "</",
    ">",
    "&",
    "&amp;",
    "<hashTree>",
    "forever",
    "\"10 sec\"",
    "\"720h1ms\"",
    "ms",
    ",",
    ";",
    "%",
    "p95(",
    ")",
    "rate(",
    "for",
    "Bearer x",
    "{{",
    "}}",
    "{__random_9_1}",
    "[[request]]",
    "[load]",
    "\"\"\"",
    "#",
    ".",
    "..",
    "/dev/zero",
    "timeStamp",
    "error:",
    "\"schema_version\": 99",
    "true",
    "null",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: f64, len: usize },
    Insert { at: f64, token: usize },
    Duplicate { at: f64, len: usize },
    Swap { a: f64, b: f64 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (at.clone(), 0..TOKENS.len()).prop_map(|(at, token)| Edit::Insert { at, token }),
        (at.clone(), 1..200usize).prop_map(|(at, len)| Edit::Duplicate { at, len }),
        (at.clone(), at).prop_map(|(a, b)| Edit::Swap { a, b }),
    ]
}

fn edits() -> impl Strategy<Value = (usize, Vec<Edit>)> {
    (0..64usize, prop::collection::vec(edit(), 1..5))
}

/// Applies the edits to `text` (at character boundaries).
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    let pos = |s: &str, f: f64| {
        let mut i = ((s.len() as f64) * f) as usize;
        i = i.min(s.len());
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let end = |s: &str, from: usize, len: usize| {
        let mut j = (from + len).min(s.len());
        while !s.is_char_boundary(j) {
            j -= 1;
        }
        j
    };
    for e in edits {
        match e {
            Edit::Delete { at, len } => {
                let i = pos(&s, *at);
                let j = end(&s, i, *len);
                s.replace_range(i..j, "");
            }
            Edit::Insert { at, token } => {
                let i = pos(&s, *at);
                s.insert_str(i, TOKENS[*token]);
            }
            Edit::Duplicate { at, len } => {
                let i = pos(&s, *at);
                let j = end(&s, i, *len);
                let piece = s[i..j].to_string();
                s.insert_str(j, &piece);
            }
            Edit::Swap { a, b } => {
                let (i, j) = (pos(&s, a.min(*b)), pos(&s, a.max(*b)));
                if i < j {
                    let (x, y) = (s[i..j].to_string(), s[j..].to_string());
                    s.truncate(i);
                    s.push_str(&y);
                    s.push_str(&x);
                }
            }
        }
    }
    s
}

fn cases() -> u32 {
    std::env::var("SURGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A runner with a fixed seed (one per reader, so each reader's cases stay the same when
/// another's change).
fn runner(salt: u8) -> TestRunner {
    let mut seed = [7u8; 32];
    seed[0] = salt;
    TestRunner::new_with_rng(
        Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}

/// Runs `f` on its own thread; fails the case if it panics or takes more than 20 s.
fn bounded<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestCaseError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(TestCaseError::fail(format!("{what}: panicked"))),
        Err(_) => Err(TestCaseError::fail(format!(
            "{what}: still reading after 20 s"
        ))),
    }
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn seeds(dir: &str, ext: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(repo(dir))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == ext).then(|| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no seeds in {dir}");
    v
}

#[test]
fn mutated_scenarios_load_or_name_the_place() {
    let seeds = seeds("scenarios", "toml");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo("scenarios/flows.csv"), dir.path().join("flows.csv")).unwrap();
    let path = dir.path().join("s.toml");
    runner(1)
        .run(&edits(), |(pick, e)| {
            let (_, seed) = &seeds[pick % seeds.len()];
            let text = mutate(seed, &e);
            let p = path.clone();
            let t = text.clone();
            let r = bounded("scenario", move || {
                surge::scenario::load_str(&t, &p, &[]).map(|_| ())
            })?;
            if let Err(e) = r {
                let msg = e.to_string();
                for line in msg.lines() {
                    prop_assert!(
                        line.starts_with(&path.display().to_string())
                            && line.len() > path.display().to_string().len() + 2,
                        "a problem without its place: {line:?}\n--- input ---\n{text}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_test_plans_import_or_name_the_place() {
    let seeds = seeds("tests/fixtures/jmx", "jmx");
    let dir = tempfile::tempdir().unwrap();
    for f in ["flows.csv", "users.csv"] {
        std::fs::copy(repo("tests/fixtures/jmx").join(f), dir.path().join(f)).unwrap();
    }
    let path = dir.path().join("p.jmx");
    runner(2)
        .run(&edits(), |(pick, e)| {
            let (_, seed) = &seeds[pick % seeds.len()];
            let text = mutate(seed, &e);
            let (p, t) = (path.clone(), text.clone());
            let r = bounded("jmx", move || {
                surge::scenario::jmx::import_str(&t, &p, &Default::default()).map(|_| ())
            })?;
            if let Err(e) = r {
                for line in e.to_string().lines() {
                    prop_assert!(
                        line.starts_with(&path.display().to_string()),
                        "a problem without its place: {line:?}"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

const JTL: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect
1700000000000,120,publish,200,OK,TG 1-1,text,true,,512,128,2,2,http://127.0.0.1:8080/api/v2/flows,100,0,3
1700000000050,30,publish,429,Too Many Requests,TG 1-2,text,false,,90,128,2,2,http://127.0.0.1:8080/api/v2/flows,30,0,2
1700000001000,2000,list,Non HTTP response code: java.net.SocketTimeoutException,Read timed out,TG 1-1,text,false,,0,64,2,2,http://127.0.0.1:8080/api/v2/flows,0,0,1
1700000002500,80,publish,503,Service Unavailable,TG 1-2,text,false,,120,128,2,2,http://127.0.0.1:8080/api/v2/flows,70,0,1
";

#[test]
fn mutated_jtl_files_read_or_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.jtl");
    runner(3)
        .run(&edits(), |(_, e)| {
            let text = mutate(JTL, &e);
            std::fs::write(&path, &text).unwrap();
            let p = path.clone();
            let r = bounded("jtl", move || surge::report::jtl::read_jtl(&p).map(|_| ()))?;
            if let Err(e) = r {
                prop_assert!(
                    e.to_string().starts_with(&path.display().to_string()),
                    "{e}"
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_result_files_read_or_name_the_place() {
    let mut seeds =
        vec![std::fs::read_to_string(repo("tests/fixtures/report-v1/result.json")).unwrap()];
    let synth = surge::record::synthetic::result(5, &["publish", "list"]);
    seeds.push(serde_json::to_string_pretty(&synth).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.json");
    runner(4)
        .run(&edits(), |(pick, e)| {
            let text = mutate(&seeds[pick % seeds.len()], &e);
            std::fs::write(&path, &text).unwrap();
            let p = path.clone();
            let r = bounded("result", move || {
                surge::record::RunResult::read(&p).map(|r| {
                    // What reads a result must not panic on what it accepted.
                    let _ = surge::report::terminal::summary(&r);
                })
            })?;
            if let Err(e) = r {
                prop_assert!(
                    e.to_string().starts_with(&path.display().to_string()),
                    "{e}"
                );
            }
            Ok(())
        })
        .unwrap();
}

const EXPRS: &[&str] = &[
    "p95(publish) < 800ms",
    "rate(429) < 5%",
    "rate(429) > 5% for 10s",
    "count(error:timeout) == 0",
    "p99(list, success) <= 2s",
    "mean(publish) < 1.5s",
];

#[test]
fn mutated_threshold_expressions_parse_or_name_the_character() {
    let labels = vec!["publish".to_string(), "list".to_string()];
    runner(5)
        .run(&edits(), |(pick, e)| {
            let text = mutate(EXPRS[pick % EXPRS.len()], &e);
            let (t, l) = (text.clone(), labels.clone());
            let r = bounded("threshold", move || {
                surge::scenario::threshold::parse(&t, Some(&l)).map(|_| ())
            })?;
            if let Err(e) = r {
                prop_assert!(e.pos >= 1 && !e.message.is_empty(), "{e}");
                prop_assert!(e.to_string().contains("at character"), "{e}");
            }
            Ok(())
        })
        .unwrap();
}

/// Through the binary: a few mutated inputs of each kind exit 0, 1 or 2, with one message
/// naming the file when they fail, and no panic.
#[test]
fn the_binary_exits_0_1_or_2_on_mutated_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(repo("tests/fixtures/jmx/flows.csv"), d.join("flows.csv")).unwrap();
    let result = std::fs::read_to_string(repo("tests/fixtures/report-v1/result.json")).unwrap();
    let jmx = std::fs::read_to_string(repo("tests/fixtures/jmx/seed_publish.jmx")).unwrap();
    let scenarios = seeds("scenarios", "toml");
    let case = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = runner(6);
    let n = (cases() / 6).max(4);
    runner = TestRunner::new_with_rng(
        Config {
            cases: n,
            failure_persistence: None,
            ..Config::default()
        },
        runner.new_rng(),
    );
    runner
        .run(&edits(), |(pick, e)| {
            let k = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (file, args): (&str, Vec<String>) = match pick % 5 {
                0 => {
                    std::fs::write(d.join("m.jtl"), mutate(JTL, &e)).unwrap();
                    (
                        "m.jtl",
                        vec![
                            "report".into(),
                            "m.jtl".into(),
                            "-o".into(),
                            format!("r{k}"),
                        ],
                    )
                }
                1 => {
                    std::fs::write(d.join("m.json"), mutate(&result, &e)).unwrap();
                    (
                        "m.json",
                        vec![
                            "check".into(),
                            "m.json".into(),
                            "--threshold".into(),
                            "rate(429) < 50%".into(),
                        ],
                    )
                }
                4 => {
                    // Run on virtual time, capped, so that any plan ends within the bound.
                    let (_, seed) = &scenarios[pick % scenarios.len()];
                    std::fs::write(d.join("m.toml"), mutate(seed, &e)).unwrap();
                    (
                        "m.toml",
                        [
                            "run",
                            "m.toml",
                            "--simulate",
                            "--target",
                            "mock",
                            "-q",
                            "-o",
                            &format!("run{k}"),
                            "--set",
                            "limits.max_requests=60",
                            "--set",
                            "limits.max_duration=20s",
                        ]
                        .map(String::from)
                        .to_vec(),
                    )
                }
                2 => {
                    std::fs::write(d.join("m.jmx"), mutate(&jmx, &e)).unwrap();
                    (
                        "m.jmx",
                        vec![
                            "import".into(),
                            "m.jmx".into(),
                            "-o".into(),
                            format!("m{k}.toml"),
                        ],
                    )
                }
                _ => {
                    // A command line cannot carry a NUL byte.
                    let expr = mutate(EXPRS[pick % EXPRS.len()], &e).replace('\0', "");
                    std::fs::write(d.join("c.json"), &result).unwrap();
                    (
                        "--threshold",
                        vec!["check".into(), "c.json".into(), "--threshold".into(), expr],
                    )
                }
            };
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
                .current_dir(d)
                .args(&args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            prop_assert!(!err.contains("panicked"), "{args:?}: {err}");
            let code = out.status.code();
            prop_assert!(
                matches!(code, Some(0..=2)),
                "{args:?}: exit {code:?}: {err}"
            );
            if code == Some(2) {
                prop_assert!(
                    err.contains(file),
                    "{args:?}: the message does not name {file}: {err}"
                );
            }
            Ok(())
        })
        .unwrap();
}
