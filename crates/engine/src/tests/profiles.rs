//! Profiles and client policies on tokio's paused clock: arrival-rate accuracy, dropped
//! iterations, user curves, Retry-After honoured, attempts capped, pacing never above its rate.

use std::sync::Arc;

use super::{plan, run, scripted, REQ};
use surge_record::{Outcome, StatusKey};

#[tokio::test(start_paused = true)]
async fn constant_arrival_rate_is_accurate_over_a_minute() {
    let p = plan(&format!("{REQ}[load]\nprofile = \"constant_arrival_rate\"\nrate = 12.5\nduration = \"60s\"\nmax_users = 50\n"));
    let (out, samples) = run(&p, scripted(80, |_, _| Ok(200))).await;
    // 12.5/s × 60 s = 750 iterations, within ±1 %.
    let n = samples.len() as f64;
    assert!((n - 750.0).abs() <= 7.5, "{n} iterations");
    assert_eq!(out.aggregate.totals_dropped(), 0);
    // Evenly spaced: the intended starts are 80 ms apart exactly.
    let mut starts: Vec<u64> = samples.iter().map(|s| s.intended_us).collect();
    starts.sort();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 80_000),
        "{:?}",
        &starts[..5]
    );
}

#[tokio::test(start_paused = true)]
async fn arrivals_with_no_free_user_are_dropped_and_counted() {
    // 10/s for 10 s, but 2 users at most and each iteration takes 1 s: 2 served per second.
    let p = plan(&format!("{REQ}[load]\nprofile = \"constant_arrival_rate\"\nrate = 10\nduration = \"10s\"\npre_allocated_users = 1\nmax_users = 2\n"));
    let (out, samples) = run(&p, scripted(1_000, |_, _| Ok(200))).await;
    let dropped = out.aggregate.totals_dropped();
    assert_eq!(
        samples.len() as u64 + dropped,
        100,
        "every arrival is served or dropped"
    );
    // Two users, 1 s each: 2 a second, less the arrivals due at the very instant a user frees up.
    assert!(
        (18..=20).contains(&samples.len()),
        "{} served",
        samples.len()
    );
}

#[tokio::test(start_paused = true)]
async fn ramping_arrival_rate_delivers_its_integral() {
    let p = plan(&format!(
        "{REQ}[load]\nprofile = \"ramping_arrival_rate\"\nstart_rate = 0\nmax_users = 20\nstages = [{{ duration = \"30s\", target = 10 }}, {{ duration = \"30s\", target = 10 }}]\n"
    ));
    let (_, samples) = run(&p, scripted(10, |_, _| Ok(200))).await;
    // ∫ = 150 + 300 arrivals.
    assert!(
        (samples.len() as f64 - 450.0).abs() <= 4.5,
        "{}",
        samples.len()
    );
}

#[tokio::test(start_paused = true)]
async fn stepping_adds_users_on_time_and_steps_down() {
    let p = plan(&format!(
        "{REQ}[load]\nprofile = \"stepping\"\nstep_users = 2\nstep_every = \"5s\"\nmax_users = 6\nhold = \"5s\"\nstep_down_users = 3\nstep_down_every = \"5s\"\nthink_time = \"100ms\"\n"
    ));
    let (out, samples) = run(&p, scripted(100, |_, _| Ok(200))).await;
    let (_, _, timeline) = out.aggregate.finish(0);
    let active: Vec<u32> = timeline.iter().map(|s| s.active_users).collect();
    // 0 users for 5 s, 2 until 10 s, 4 until 15 s, 6 until 20 s (hold 5 s), 3 until 25 s, 0.
    assert_eq!(&active[..4], &[0, 0, 0, 0]);
    assert_eq!(active[6], 2);
    assert_eq!(active[12], 4);
    assert_eq!(active[17], 6);
    assert_eq!(active[22], 3);
    let first = samples.iter().map(|s| s.start_us).min().unwrap();
    assert_eq!(
        first, 5_100_000,
        "first user at 5 s, after its 100 ms think time"
    );
    assert_eq!(samples.iter().map(|s| s.user).max(), Some(5));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_within_10ms_and_counted() {
    let p = plan(&format!("{REQ}[load]\nthreads = 1\nloops = 3\n[on_429]\npolicy = \"retry_after\"\nmax_attempts = 4\n"));
    // Every first attempt is throttled with Retry-After: 2; retries succeed.
    let mut t = scripted(5, |n, _| if n % 2 == 0 { Ok(429) } else { Ok(200) });
    Arc::get_mut(&mut t).unwrap().retry_after_ms = Some(2_000);
    let (out, samples) = run(&p, t).await;
    assert_eq!(samples.len(), 6);
    for pair in samples.chunks(2) {
        let (first, retry) = (pair[0], pair[1]);
        assert_eq!((first.attempt, retry.attempt), (1, 2));
        assert!(!first.last && retry.last);
        let gap = retry.start_us - first.end_us;
        assert!(
            (2_000_000..=2_010_000).contains(&gap),
            "retried {gap} µs after the 429"
        );
        assert_eq!(retry.retry_wait_ms, 2_000);
    }
    let (totals, _, _) = out.aggregate.finish(3);
    assert_eq!(totals.retries, 3);
    assert_eq!(
        totals.first_attempt_by_outcome.get(&Outcome::Throttled),
        Some(&3)
    );
    assert_eq!(totals.final_by_outcome.get(&Outcome::Success), Some(&3));
    assert!((totals.retry_wait_s - 6.0).abs() < 1e-9);
}

#[tokio::test(start_paused = true)]
async fn retries_give_up_after_max_attempts() {
    let p = plan(&format!("{REQ}[load]\nthreads = 2\nloops = 2\n[on_429]\npolicy = \"backoff\"\nmax_attempts = 3\nbase = \"100ms\"\n"));
    let (out, samples) = run(&p, scripted(5, |_, _| Ok(429))).await;
    assert_eq!(samples.len(), 2 * 2 * 3);
    assert!(samples.iter().all(|s| s.attempt <= 3));
    assert_eq!(samples.iter().filter(|s| s.last).count(), 4);
    assert!(samples
        .iter()
        .filter(|s| s.attempt == 3)
        .all(|s| s.last && s.status == StatusKey::Http(429)));
    let (totals, _, _) = out.aggregate.finish(4);
    assert_eq!(totals.final_by_outcome.get(&Outcome::Throttled), Some(&4));
    // Full jitter: each wait is within [0, base × 2^(n-1)].
    assert!(samples.iter().all(|s| s.retry_wait_ms <= 200));
}

#[tokio::test(start_paused = true)]
async fn pace_never_exceeds_its_rate() {
    let p = plan(&format!("{REQ}[load]\nthreads = 20\nloops = \"forever\"\nduration = \"30s\"\n[on_429]\npolicy = \"pace\"\nrate = \"300/m\"\n"));
    let (_, samples) = run(&p, scripted(20, |_, _| Ok(200))).await;
    let mut starts: Vec<u64> = samples.iter().map(|s| s.start_us).collect();
    starts.sort();
    // 5/s: sends are 200 ms apart, so any 1 s window holds at most 5.
    for (i, t) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .take_while(|u| **u < t + 1_000_000)
            .count();
        assert!(in_window <= 5, "{in_window} sends within 1 s from {t} µs");
    }
    assert!(
        (145..=151).contains(&starts.len()),
        "{} sends in 30 s at 5/s",
        starts.len()
    );
    assert!(samples.iter().any(|s| s.pace_wait_ms > 0));
}

#[tokio::test(start_paused = true)]
async fn pace_with_retry_after_retries_paced() {
    let p = plan(&format!("{REQ}[load]\nthreads = 4\nloops = 5\n[on_429]\npolicy = \"pace\"\nrate = 2\nretry = \"retry_after\"\nmax_attempts = 2\n"));
    let mut t = scripted(5, |n, _| if n == 3 { Ok(429) } else { Ok(200) });
    Arc::get_mut(&mut t).unwrap().retry_after_ms = Some(1_000);
    let (out, samples) = run(&p, t).await;
    assert_eq!(samples.len(), 21);
    assert_eq!(out.aggregate.live().1, 20);
    let mut starts: Vec<u64> = samples.iter().map(|s| s.start_us).collect();
    starts.sort();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] >= 500_000),
        "2/s pacing holds for retries too"
    );
}
