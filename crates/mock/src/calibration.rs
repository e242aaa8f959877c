//! The seed's JMeter scenario as a driver (50 threads, thread i starting at i × 0.2 s, 10 loops, one
//! token, one publish per iteration over 500 distinct flows, no think time, a 429 is just a failed
//! sample), written once and run two ways: in-process on tokio's paused clock (the `seed` preset's
//! calibration, below) and over loopback TCP (`tests/mock_tcp.rs`). How a publish is sent is the
//! caller's; the driver owns the schedule and the tally.

use std::collections::BTreeMap;
use std::future::Future;

use tokio::time::{Duration, Instant};

use super::flows_store::flow_id;

/// Threads of the seed's thread group.
pub const THREADS: u32 = 50;
/// Loops of each thread.
pub const LOOPS: u32 = 10;
/// Thread i starts at i × this (10 s ramp-up over 50 threads).
pub const STAGGER: Duration = Duration::from_millis(200);

/// What the scenario saw.
#[derive(Debug, Default)]
pub struct SeedOutcome {
    /// Responses per status.
    pub by_status: BTreeMap<u16, u64>,
    /// `Retry-After` as sent (empty when absent) → 429s.
    pub retry_after: BTreeMap<String, u64>,
    /// When the first 429 came back, from the start.
    pub first_429: Option<Duration>,
    /// When the last response came back, from the start.
    pub duration: Duration,
}

/// Runs the seed scenario: `publish(flow_id)` sends one publish and answers its status and
/// `Retry-After` header. Flow ids are the mock's initial flows for `seed` (thread i publishes flows
/// 10·i + 1 … 10·i + 10). Times are `tokio::time`, so the paused clock works.
///
/// # Panics
/// When a thread's task panics (a test's send failed).
pub async fn run_seed_scenario<F, Fut>(seed: u64, publish: F) -> SeedOutcome
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = (u16, Option<String>)> + Send,
{
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..THREADS {
        let publish = publish.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(t0 + STAGGER * i).await;
            let mut seen = Vec::new();
            for k in 0..LOOPS {
                let (status, ra) = publish(flow_id(seed, i * LOOPS + k + 1)).await;
                seen.push((status, ra, Instant::now() - t0));
            }
            seen
        }));
    }
    let mut out = SeedOutcome::default();
    for t in tasks {
        for (status, ra, at) in t.await.expect("a seed-scenario thread panicked") {
            *out.by_status.entry(status).or_default() += 1;
            if status == 429 {
                *out.retry_after.entry(ra.unwrap_or_default()).or_default() += 1;
                out.first_429 = Some(out.first_429.map_or(at, |f| f.min(at)));
            }
            out.duration = out.duration.max(at);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod seed_scenario {
    use super::{run_seed_scenario, SeedOutcome as Outcome};
    use crate::{router, MockConfig, MockState};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    /// Runs the seed scenario against `router(state)` without a socket.
    pub async fn run_in_process(state: MockState) -> Outcome {
        let app = router(state.clone());
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!(
                "{}:{}",
                state.cfg().clients[0].id,
                state.cfg().clients[0].secret
            ),
        );
        let req = Request::post("/oauth/token")
            .header("authorization", format!("Basic {auth}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials"))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let token = v["access_token"].as_str().unwrap().to_string();
        run_seed_scenario(state.cfg().seed, move |flow| {
            let (app, token) = (app.clone(), token.clone());
            async move {
                let req = Request::post(format!("/api/v2/flows/actions/publish?flow={flow}"))
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Body::from("null"))
                    .unwrap();
                let resp = app.oneshot(req).await.unwrap();
                let ra = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (resp.status().as_u16(), ra)
            }
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn seed_preset_reproduces_the_seed_run_on_a_paused_clock() {
        let state = MockState::new(MockConfig::preset(crate::Preset::Seed));
        let out = run_in_process(state.clone()).await;
        println!("{out:?}");
        let total: u64 = out.by_status.values().sum();
        assert_eq!(total, 500);
        let n429 = out.by_status.get(&429).copied().unwrap_or(0);
        assert!((50..=100).contains(&n429), "429 share {n429}/500");
        assert_eq!(
            out.retry_after.get("2").copied(),
            Some(n429),
            "every 429 says Retry-After: 2"
        );
        let first = out.first_429.expect("a 429").as_secs_f64();
        assert!((20.0..=40.0).contains(&first), "first 429 at {first} s");
        assert_eq!(out.by_status.get(&200).copied().unwrap_or(0) + n429, 500);
        let stats = state.stats();
        assert_eq!(
            stats
                .throttled_by_limit
                .get("HYPOTHESIS.publish.compile.backlog.capacity"),
            Some(&n429)
        );
        assert_eq!(
            stats
                .requests_by_path
                .get("POST /api/v2/flows/actions/publish"),
            Some(&500)
        );
    }
}

#[cfg(test)]
mod robustness {
    use super::seed_scenario::run_in_process;
    use crate::{MockConfig, MockState, Preset};

    /// The calibration is not a lucky seed: other seeds land in the same bands.
    #[tokio::test(start_paused = true)]
    async fn seed_preset_calibration_holds_across_seeds() {
        for seed in 2..=9 {
            let mut cfg = MockConfig::preset(Preset::Seed);
            cfg.seed = seed;
            let out = run_in_process(MockState::new(cfg)).await;
            let n429 = out.by_status.get(&429).copied().unwrap_or(0);
            let first = out.first_429.map(|d| d.as_secs_f64());
            println!(
                "seed {seed}: 429s {n429}, first {first:?}, RA {:?}, end {:?}",
                out.retry_after, out.duration
            );
            assert!((50..=100).contains(&n429), "seed {seed}: {n429} 429s");
            assert!(
                first.is_some_and(|f| (20.0..=40.0).contains(&f)),
                "seed {seed}: first 429 at {first:?}"
            );
            assert_eq!(out.retry_after.get("2"), Some(&n429));
            assert!(
                out.duration.as_secs() < 55,
                "seed {seed}: the scenario took {:?}",
                out.duration
            );
        }
    }

    /// Without the preset's 2 s floor the computed wait until a backlog slot frees shows: under a second.
    #[tokio::test(start_paused = true)]
    async fn seed_backlog_computed_wait_is_under_a_second_without_the_floor() {
        let mut cfg = MockConfig::preset(Preset::Seed);
        cfg.retry_after.min_s = 1;
        let out = run_in_process(MockState::new(cfg)).await;
        let n429 = out.by_status.get(&429).copied().unwrap_or(0);
        assert!(n429 > 0);
        assert_eq!(
            out.retry_after.get("1"),
            Some(&n429),
            "{:?}",
            out.retry_after
        );
    }
}
