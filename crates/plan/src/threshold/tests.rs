//! The expression parser: good inputs parse to the right metric and value, bad ones say where
//! and what was expected.

use super::*;

fn labels() -> Vec<String> {
    vec!["publish".into(), "get flow".into()]
}

fn ok(src: &str) -> Expr {
    parse(src, Some(&labels())).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn bad(src: &str) -> ParseError {
    parse(src, Some(&labels())).expect_err(src)
}

#[test]
fn latency_expressions_parse_with_units_and_default_outcome_success() {
    let e = ok("p95(publish) < 800ms");
    assert_eq!(
        e.metric,
        Metric::Latency {
            stat: Stat::Pct(95.0),
            label: Some("publish".into()),
            outcome: Outcome::Success,
            timing: Timing::Service
        }
    );
    assert_eq!((e.cmp, e.value, e.sustain_s), (Cmp::Lt, 0.8, None));
    let e = ok("p99(publish, success) < 2s");
    assert_eq!(e.value, 2.0);
    let e = ok("p99.9('get flow', 429, response)<=1.5s");
    assert_eq!(
        e.metric,
        Metric::Latency {
            stat: Stat::Pct(99.9),
            label: Some("get flow".into()),
            outcome: Outcome::Throttled,
            timing: Timing::Response
        }
    );
    assert_eq!(e.cmp, Cmp::Le);
    assert_eq!(ok("max < 1m").value, 60.0);
    assert_eq!(
        ok("avg(*) < 250us").metric,
        Metric::Latency {
            stat: Stat::Avg,
            label: None,
            outcome: Outcome::Success,
            timing: Timing::Service
        }
    );
    assert_eq!(ok("median(publish) >= 1ms").metric.label(), Some("publish"));
}

#[test]
fn rates_counts_throughput_and_run_metrics_parse() {
    let e = ok("rate(429) < 1%");
    assert_eq!(
        e.metric,
        Metric::Rate {
            sel: Sel::Outcome(Outcome::Throttled),
            label: None
        }
    );
    assert!((e.value - 0.01).abs() < 1e-12);
    assert_eq!(
        ok("rate(2xx) > 99%").metric,
        Metric::Rate {
            sel: Sel::Outcome(Outcome::Success),
            label: None
        }
    );
    assert_eq!(
        ok("rate(503, publish) < 0.5pp").metric,
        Metric::Rate {
            sel: Sel::Status(StatusKey::Http(503)),
            label: Some("publish".into())
        }
    );
    assert_eq!(
        ok("rate(error:timeout) == 0%").metric,
        Metric::Rate {
            sel: Sel::Status(StatusKey::Error(surge_record::ErrorClass::Timeout)),
            label: None
        }
    );
    assert_eq!(ok("error_rate < 0.1%").value, 0.001);
    assert_eq!(
        ok("error_rate(publish) < 1%").metric,
        Metric::ErrorRate {
            label: Some("publish".into())
        }
    );
    assert_eq!(
        ok("final_rate(2xx) >= 99.5%").metric,
        Metric::FinalRate {
            outcome: Outcome::Success
        }
    );
    assert_eq!(ok("throughput(2xx) >= 8/s").value, 8.0);
    assert_eq!(ok("throughput >= 120/m").value, 2.0);
    assert_eq!(
        ok("throughput() > 1/s").metric,
        Metric::Throughput {
            sel: None,
            label: None
        }
    );
    assert_eq!(
        ok("count(5xx) == 0").metric,
        Metric::Count {
            sel: Sel::Outcome(Outcome::ServerError),
            label: None
        }
    );
    assert_eq!(ok("first_429 > 30s").metric, Metric::First429);
    assert_eq!(ok("completion < 2m").value, 120.0);
    assert_eq!(ok("retries_per_success < 0.5").value, 0.5);
}

#[test]
fn sustained_conditions_parse_whole_seconds() {
    let e = ok("rate(429) > 5% for 10s");
    assert_eq!(e.sustain_s, Some(10));
    assert_eq!(ok("p95 > 2s for 1m").sustain_s, Some(60));
    assert_eq!(ok("throughput(2xx) < 5/s for 3s").sustain_s, Some(3));
}

#[test]
fn bad_inputs_say_where_and_what_was_expected() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "empty expression"),
        (
            "p95(publsh) < 800ms",
            5,
            "unknown label \"publsh\" (labels: publish, get flow); did you mean \"publish\"?",
        ),
        ("p59x(publish) < 800ms", 1, "unknown metric \"p59x\""),
        ("rat(429) < 1%", 1, "did you mean \"rate\"?"),
        (
            "p95(publish) 800ms",
            14,
            "expected a comparison (<, <=, >, >=, ==, !=), found \"800ms\"",
        ),
        ("p95(publish) = 800ms", 14, "write == to compare"),
        ("p95(publish) < 800", 16, "is a time: write 800 with a unit"),
        ("p95(publish) < 800 ms", 16, "is a time"),
        ("rate(429) < 1", 13, "is a share: write it in percent"),
        ("rate(429) < 1/s", 13, "unit \"/s\" is not % or pp"),
        ("throughput(2xx) > 8", 19, "write e.g. 8/s"),
        ("rate(418x) < 1%", 6, "expected an outcome"),
        ("rate < 1%", 6, "rate needs what to count"),
        ("p95(publish < 1s", 13, "expected \",\" or \")\""),
        ("p95(publish, bogus) < 1s", 14, "expected an outcome"),
        ("first_429(publish) > 3s", 11, "too many arguments"),
        ("rate(429) > 5% for 10", 20, "is a time"),
        ("rate(429) > 5% for 1.5s", 20, "whole seconds"),
        (
            "rate(429) > 5% during 10s",
            16,
            "expected \"for DURATION\" or the end",
        ),
        ("rate(429, publish) > 5% for 10s", 25, "not per label"),
        ("p90 > 1s for 10s", 10, "p50, p95, p99 or max"),
        ("completion > 1s for 10s", 17, "per-second metrics"),
        (
            "p95 < 1s extra",
            10,
            "expected \"for DURATION\" or the end, found \"extra\"",
        ),
        ("p95('publish < 1s", 5, "'\\''"),
    ];
    for (src, pos, msg) in cases {
        let e = bad(src);
        assert!(
            e.message.contains(msg) || e.to_string().contains(msg),
            "{src:?}: got {e}"
        );
        assert_eq!(e.pos, *pos, "{src:?}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}: at character {pos}: ", src.trim())),
            "{e}"
        );
    }
}

#[test]
fn labels_are_checked_only_when_known_and_star_means_every_label() {
    assert!(parse("p95(anything) < 1s", None).is_ok());
    assert_eq!(ok("p95(*, 429) < 1s").metric.label(), None);
    assert!(parse("rate(429, x) < 1%", Some(&[]))
        .unwrap_err()
        .message
        .contains("labels: none"));
}

#[test]
fn abort_on_fail_needs_a_sustained_condition() {
    assert!(Threshold::new("rate(429) > 5% for 3s", None, true, None).is_ok());
    let e = Threshold::new("rate(429) < 5%", None, true, None).unwrap_err();
    assert!(
        e.message
            .contains("abort_on_fail needs a sustained condition"),
        "{e}"
    );
    assert_eq!(
        Threshold::new("rate(429) < 5%", Some("few 429".into()), false, None)
            .unwrap()
            .name,
        "few 429"
    );
}
