//! `/metrics`: the hub's snapshot in the OpenMetrics text format, through the official
//! `prometheus-client` crate. Every series is read from the snapshot at scrape time; nothing
//! is counted twice and nothing here touches the hot path.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `surge_run_info` | info | `scenario`, `run_id`, `segment` |
//! | `surge_requests_total` | counter | `label`, `status`, `outcome` |
//! | `surge_retries_total` | counter | `label`, `status`, `outcome` |
//! | `surge_request_duration_seconds` | histogram | `label`, `outcome` |
//! | `surge_active_users` | gauge | |
//! | `surge_retry_after_seconds` | gauge | |
//! | `surge_elapsed_seconds` | gauge | |
//! | `surge_run_finished` | gauge | |
//! | `surge_probe_rate_per_second` | gauge | |

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use surge_record::Hist;

use super::hub::{Hub, Snapshot};

/// The classic buckets of `surge_request_duration_seconds` (upper bounds, seconds; `+Inf`
/// follows): Prometheus' defaults, with 25 ms and 250 ms steps where API latencies sit.
pub const BUCKETS_S: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes the hub's series.
#[derive(Debug)]
struct HubCollector(Arc<Hub>);

impl Collector for HubCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.0.read(|s| encode_snapshot(s, &mut enc))
    }
}

/// The text a scrape of `hub` reads now.
pub fn render(hub: &Arc<Hub>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(HubCollector(Arc::clone(hub))));
    let mut out = String::new();
    // Writing to a String cannot fail; an encoder error would be a bug of the encoder.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

type Labels = Vec<(&'static str, String)>;

fn encode_snapshot(s: &Snapshot, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let info: Labels = vec![
        ("scenario", s.info.scenario.clone()),
        ("run_id", s.info.run_id.clone()),
        ("segment", s.info.segment.clone()),
    ];
    enc.encode_descriptor(
        "surge_run",
        "The run these series describe.",
        None,
        MetricType::Info,
    )?
    .encode_info(&info)?;

    let mut requests = enc.encode_descriptor(
        "surge_requests",
        "Attempts completed, per request label, status (or transport error) and outcome class.",
        None,
        MetricType::Counter,
    )?;
    for c in &s.cells {
        let l = cell_labels(&c.label, &c.status.label(), c.outcome.name());
        ConstCounter::new(c.count).encode(requests.encode_family(&l)?)?;
    }
    let mut retries = enc.encode_descriptor(
        "surge_retries",
        "Of surge_requests_total, the attempts that were retries.",
        None,
        MetricType::Counter,
    )?;
    for c in &s.cells {
        let l = cell_labels(&c.label, &c.status.label(), c.outcome.name());
        ConstCounter::new(c.retries).encode(retries.encode_family(&l)?)?;
    }

    // One histogram per label × outcome: a fast 429 never mixes with a success.
    let mut by_outcome: BTreeMap<(&str, &str), Hist> = BTreeMap::new();
    for c in &s.cells {
        by_outcome
            .entry((c.label.as_str(), c.outcome.name()))
            .or_default()
            .add(&c.service_hist);
    }
    let mut hist = enc.encode_descriptor(
        "surge_request_duration_seconds",
        "Service time (request sent to response read), per request label and outcome class.",
        None,
        MetricType::Histogram,
    )?;
    for ((label, outcome), h) in &by_outcome {
        let l: Labels = vec![
            ("label", (*label).to_string()),
            ("outcome", (*outcome).to_string()),
        ];
        let (sum, count, buckets) = classic(h);
        hist.encode_family(&l)?
            .encode_histogram::<Labels>(sum, count, &buckets, None)?;
    }

    gauge(
        enc,
        "surge_active_users",
        "Users active now.",
        f64::from(s.active_users),
    )?;
    if let Some(r) = s.last_retry_after_s {
        gauge(
            enc,
            "surge_retry_after_seconds",
            "The largest Retry-After of the last second in which a 429 carried one.",
            f64::from(r),
        )?;
    }
    gauge(
        enc,
        "surge_elapsed_seconds",
        "Time since the run's start.",
        s.elapsed.as_secs_f64(),
    )?;
    gauge(
        enc,
        "surge_run_finished",
        "1 once the measurement has ended and the counters are result.json's.",
        if s.finished { 1.0 } else { 0.0 },
    )?;
    if let Some(p) = s.probe {
        gauge(
            enc,
            "surge_probe_rate_per_second",
            "The arrival rate surge probe's search is trying now.",
            p.rate,
        )?;
    }
    Ok(())
}

fn cell_labels(label: &str, status: &str, outcome: &str) -> Labels {
    vec![
        ("label", label.to_string()),
        ("status", status.to_string()),
        ("outcome", outcome.to_string()),
    ]
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: f64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

/// An HDR histogram (µs) as a classic one: sum (seconds), count, and each bucket's own count
/// (the encoder makes them cumulative), `+Inf` last. Values are read to the HDR's resolution
/// (three significant digits), so the sum is exact to 0.1 %.
pub fn classic(h: &Hist) -> (f64, u64, Vec<(f64, u64)>) {
    let mut buckets: Vec<(f64, u64)> = BUCKETS_S.iter().map(|b| (*b, 0)).collect();
    buckets.push((f64::MAX, 0));
    let mut sum_us = 0.0;
    for v in h.0.iter_recorded() {
        let at = v.value_iterated_to();
        let n = v.count_at_value();
        sum_us += h.0.median_equivalent(at) as f64 * n as f64;
        // The bucket by the range's low end: a value recorded exactly at a bound stays in it.
        let s = h.0.lowest_equivalent(at) as f64 / 1e6;
        let i = BUCKETS_S
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS_S.len());
        buckets[i].1 += n;
    }
    (sum_us / 1e6, h.len(), buckets)
}

#[cfg(test)]
mod tests;
