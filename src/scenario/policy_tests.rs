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
