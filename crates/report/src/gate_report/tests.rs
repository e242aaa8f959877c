//! The CI outputs of checks: JUnit well-formed with its counts and escapes, a note that is no
//! check, Markdown that escapes pipes, and the words of every reading.

use super::*;

fn suites() -> Vec<Suite> {
    vec![Suite {
        name: "thresholds <mix & match>".into(),
        cases: vec![
            Case {
                name: "p95(\"a<b\") < 800ms".into(),
                status: CaseStatus::Pass,
                observed: "12ms".into(),
                detail: "ok & fine".into(),
            },
            Case {
                name: "rate(429) < 1%".into(),
                status: CaseStatus::Fail,
                observed: "3%".into(),
                detail: "3% breaks < 1%\u{1}".into(),
            },
            Case {
                name: "x | y".into(),
                status: CaseStatus::Skip,
                observed: "-".into(),
                detail: "no data".into(),
            },
        ],
    }]
}

#[test]
fn junit_is_well_formed_with_counts_and_escapes() {
    use quick_xml::events::Event;
    let x = junit(&suites(), None);
    let mut r = quick_xml::Reader::from_str(&x);
    let (mut open, mut cases, mut failures, mut skipped, mut names) =
        (Vec::new(), 0, 0, 0, Vec::new());
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let tag = String::from_utf8_lossy(e.name().into_inner()).to_string();
                match tag.as_str() {
                    "testcase" => {
                        cases += 1;
                        let raw = String::from_utf8_lossy(
                            &e.try_get_attribute("name").unwrap().unwrap().value,
                        )
                        .to_string();
                        names.push(quick_xml::escape::unescape(&raw).unwrap().to_string());
                    }
                    "failure" => failures += 1,
                    _ => {}
                }
                open.push(tag);
            }
            Event::Empty(e) if e.name().into_inner() == b"skipped" => skipped += 1,
            Event::End(e) => assert_eq!(
                open.pop().unwrap(),
                String::from_utf8_lossy(e.name().into_inner())
            ),
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty());
    assert_eq!((cases, failures, skipped), (3, 1, 1));
    assert_eq!(names[0], "p95(\"a<b\") < 800ms");
    assert!(x.contains(
        "<testsuites name=\"surge\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""
    ));
    assert!(!x.contains('\u{1}'));
}

fn note() -> Note {
    Note {
        title: "429 diagnosis".into(),
        headline: vec!["first <line> & more".into(), "→ pace at ≤ 5 req/s".into()],
        facts: vec![("limit measured".into(), "a | b".into())],
        recommendation: Some("# not a heading".into()),
    }
}

#[test]
fn a_note_is_no_check_in_junit_or_markdown() {
    let x = junit(&suites(), Some(&note()));
    assert!(x.contains("<testsuites name=\"surge\" tests=\"3\" failures=\"1\""));
    assert!(x.contains("<testsuite name=\"429 diagnosis\" tests=\"0\" failures=\"0\""));
    assert!(x.contains("<property name=\"headline_1\" value=\"first &lt;line&gt; &amp; more\"/>"));
    assert!(x.contains("<property name=\"limit_measured\" value=\"a | b\"/>"));
    assert!(x.contains("<system-out>first &lt;line&gt; &amp; more\n→ pace at ≤ 5 req/s\n# not a heading</system-out>"));
    let mut r = quick_xml::Reader::from_str(&x);
    while !matches!(
        r.read_event().expect("well-formed"),
        quick_xml::events::Event::Eof
    ) {}

    let m = markdown("surge: mix", &suites(), Some(&note()));
    assert!(m.contains("❌ **failed**: 1 of 3 checks failed"));
    assert!(m.contains("### 429 diagnosis\n\nfirst &lt;line> & more  \n→ pace at ≤ 5 req/s  \n"));
    assert!(m.contains("| limit measured | a \\| b |"));
    assert!(m.contains("\n\\# not a heading\n"), "{m}");
}

#[test]
fn markdown_escapes_pipes_and_says_the_verdict() {
    let m = markdown("surge: mix", &suites(), None);
    assert!(m.contains("❌ **failed**: 1 of 3 checks failed"));
    assert!(m.contains("`x \\| y`"));
    assert!(m.lines().filter(|l| l.starts_with("| `")).count() == 3);
}

#[test]
fn a_share_row_keeps_its_written_name_and_shows_its_change() {
    use surge_analysis::baseline::{compare, parse_allowances};
    use surge_record::synthetic::{cell, from_cells};
    use surge_record::StatusKey;
    let run = |n429| {
        from_cells(
            vec![
                cell("publish", StatusKey::Http(200), 400, |_| 2_000),
                cell("publish", StatusKey::Http(429), n429, |_| 1_000),
            ],
            vec![],
            60.0,
        )
    };
    let labels = vec!["publish".to_string()];
    let allow = parse_allowances("rate(429)=+2pp", &labels).unwrap();
    let rows = compare(&run(0), &run(40), &allow, 0.99);
    let case = &Suite::baseline("b", &rows).cases[0];
    assert_eq!(case.name, "publish rate(429)");
    assert_ne!(case.observed, "-");
}

mod phrasing {
    use surge_analysis::baseline::{compare, parse_allowances, Comparison, DEFAULT_MAX_REGRESSION};
    use surge_analysis::stats;
    use surge_analysis::threshold_eval::{Breach, NoData, Reading, Verdict};
    use surge_plan::threshold::{Cmp, Kind};
    use surge_record::synthetic::{cell, from_cells};
    use surge_record::{Outcome, RunResult, StatusKey};

    use super::super::words::{breach, comparison, verdict};

    fn v(passed: bool, reading: Reading) -> Verdict {
        Verdict {
            name: "t".into(),
            expr: "t".into(),
            passed,
            observed: None,
            reading,
            abort_on_fail: false,
        }
    }

    #[test]
    fn each_reading_of_a_threshold_in_words() {
        let w = verdict(&v(
            false,
            Reading::NoData(NoData::Responses {
                outcome: Outcome::ServerError,
                label: Some("get".into()),
            }),
        ));
        assert_eq!(w.observed, "no data");
        assert_eq!(
            w.detail,
            "no server_error responses of get: nothing to measure (a gate never passes without data)"
        );
        let value = |value, kind, cmp, limit, no_429| Reading::Value {
            value,
            kind,
            cmp,
            limit,
            no_429,
        };
        let w = verdict(&v(false, value(0.0727, Kind::Share, Cmp::Lt, 0.05, false)));
        assert_eq!(
            (w.observed.as_str(), w.detail.as_str()),
            ("7.27%", "7.27% breaks < 5%")
        );
        let w = verdict(&v(true, value(0.855, Kind::Time, Cmp::Lt, 0.9, false)));
        assert_eq!(w.detail, "855ms meets < 900ms");
        let w = verdict(&v(
            true,
            value(f64::INFINITY, Kind::Time, Cmp::Gt, 30.0, true),
        ));
        assert_eq!(
            (w.observed.as_str(), w.detail.as_str()),
            ("no 429", "no 429 meets > 30s")
        );
        let streak = |longest_s, from_s, fails_at_s| Reading::Streak {
            longest_s,
            from_s,
            fails_at_s,
        };
        let w = verdict(&v(false, streak(6, 8, 6)));
        assert_eq!(w.observed, "held 6s");
        assert_eq!(
            w.detail,
            "the condition held 6s in a row from t=8s (fails at 6s)"
        );
        let w = verdict(&v(true, streak(6, 8, 7)));
        assert_eq!(
            (w.observed.as_str(), w.detail.as_str()),
            (
                "longest 6s",
                "the condition held at most 6s in a row (from t=8s); fails at 7s"
            )
        );
        assert_eq!(
            verdict(&v(true, streak(0, 0, 1))).detail,
            "the condition never held; fails at 1s"
        );
        let b = Breach {
            name: "429 storm".into(),
            held_s: 5,
            until_s: 13,
        };
        assert_eq!(
            breach(&b),
            "threshold \"429 storm\" failed: held 5s in a row up to t=13s"
        );
    }

    /// Pseudo-random latencies around `base_ms` (uniform ± 50%), from a seed.
    fn lat(seed: u64, base_ms: u64) -> impl Fn(u64) -> u64 {
        move |i| {
            let u: f64 = rand::RngExt::random(&mut stats::rng(seed ^ i.wrapping_mul(0x9E37)));
            ((base_ms as f64) * (0.5 + u) * 1000.0) as u64
        }
    }

    fn run(seed: u64, pub_ms: u64, n429: u64) -> RunResult {
        from_cells(
            vec![
                cell("publish", StatusKey::Http(200), 4000, lat(seed, pub_ms)),
                cell("publish", StatusKey::Http(429), n429, |_| 1_000),
            ],
            vec![],
            60.0,
        )
    }

    fn find<'a>(rows: &'a [Comparison], metric: &str) -> &'a Comparison {
        rows.iter().find(|r| r.metric == metric).unwrap()
    }

    #[test]
    fn a_regression_a_real_change_and_a_share_in_words() {
        let labels = ["publish".to_string()];
        let a = parse_allowances(DEFAULT_MAX_REGRESSION, &labels).unwrap();
        let rows = compare(&run(1, 400, 40), &run(2, 520, 400), &a, 0.99);
        let w = comparison(find(&rows, "p95"));
        assert!(
            w.detail
                .contains("regression: beyond the allowance and out of the noise"),
            "{}",
            w.detail
        );
        assert!(w.detail.contains("99% interval +"), "{}", w.detail);
        let rows = compare(
            &run(1, 400, 40),
            &run(2, 430, 40),
            &parse_allowances("p50=+20%", &labels).unwrap(),
            0.99,
        );
        assert!(comparison(find(&rows, "p50"))
            .detail
            .contains("a real change, within the allowance"));
        // No 429 in the baseline: the change reads in points.
        let rows = compare(
            &run(1, 400, 0),
            &run(2, 400, 40),
            &parse_allowances("rate(429)=+2pp", &labels).unwrap(),
            0.99,
        );
        let w = comparison(find(&rows, "rate(429)"));
        assert!(
            w.observed.starts_with('+') && w.observed.ends_with("pp"),
            "{}",
            w.observed
        );
    }

    #[test]
    fn a_gate_that_cannot_fail_at_its_sample_size_says_so() {
        let small = |seed: u64, n| {
            let tail = move |i: u64| {
                let mut r = stats::rng(seed ^ i.wrapping_mul(0x9E37));
                let u: f64 = rand::RngExt::random(&mut r);
                (-(1.0 - u).ln() * 400_000.0) as u64 + 1
            };
            from_cells(
                vec![cell("publish", StatusKey::Http(200), n, tail)],
                vec![],
                60.0,
            )
        };
        let a = parse_allowances(DEFAULT_MAX_REGRESSION, &["publish".into()]).unwrap();
        let rows = compare(&small(1, 500), &small(2, 500), &a, 0.99);
        let p95 = find(&rows, "p95");
        let need = p95.samples_needed.unwrap();
        let w = comparison(p95);
        assert!(
            w.detail.contains("cannot fail at the allowance")
                && w.detail.contains(&format!("about {need} samples")),
            "{}",
            w.detail
        );
        let rows = compare(&small(1, 40_000), &small(2, 40_000), &a, 0.99);
        assert!(!comparison(find(&rows, "p95"))
            .detail
            .contains("cannot fail"));
    }

    #[test]
    fn a_regression_at_a_small_sample_size_never_says_it_cannot_fail() {
        let run = |seed: u64, scale: f64| {
            let tail = move |i: u64| {
                let mut r = stats::rng(seed ^ i.wrapping_mul(0x9E37));
                let u: f64 = rand::RngExt::random(&mut r);
                (-(1.0 - u).ln() * scale) as u64 + 1
            };
            from_cells(
                vec![cell("publish", StatusKey::Http(200), 500, tail)],
                vec![],
                60.0,
            )
        };
        let a = parse_allowances(DEFAULT_MAX_REGRESSION, &["publish".into()]).unwrap();
        let rows = compare(&run(1, 400_000.0), &run(2, 1_600_000.0), &a, 0.99);
        let p95 = find(&rows, "p95");
        assert!(p95.samples_needed.is_some(), "the case is underpowered");
        let w = comparison(p95);
        assert!(w.detail.contains("regression"), "{}", w.detail);
        assert!(!w.detail.contains("cannot fail"), "{}", w.detail);
        assert!(w.detail.contains("samples per run resolve"), "{}", w.detail);
    }

    #[test]
    fn skipped_rows_say_why() {
        let mut cand = run(2, 400, 40);
        cand.labels.push("new".into());
        let rows = compare(
            &run(1, 400, 40),
            &cand,
            &parse_allowances("p95=+10%", &["publish".into()]).unwrap(),
            0.99,
        );
        let new = rows.iter().find(|r| r.label == "new").unwrap();
        let w = comparison(new);
        assert_eq!(
            (w.observed.as_str(), w.detail.as_str()),
            ("-", "label only in the candidate: not compared")
        );
    }
}
