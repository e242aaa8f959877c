//! Executor semantics on tokio's paused clock, with a scripted in-memory transport: exact
//! ramp-up start times, loops, scheduler duration and delay, on_error, caps, groups; and the
//! scripted transport and plan helpers the other test modules share: faults ([`faults`]), the
//! request mix ([`mix`]), profiles and client policies ([`profiles`]), the step interpreter
//! ([`steps`]).

mod faults;
mod mix;
mod profiles;
mod steps;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use surge_record::{ErrorClass, Sample, StatusKey, StopReason, Tick};
use surge_transport::auth::AuthRuntime;
use surge_transport::{Exchange, OutRequest, Transport};

type Script = Box<dyn Fn(u64, &str) -> Result<u16, ErrorClass> + Send + Sync>;

/// Answers after `latency` with the status the script gives for the n-th request; 429s
/// carry `Retry-After: retry_after_ms`.
struct Scripted {
    latency: Duration,
    retry_after_ms: Option<u32>,
    script: Script,
    n: Mutex<u64>,
    urls: Mutex<Vec<String>>,
}

impl Transport for Scripted {
    type Conn = ();

    fn conn(&self) {}

    async fn send(&self, _conn: &mut (), req: OutRequest<'_>) -> Exchange {
        let n = {
            let mut g = self.n.lock().unwrap();
            *g += 1;
            *g - 1
        };
        self.urls.lock().unwrap().push(req.url.to_string());
        let status = (self.script)(n, req.url);
        tokio::time::sleep(self.latency).await;
        let now = Instant::now();
        Exchange {
            status,
            ttfb: now,
            end: now,
            bytes_in: 10,
            bytes_out: 10,
            retry_after_ms: if status == Ok(429) {
                self.retry_after_ms
            } else {
                None
            },
            rate_limit: None,
            limit_key: None,
            captured: None,
        }
    }
}

impl Scripted {
    /// The URLs requested, in order.
    fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap().clone()
    }
}

fn scripted(
    latency_ms: u64,
    f: impl Fn(u64, &str) -> Result<u16, ErrorClass> + Send + Sync + 'static,
) -> Arc<Scripted> {
    Arc::new(Scripted {
        retry_after_ms: None,
        latency: Duration::from_millis(latency_ms),
        script: Box::new(f),
        n: Mutex::new(0),
        urls: Mutex::new(vec![]),
    })
}

fn plan(toml_body: &str) -> surge_plan::Plan {
    let text = format!("name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{toml_body}");
    surge_plan::load_str(&text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn run(p: &surge_plan::Plan, t: Arc<Scripted>) -> (ExecOutput, Vec<Sample>) {
    let (tx, mut rx) = mpsc::channel(100_000);
    let opts = ExecOptions {
        base_url: "http://h".into(),
        cancel: CancellationToken::new(),
        stop_now: CancellationToken::new(),
        grace: Duration::from_secs(1),
        samples: Some(tx),
        on_tick: None,
        seed: Some(7),
        segment: None,
        workers: Default::default(),
        dial: None,
    };
    let out = execute(p, t, AuthRuntime::None, opts).await;
    let mut v = Vec::new();
    while let Ok(s) = rx.try_recv() {
        if let surge_record::samples::Streamed::Sample(s) = s {
            v.push(s.sample);
        }
    }
    v.sort_by_key(|s| (s.start_us, s.user));
    (out, v)
}

const REQ: &str = "[[request]]\nname = \"a\"\npath = \"/a\"\n";

#[tokio::test(start_paused = true)]
async fn seed_ramp_up_starts_each_thread_exactly_on_time() {
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 50\nramp_up = \"10s\"\nloops = 10\n"
    ));
    let (out, samples) = run(&p, scripted(100, |_, _| Ok(200))).await;
    assert_eq!(out.issued, 500);
    assert_eq!(samples.len(), 500);
    for user in 0..50u32 {
        let first = samples
            .iter()
            .filter(|s| s.user == user)
            .map(|s| s.start_us)
            .min()
            .unwrap();
        assert_eq!(first, u64::from(user) * 200_000, "thread {user}");
        // 10 loops back to back, 100 ms each.
        let n = samples.iter().filter(|s| s.user == user).count();
        assert_eq!(n, 10);
    }
    assert_eq!(out.stop_reason, StopReason::Completed);
    assert!(!out.partial);
    assert_eq!(out.iterations, 500);
}

#[tokio::test(start_paused = true)]
async fn scheduler_delay_and_duration_bound_the_run() {
    let p = plan(&format!("{REQ}[load]\nthreads = 4\nramp_up = \"4s\"\nloops = \"forever\"\ndelay = \"1s\"\nduration = \"3s\"\nthink_time = \"500ms\"\n"));
    let (out, samples) = run(&p, scripted(0, |_, _| Ok(200))).await;
    // Users start at 1 s, 2 s, 3 s (the 4th is due at 4 s, after the end at 4 s: never starts).
    let mut users: Vec<u32> = samples.iter().map(|s| s.user).collect();
    users.dedup();
    users.sort();
    users.dedup();
    assert_eq!(users, vec![0, 1, 2]);
    assert!(samples
        .iter()
        .all(|s| s.start_us >= 1_000_000 && s.start_us < 4_000_000));
    // Think time 500 ms before each request: user 0 sends at 1.5, 2.0, …, 3.5 s → 5 requests.
    assert_eq!(samples.iter().filter(|s| s.user == 0).count(), 5);
    assert_eq!(
        samples.iter().find(|s| s.user == 0).unwrap().start_us,
        1_500_000
    );
    assert_eq!(out.stop_reason, StopReason::Completed);
}

#[tokio::test(start_paused = true)]
async fn on_error_semantics() {
    let two = format!("{REQ}[[request]]\nname = \"b\"\npath = \"/b\"\n");
    // Every /a fails with 500.
    let fail_a = || {
        scripted(10, |_, url| {
            if url.ends_with("/a") {
                Ok(500)
            } else {
                Ok(200)
            }
        })
    };
    let cases = [
        ("continue", 6, 3, "completed"),
        ("next_loop", 3, 0, "completed"),
        ("stop_thread", 1, 0, "completed"),
        ("stop_test", 1, 0, "stop_test"),
    ];
    for (mode, total, b_count, reason) in cases {
        let p = plan(&format!(
            "{two}[load]\nthreads = 1\nloops = 3\non_error = \"{mode}\"\n"
        ));
        let t = fail_a();
        let (out, samples) = run(&p, t.clone()).await;
        assert_eq!(samples.len(), total, "{mode}");
        assert_eq!(
            samples.iter().filter(|s| s.step == 1).count(),
            b_count,
            "{mode}"
        );
        assert_eq!(out.stop_reason.to_string(), reason, "{mode}");
    }
    // stop_test stops every user, not only the failing one.
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 3\nramp_up = \"3s\"\nloops = 5\non_error = \"stop_test\"\n"
    ));
    let (out, samples) = run(
        &p,
        scripted(10, |n, _| {
            if n == 2 {
                Err(ErrorClass::Reset)
            } else {
                Ok(200)
            }
        }),
    )
    .await;
    assert_eq!(out.stop_reason, StopReason::StopTest);
    assert!(out.partial);
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[2].status, StatusKey::Error(ErrorClass::Reset));
}

#[tokio::test(start_paused = true)]
async fn max_requests_caps_the_run_exactly() {
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 7\nloops = \"forever\"\n[limits]\nmax_requests = 1000\n"
    ));
    let (out, samples) = run(&p, scripted(5, |_, _| Ok(200))).await;
    assert_eq!(out.issued, 1000);
    assert_eq!(samples.len(), 1000);
    assert_eq!(out.aggregate.live().0, 1000);
    assert_eq!(out.stop_reason, StopReason::MaxRequests);
}

#[tokio::test(start_paused = true)]
async fn max_duration_stops_and_in_flight_requests_get_a_grace_then_are_cancelled() {
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 2\nloops = \"forever\"\n[limits]\nmax_duration = \"10s\"\n"
    ));
    // Each request takes 4 s (0-4, 4-8, 8-12 per user); the grace is 1 s: the two in flight at
    // 10 s are cancelled at 11 s.
    let (out, samples) = run(&p, scripted(4_000, |_, _| Ok(200))).await;
    assert_eq!(out.stop_reason, StopReason::MaxDuration);
    let ok = samples
        .iter()
        .filter(|s| s.status == StatusKey::Http(200))
        .count();
    let cancelled = samples
        .iter()
        .filter(|s| s.status == StatusKey::Error(ErrorClass::Cancelled))
        .count();
    assert_eq!((ok, cancelled), (4, 2));
    assert_eq!(out.duration, Duration::from_secs(11));
}

#[tokio::test(start_paused = true)]
async fn csv_data_shared_by_all_threads_is_handed_out_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let csv: String = std::iter::once("flow_id".to_string())
        .chain((1..=6).map(|i| format!("f{i}")))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("flows.csv"), csv).unwrap();
    let text = "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[data]]\nkind = \"csv\"\nfile = \"flows.csv\"\non_eof = \"stop_thread\"\n[[request]]\nname = \"p\"\npath = \"/publish?flow={flow_id}\"\n[load]\nthreads = 2\nramp_up = \"1s\"\nloops = 10\n".to_string();
    let p = surge_plan::load_str(&text, &dir.path().join("s.toml"), &[]).unwrap();
    let t = scripted(100, |_, _| Ok(200));
    let (out, _) = run(&p, t.clone()).await;
    let urls = t.urls.lock().unwrap().clone();
    let mut flows: Vec<String> = urls
        .iter()
        .map(|u| u.rsplit('=').next().unwrap().to_string())
        .collect();
    flows.sort();
    assert_eq!(
        flows,
        vec!["f1", "f2", "f3", "f4", "f5", "f6"],
        "each row once, then the threads stop"
    );
    assert_eq!(out.issued, 6);
}

#[tokio::test(start_paused = true)]
async fn serialized_groups_run_one_after_another() {
    let text = "[[request]]\nname = \"a\"\npath = \"/a\"\n[[request]]\nname = \"b\"\npath = \"/b\"\nserialize_groups = true\n[[group]]\nname = \"first\"\nrequests = [\"a\"]\n[group.load]\nthreads = 2\nloops = 2\n[[group]]\nname = \"second\"\nrequests = [\"b\"]\n[group.load]\nthreads = 3\nloops = 1\n";
    // serialize_groups is a top-level key: it goes before any table.
    let text = format!(
        "serialize_groups = true\nname = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{}",
        text.replace("serialize_groups = true\n", "")
    );
    let p = surge_plan::load_str(&text, std::path::Path::new("t.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.max_users(), 3);
    let (out, samples) = run(&p, scripted(1_000, |_, _| Ok(200))).await;
    assert_eq!(out.issued, 7);
    let last_a = samples
        .iter()
        .filter(|s| s.step == 0)
        .map(|s| s.end_us)
        .max()
        .unwrap();
    let first_b = samples
        .iter()
        .filter(|s| s.step == 1)
        .map(|s| s.start_us)
        .min()
        .unwrap();
    assert!(first_b >= last_a, "group 2 starts after group 1 ends");
    assert_eq!(
        samples.iter().filter(|s| s.step == 1).map(|s| s.user).min(),
        Some(2),
        "user ids continue across groups"
    );
}

#[tokio::test(start_paused = true)]
async fn on_tick_can_abort_the_run() {
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 1\nloops = \"forever\"\n[limits]\nmax_duration = \"60s\"\n"
    ));
    let opts = ExecOptions {
        base_url: "http://h".into(),
        cancel: CancellationToken::new(),
        stop_now: CancellationToken::new(),
        grace: Duration::from_secs(1),
        samples: None,
        on_tick: Some(Arc::new(|t: &Tick| {
            (t.elapsed >= Duration::from_secs(5)).then(|| "breach".to_string())
        })),
        seed: None,
        segment: None,
        workers: Default::default(),
        dial: None,
    };
    let out = execute(&p, scripted(100, |_, _| Ok(200)), AuthRuntime::None, opts).await;
    assert_eq!(out.stop_reason, StopReason::Aborted("breach".into()));
    assert!(out.partial);
    assert!(out.duration < Duration::from_secs(6));
}
