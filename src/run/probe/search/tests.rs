use super::*;
use surge_analysis::limit::replay::TokenBucket;
use surge_record::RateLimitHeaders;

/// A limiter the search is run against, in simulated time.
enum Limiter {
    /// Token bucket; no Retry-After (nginx's limit_req with nodelay).
    Bucket { rate: f64, burst: f64, latency: f64 },
    /// A fixed window with Retry-After and inin-ratelimit-* headers (the documented mock).
    Window { limit: u32, window: f64 },
    /// A bucket whose 429s say "retry after 2 s" and whose admitted answers take 2.75 s (the
    /// seed mock's compile backlog, drained steadily).
    SlowBucket { rate: f64, burst: f64 },
}

/// Runs the search against `lim` until it stops or `max_requests` are sent; returns the search
/// and the requests sent.
fn run(lim: &Limiter, max_requests: usize) -> (Search, usize, Option<Done>) {
    let mut s = Search::new(SearchConfig::default());
    let mut cmd = Command {
        rate: 2.0,
        growth: 1.5,
        pause_until: 0.0,
        stop: None,
    };
    let mut since = 0.0;
    let mut t = 0.0;
    let mut sent: Vec<f64> = Vec::new();
    // Answers due: (when, event).
    let mut due: Vec<(f64, Event)> = Vec::new();
    let (mut w_start, mut w_count) = (f64::NEG_INFINITY, 0u32);
    let mut tat = f64::NEG_INFINITY;
    while sent.len() < max_requests && cmd.stop.is_none() {
        let rate = cmd.rate * cmd.growth.powf(t - since);
        let next = (t + 1.0 / rate).max(cmd.pause_until);
        // Answers that come before the next request, in order.
        due.sort_by(|a, b| a.0.total_cmp(&b.0));
        while let Some(&(at, ev)) = due.first().filter(|d| d.0 <= next) {
            due.remove(0);
            let before = cmd.rate;
            cmd = s.observe(at, ev);
            if cmd.growth == 1.0 && before != cmd.rate {
                since = at;
            }
            if cmd.stop.is_some() {
                // The requests in flight still answer, as the executor lets them.
                for (at, ev) in due.drain(..) {
                    s.observe(at, ev);
                }
                return (s, sent.len(), cmd.stop);
            }
        }
        t = next.max(cmd.pause_until);
        sent.push(t);
        let ev = match lim {
            Limiter::Bucket {
                rate,
                burst,
                latency,
            } => {
                let ok = TokenBucket {
                    rate: *rate,
                    burst: *burst,
                }
                .replay(&sent)[sent.len() - 1];
                if ok {
                    Event::admitted(t, *latency)
                } else {
                    Event::refused(t, None)
                }
            }
            Limiter::SlowBucket { rate, burst } => {
                // GCRA kept incrementally: refusals do not move it.
                let interval = 1.0 / rate;
                let d = tat.max(t);
                if d - t <= (burst - 1.0) * interval + 1e-9 {
                    tat = d + interval;
                    Event::admitted(t, 2.75)
                } else {
                    Event::refused(t, Some(2.0))
                }
            }
            Limiter::Window { limit, window } => {
                if t >= w_start + window {
                    w_start = t;
                    w_count = 0;
                }
                let reset = (w_start + window - t).ceil() as u32;
                let admitted = w_count < *limit;
                if admitted {
                    w_count += 1;
                }
                let h = Some(RateLimitHeaders {
                    allowed: *limit,
                    count: w_count,
                    reset,
                });
                if admitted {
                    Event {
                        headers: h,
                        ..Event::admitted(t, 0.06)
                    }
                } else {
                    Event {
                        headers: h,
                        ..Event::refused(t, Some(f64::from(reset)))
                    }
                }
            }
        };
        due.push((t + ev.latency_s, ev));
    }
    (s, sent.len(), cmd.stop)
}

fn fitted(s: &Search) -> surge_analysis::limit::Fit {
    match fit(s.events()) {
        Estimate::Limit(f) => f,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_search_finds_each_limiter_with_few_requests() {
    // (limiter, model, sustained rate, most requests it may spend)
    let table = [
        (
            Limiter::Bucket {
                rate: 20.0,
                burst: 21.0,
                latency: 0.001,
            },
            Model::TokenBucket,
            20.0,
            400,
        ),
        (
            Limiter::Window {
                limit: 300,
                window: 60.0,
            },
            Model::FixedWindow,
            5.0,
            400,
        ),
        (
            Limiter::SlowBucket {
                rate: 5.25,
                burst: 258.0,
            },
            Model::TokenBucket,
            5.25,
            800,
        ),
    ];
    for (lim, model, rate, most) in table {
        let (s, n, done) = run(&lim, 5_000);
        assert_eq!(done, Some(Done::Stable), "{model:?}: {n} sent");
        assert!(n <= most, "{model:?}: {n} requests");
        let f = fitted(&s);
        assert_eq!(f.model, model, "{f:?}");
        assert!(
            (f.sustained_rate_per_s / rate - 1.0).abs() < 0.05,
            "{model:?}: {f:?}"
        );
    }
}

#[test]
fn retry_after_pauses_the_search_and_the_ramp_holds_at_the_first_429() {
    let mut s = Search::new(SearchConfig::default());
    // Ramp: 2/s growing ×1.5 per second.
    let c = s.observe(1.0, Event::admitted(0.9, 0.1));
    assert_eq!((c.rate, c.growth, c.stop), (2.0, 1.5, None));
    // The first 429, sent at 4 s, with Retry-After 5: hold 2 × 1.5^4 = 10.125/s, pause to 9.1.
    let c = s.observe(4.1, Event::refused(4.0, Some(5.0)));
    assert!((c.rate - 10.125).abs() < 1e-9 && c.growth == 1.0, "{c:?}");
    assert!((c.pause_until - 9.1).abs() < 1e-9);
    // A later, shorter Retry-After never shortens the pause.
    let c = s.observe(4.2, Event::refused(4.1, Some(1.0)));
    assert!((c.pause_until - 9.1).abs() < 1e-9);
    assert!(s.steps().len() >= 2);
}

#[test]
fn no_429_at_the_most_it_sends_is_a_limit_not_reached() {
    let cfg = SearchConfig {
        max_rate: 16.0,
        ..SearchConfig::default()
    };
    let mut s = Search::new(cfg);
    let mut last = None;
    for i in 0..200 {
        let t = f64::from(i) * 0.1;
        last = s.observe(t + 0.01, Event::admitted(t, 0.01)).stop;
        if last.is_some() {
            break;
        }
    }
    assert_eq!(last, Some(Done::NotReached));
}
