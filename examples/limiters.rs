//! Measures the 429 answer against real limiters on loopback, as a user gets it: for each limiter
//! of `tests/common/limiters.rs` (started with parameters surge is not told), `surge probe
//! SCENARIO --scope tokens`, then, against the same limiter started afresh (rested), `surge run
//! SCENARIO --pace-from limit.json` for a batch of about 15 s at the limit. Prints a Markdown
//! table (limiter, truth, finding, what the probe spent, the paced batch's 429s and time against
//! the fastest the limit allows) on stdout; progress on stderr; every output under `--out`.
//!
//! ```sh
//! benches/limiters.sh                      # builds the release binary, runs every limiter
//! cargo run --example limiters -- --surge target/release/surge --only haproxy --jobs 2
//! ```
//!
//! The fastest time (`Spec::optimum_s`): a rested limiter's allowance at once, then the rest of
//! the batch at the sustained rate; for a concurrency limit, ⌈batch / max⌉ rounds of the origin's
//! service time. The batch is one token's (the scenario's default), 20 users over a 1-s ramp.

#[path = "../tests/common/limiters.rs"]
mod limiters;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use limiters::{Key, Spec, Strategy, CLIENT_ENV};
use serde_json::Value;

/// Users of the batch (the probe sets its own).
const USERS: u32 = 20;
/// The batch lasts about this long at the limit.
const BATCH_S: f64 = 15.0;

/// The limiters measured: every family, several parameter sets, per address and per token.
fn configs() -> Vec<Spec> {
    use Key::{Address, Token};
    use Strategy::{FixedWindow, MovingWindow, SlidingWindowCounter};
    let req = |rate, burst, nodelay, key| Spec::NginxReq {
        rate,
        burst,
        nodelay,
        key,
    };
    let lim = |strategy, count, window_s| Spec::Limits {
        strategy,
        count,
        window_s,
        key: Token,
    };
    vec![
        req(20, 10, true, Address),
        req(20, 10, false, Address),
        req(50, 5, true, Token),
        req(50, 5, false, Token),
        req(13, 40, true, Token),
        req(13, 40, false, Address),
        Spec::NginxConn {
            max: 5,
            origin_ms: 250,
            key: Address,
        },
        Spec::NginxConn {
            max: 8,
            origin_ms: 400,
            key: Token,
        },
        Spec::Haproxy {
            max: 25,
            period_s: 1,
            key: Token,
        },
        Spec::Haproxy {
            max: 15,
            period_s: 1,
            key: Address,
        },
        Spec::Haproxy {
            max: 200,
            period_s: 10,
            key: Token,
        },
        lim(FixedWindow, 20, 1),
        lim(FixedWindow, 150, 10),
        lim(MovingWindow, 120, 10),
        lim(MovingWindow, 30, 1),
        lim(SlidingWindowCounter, 30, 1),
        lim(SlidingWindowCounter, 200, 10),
    ]
}

/// One limiter's line of the table.
struct Row {
    label: String,
    truth: String,
    finding: String,
    scope: String,
    requests: String,
    throttled: String,
    ends: String,
    paced: String,
}

struct Args {
    surge: PathBuf,
    out: PathBuf,
    only: Vec<String>,
    jobs: usize,
}

fn args() -> Result<Args, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        surge: root.join("target/release/surge"),
        out: root.join("target/limiters"),
        only: Vec::new(),
        jobs: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--surge" => a.surge = value()?.into(),
            "--out" => a.out = value()?.into(),
            "--only" => a.only.push(value()?),
            "--jobs" => a.jobs = value()?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--list" => {
                for s in configs() {
                    println!("{}  ({})", s.label(), s.truth());
                }
                std::process::exit(0);
            }
            _ => {
                return Err(format!(
                    "unknown flag {flag}: --surge PATH --out DIR --only TEXT --jobs N --list"
                ))
            }
        }
    }
    Ok(a)
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !a.surge.exists() {
        eprintln!(
            "{} does not exist: cargo build --release (or --surge PATH)",
            a.surge.display()
        );
        std::process::exit(2);
    }
    let specs: Vec<Spec> = configs()
        .into_iter()
        .filter(|s| a.only.is_empty() || a.only.iter().any(|o| s.label().contains(o.as_str())))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rows = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..a.jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(spec) = specs.get(i) else { return };
                let dir = a.out.join(format!("{i:02}"));
                let t0 = Instant::now();
                let row = measure(spec, &a.surge, &dir);
                eprintln!(
                    "[{:.0} s] {} → {} | {} | {} requests, {} 429s | paced: {}",
                    t0.elapsed().as_secs_f64(),
                    row.label,
                    row.finding,
                    row.scope,
                    row.requests,
                    row.throttled,
                    row.paced
                );
                rows.lock().expect("rows").push((i, row));
            });
        }
    });
    let mut rows = rows.into_inner().expect("rows");
    rows.sort_by_key(|(i, _)| *i);
    println!("| limiter | truth | probe's finding | scope | requests | 429s | searches end | paced batch: 429s, time against the fastest |");
    println!("|---|---|---|---|---|---|---|---|");
    for (_, r) in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label, r.truth, r.finding, r.scope, r.requests, r.throttled, r.ends, r.paced
        );
    }
}

/// The batch: what the limiter admits at once and about `BATCH_S` at its rate, in whole loops.
fn batch_size(spec: &Spec) -> u32 {
    let want = f64::from(spec.at_once()) + spec.sustained_rate() * BATCH_S;
    (want / f64::from(USERS)).ceil() as u32 * USERS
}

/// Runs surge with the scenario's client id and secret; its exit code and both outputs.
fn surge(bin: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(bin)
        .args(args)
        .envs(CLIENT_ENV)
        .output()
        .expect("surge runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn measure(spec: &Spec, bin: &Path, dir: &Path) -> Row {
    std::fs::create_dir_all(dir).expect("the output directory");
    let batch = batch_size(spec);
    let probe_dir = dir.join("probe");
    let probe = {
        let srv = spec.start();
        let sc = srv.publish_scenario(dir, "probe", USERS, batch / USERS);
        let (code, text) = surge(
            bin,
            &[
                "probe",
                &sc.display().to_string(),
                "--scope",
                "tokens",
                "-o",
                &probe_dir.display().to_string(),
            ],
        );
        std::fs::write(dir.join("probe.txt"), &text).expect("probe.txt");
        (code, text)
    };
    let mut row = Row {
        label: spec.label(),
        truth: spec.truth(),
        finding: String::new(),
        scope: String::new(),
        requests: String::new(),
        throttled: String::new(),
        ends: String::new(),
        paced: String::new(),
    };
    let Some(limit) = read_json(&probe_dir.join("limit.json")) else {
        row.finding = format!(
            "no limit.json (exit {:?}): {}",
            probe.0,
            first_line(&probe.1)
        );
        return row;
    };
    read_finding(&limit, &mut row);
    // The same limiter afresh: the rested state the fastest time assumes.
    let srv = spec.start();
    let sc = srv.publish_scenario(dir, "batch", USERS, batch / USERS);
    let paced_dir = dir.join("paced");
    let (code, text) = surge(
        bin,
        &[
            "run",
            &sc.display().to_string(),
            "-q",
            "-o",
            &paced_dir.display().to_string(),
            "--pace-from",
            &probe_dir.join("limit.json").display().to_string(),
        ],
    );
    std::fs::write(dir.join("paced.txt"), &text).expect("paced.txt");
    row.paced = match read_json(&paced_dir.join("result.json")) {
        Some(r) if code == Some(0) => paced_words(&r, spec.optimum_s(batch), batch),
        _ => format!("no run (exit {code:?}): {}", first_line(&text)),
    };
    row
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .replace('|', "/")
}

/// The finding in the probe's own words (the `limit:` line up to its fit), the scope with its
/// ratio, what the searches spent and how each ended.
fn read_finding(limit: &Value, row: &mut Row) {
    let lines: Vec<&str> = limit["words"]["headline"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let line = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or("")
            .to_string()
    };
    let found = line("limit: ");
    row.finding = found
        .split("; fit error")
        .next()
        .unwrap_or("")
        .replace('|', "/");
    let scope = line("scope: ");
    let ratio = scope
        .split('×')
        .next()
        .filter(|_| scope.contains('×'))
        .and_then(|s| s.rsplit([' ', '(']).next())
        .map(|r| format!(" ({r}×)"))
        .unwrap_or_default();
    row.scope = format!("{}{ratio}", limit["scope"].as_str().unwrap_or("?"));
    row.requests = limit["evidence"]["requests"].to_string();
    row.throttled = limit["evidence"]["throttled"].to_string();
    row.ends = limit["searches"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["end"].as_str().unwrap_or("?").to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
}

/// The paced batch: its 429s, its time against the fastest, and how much of it was sent.
fn paced_words(result: &Value, optimum_s: f64, batch: u32) -> String {
    let t = &result["totals"];
    let throttled = t["by_status"]["429"].as_u64().unwrap_or(0);
    let requests = t["requests"].as_u64().unwrap_or(0);
    let time = t["completion_s"].as_f64().unwrap_or(0.0);
    let sent = if requests < u64::from(batch) {
        format!(", stopped after {requests} of {batch}")
    } else {
        String::new()
    };
    format!(
        "{throttled} 429s of {requests} attempts; {time:.1} s against {optimum_s:.1} s (×{:.2}){sent}",
        time / optimum_s
    )
}
