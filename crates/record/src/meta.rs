//! What a run was asked to do and how it ended, as `result.json` keeps it for the stages that read
//! it later: why the run stopped ([`StopReason`]), and the parts of the plan that reports and
//! checks need ([`PlanSummary`]: load per group, authentication, thresholds). Plain data: the
//! checked plan itself stays in `scenario`; thresholds are kept as text and parsed again by
//! `analysis`. Never a secret, nor the name of a header value.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a run ended. Written to `result.json` as text: `completed`, `cancelled`, `max_requests`,
/// `max_duration`, `stop_test`, `data_exhausted`, `aborted: <reason>` or `failed: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StopReason {
    /// The plan ran to its end.
    #[default]
    Completed,
    /// Stopped by the caller (Ctrl-C).
    Cancelled,
    /// `limits.max_requests` reached.
    MaxRequests,
    /// `limits.max_duration` reached.
    MaxDuration,
    /// A request's `on_error = "stop_test"` fired.
    StopTest,
    /// A data source with `on_eof = "stop_test"` ran out.
    DataExhausted,
    /// Aborted during the run, e.g. by a threshold with `abort_on_fail`.
    Aborted(String),
    /// surge itself failed during the run (a user task died): what was measured is kept, and
    /// the run fails (exit 1).
    Failed(String),
}

impl StopReason {
    /// True unless the plan ran to its end (the result is marked `partial`).
    pub fn is_partial(&self) -> bool {
        *self != StopReason::Completed
    }

    /// True when the run was stopped from outside its plan: Ctrl-C or an abort (exit code 3).
    /// The plan's own caps (`max_requests`, `max_duration`, `stop_test`, data exhausted) are not.
    pub fn is_aborted(&self) -> bool {
        matches!(self, StopReason::Cancelled | StopReason::Aborted(_))
    }

    /// True when surge itself failed during the run ([`StopReason::Failed`]; exit code 1).
    pub fn is_failed(&self) -> bool {
        matches!(self, StopReason::Failed(_))
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Completed => "completed",
            StopReason::Cancelled => "cancelled",
            StopReason::MaxRequests => "max_requests",
            StopReason::MaxDuration => "max_duration",
            StopReason::StopTest => "stop_test",
            StopReason::DataExhausted => "data_exhausted",
            StopReason::Aborted(why) => return write!(f, "aborted: {why}"),
            StopReason::Failed(why) => return write!(f, "failed: {why}"),
        })
    }
}

/// A text that is not a stop reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a stop reason (completed, cancelled, max_requests, max_duration, stop_test, data_exhausted, aborted: <reason>, failed: <reason>)")]
pub struct UnknownStopReason(pub String);

impl FromStr for StopReason {
    type Err = UnknownStopReason;

    fn from_str(s: &str) -> Result<StopReason, UnknownStopReason> {
        Ok(match s {
            "completed" => StopReason::Completed,
            "cancelled" => StopReason::Cancelled,
            "max_requests" => StopReason::MaxRequests,
            "max_duration" => StopReason::MaxDuration,
            "stop_test" => StopReason::StopTest,
            "data_exhausted" => StopReason::DataExhausted,
            other => {
                let why = |rest: &str| rest.trim_start_matches(':').trim_start().to_string();
                if let Some(rest) = other.strip_prefix("aborted") {
                    StopReason::Aborted(why(rest))
                } else if let Some(rest) = other.strip_prefix("failed") {
                    StopReason::Failed(why(rest))
                } else {
                    return Err(UnknownStopReason(other.to_string()));
                }
            }
        })
    }
}

impl Serialize for StopReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StopReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StopReason, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The parts of the plan later stages read: kept typed in `result.json` (field `plan`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanSummary {
    /// The load of each user group, in plan order.
    pub groups: Vec<GroupLoad>,
    /// How requests authenticated.
    pub auth: AuthSummary,
    /// The thresholds the run was given (the scenario's, then `--threshold`), as written.
    #[serde(default)]
    pub thresholds: Vec<ThresholdSpec>,
    /// The statuses a request label expects instead of 2xx/3xx (its `expect_status`), for the
    /// labels that declare them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect_status: BTreeMap<String, Vec<u16>>,
    /// The file the run's pace was read from (`--pace-from FILE`, `on_429.rate = "from:FILE"`),
    /// as given: what was just done, so no next step advises it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paced_from: Option<String>,
}

/// Whether `status` is an answer a request expects: one of its `expect_status`, or without
/// them any 2xx or 3xx. No HTTP status (a transport error) never is. The one rule for
/// `on_error`, and for "not one request succeeded" (exit 1).
pub fn is_expected(status: Option<u16>, expect_status: Option<&[u16]>) -> bool {
    match (status, expect_status) {
        (None, _) => false,
        (Some(s), Some(list)) => list.contains(&s),
        (Some(s), None) => (200..400).contains(&s),
    }
}

impl PlanSummary {
    /// Attempts of `r`'s cells that got an answer their request expects ([`is_expected`]).
    pub fn expected_answers(&self, cells: &[super::result::Cell]) -> u64 {
        cells
            .iter()
            .filter(|c| {
                let status = match c.status {
                    super::StatusKey::Http(s) => Some(s),
                    // An answer that failed its assertion or extractor is not what was expected.
                    super::StatusKey::Error(_) | super::StatusKey::Failed(..) => None,
                };
                is_expected(status, self.expect_status.get(&c.label).map(Vec::as_slice))
            })
            .map(|c| c.count)
            .sum()
    }
}

/// One group's load profile, for people: its name, the profile and the settings as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupLoad {
    /// The group's name (`main` for a plain `[load]`).
    pub name: String,
    /// The profile (`thread_group`, `stepping`, `spike`, `stages`, `constant_arrival_rate`, …).
    pub profile: String,
    /// Its settings by name, shown plainly (durations in seconds, `none` for unset).
    pub settings: BTreeMap<String, String>,
}

impl GroupLoad {
    /// From a group's name and its load serialized as JSON (`{"profile": …, "threads": …}`),
    /// the form the checked plan serializes to. Values are shown plainly: `null` as `none`,
    /// strings unquoted, tables as `key: value, …`.
    pub fn from_json(name: &str, load: &serde_json::Value) -> GroupLoad {
        let profile = load
            .get("profile")
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        let settings = load
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "profile")
                    .map(|(k, v)| (k.clone(), plain(v)))
                    .collect()
            })
            .unwrap_or_default();
        GroupLoad {
            name: name.to_string(),
            profile,
            settings,
        }
    }

    /// `thread_group: loops = 60; ramp_up = 0.2; threads = 4`.
    pub fn describe(&self) -> String {
        let rest: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        format!("{}: {}", self.profile, rest.join("; "))
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// How requests authenticated: the kind, and how many tokens users were spread over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthSummary {
    /// The kind.
    pub kind: AuthKind,
    /// Tokens in use: 0 without auth, 1 for a bearer token, `tokens` for client credentials.
    pub tokens: u32,
}

/// `[auth] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No Authorization header.
    #[default]
    None,
    /// A fixed bearer token.
    Bearer,
    /// OAuth client credentials.
    ClientCredentials,
    /// HTTP Basic.
    Basic,
    /// HTTP Digest.
    Digest,
}

impl AuthKind {
    /// As written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Bearer => "bearer",
            AuthKind::ClientCredentials => "client_credentials",
            AuthKind::Basic => "basic",
            AuthKind::Digest => "digest",
        }
    }
}

/// A threshold as the run was given it: re-parsed by `surge check` against the result's labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdSpec {
    /// The expression, e.g. `p95(publish) < 800ms`.
    pub expr: String,
    /// The name shown in verdicts (the expression when none was given).
    pub name: String,
    /// Whether it could stop the run.
    #[serde(default)]
    pub abort_on_fail: bool,
}

/// `result.json` schema version 1 kept the whole checked plan as JSON under `plan`; this reads
/// the summary out of it (version 1 results are read as version 2).
pub(super) fn summary_from_v1_plan(plan: &serde_json::Value) -> PlanSummary {
    let groups = match (plan.get("groups"), plan.get("load")) {
        (Some(serde_json::Value::Array(gs)), _) => gs
            .iter()
            .map(|g| {
                let name = g.get("name").and_then(|n| n.as_str()).unwrap_or("");
                GroupLoad::from_json(name, g.get("load").unwrap_or(&serde_json::Value::Null))
            })
            .collect(),
        (_, Some(load)) => vec![GroupLoad::from_json("main", load)],
        _ => Vec::new(),
    };
    let auth = plan.get("auth");
    let kind = match auth.and_then(|a| a.get("kind")).and_then(|k| k.as_str()) {
        Some("bearer") => AuthKind::Bearer,
        Some("client_credentials") => AuthKind::ClientCredentials,
        _ => AuthKind::None,
    };
    let tokens = match kind {
        AuthKind::None | AuthKind::Basic | AuthKind::Digest => 0,
        AuthKind::Bearer => 1,
        AuthKind::ClientCredentials => auth
            .and_then(|a| a.get("tokens"))
            .and_then(|t| t.as_u64())
            .map_or(1, |t| t.clamp(1, u64::from(u32::MAX)) as u32),
    };
    let thresholds = plan
        .get("thresholds")
        .and_then(|t| t.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|t| {
                    let expr = t.pointer("/expr/source")?.as_str()?.to_string();
                    let name = t
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map_or_else(|| expr.clone(), str::to_string);
                    let abort_on_fail = t
                        .get("abort_on_fail")
                        .and_then(|a| a.as_bool())
                        .unwrap_or(false);
                    Some(ThresholdSpec {
                        expr,
                        name,
                        abort_on_fail,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    PlanSummary {
        groups,
        auth: AuthSummary { kind, tokens },
        thresholds,
        expect_status: BTreeMap::new(),
        paced_from: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_read_back_as_written() {
        for r in [
            StopReason::Completed,
            StopReason::Cancelled,
            StopReason::MaxRequests,
            StopReason::MaxDuration,
            StopReason::StopTest,
            StopReason::DataExhausted,
            StopReason::Aborted("threshold \"p95\" failed".into()),
            StopReason::Failed("a user task panicked: boom".into()),
        ] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<StopReason>(&json).unwrap(), r);
            assert_eq!(r.to_string().parse::<StopReason>().unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&StopReason::Aborted("breach".into())).unwrap(),
            "\"aborted: breach\""
        );
        assert!("finished".parse::<StopReason>().is_err());
    }

    #[test]
    fn only_cancel_and_abort_count_as_aborted() {
        assert!(StopReason::Cancelled.is_aborted());
        assert!(StopReason::Aborted(String::new()).is_aborted());
        for r in [
            StopReason::Completed,
            StopReason::MaxRequests,
            StopReason::MaxDuration,
            StopReason::StopTest,
            StopReason::DataExhausted,
        ] {
            assert!(!r.is_aborted(), "{r}");
            assert_eq!(r.is_partial(), r != StopReason::Completed);
        }
    }

    #[test]
    fn a_v1_plan_yields_its_groups_auth_and_thresholds() {
        let plan = serde_json::json!({
            "auth": {"kind": "client_credentials", "client_id_env": "ID", "tokens": 3},
            "groups": [
                {"name": "publishers", "load": {"profile": "thread_group", "threads": 4, "loops": null,
                 "think_time": {"kind": "constant", "pause": 0.5}}},
                {"name": "readers", "load": {"profile": "constant_arrival_rate", "max_users": 9}}
            ],
            "thresholds": [
                {"name": "fast", "expr": {"source": "p95(publish) < 800ms"}, "abort_on_fail": true},
                {"expr": {"source": "rate(429) < 5%"}}
            ]
        });
        let s = summary_from_v1_plan(&plan);
        assert_eq!(
            s.auth,
            AuthSummary {
                kind: AuthKind::ClientCredentials,
                tokens: 3
            }
        );
        assert_eq!(s.groups.len(), 2);
        assert_eq!(
            s.groups[0].describe(),
            "thread_group: loops = none; think_time = kind: constant, pause: 0.5; threads = 4"
        );
        assert_eq!(s.groups[1].name, "readers");
        assert_eq!(
            s.thresholds,
            vec![
                ThresholdSpec {
                    expr: "p95(publish) < 800ms".into(),
                    name: "fast".into(),
                    abort_on_fail: true
                },
                ThresholdSpec {
                    expr: "rate(429) < 5%".into(),
                    name: "rate(429) < 5%".into(),
                    abort_on_fail: false
                }
            ]
        );
        // The oldest plans had one [load] and no groups.
        let old = serde_json::json!({"load": {"profile": "thread_group", "threads": 2}, "auth": {"kind": "none"}});
        let s = summary_from_v1_plan(&old);
        assert_eq!(s.groups[0].name, "main");
        assert_eq!(s.auth.tokens, 0);
    }
}
