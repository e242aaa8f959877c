use super::*;

fn ra(fallback: u64, cap: u64, give_up: Option<u64>, attempts: u16) -> Policy {
    Policy {
        name: "retry_after".into(),
        retry: Retry::RetryAfter {
            fallback: Duration::from_secs(fallback),
            cap: Duration::from_secs(cap),
            give_up_above: give_up.map(Duration::from_secs),
        },
        max_attempts: attempts,
        also_503: false,
        pace: None,
        adaptive: None,
    }
}

#[test]
fn retry_after_waits_table() {
    let p = ra(3, 60, Some(180), 3);
    let s = Duration::from_secs;
    // (attempt, Retry-After ms) → wait
    let table: &[(u16, Option<u32>, Option<Duration>)] = &[
        (1, Some(2_000), Some(s(2))),
        (1, Some(1_500), Some(Duration::from_millis(1_500))),
        (1, None, Some(s(3))),          // missing → fallback
        (1, Some(0), Some(s(3))),       // 0 (or a past HTTP-date) → fallback
        (2, Some(90_000), Some(s(60))), // clamped to the cap
        (2, Some(200_000), None),       // above give_up_above
        (3, Some(2_000), None),         // max attempts reached
    ];
    for (attempt, hdr, want) in table {
        assert_eq!(
            p.wait(*attempt, *hdr, 0.5),
            *want,
            "attempt {attempt}, Retry-After {hdr:?}"
        );
    }
    assert!(p.retries(429) && !p.retries(503) && !p.retries(500));
}

#[test]
fn backoff_is_exponential_with_full_jitter_and_capped() {
    let p = Policy {
        name: "backoff".into(),
        retry: Retry::Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        },
        max_attempts: 10,
        also_503: true,
        pace: None,
        adaptive: None,
    };
    assert_eq!(p.wait(1, None, 1.0), Some(Duration::from_secs(1)));
    assert_eq!(p.wait(3, Some(100), 1.0), Some(Duration::from_secs(4)));
    assert_eq!(p.wait(6, None, 1.0), Some(Duration::from_secs(10)));
    assert_eq!(p.wait(3, None, 0.25), Some(Duration::from_secs(1)));
    assert_eq!(p.wait(3, None, 0.0), Some(Duration::ZERO));
    assert_eq!(p.wait(10, None, 0.5), None);
    assert!(p.retries(503));
}

#[test]
fn rates_parse() {
    assert_eq!(parse_rate(&RawRate::PerSecond(4.5)), Ok(4.5));
    assert_eq!(parse_rate(&RawRate::Text("270/m".into())), Ok(4.5));
    assert_eq!(parse_rate(&RawRate::Text("7200/h".into())), Ok(2.0));
    assert!(parse_rate(&RawRate::Text("fast".into())).is_err());
    assert!(parse_rate(&RawRate::PerSecond(0.0)).is_err());
    assert!(parse_rate(&RawRate::Text("3/d".into())).is_err());
}

const BASE: &str = "name = \"p\"\n[target]\nbase_url = \"mock\"\n[[request]]\nname = \"a\"\npath = \"/x\"\n[[request]]\nname = \"b\"\npath = \"/y\"\n[load]\nthreads = 1\n";

fn policy_of(on_429: &str, dir: &std::path::Path) -> Result<Policy, String> {
    let text = format!("{BASE}[on_429]\n{on_429}");
    crate::load_str(&text, &dir.join("s.toml"), &[])
        .map(|p| p.on_429)
        .map_err(|e| e.to_string())
}

#[test]
fn pace_shapes_per_token_and_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A bucket with a burst; a window whose count is rate × window; per token; some labels.
    let p = policy_of(
        "policy = \"pace\"\nrate = 9.5\nburst = 20\nper_token = true\nlabels = [\"b\"]\n",
        d,
    )
    .unwrap();
    let pace = p.pace.unwrap();
    assert_eq!(
        (pace.per_second, pace.burst, pace.window, pace.per_token),
        (9.5, 20, None, true)
    );
    assert_eq!(pace.steps, Some(vec![1]));
    let pace = policy_of("policy = \"pace\"\nrate = \"285/m\"\nwindow = \"61s\"\n", d)
        .unwrap()
        .pace
        .unwrap();
    assert_eq!(
        (pace.burst, pace.window),
        (289, Some(Duration::from_secs(61)))
    );
    // from: a limit.json beside the scenario, with its own words when it recommends nothing.
    let limit = |advice: &str| {
        format!(
            "{{\"schema\":\"surge/limit\",\"advice\":{advice},\"words\":{{\"headline\":[],\"recommendation\":\"No pace: no limit was found.\"}}}}"
        )
    };
    std::fs::write(
        d.join("limit.json"),
        limit("{\"recommended_rate_per_s\":4.99,\"burst\":245,\"per_token\":false}"),
    )
    .unwrap();
    let p = policy_of(
        "policy = \"pace\"\nrate = \"from:limit.json\"\nretry = \"retry_after\"\n",
        d,
    )
    .unwrap();
    let pace = p.pace.unwrap();
    assert_eq!((pace.per_second, pace.burst), (4.99, 245));
    assert_eq!(pace.from, Some(d.join("limit.json")));
    assert_eq!(p.name, "pace+retry_after");
    std::fs::write(d.join("none.json"), limit("null")).unwrap();
    let e = policy_of("policy = \"pace\"\nrate = \"from:none.json\"\n", d).unwrap_err();
    assert!(
        e.contains("on_429.rate") && e.contains("No pace: no limit was found."),
        "{e}"
    );
    let e = policy_of(
        "policy = \"pace\"\nrate = 5\nburst = 2\nwindow = \"60s\"\n",
        d,
    )
    .unwrap_err();
    assert!(
        e.contains("on_429.burst: a window's count is rate × window"),
        "{e}"
    );
}

#[test]
fn adaptive_retries_after_retry_after_and_checks_its_knobs() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy_of(
        "policy = \"adaptive\"\nrate = \"2/s\"\nincrease = 0.1\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(p.name, "adaptive");
    assert_eq!(p.max_attempts, 10);
    assert!(matches!(p.retry, Retry::RetryAfter { .. }));
    let a = p.adaptive.unwrap();
    assert_eq!((a.start_rate, a.increase, a.decrease), (2.0, 0.1, 0.5));
    let e = policy_of(
        "policy = \"adaptive\"\ndecrease = 1.5\nburst = 3\n",
        dir.path(),
    )
    .unwrap_err();
    assert!(
        e.contains("on_429.decrease: must be between 0 and 1"),
        "{e}"
    );
    assert!(e.contains("on_429.burst: applies only to pace"), "{e}");
}

#[test]
fn pace_from_keeps_a_retry_policy_and_adds_one_where_there_was_none() {
    let shape = PaceShape {
        rate_per_s: 5.0,
        burst: 240,
        window_s: None,
        per_token: false,
        max_in_flight: None,
    };
    let from = std::path::Path::new("r.json");
    let p = Policy::default().paced_from(&shape, from);
    assert_eq!(p.name, "pace+retry_after");
    assert_eq!(p.max_attempts, 10);
    assert_eq!(p.pace.as_ref().unwrap().burst, 240);
    let backoff = Policy {
        name: "backoff".into(),
        retry: Retry::Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        },
        max_attempts: 4,
        also_503: false,
        pace: None,
        adaptive: Some(Adaptive::default()),
    };
    let p = backoff.paced_from(&shape, from);
    assert_eq!((p.name.as_str(), p.max_attempts), ("pace+backoff", 4));
    assert!(p.adaptive.is_none());
}
