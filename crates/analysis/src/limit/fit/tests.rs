use super::*;
use crate::limit::replay::TokenBucket;
use surge_record::RateLimitHeaders;

/// Arrivals at `rate` per second from `from` for `secs` seconds.
pub(crate) fn steady(from: f64, rate: f64, secs: f64) -> Vec<f64> {
    let n = (rate * secs).round() as usize;
    (0..n).map(|i| from + i as f64 / rate).collect()
}

/// Events of `arrivals` through a token bucket; admitted answers take `latency` seconds.
pub(crate) fn through_bucket(rate: f64, burst: f64, arrivals: &[f64], latency: f64) -> Vec<Event> {
    let d = TokenBucket { rate, burst }.replay(arrivals);
    arrivals
        .iter()
        .zip(d)
        .map(|(&t, ok)| {
            if ok {
                Event::admitted(t, latency)
            } else {
                Event::refused(t, None)
            }
        })
        .collect()
}

fn within(got: f64, want: f64, tol: f64) -> bool {
    (got / want - 1.0).abs() <= tol
}

fn the_fit(e: &[Event]) -> Fit {
    match fit(e) {
        Estimate::Limit(f) => f,
        other => panic!("no fit: {other:?}"),
    }
}

#[test]
fn a_token_bucket_is_named_with_its_rate_and_burst() {
    // (rate, burst, offered rate, seconds)
    let table: &[(f64, f64, f64, f64)] = &[
        (20.0, 30.0, 50.0, 10.0),
        (19.0, 40.0, 60.0, 8.0),
        (5.0, 10.0, 7.0, 40.0),
        (100.0, 3.0, 150.0, 3.0),
    ];
    for &(rate, burst, offered, secs) in table {
        let e = through_bucket(rate, burst, &steady(0.0, offered, secs), 0.01);
        let f = the_fit(&e);
        assert_eq!(f.model, Model::TokenBucket, "{rate}/{burst}: {f:?}");
        assert!(within(f.sustained_rate_per_s, rate, 0.03), "{rate}: {f:?}");
        assert!(
            (f.burst - burst).abs() <= 0.1 * burst + 2.0,
            "{burst}: {f:?}"
        );
        assert!(f.fit_error < 0.02, "{f:?}");
        assert!(f.rate_error < 0.1, "{f:?}");
    }
}

/// The case: a short burst run measured R + B/T. Between 429s only R is admitted.
#[test]
fn a_short_burst_run_does_not_pass_its_burst_off_as_capacity() {
    let e = through_bucket(19.0, 40.0, &steady(0.0, 60.0, 3.0), 0.01);
    let admitted = e.iter().filter(|e| e.verdict == Verdict::Admitted).count() as f64;
    // What a run-wide 2xx rate says: far above 19.
    assert!(admitted / 3.0 > 30.0);
    let f = the_fit(&e);
    assert!(within(f.sustained_rate_per_s, 19.0, 0.05), "{f:?}");
}

/// Events through the mock's window: `limit` per `window` s from the first request, Retry-After
/// the whole seconds until it closes, with or without `inin-ratelimit-*`.
pub(crate) fn through_window(
    limit: u32,
    window: f64,
    arrivals: &[f64],
    headers: bool,
) -> Vec<Event> {
    let mut start = f64::NEG_INFINITY;
    let mut count = 0;
    arrivals
        .iter()
        .map(|&t| {
            if t >= start + window {
                start = t;
                count = 0;
            }
            let reset = (start + window - t).ceil() as u32;
            let h = headers.then_some(RateLimitHeaders {
                allowed: limit,
                count: count + 1,
                reset,
            });
            if count < limit {
                count += 1;
                Event {
                    headers: h,
                    ..Event::admitted(t, 0.06)
                }
            } else {
                Event {
                    headers: h,
                    ..Event::refused(t, Some(f64::from(reset.max(1))))
                }
            }
        })
        .collect()
}

#[test]
fn a_fixed_window_is_named_from_retry_after_or_headers() {
    for headers in [false, true] {
        // 300 per minute, hit at 10/s: the window is spent at 30 s, a second window at 60 s.
        let mut arr = steady(0.0, 10.0, 31.0);
        arr.extend(steady(60.5, 10.0, 31.0));
        let f = the_fit(&through_window(300, 60.0, &arr, headers));
        assert_eq!(f.model, Model::FixedWindow, "headers {headers}: {f:?}");
        assert!(within(f.sustained_rate_per_s, 5.0, 0.03), "{f:?}");
        assert_eq!(f.burst, 300.0);
        assert!(within(f.window_s.unwrap(), 60.0, 0.02), "{f:?}");
        assert!(f.fit_error < 0.01, "{f:?}");
        // The client paused while the window was spent, so the counts alone could be a bucket;
        // a Retry-After of 30 s is not (it would refill a request in a fifth of a second). A
        // sliding window of the same count explains a client that paused as well: it stays an
        // alternative, not ruled out.
        let bucket = f
            .alternatives
            .iter()
            .find(|a| a.model == Model::TokenBucket);
        assert!(bucket.is_some_and(|a| a.ruled_out), "{f:?}");
        // Sending on through the spent window, the counts tell too.
        let f = the_fit(&through_window(
            300,
            60.0,
            &steady(0.0, 10.0, 90.0),
            headers,
        ));
        assert_eq!(f.model, Model::FixedWindow);
        // The bucket is far off; a sliding window of the same count comes close (one window
        // seen whole cannot tell the two apart) and is named beside it.
        let bucket = f
            .alternatives
            .iter()
            .find(|a| a.model == Model::TokenBucket);
        assert!(
            bucket.is_some_and(|a| a.fit_error > 5.0 * f.fit_error.max(0.001)),
            "{f:?}"
        );
    }
}

#[test]
fn rising_latency_before_the_first_429_names_a_queue() {
    // nginx's limit_req without nodelay: requests beyond the rate wait their turn.
    let arr = steady(0.0, 30.0, 8.0);
    let tb = TokenBucket {
        rate: 10.0,
        burst: 20.0,
    };
    let d = tb.replay(&arr);
    let mut tat: f64 = 0.0;
    let e: Vec<Event> = arr
        .iter()
        .zip(d)
        .map(|(&t, ok)| {
            if ok {
                // Served at the rate: the wait grows as the line does.
                tat = tat.max(t) + 0.1;
                Event::admitted(t, 0.002 + (tat - 0.1 - t).max(0.0))
            } else {
                Event::refused(t, None)
            }
        })
        .collect();
    let f = the_fit(&e);
    assert_eq!(f.model, Model::Queue, "{f:?}");
    assert!(within(f.sustained_rate_per_s, 10.0, 0.03), "{f:?}");
    assert!(f.latency_at_onset_s > 5.0 * f.latency_before_s, "{f:?}");
    // Without the wait, the same admissions are a token bucket.
    let flat: Vec<Event> = e
        .iter()
        .map(|x| Event {
            latency_s: 0.002,
            ..*x
        })
        .collect();
    assert_eq!(the_fit(&flat).model, Model::TokenBucket);
}

#[test]
fn no_429_is_a_limit_not_reached_and_nothing_is_no_data() {
    let e: Vec<Event> = steady(0.0, 8.0, 5.0)
        .into_iter()
        .map(|t| Event::admitted(t, 0.01))
        .collect();
    match fit(&e) {
        Estimate::NotReached {
            admitted,
            peak_rate_per_s,
            ..
        } => {
            assert_eq!(admitted, 40);
            assert_eq!(peak_rate_per_s, 8.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fit(&[]), Estimate::NoData);
}

/// A pause that lets the bucket fill up between two 429s would read low: it is left out.
#[test]
fn a_pause_that_refills_the_bucket_is_left_out_of_the_rate() {
    let mut arr = steady(0.0, 40.0, 6.0);
    arr.extend(steady(20.0, 40.0, 6.0));
    let e = through_bucket(10.0, 20.0, &arr, 0.01);
    let f = the_fit(&e);
    assert!(within(f.sustained_rate_per_s, 10.0, 0.04), "{f:?}");
}

/// A ramp that stays under the rate for a while leaves the bucket full and wastes its refill:
/// the burst is the excess since the bucket was last full, not since the first request.
#[test]
fn a_ramp_from_below_the_rate_reads_the_burst_from_when_the_bucket_was_last_full() {
    let mut arr = Vec::new();
    let mut t = 0.0;
    while t < 10.0 {
        arr.push(t);
        t += 1.0 / (2.0 * 1.5f64.powf(t));
    }
    let f = the_fit(&through_bucket(40.0, 21.0, &arr, 0.001));
    assert!((f.burst - 21.0).abs() <= 2.0, "{f:?}");
    assert!(within(f.sustained_rate_per_s, 40.0, 0.05), "{f:?}");
    // Read over the last second or so before the first 429, not over the whole ramp.
    assert!(f.evidence.burst_span_s < 3.0, "{f:?}");
}
