//! The seed's question answered in one run, on virtual time against the in-process mock:
//! `scenarios/architect-publish-canary.toml` is the seed's batch (500 publishes of 500 flows, no
//! poll) beside a canary that polls one publish of its own flow every 2 s to completion. On the
//! `seed` preset the batch draws the burst scenario's 429s, the canary's `publish_to_success`
//! climbs before the first 429, and the terminal, report.html and result.json name a backend
//! queue with the figures; on `documented` they do not.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::{Outcome, RunResult};
use tokio_util::sync::CancellationToken;

fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn run(name: &str, out: &Path, set: &[&str]) -> (RunResult, serde_json::Value) {
    let args = RunArgs {
        scenario: scenario(name).into(),
        out: Some(out.to_path_buf()),
        quiet: true,
        load: LoadArgs {
            set: set.iter().map(|s| s.to_string()).collect(),
            simulate: true,
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    };
    assert_eq!(cli::run_cmd(args, CancellationToken::new()).await, 0);
    read(out)
}

fn read(out: &Path) -> (RunResult, serde_json::Value) {
    let path = out.join("result.json");
    let json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (RunResult::read(&path).unwrap(), json)
}

/// `label`'s answers with `outcome`, and all its answers.
fn count(r: &RunResult, label: &str, outcome: Option<Outcome>) -> u64 {
    r.cells
        .iter()
        .filter(|c| c.label == label && outcome.is_none_or(|o| c.outcome == o))
        .map(|c| c.count)
        .sum()
}

/// The `flow` ids the samples CSV shows for `label`'s requests, in order.
fn flows(samples: &str, label: &str) -> Vec<String> {
    let mut rdr = csv::Reader::from_reader(samples.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let (l, u) = (
        h.iter().position(|c| c == "label").unwrap(),
        h.iter().position(|c| c == "url").unwrap(),
    );
    rdr.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[l] == label)
        .map(|r| {
            let url = &r[u];
            match url.split_once("flow=") {
                Some((_, id)) => id.to_string(),
                None => url.rsplit('/').next().unwrap().to_string(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_sees_the_backlog_fill_before_the_batch_s_first_429() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The canary as its user runs it: the terminal, the report, the samples.
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args([
            "run",
            &scenario("architect-publish-canary.toml"),
            "--simulate",
        ])
        .arg("-o")
        .arg(d.join("canary"))
        .arg("--samples")
        .arg(d.join("samples.csv"))
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let terminal = String::from_utf8(out.stdout).unwrap();
    let (r, json) = read(&d.join("canary"));
    common::assert_matches_schema(&d.join("canary/result.json"));
    let (burst, _) = run("architect-publish-burst.toml", &d.join("burst"), &[]).await;

    // The batch is the seed's: 500 publishes, each of its own flow, and its 429s those of the
    // burst scenario. Not to the request (the canary's own publishes take places in the same
    // backlog, a dozen before the first 429), but within what the mock's randomness moves them
    // between seeds (13.8–17.8 % and 24.8–26.6 s over seeds 1–8).
    let samples = std::fs::read_to_string(d.join("samples.csv")).unwrap();
    let batch = flows(&samples, "publish");
    assert_eq!(batch.len(), 500);
    let batch: BTreeSet<String> = batch.into_iter().collect();
    assert_eq!(
        batch.len(),
        500,
        "every publish of the batch is of another flow"
    );
    assert_eq!(count(&r, "publish", None), 500);
    let share = |r: &RunResult| {
        count(r, "publish", Some(Outcome::Throttled)) as f64 / count(r, "publish", None) as f64
    };
    let (ours, seeds) = (share(&r), share(&burst));
    assert!(
        (ours - seeds).abs() <= 0.03,
        "429 share {ours} against {seeds}"
    );
    let first = r.totals.first_429_s.unwrap();
    let seed_first = burst.totals.first_429_s.unwrap();
    assert!(
        (first - seed_first).abs() <= 1.0,
        "{first} against {seed_first}"
    );
    // The canary publishes and polls flows of its own, never meeting a publish in progress.
    let canary: BTreeSet<String> = flows(&samples, "canary_publish").into_iter().collect();
    let polled: BTreeSet<String> = flows(&samples, "canary_poll").into_iter().collect();
    assert!(
        canary.len() >= 10 && batch.is_disjoint(&canary),
        "{canary:?}"
    );
    assert!(polled.is_subset(&canary), "{polled:?}");
    assert_eq!(count(&r, "canary_publish", Some(Outcome::ClientError)), 0);

    // Its publish_to_success climbed before the first 429, while the 2xx stayed as fast.
    let c = json["diagnosis"]["completion"].clone();
    let late_end = c["late"][1].as_u64().unwrap();
    assert!(late_end < first as u64, "{c}");
    assert_eq!(c["before_first_429"], true);
    let ratio = c["late_us"].as_f64().unwrap() / c["early_us"].as_f64().unwrap();
    assert!(ratio >= 2.0, "{c}");
    assert_eq!(c["queue_signature"], true, "{c}");

    // And every output says so, with the rise, from when, and the first 429.
    let words = json["diagnosis"]["words"]["completion"].as_str().unwrap();
    let by = format!("by the first 429 at {first:.1} s");
    assert!(
        words.starts_with("backend queue: publish_to_success took ") && words.contains(&by),
        "{words}"
    );
    assert!(words.contains("when begun in seconds 0–4"), "{words}");
    assert!(
        terminal.contains(&format!("completion: {words}\n")),
        "{terminal}"
    );
    // `surge report` rebuilding the reports offline says the same.
    let again = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(["report", "-o"])
        .arg(d.join("again"))
        .arg(d.join("canary/result.json"))
        .output()
        .unwrap();
    let again = String::from_utf8(again.stdout).unwrap();
    assert!(
        again.starts_with(&format!("completion: {words}\n")),
        "{again}"
    );
    let html = std::fs::read_to_string(d.join("canary/report.html")).unwrap();
    assert!(html.contains("<dd>backend queue: "), "the tile");
    assert!(html.contains(&format!("by the first 429 at {first:.1} s")));

    // With only the documented limits the per-token window refuses first: no queue is named.
    let (doc, json) = run(
        "architect-publish-canary.toml",
        &d.join("documented"),
        &["target.mock_preset=documented"],
    )
    .await;
    assert!(doc.totals.first_429_s.unwrap() < 10.0);
    common::assert_matches_schema(&d.join("documented/result.json"));
    let c = &json["diagnosis"]["completion"];
    assert!(c.is_null() || c["queue_signature"] == false, "{c}");
    let words = json["diagnosis"]["words"]["completion"].as_str().unwrap();
    assert!(!words.contains("backend queue"), "{words}");
    if c.is_null() {
        // Too few canary publishes finished before the window was spent: it says so.
        let unread = &json["diagnosis"]["completion_unread"];
        assert!(unread["seconds"].as_u64().unwrap() < 4, "{unread}");
        assert!(words.starts_with("too few to read: "), "{words}");
    }
}
