//! Hostile inputs that would exhaust memory or time, refused or read within bounds, at the
//! command line: a data file that never ends, a description of megabytes, a result with values
//! no run produces, a `.jmx` nested a hundred thousand deep or with counts beyond any range.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn surge(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    o
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BASE: &str = "name = \"bounded\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"unlimited\"\n[[request]]\nname = \"r\"\npath = \"/api/v2/flows\"\nexpect_status = [200, 401]\n[load]\nthreads = 1\nloops = 1\n";

#[cfg(unix)]
#[test]
fn a_data_file_that_never_ends_is_refused_at_its_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        format!("{BASE}[[data]]\nkind = \"csv\"\nfile = \"/dev/zero\"\n"),
    )
    .unwrap();
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "out"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert_eq!(
        err(&o).trim(),
        "error: s.toml:14: data[0].file: /dev/zero: line 1 is longer than 1 MiB (is this a text file of rows?)"
    );
}

#[test]
fn a_description_of_megabytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE.replace(
        "name = \"bounded\"\n",
        &format!(
            "name = \"bounded\"\ndescription = \"{}\"\n",
            "x".repeat(100_000)
        ),
    );
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "out"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err(&o).trim(),
        "error: s.toml:2: description: is 100000 characters long; at most 4096 (it is copied into every result and report)"
    );
}

#[test]
fn a_result_with_a_negative_duration_is_refused_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), BASE).unwrap();
    let o = surge(
        dir.path(),
        &["run", "s.toml", "--simulate", "-q", "-o", "run"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run/result.json")).unwrap())
            .unwrap();
    r["duration_s"] = serde_json::json!(-5);
    std::fs::write(dir.path().join("neg.json"), r.to_string()).unwrap();
    for args in [
        vec!["report", "neg.json", "-o", "rep"],
        vec!["check", "neg.json", "--threshold", "rate(429) < 5%"],
        vec!["compare", "neg.json", "run/result.json", "-o", "cmp"],
    ] {
        let o = surge(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(
            err(&o).contains("neg.json: duration_s is -5: a time in seconds is never negative"),
            "{args:?}: {}",
            err(&o)
        );
    }
}

fn jmx_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/seed_publish.jmx")
}

#[test]
fn a_jmx_nested_a_hundred_thousand_deep_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let text = format!(
        "<?xml version=\"1.0\"?>\n<jmeterTestPlan>{}{}</jmeterTestPlan>",
        "<hashTree>".repeat(depth),
        "</hashTree>".repeat(depth)
    );
    std::fs::write(dir.path().join("deep.jmx"), text).unwrap();
    let o = surge(dir.path(), &["import", "deep.jmx", "-o", "deep.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("elements nest deeper than 256 levels"),
        "{}",
        err(&o)
    );
}

#[test]
fn jmx_counts_beyond_range_and_negative_timeouts_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(jmx_fixture())
        .unwrap()
        .replace(
            "<intProp name=\"ThreadGroup.num_threads\">50</intProp>",
            "<stringProp name=\"ThreadGroup.num_threads\">100000000000000000000</stringProp>",
        )
        .replace(
            "<stringProp name=\"HTTPSampler.connect_timeout\">5000</stringProp>",
            "<stringProp name=\"HTTPSampler.connect_timeout\">-5</stringProp>",
        );
    std::fs::write(dir.path().join("p.jmx"), text).unwrap();
    std::fs::copy(
        jmx_fixture().with_file_name("flows.csv"),
        dir.path().join("flows.csv"),
    )
    .unwrap();
    let o = surge(dir.path(), &["import", "p.jmx", "-o", "p.toml"]);
    let e = err(&o);
    assert!(
        e.contains(
            "ThreadGroup.num_threads = 100000000000000000000 is not a thread count surge runs"
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "HTTPSampler.connect_timeout = \"-5\" is not a number of milliseconds ≥ 0: ignored"
        ),
        "{e}"
    );
}
