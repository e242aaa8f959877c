//! `surge probe --scope tokens` against real limiters of other families than nginx's bucket
//! (`tests/common/limiters.rs`, started with parameters surge is not told): HAProxy's stick
//! table, which counts refused requests; the `limits` library's fixed window of one second, whose
//! Retry-After rounds up; nginx's `limit_conn` before a slow origin. Each names the model and
//! reads the limit within 10 % (and the scope, where it is reliable); the pace it writes holds a
//! batch with no 429. About a minute each, one at a time (skipped when the limiter's skip
//! variable is set).

use std::path::Path;
use std::process::Command;

use surge::analysis::limit::file::LimitFile;
use surge::analysis::limit::scope::Scope;
use surge::record::{Outcome, RunResult};

use crate::common::limiters::{Key, Spec, Strategy, CLIENT_ENV};

/// Runs the surge binary with the limiter's client credentials in its environment.
fn surge(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(args)
        .envs(CLIENT_ENV)
        .output()
        .expect("surge runs");
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "surge {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn limit_file(dir: &Path) -> LimitFile {
    serde_json::from_str(&std::fs::read_to_string(dir.join("limit.json")).unwrap()).unwrap()
}

/// Probes `spec`, checks what it found against `model`, `scope` and `limit` (the rate, or the
/// count in flight), then re-runs a batch of `batch` requests paced from it on the limiter
/// started afresh: no 429.
fn probe_and_pace(spec: Spec, model: &str, scope: Option<Scope>, limit: f64, batch: u32) {
    let _one = crate::common::limiters::one_at_a_time();
    if let Some(var) = spec.skipped() {
        eprintln!("{var} is set: {} skipped", spec.label());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probe");
    {
        let srv = spec.start();
        let sc = srv.publish_scenario(dir.path(), "probe", 1, 1);
        surge(&[
            "probe",
            sc.to_str().unwrap(),
            "--scope",
            "tokens",
            "-o",
            out.to_str().unwrap(),
        ]);
    }
    let f = limit_file(&out);
    let label = spec.label();
    assert_eq!(
        f.model.map(|m| m.name()),
        Some(model),
        "{label}: {:?}",
        f.words
    );
    if let Some(scope) = scope {
        assert_eq!(f.scope, scope, "{label}: {:?}", f.words);
    }
    let got = match f.max_in_flight {
        Some(n) => f64::from(n),
        None => f.sustained_rate_per_s.unwrap_or(0.0),
    };
    assert!((got / limit - 1.0).abs() <= 0.10, "{label}: {:?}", f.words);
    assert!(f.evidence.requests <= 1_500, "{label}: {:?}", f.evidence);
    assert!(f.advice.is_some(), "{label}: {:?}", f.words);
    // The batch against the limiter rested (started afresh), paced from limit.json.
    let srv = spec.start();
    let sc = srv.publish_scenario(dir.path(), "batch", 20, batch / 20);
    let paced = dir.path().join("paced");
    let from = out.join("limit.json");
    surge(&[
        "run",
        sc.to_str().unwrap(),
        "-q",
        "--pace-from",
        from.to_str().unwrap(),
        "-o",
        paced.to_str().unwrap(),
    ]);
    let r = RunResult::read(&paced.join("result.json")).unwrap();
    assert_eq!(r.outcome_count(Outcome::Throttled), 0, "{label}");
}

#[test]
fn haproxy_s_stick_table_is_a_sliding_window_that_counts_refusals_per_token() {
    let spec = Spec::Haproxy {
        max: 25,
        period_s: 1,
        key: Key::Token,
    };
    // The scope over two tokens is not yet reliable against a limiter that counts refusals (the
    // two-token search may end before both tokens' limits show): not asserted.
    probe_and_pace(spec, "sliding_window", None, 25.0, 200);
}

#[test]
fn a_one_second_fixed_window_is_read_from_the_counts_not_retry_after() {
    let spec = Spec::Limits {
        strategy: Strategy::FixedWindow,
        count: 20,
        window_s: 1,
        key: Key::Token,
    };
    // Nor over two windows of one second each, whose counts interleave: not asserted.
    probe_and_pace(spec, "fixed_window", None, 20.0, 200);
}

#[test]
fn nginx_limit_conn_is_a_count_in_flight_paced_as_one() {
    let spec = Spec::NginxConn {
        max: 5,
        origin_ms: 250,
        key: Key::Address,
    };
    probe_and_pace(spec, "concurrency", Some(Scope::Shared), 5.0, 200);
}
