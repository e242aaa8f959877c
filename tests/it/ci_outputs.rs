//! CI outputs as a pipeline reads them, through the built binary: `--summary-md` and `--junit` of
//! `surge run`, `surge check` and `surge merge` carry the 429 diagnosis in the very sentences the
//! terminal printed (headline, limit measured, recommended pace or why none), and the exit rule
//! (not one expected answer) shows as a failed case, so a red job is never green in its report.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::{serve, Reply};

fn scenario_path(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn surge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The two diagnosis lines the terminal printed.
fn terminal_headline(o: &Output) -> [String; 2] {
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("429 diagnosis: "))
        .unwrap_or_else(|| panic!("no diagnosis in:\n{out}"));
    assert!(lines[i + 1].starts_with("→ "), "{out}");
    [lines[i].to_string(), lines[i + 1].to_string()]
}

/// The JUnit file's `429 diagnosis` suite: its properties and its system-out, unescaped; and
/// the names of the failed cases.
struct Junit {
    properties: Vec<(String, String)>,
    system_out: String,
    failed: Vec<String>,
    cases: usize,
}

fn junit(path: &Path) -> Junit {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = quick_xml::Reader::from_str(&text);
    let (mut suite, mut case, mut in_out) = (String::new(), String::new(), false);
    let mut j = Junit {
        properties: vec![],
        system_out: String::new(),
        failed: vec![],
        cases: 0,
    };
    let attr = |e: &quick_xml::events::BytesStart, k: &str| {
        let a = e.try_get_attribute(k).unwrap().unwrap();
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .unwrap()
            .to_string()
    };
    loop {
        match r.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) => match e.name().into_inner() {
                b"testsuite" => suite = attr(&e, "name"),
                b"testcase" => {
                    j.cases += 1;
                    case = attr(&e, "name");
                }
                b"failure" => j.failed.push(case.clone()),
                b"system-out" => in_out = suite == "429 diagnosis",
                _ => {}
            },
            Event::Empty(e) if e.name().into_inner() == b"property" => {
                assert_eq!(suite, "429 diagnosis");
                j.properties.push((attr(&e, "name"), attr(&e, "value")));
            }
            Event::End(e) if e.name().into_inner() == b"system-out" && in_out => {
                in_out = false;
                // The diagnosis suite's system-out, as written, unescaped.
                let from = text.find("<testsuite name=\"429 diagnosis\"").unwrap();
                let raw = &text[from..];
                let raw = &raw
                    [raw.find("<system-out>").unwrap() + 12..raw.find("</system-out>").unwrap()];
                j.system_out = quick_xml::escape::unescape(raw).unwrap().to_string();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    j
}

impl Junit {
    fn property(&self, k: &str) -> &str {
        self.properties
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no property {k} in {:?}", self.properties))
    }
}

/// The terminal's two lines appear verbatim in the Markdown and the JUnit file.
fn same_sentences(headline: &[String; 2], md: &Path, xml: &Path) -> Junit {
    let md = std::fs::read_to_string(md).unwrap();
    let j = junit(xml);
    for (i, line) in headline.iter().enumerate() {
        assert!(md.contains(&format!("{line}  \n")), "{line}\nnot in:\n{md}");
        assert!(
            j.system_out.contains(line.as_str()),
            "{line}\nnot in:\n{}",
            j.system_out
        );
        assert_eq!(j.property(&format!("headline_{}", i + 1)), line);
    }
    assert!(md.contains("### 429 diagnosis"), "{md}");
    j
}

#[test]
fn run_and_check_carry_the_diagnosis_the_terminal_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A run that measures its limit and recommends a pace.
    let o = surge(
        d,
        &[
            "run",
            &scenario_path("architect-retry-after.toml"),
            "--simulate",
            "-o",
            "r",
            "--threshold",
            "rate(429) < 90%",
            "--junit",
            "run.xml",
            "--summary-md",
            "run.md",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let said = terminal_headline(&o);
    assert!(said[1].starts_with("→ limit: token bucket: "), "{said:?}");
    let j = same_sentences(&said, &d.join("run.md"), &d.join("run.xml"));
    let pace = j.property("recommended_pace");
    assert!(
        pace.starts_with("≤ ") && said[1].contains(pace),
        "{pace} / {said:?}"
    );
    assert!(said[1].contains(j.property("limit_measured")));
    let advice = j.property("recommendation");
    assert!(advice.starts_with("Pace at "), "{advice}");
    assert!(std::fs::read_to_string(d.join("run.md"))
        .unwrap()
        .contains(advice));
    assert_eq!(
        (j.cases, j.failed.len()),
        (1, 0),
        "the diagnosis is not a check"
    );
    // docs/ci.md shows this very section: tests/it/doc_samples.rs compares it.

    // surge check on that result says the same, in its terminal and its files.
    let o = surge(
        d,
        &[
            "check",
            "r/result.json",
            "--threshold",
            "rate(429) < 1%",
            "--junit",
            "check.xml",
            "--summary-md",
            "check.md",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(terminal_headline(&o), said);
    let j = same_sentences(&said, &d.join("check.md"), &d.join("check.xml"));
    assert_eq!(j.failed, ["rate(429) < 1%"]);
}

#[test]
fn without_a_pace_ci_outputs_say_why_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = surge(
        d,
        &[
            "run",
            &scenario_path("architect-publish-burst.toml"),
            "--simulate",
            "-o",
            "r",
            "--junit",
            "run.xml",
            "--summary-md",
            "run.md",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let said = terminal_headline(&o);
    assert!(said[1].starts_with("→ no pace: "), "{said:?}");
    let j = same_sentences(&said, &d.join("run.md"), &d.join("run.xml"));
    assert_eq!(j.property("recommended_pace"), "none");
    assert!(j.property("recommendation").starts_with("No pace: "));
    let md = std::fs::read_to_string(d.join("run.md")).unwrap();
    assert!(md.contains("| recommended pace | none |"), "{md}");
    // No threshold: no check, but the diagnosis still rides along.
    assert!(md.contains("✅ **passed**: 0 of 0 checks failed"), "{md}");
    assert_eq!(j.cases, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_carries_the_diagnosis_of_the_whole() {
    // Every 4th request from the 8th on is throttled, as a limiter past its burst would.
    let server = serve(|r| {
        if r.n >= 8 && r.n % 4 == 0 {
            Reply::status(429).with_header("Retry-After", "1")
        } else {
            Reply::status(200).with_body("{}")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    std::fs::write(
        d.join("s.toml"),
        format!(
            "name = \"merged\"\n[target]\nbase_url = \"{}\"\n[[request]]\nname = \"hit\"\npath = \"/hit\"\n\
             [load]\nthreads = 4\nloops = 6\n",
            server.url()
        ),
    )
    .unwrap();
    let o = tokio::task::spawn_blocking(move || {
        for i in 1..=2 {
            let seg = format!("run/seg-{i}");
            let o = surge(
                &d,
                &[
                    "run",
                    "s.toml",
                    "--segment",
                    &format!("{i}/2"),
                    "--run-id",
                    "ci",
                    "-q",
                    "-o",
                    &seg,
                ],
            );
            assert_eq!(o.status.code(), Some(0), "{o:?}");
        }
        let o = surge(
            &d,
            &[
                "merge",
                "run",
                "-o",
                "merged",
                "--junit",
                "merge.xml",
                "--summary-md",
                "merge.md",
            ],
        );
        (o, d)
    })
    .await
    .unwrap();
    let (o, d) = o;
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let said = terminal_headline(&o);
    assert!(said[0].contains("first 429 at"), "{said:?}");
    same_sentences(&said, &d.join("merge.md"), &d.join("merge.xml"));
}

fn all_404(d: &Path) {
    std::fs::write(
        d.join("s.toml"),
        "name = \"gone\"\n[target]\nbase_url = \"mock\"\nmock_preset = \"unlimited\"\n\
         [[request]]\nname = \"r\"\npath = \"/api/v2/nothing-here\"\n[load]\nthreads = 2\nloops = 3\n",
    )
    .unwrap();
}

#[test]
fn not_one_expected_answer_fails_check_as_it_failed_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    all_404(d);
    let o = surge(
        d,
        &[
            "run",
            "s.toml",
            "--simulate",
            "-o",
            "r",
            "--junit",
            "run.xml",
            "--summary-md",
            "run.md",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let why = "not one of 6 requests got an expected answer (2xx or 3xx, or the request's expect_status); got 404×6";
    assert!(err.contains(&format!("FAILED: {why} (exit 1)")), "{err}");
    // The job's report says why it is red.
    assert_eq!(junit(&d.join("run.xml")).failed, ["expected answers"]);
    let md = std::fs::read_to_string(d.join("run.md")).unwrap();
    assert!(
        md.contains("❌ **failed**: 1 of 1 checks failed")
            && md.contains(&format!(
                "| `expected answers` | 0 of 6 | ❌ FAIL | {why} |"
            )),
        "{md}"
    );

    // surge check applies the same rule to the result, beside a threshold that passes.
    let o = surge(
        d,
        &[
            "check",
            "r/result.json",
            "--threshold",
            "error_rate < 1%",
            "--junit",
            "check.xml",
        ],
    );
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains(&format!("FAILED: {why} (exit 1)")), "{err}");
    assert!(out.contains("check: FAILED (1 of 2 failed)"), "{out}");
    assert!(out.contains("FAIL  expected answers"), "{out}");
    assert_eq!(junit(&d.join("check.xml")).failed, ["expected answers"]);

    // As a baseline it is said to be none.
    let o = surge(
        d,
        &["check", "r/result.json", "--baseline", "r/result.json"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("warning: the baseline r/result.json is no baseline: not one of 6 requests"),
        "{err}"
    );

    // A scenario that declares 404 as its answer passes run and check alike.
    let text = std::fs::read_to_string(d.join("s.toml")).unwrap().replace(
        "path = \"/api/v2/nothing-here\"\n",
        "path = \"/api/v2/nothing-here\"\nexpect_status = [404]\n",
    );
    std::fs::write(d.join("s.toml"), text).unwrap();
    let o = surge(d, &["run", "s.toml", "--simulate", "-q", "-o", "ok"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = surge(
        d,
        &["check", "ok/result.json", "--threshold", "error_rate < 1%"],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}
