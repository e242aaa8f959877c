//! What a result says about a distributed run: which segment of which run it is (with the
//! per-second histograms a merge needs to recompute each second's quantiles exactly), or, for a
//! merged result, which segments went into it and how each one's clock started.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hist::Hist;
use super::sample::Outcome;

/// The `distributed` section of `result.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Distributed {
    /// The run every segment belongs to (shared by its N segments).
    pub run_id: String,
    /// N: how many segments the run was split into.
    pub segments: u32,
    /// This result's segment (from 1); absent in a merged result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
    /// The start barrier (`--start-at`), RFC 3339, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// One entry per segment: this segment's own, or every merged segment's.
    pub members: Vec<Member>,
    /// Segments absent from a merge made with `--allow-missing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<u32>,
    /// A digest of the whole plan the segment ran (requests, methods, paths, headers, bodies,
    /// steps, data, load, policy): segments of one run differ in nothing but their share, and a
    /// merge refuses segments whose fingerprints differ. Absent in segments written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_fingerprint: Option<String>,
    /// Per-second latency histograms (segment results only), so a merge recomputes each
    /// second's quantiles from every sample rather than from the segments' quantiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub second_hists: Vec<SecondHists>,
}

impl Distributed {
    /// How far apart the members' starts were by their own clocks, ms.
    pub fn start_spread_ms(&self) -> u64 {
        let starts = self.members.iter().map(|m| m.started_unix_ms);
        starts.clone().max().unwrap_or(0) - starts.min().unwrap_or(0)
    }

    /// The latest member's start after the barrier, ms (None without a barrier).
    pub fn latest_late_ms(&self) -> Option<f64> {
        self.members
            .iter()
            .filter_map(|m| m.late_ms)
            .fold(None, |a: Option<f64>, l| Some(a.map_or(l, |a| a.max(l))))
    }
}

/// One segment as it ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// Its index, from 1.
    pub segment: u32,
    /// The host (pod) it ran on.
    pub host: String,
    /// Its start by its own clock, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// How late it began after the barrier, by its own clock (ms), when there was a barrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_ms: Option<f64>,
    /// Its clock's offset from segment 1's clock, ms, when it can be known: 0 for segments on
    /// one host (one clock). Between hosts it is not measured (NTP keeps nodes typically within
    /// a few ms), and this is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<f64>,
    /// Its wall duration, seconds.
    pub duration_s: f64,
    /// Attempts it recorded.
    pub requests: u64,
    /// Why it ended.
    pub stop_reason: super::StopReason,
    /// True when it did not run its share to the end.
    pub partial: bool,
}

/// The latency histograms of one second, per outcome class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SecondHists {
    /// Seconds since the segment's start.
    pub t: u32,
    /// Service- and response-time histograms per outcome class.
    pub by_outcome: BTreeMap<Outcome, HistPair>,
    /// Transaction time histograms by transaction and outcome.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transactions: BTreeMap<String, BTreeMap<Outcome, Hist>>,
}

/// A service-time and a response-time histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct HistPair {
    /// Service time (sent → received), µs.
    pub service: Hist,
    /// Response time from the intended start, µs.
    pub response: Hist,
}

impl HistPair {
    /// Adds every count of `other`.
    pub fn add(&mut self, other: &HistPair) {
        self.service.add(&other.service);
        self.response.add(&other.response);
    }
}

/// This machine's host name (a pod's name in Kubernetes), for [`Member::host`].
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
