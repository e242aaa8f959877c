use std::time::Duration;

use surge_record::synthetic;

use super::*;
use crate::page::message;

fn tick_of(result: &RunResult, t: u32) -> Tick {
    Tick {
        elapsed: Duration::from_millis(u64::from(t) * 1_000 + 1_100),
        active_users: 7,
        second: result.timeline.get(t as usize).cloned(),
        cells: result.cells.clone(),
        ..Tick::default()
    }
}

#[test]
fn ticks_add_rows_and_the_finish_adds_the_seconds_no_tick_drained() {
    let result = synthetic::result(20, &["a"]);
    let hub = Hub::new();
    hub.begin(RunInfo {
        scenario: "s".into(),
        run_id: "r".into(),
        segment: "1/2".into(),
    });
    for t in 0..5 {
        hub.tick(&tick_of(&result, t));
    }
    let s = hub.snapshot();
    assert_eq!(s.rows.len(), 5);
    assert_eq!(s.active_users, 7);
    assert!(!s.finished);
    hub.finish(&result);
    let s = hub.snapshot();
    assert!(s.finished);
    assert_eq!(s.active_users, 0);
    assert_eq!(
        s.rows.iter().map(|r| r.t).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    assert_eq!(s.cells, result.cells);
}

#[test]
fn a_feed_message_carries_the_rows_it_owes_and_the_end() {
    let result = synthetic::result(6, &["a"]);
    let hub = Hub::new();
    for t in 0..4 {
        hub.tick(&tick_of(&result, t));
    }
    let (all, next, end) = hub.read(|s| message(s, None));
    assert_eq!(next, Some(4));
    assert!(!end);
    let v: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(4));
    let (later, _, _) = hub.read(|s| message(s, Some(3)));
    let v: serde_json::Value = serde_json::from_str(&later).unwrap();
    assert_eq!(v["rows"][0]["t"], 3);
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(1));
    hub.finish(&result);
    hub.report_written("out/report.html".into());
    let (last, next, end) = hub.read(|s| message(s, next));
    assert!(end);
    assert_eq!(next, Some(6));
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["finished"], true);
    assert_eq!(v["report"], true);
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(2));
}

#[test]
fn the_hub_keeps_the_last_hour_of_rows() {
    let hub = Hub::new();
    for t in 0..(ROWS_KEPT as u32 + 10) {
        hub.tick(&Tick {
            second: Some(Second {
                t,
                ..Second::default()
            }),
            ..Tick::default()
        });
    }
    let s = hub.snapshot();
    assert_eq!(s.rows.len(), ROWS_KEPT);
    assert_eq!(s.rows.front().map(|r| r.t), Some(10));
}

#[test]
fn the_page_holds_the_run_so_far_and_no_external_asset() {
    let hub = Hub::new();
    hub.begin(RunInfo {
        scenario: "</script><b>".into(),
        ..RunInfo::default()
    });
    let (initial, _, _) = hub.read(|s| message(s, None));
    let html = crate::page::html(&initial);
    assert!(html.contains(crate::page::CSP));
    assert!(!html.contains("</script><b>"), "a name closed the script");
    assert!(!html.contains("src=") && !html.contains("href=\"http"));
}
