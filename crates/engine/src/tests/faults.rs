//! The executor under faults of its own and of the machine, on tokio's paused clock: a user
//! task that dies fails the run loudly and keeps what was measured; resource errors (out of
//! file descriptors, ports) back the user off instead of spinning, and every stop condition is
//! still honoured.

use std::sync::Arc;
use std::time::Duration;

use super::{plan, run, scripted, REQ};
use surge_record::{ErrorClass, StatusKey, StopReason};

#[tokio::test(start_paused = true)]
async fn a_task_that_dies_fails_the_run_and_keeps_what_was_measured() {
    let p = plan(&format!("{REQ}[load]\nthreads = 2\nloops = 3\n"));
    let t = scripted(10, |n, _| {
        if n == 3 {
            panic!("boom");
        }
        Ok(200)
    });
    let (out, samples) = run(&p, t).await;
    assert_eq!(
        out.stop_reason,
        StopReason::Failed("a user task panicked: boom".into())
    );
    assert!(out.partial);
    // Requests 0 and 1 answered before request 3 panicked; request 2, in flight, is cancelled:
    // every one is kept.
    let (_, cells, _) = out.aggregate.finish(0);
    let recorded: u64 = cells.iter().map(|c| c.count).sum();
    assert!(recorded >= 3, "{recorded}");
    assert_eq!(recorded, samples.len() as u64);
    // The other user's request in flight is cancelled at once, and recorded as such.
    let ok = samples
        .iter()
        .filter(|s| s.status == StatusKey::Http(200))
        .count();
    assert_eq!(ok, 2);
    assert!(samples
        .iter()
        .all(|s| s.status == StatusKey::Http(200)
            || s.status == StatusKey::Error(ErrorClass::Cancelled)));
}

#[tokio::test(start_paused = true)]
async fn resource_errors_back_off_and_the_duration_still_ends_the_run() {
    // Every connect fails at once with EMFILE: without a back-off a user would spin.
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 50\nloops = \"forever\"\nduration = \"10s\"\n"
    ));
    let t = scripted(0, |_, _| Err(ErrorClass::Resource));
    let (out, samples) = run(&p, Arc::clone(&t)).await;
    assert_eq!(out.stop_reason, StopReason::Completed);
    assert_eq!(out.issued, samples.len() as u64);
    // Backed off: at most one attempt per user per back-off step over 10 s, far fewer than a
    // spinning loop's millions.
    assert!(out.issued < 50 * 200, "{} attempts", out.issued);
    assert!(out.issued >= 50, "{}", out.issued);
    let last = samples.iter().map(|s| s.end_us).max().unwrap();
    assert!(last <= 10_000_000 + 1_000, "{last}");
}

#[tokio::test(start_paused = true)]
async fn resource_errors_honour_max_duration() {
    let p = plan(&format!(
        "{REQ}[load]\nthreads = 20\nloops = \"forever\"\n[limits]\nmax_duration = \"3s\"\n"
    ));
    let (out, _) = run(&p, scripted(0, |_, _| Err(ErrorClass::Resource))).await;
    assert_eq!(out.stop_reason, StopReason::MaxDuration);
    assert!(out.duration < Duration::from_secs(5), "{:?}", out.duration);
}
