//! Where a run is aimed: `--target` applied to the plan, whether the host is this machine, what
//! a run against another host is about to do, and which preset a `surge mock` there serves.

use std::time::Duration;

use surge_mock::Preset;
use surge_plan::{Endpoint, Plan};

use super::RunError;

/// True when `base_url`'s host is a loopback address or `localhost`.
pub fn is_loopback(base_url: &str) -> bool {
    reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(surge_transport::proxy::is_loopback_host))
        .unwrap_or(false)
}

/// Applies `--target` to the plan.
///
/// # Errors
/// A target that is neither a URL nor `mock`, naming the flag.
pub fn apply_target(plan: &mut Plan, target: Option<&str>) -> Result<(), RunError> {
    let Some(t) = target else { return Ok(()) };
    plan.target.endpoint = if t == "mock" {
        Endpoint::Mock {
            preset: match &plan.target.endpoint {
                Endpoint::Mock { preset } => *preset,
                _ => Preset::default(),
            },
        }
    } else {
        let base =
            surge_plan::check_url(t).map_err(|e| RunError::Usage(format!("--target: {e}")))?;
        if let Endpoint::Mock { preset } = &plan.target.endpoint {
            plan.target.written_for_mock = Some(*preset);
        }
        Endpoint::Url {
            login_url: surge_plan::derive_login(&base),
            base_url: base,
        }
    };
    Ok(())
}

/// What a run against a non-loopback host is about to do, for the confirmation prompt.
pub fn plan_summary(plan: &Plan) -> String {
    let target = match &plan.target.endpoint {
        Endpoint::Url { base_url, .. } => surge_record::secrets::redact_url(base_url).into_owned(),
        Endpoint::Mock { preset } => format!("built-in mock ({preset})"),
    };
    let reqs = plan
        .planned_requests()
        .map_or("unbounded (until stopped by time)".to_string(), |n| {
            n.to_string()
        });
    let dur = plan
        .planned_duration()
        .map_or("until the loops finish".to_string(), |d| {
            format!("at most {}", surge_record::duration::format(d))
        });
    format!(
        "target:   {target}\nusers:    {}\nrequests: {reqs}\nduration: {dur}\nlabels:   {}",
        plan.max_users(),
        plan.requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.name))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The preset of the `surge mock` serving `base_url`, read from the `Surge-Mock-Preset` header
/// of its `GET /mock/stats` (one request, 2 s at most). Asked only of loopback hosts, and by
/// [`run_plan`] only for a scenario written for the mock and sent there by `--target URL`: a
/// server the scenario names itself never gets a request its plan does not hold. None when
/// nothing there answers as the mock.
pub async fn mock_preset_at(base_url: &str) -> Option<Preset> {
    if !is_loopback(base_url) {
        return None;
    }
    surge_transport::http::install_crypto();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let resp = client
        .get(format!("{base_url}/mock/stats"))
        .send()
        .await
        .ok()?;
    let named = resp
        .headers()
        .get(surge_mock::PRESET_HEADER.as_str())?
        .to_str()
        .ok()?
        .parse()
        .ok();
    let _ = resp.bytes().await;
    named
}
