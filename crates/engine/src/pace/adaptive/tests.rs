use super::*;

const P: Adaptive = Adaptive {
    start_rate: 1.0,
    increase: 0.05,
    decrease: 0.5,
    steps: None,
};

fn ok(sent_at: f64) -> Signal {
    Signal::Admitted {
        sent_at,
        headers: None,
    }
}

fn headers(sent_at: f64, allowed: u32, count: u32, reset: u32) -> Signal {
    Signal::Admitted {
        sent_at,
        headers: Some(RateLimitHeaders {
            allowed,
            count,
            reset,
        }),
    }
}

fn throttled(sent_at: f64, retry_after: Option<f64>) -> Signal {
    Signal::Throttled {
        sent_at,
        retry_after,
    }
}

fn state(rate: f64, slow_start: bool, ceiling: f64, cut_at: f64, raised_at: f64) -> Aimd {
    Aimd {
        rate,
        slow_start,
        ceiling,
        cut_at,
        pause_until: 0.0,
        raised_at,
        before_budget: None,
        admitted_since_cut: true,
    }
}

/// A limiter that counts refused requests refuses for a while after the client slowed: one cut
/// for the episode, not one per 429, until something is admitted again (or it persists).
#[test]
fn one_cut_per_refusal_episode() {
    let p = Adaptive::default();
    let mut a = state(40.0, false, 40.0, 0.0, 0.0);
    a.on(10.0, throttled(9.9, None), 40.0, &p);
    assert_eq!(a.rate, 20.0);
    // Still refused for requests sent after the cut, nothing admitted yet: no second cut.
    a.on(10.5, throttled(10.2, None), 20.0, &p);
    a.on(11.0, throttled(10.8, None), 20.0, &p);
    assert_eq!(a.rate, 20.0);
    // Refused on, 2 s after the cut: the rate is still too high; cut again.
    a.on(12.2, throttled(12.1, None), 20.0, &p);
    assert_eq!(a.rate, 10.0);
    // Admitted again, then a 429: a new episode.
    a.on(13.0, ok(12.9), 10.0, &p);
    a.on(13.5, throttled(13.4, None), 10.0, &p);
    assert_eq!(a.rate, 5.0);
}

#[test]
fn the_rule_as_a_table() {
    struct Row {
        what: &'static str,
        before: Aimd,
        now: f64,
        sig: Signal,
        sent_rate: f64,
        rate: f64,
        slow_start: bool,
        pause_until: f64,
    }
    let rows = [
        Row {
            what: "slow start doubles per second of 2xx",
            before: state(4.0, true, 4.0, 0.0, 10.0),
            now: 11.0,
            sig: ok(10.5),
            sent_rate: 4.0,
            rate: 8.0,
            slow_start: true,
            pause_until: 0.0,
        },
        Row {
            what: "never more than twice what the users send",
            before: state(4.0, true, 4.0, 0.0, 10.0),
            now: 12.0,
            sig: ok(11.5),
            sent_rate: 3.0,
            rate: 6.0,
            slow_start: true,
            pause_until: 0.0,
        },
        Row {
            what: "a 429 halves what was sent, ends slow start, honours Retry-After",
            before: state(16.0, true, 16.0, 0.0, 10.0),
            now: 20.0,
            sig: throttled(19.9, Some(2.0)),
            sent_rate: 12.0,
            rate: 6.0,
            slow_start: false,
            pause_until: 22.0,
        },
        Row {
            what: "a 429 to a request sent before the last cut is the same congestion",
            before: state(6.0, false, 12.0, 20.0, 20.0),
            now: 20.1,
            sig: throttled(19.95, Some(2.0)),
            sent_rate: 12.0,
            rate: 6.0,
            slow_start: false,
            pause_until: 22.1,
        },
        Row {
            what: "after the cut, 2xx add a share of the ceiling per second",
            before: state(6.0, false, 12.0, 20.0, 20.0),
            now: 30.0,
            sig: ok(29.5),
            sent_rate: 6.0,
            rate: 6.0 + 0.05 * 12.0 * 10.0,
            slow_start: false,
            pause_until: 0.0,
        },
        Row {
            what: "2xx to requests sent before the cut do not raise it",
            before: state(6.0, false, 12.0, 20.0, 20.0),
            now: 21.0,
            sig: ok(19.0),
            sent_rate: 6.0,
            rate: 6.0,
            slow_start: false,
            pause_until: 0.0,
        },
        Row {
            what: "headers near exhaustion slow to what is left of the window, before any 429",
            before: state(8.0, true, 8.0, 0.0, 5.0),
            now: 6.0,
            sig: headers(5.9, 300, 280, 40),
            sent_rate: 8.0,
            rate: 0.5,
            slow_start: false,
            pause_until: 0.0,
        },
        Row {
            what: "headers with room left change nothing but the usual increase",
            before: state(4.0, true, 4.0, 0.0, 5.0),
            now: 6.0,
            sig: headers(5.9, 300, 10, 55),
            sent_rate: 4.0,
            rate: 8.0,
            slow_start: true,
            pause_until: 0.0,
        },
        Row {
            what: "never below the floor",
            before: state(0.06, false, 0.06, 0.0, 0.0),
            now: 1.0,
            sig: throttled(0.9, None),
            sent_rate: 0.0,
            rate: MIN_RATE,
            slow_start: false,
            // No Retry-After: no pause beyond now.
            pause_until: 1.0,
        },
    ];
    for r in rows {
        let mut a = r.before;
        a.on(r.now, r.sig, r.sent_rate, &P);
        assert!(
            (a.rate - r.rate).abs() < 1e-9,
            "{}: rate {} want {}",
            r.what,
            a.rate,
            r.rate
        );
        assert_eq!(a.slow_start, r.slow_start, "{}", r.what);
        assert!(
            (a.pause_until - r.pause_until).abs() < 1e-9,
            "{}: pause {}",
            r.what,
            a.pause_until
        );
    }
}

#[test]
fn a_new_window_restores_the_rate_the_budget_held_down() {
    let mut a = state(8.0, false, 8.0, 0.0, 0.0);
    a.on(50.0, headers(49.9, 300, 290, 10), 8.0, &P);
    assert_eq!(a.rate, 1.0);
    a.on(55.0, ok(54.0), 1.0, &P);
    assert_eq!(a.rate, 1.0, "held while the window lasts");
    a.on(61.0, headers(60.9, 300, 1, 60), 1.0, &P);
    assert_eq!(a.rate, 8.0);
    assert_eq!(a.before_budget, None);
}

#[tokio::test(start_paused = true)]
async fn users_of_a_token_share_its_rate_and_its_pause() {
    let p = AdaptivePacer::new(
        Adaptive {
            start_rate: 2.0,
            ..P
        },
        2,
    );
    let stop = CancellationToken::new();
    let t0 = Instant::now();
    // Users 0 and 2 share token 0: at 2/s the second waits half a second; user 1 (token 1) not.
    assert_eq!(p.acquire(0, &stop).await, Some(Duration::ZERO));
    assert_eq!(p.acquire(1, &stop).await, Some(Duration::ZERO));
    assert_eq!(p.acquire(2, &stop).await, Some(Duration::from_millis(500)));
    // A 429 with Retry-After 3 s holds every user of token 0 until then, and only them.
    p.observe(0, t0, Some(429), Some(3_000), None);
    let waited = p.acquire(2, &stop).await.unwrap();
    assert_eq!(Instant::now() - t0, Duration::from_millis(3_500));
    assert_eq!(waited, Duration::from_secs(3));
    assert_eq!(p.acquire(1, &stop).await, Some(Duration::ZERO));
    // Stopped while waiting: no slot.
    stop.cancel();
    assert_eq!(p.acquire(0, &stop).await, None);
}
