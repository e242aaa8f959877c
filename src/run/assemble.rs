//! A run's result, assembled from what the engine measured: one function for `surge run`, its
//! segments and `surge probe`'s searches.

use surge_engine as engine;
use surge_mock::Preset;
use surge_plan::Plan;
use surge_record::result::{
    RunResult, ScenarioInfo, TargetInfo, TargetKind, Tool, SCHEMA, SCHEMA_VERSION,
};

/// Where a run's requests went, as its result records it.
pub(crate) struct Target {
    /// API base URL (for the mock, the loopback URL it ran on).
    pub base_url: String,
    /// The mock preset that answered.
    pub preset: Option<Preset>,
    /// The built-in mock (started by the run), not a URL.
    pub mock: bool,
    /// The proxy the API requests went through (shown form, never its credentials).
    pub proxy: Option<String>,
}

/// The result of an executed plan (its histograms per second, if kept, are the caller's to take
/// first).
pub(crate) fn assemble(
    plan: &Plan,
    out: engine::ExecOutput,
    target: Target,
    started: time::OffsetDateTime,
    simulated: bool,
) -> RunResult {
    let mut out = out;
    let transactions = out.aggregate.take_transactions();
    let (totals, cells, timeline) = out.aggregate.finish(out.iterations);
    // Every attempt issued is recorded, unless surge failed in a task that held one.
    debug_assert!(totals.requests == out.issued || out.stop_reason.is_failed());
    let host = reqwest::Url::parse(&target.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    RunResult {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: plan.name.clone(),
            description: plan.description.clone(),
            file: plan.source.display().to_string(),
        },
        plan: plan.summary(),
        target: TargetInfo {
            base_url: surge_record::secrets::redact_url(&target.base_url).into_owned(),
            host,
            kind: if target.mock {
                TargetKind::Mock
            } else {
                TargetKind::Url
            },
            mock_preset: target.preset,
            proxy: target.proxy,
            ca_cert: plan
                .target
                .ca_cert
                .as_ref()
                .map(|p| p.display().to_string()),
        },
        started_at: started
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        started_unix_ms: (started.unix_timestamp_nanos() / 1_000_000) as u64,
        duration_s: out.duration.as_secs_f64(),
        partial: out.partial,
        stop_reason: out.stop_reason,
        simulated,
        labels: plan.requests.iter().map(|r| r.name.clone()).collect(),
        totals,
        cells,
        timeline,
        transactions,
        distributed: None,
    }
}
