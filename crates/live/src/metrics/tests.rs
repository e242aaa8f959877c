use std::sync::Arc;

use surge_record::synthetic;

use super::*;
use crate::hub::RunInfo;

#[test]
fn a_finished_hub_serves_the_results_counts_and_histograms() {
    let result = synthetic::result(10, &["get flow", "post"]);
    let hub = Arc::new(Hub::new());
    hub.begin(RunInfo {
        scenario: "soak".into(),
        run_id: "soak-1".into(),
        segment: String::new(),
    });
    hub.finish(&result);
    let text = render(&hub);
    assert!(text.contains(r#"surge_run_info{scenario="soak",run_id="soak-1",segment=""} 1"#));
    assert!(text.contains("surge_run_finished 1"), "{text}");
    for c in &result.cells {
        let line = format!(
            "surge_requests_total{{label=\"{}\",status=\"{}\",outcome=\"{}\"}} {}",
            c.label,
            c.status.label(),
            c.outcome.name(),
            c.count
        );
        assert!(text.contains(&line), "{line} missing from\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn classic_buckets_count_every_value_once_and_keep_a_bound_in_its_bucket() {
    let mut h = Hist::new();
    for us in [1_000, 5_000, 5_000, 120_000, 40_000_000] {
        h.record(us);
    }
    let (sum, count, buckets) = classic(&h);
    assert_eq!(count, 5);
    assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 5);
    // 1 ms and both 5 ms in le=0.005; 120 ms in le=0.25; 40 s only in +Inf.
    assert_eq!(buckets[0], (0.005, 3));
    assert_eq!(buckets[5], (0.25, 1));
    assert_eq!(buckets.last().map(|b| b.1), Some(1));
    assert!((sum - 40.131).abs() / 40.131 < 0.001, "sum {sum}");
}

#[test]
fn an_empty_hub_serves_zeros_and_no_cell() {
    let hub = Arc::new(Hub::new());
    let text = render(&hub);
    assert!(text.contains("surge_active_users 0"), "{text}");
    assert!(text.contains("surge_run_finished 0"));
    assert!(!text.contains("surge_requests_total{"));
}
