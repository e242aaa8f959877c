//! Cases 12 and 13: results that cannot be true are refused: every reader checks that
//! `totals.requests` = Σ `by_status` = Σ `by_outcome` = Σ cells = each cell's histograms, and
//! `surge merge` refuses segments whose plans (requests, methods, paths, bodies, steps) differ.

use std::path::Path;

use super::{stderr, surge, BASE};
use serde_json::Value;

fn edit(src: &Path, dst: &Path, f: impl Fn(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(dst, serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn results_whose_counts_disagree_are_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), BASE).unwrap();
    let o = surge(d, &["run", "s.toml", "--simulate", "-q", "-o", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let good = d.join("out/result.json");
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: [Case; 5] = [
        (
            "requests.json",
            |v| v["totals"]["requests"] = 99999.into(),
            "totals.by_status add up to 6 requests, but totals.requests is 99999",
        ),
        (
            "ten.json",
            |v| v["totals"]["requests"] = 10.into(),
            "totals.requests is 10",
        ),
        (
            "no_cells.json",
            |v| v["cells"] = Value::Array(vec![]),
            "cells add up to 0 requests, but totals.requests is 6",
        ),
        (
            "status.json",
            |v| v["totals"]["by_status"] = serde_json::json!({"200": 3, "404": 3}),
            "totals.by_status is 200=3, 404=3, but the cells hold 200=6",
        ),
        (
            "hist.json",
            |v| {
                v["cells"][0]["count"] = 11.into();
                v["totals"]["requests"] = 11.into();
                v["totals"]["by_status"]["200"] = 11.into();
                v["totals"]["by_outcome"]["success"] = 11.into();
            },
            "cells[0].service_hist holds 6 values, but the cell's count is 11",
        ),
    ];
    for (name, f, want) in cases {
        let bad = d.join(name);
        edit(&good, &bad, f);
        for args in [
            vec!["report", name, "-o", "rep"],
            vec!["check", name],
            vec!["compare", "out/result.json", name],
        ] {
            let o = surge(d, &args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(name) && err.contains(want), "{args:?}: {err}");
        }
    }
}

#[tokio::test]
async fn segments_of_different_plans_or_edited_counts_do_not_merge() {
    let server = crate::common::serve(|_| crate::common::Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let s = |method: &str| {
        format!(
            "name = \"seg\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"list\"\nmethod = \"{method}\"\npath = \"/api/v2/flows\"\n[load]\nthreads = 2\nloops = 5\n",
            server.url()
        )
    };
    std::fs::write(d.join("get.toml"), s("GET")).unwrap();
    std::fs::write(d.join("post.toml"), s("POST")).unwrap();
    let run = |args: Vec<&'static str>| {
        let d = d.clone();
        tokio::task::spawn_blocking(move || surge(&d, &args))
    };
    for (file, seg, out) in [
        ("get.toml", "1/2", "s1"),
        ("post.toml", "2/2", "s2"),
        ("get.toml", "2/2", "s3"),
    ] {
        let o = run(vec![
            "run",
            file,
            "-q",
            "--segment",
            seg,
            "--run-id",
            "r",
            "-o",
            out,
        ])
        .await
        .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = run(vec!["merge", "s1", "s2", "-o", "m"]).await.unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s2/result.json (segment 2) ran a different plan than s1/result.json: plan_fingerprint (the requests, methods, paths, bodies or steps) differs"),
        "{err}"
    );
    // The same plan merges; an edited count in a segment does not.
    let o = run(vec!["merge", "s1", "s3", "-q", "-o", "m"])
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    edit(&d.join("s3/result.json"), &d.join("s3/result.json"), |v| {
        v["totals"]["requests"] = 99999.into()
    });
    let o = run(vec!["merge", "s1", "s3", "-q", "-o", "m2"])
        .await
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s3/result.json") && err.contains("totals.requests is 99999"),
        "{err}"
    );
}
