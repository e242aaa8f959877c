//! Model parameters of the mock: clients, flows, rate-limit models, latency and faults, with the four
//! presets (`documented`, `seed`, `unlimited`, `bucket`). Every field has a serde default so a TOML file may override
//! only what it names (`surge mock --config FILE`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
pub use surge_record::preset::{Preset, UnknownPreset};

/// One OAuth client the login endpoint accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: String,
    pub secret: String,
    /// Token lifetime in seconds (`expires_in`).
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
    /// Overrides the `token` model's per-minute limit for tokens of this client.
    #[serde(default)]
    pub token_rate_per_minute: Option<u32>,
}

fn default_expires_in() -> u64 {
    86_400
}

/// A fixed-window limit: `per_minute` admissions per 60 s window (see README for the window semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowLimit {
    pub enabled: bool,
    pub per_minute: u32,
}

/// A per-endpoint limit. With `page_size_tiers` the limit depends on the `pageSize` query parameter:
/// the tier with the smallest page size >= the request's applies (the largest tier above all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointLimit {
    /// A route pattern as in stats, e.g. `GET /api/v2/flows`.
    pub route: String,
    #[serde(default)]
    pub per_minute: u32,
    /// `(pageSize, per_minute)` pairs.
    #[serde(default)]
    pub page_size_tiers: Vec<(u32, u32)>,
}

/// A token bucket in front of every `/api/v2` request (`gateway`): `rate_per_s` sustained, `burst`
/// at once; one for the organization, or one per token. Not a Genesys model: an API gateway's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketLimit {
    pub enabled: bool,
    pub rate_per_s: f64,
    pub burst: u32,
    /// One bucket per token instead of one for the organization.
    #[serde(default)]
    pub per_token: bool,
}

impl Default for BucketLimit {
    fn default() -> Self {
        BucketLimit {
            enabled: false,
            rate_per_s: 10.0,
            burst: 20,
            per_token: false,
        }
    }
}

/// HYPOTHESIS: an org-wide publish compile backlog. Nothing like it is documented by Genesys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileBacklog {
    /// When false, publishes are still compiled (with `workers` workers) but never refused.
    pub enabled: bool,
    /// Compile workers; 0 means unbounded (every compile starts at once).
    pub workers: u32,
    /// Compile time per publish (log-normal).
    pub compile: Dist,
    /// Publishes waiting for a worker (not counting the running ones) before new ones are refused.
    pub capacity: u32,
    /// After compiling, time in PENDING_BACKEND_NOTIFICATION.
    pub notify_ms: u64,
    /// Share of compiles that end in FAILURE.
    pub failure_rate: f64,
}

/// A log-normal distribution given by its median and 99th percentile, in milliseconds.
/// `p99_ms <= median_ms` makes it a constant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dist {
    pub median_ms: f64,
    pub p99_ms: f64,
}

impl Dist {
    pub const fn new(median_ms: f64, p99_ms: f64) -> Dist {
        Dist { median_ms, p99_ms }
    }
}

/// Latency per route (key: route pattern as in stats) with a default, plus the latency of refusals
/// (401, 404, 429 ...), which real gateways answer fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    pub default: Dist,
    #[serde(default)]
    pub per_route: BTreeMap<String, Dist>,
    pub refusal: Dist,
}

/// Fault injection on `/api/v2` routes. Shares are probabilities per request, drawn in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// 500 Internal Server Error.
    pub error_500_share: f64,
    /// 503 with `Retry-After: retry_after_503_s`.
    pub error_503_retry_after_share: f64,
    /// 503 without Retry-After.
    pub error_503_share: f64,
    pub retry_after_503_s: u32,
    /// The connection is dropped mid-answer (in-process: the body stream fails, see README).
    pub reset_share: f64,
    /// The answer is held for `stall_ms`, then a 504 is sent.
    pub stall_share: f64,
    pub stall_ms: u64,
}

/// How `Retry-After` is written on 429s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryAfterConfig {
    /// Lower bound of the computed whole seconds (the documented minimum is 1).
    pub min_s: u32,
    /// When set, every 429 says this instead of the computed value.
    pub override_s: Option<u32>,
}

impl Default for RetryAfterConfig {
    fn default() -> Self {
        RetryAfterConfig {
            min_s: 1,
            override_s: None,
        }
    }
}

/// Everything the mock models. Build one with [`MockConfig::preset`], then change fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    pub preset: Preset,
    /// Seed of the flow ids, correlation ids, and of the latency, fault and compile draws unless
    /// `draw_seed` is set.
    pub seed: u64,
    /// Seed of the random draws only (latencies, compile times, faults, outcomes), when they should
    /// vary while the flows keep their ids: `surge run --seed N` against the built-in mock sets it,
    /// so a scenario's flow ids stay valid across seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw_seed: Option<u64>,
    /// Flows created at start (ids and names are deterministic).
    pub flows: u32,
    pub clients: Vec<ClientConfig>,
    pub token_limit: WindowLimit,
    pub org_app_user_limit: WindowLimit,
    pub endpoint_limits: Vec<EndpointLimit>,
    /// The gateway's token bucket (off but in the `bucket` preset).
    #[serde(default)]
    pub gateway_limit: BucketLimit,
    pub compile_backlog: CompileBacklog,
    pub latency: LatencyConfig,
    pub faults: FaultConfig,
    pub retry_after: RetryAfterConfig,
}

/// The documented page-size-graded limit on `GET /api/v2/flows` (since 2025-09).
pub fn flows_list_tiers() -> Vec<(u32, u32)> {
    vec![
        (25, 12_000),
        (50, 6_000),
        (75, 4_000),
        (100, 3_000),
        (250, 1_200),
        (500, 600),
    ]
}

impl MockConfig {
    /// The parameters of a preset, with seed 1, 500 flows and one client `surge-mock-client`.
    pub fn preset(preset: Preset) -> MockConfig {
        let client = ClientConfig {
            id: "surge-mock-client".into(),
            secret: "surge-mock-secret".into(),
            expires_in: default_expires_in(),
            token_rate_per_minute: None,
        };
        let documented_latency = LatencyConfig {
            default: Dist::new(60.0, 400.0),
            per_route: BTreeMap::from([
                (
                    "POST /api/v2/flows/actions/publish".to_string(),
                    Dist::new(400.0, 2_000.0),
                ),
                ("GET /api/v2/flows".to_string(), Dist::new(120.0, 800.0)),
            ]),
            refusal: Dist::new(3.0, 15.0),
        };
        let base = MockConfig {
            preset,
            seed: 1,
            draw_seed: None,
            flows: 500,
            clients: vec![client],
            token_limit: WindowLimit {
                enabled: true,
                per_minute: 300,
            },
            org_app_user_limit: WindowLimit {
                enabled: true,
                per_minute: 3_000,
            },
            endpoint_limits: vec![EndpointLimit {
                route: "GET /api/v2/flows".into(),
                per_minute: 12_000,
                page_size_tiers: flows_list_tiers(),
            }],
            gateway_limit: BucketLimit::default(),
            compile_backlog: CompileBacklog {
                enabled: false,
                workers: 0,
                compile: Dist::new(1_500.0, 6_000.0),
                capacity: 0,
                notify_ms: 200,
                failure_rate: 0.0,
            },
            latency: documented_latency,
            faults: FaultConfig::default(),
            retry_after: RetryAfterConfig::default(),
        };
        match preset {
            Preset::Documented => base,
            Preset::Seed => MockConfig {
                // Why these numbers: README.md, "The seed preset".
                token_limit: WindowLimit {
                    enabled: false,
                    per_minute: 300,
                },
                compile_backlog: CompileBacklog {
                    enabled: true,
                    workers: 8,
                    compile: Dist::new(1_500.0, 2_250.0),
                    capacity: 250,
                    notify_ms: 200,
                    failure_rate: 0.0,
                },
                latency: LatencyConfig {
                    per_route: BTreeMap::from([(
                        "POST /api/v2/flows/actions/publish".to_string(),
                        Dist::new(2_750.0, 5_500.0),
                    )]),
                    ..base.latency.clone()
                },
                retry_after: RetryAfterConfig {
                    min_s: 2,
                    override_s: None,
                },
                ..base
            },
            Preset::Bucket => MockConfig {
                token_limit: WindowLimit {
                    enabled: false,
                    per_minute: 300,
                },
                org_app_user_limit: WindowLimit {
                    enabled: false,
                    per_minute: 3_000,
                },
                endpoint_limits: vec![],
                gateway_limit: BucketLimit {
                    enabled: true,
                    ..BucketLimit::default()
                },
                ..base
            },
            Preset::Unlimited => MockConfig {
                token_limit: WindowLimit {
                    enabled: false,
                    per_minute: 300,
                },
                org_app_user_limit: WindowLimit {
                    enabled: false,
                    per_minute: 3_000,
                },
                endpoint_limits: vec![],
                compile_backlog: CompileBacklog {
                    compile: Dist::new(0.0, 0.0),
                    notify_ms: 0,
                    ..base.compile_backlog.clone()
                },
                latency: LatencyConfig {
                    default: Dist::new(0.0, 0.0),
                    per_route: BTreeMap::new(),
                    refusal: Dist::new(0.0, 0.0),
                },
                ..base
            },
        }
    }

    /// The same parameters with the random draws seeded by `seed` (flow ids unchanged).
    pub fn with_draw_seed(mut self, seed: Option<u64>) -> MockConfig {
        self.draw_seed = seed;
        self
    }

    /// The seed the random draws use.
    pub fn draws_seed(&self) -> u64 {
        self.draw_seed.unwrap_or(self.seed)
    }

    /// Reads a TOML file of overrides on top of `preset` (the file may name `preset` itself, which then wins).
    ///
    /// # Errors
    /// The file cannot be read, is not TOML, or names an unknown field.
    pub fn from_toml_overrides(preset: Preset, text: &str) -> anyhow::Result<MockConfig> {
        let overrides: toml::Table = toml::from_str(text)?;
        let preset = match overrides.get("preset") {
            Some(v) => v.clone().try_into::<Preset>()?,
            None => preset,
        };
        let mut base = toml::Table::try_from(MockConfig::preset(preset))?;
        merge(&mut base, overrides);
        Ok(toml::Value::Table(base).try_into()?)
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig::preset(Preset::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_merge_into_preset() {
        let cfg = MockConfig::from_toml_overrides(
            Preset::Seed,
            "flows = 7\n[token_limit]\nenabled = true\nper_minute = 5\n[compile_backlog]\ncapacity = 3\n",
        )
        .unwrap();
        assert_eq!(cfg.flows, 7);
        assert_eq!(cfg.token_limit.per_minute, 5);
        assert!(cfg.token_limit.enabled);
        assert_eq!(cfg.compile_backlog.capacity, 3);
        assert_eq!(cfg.compile_backlog.workers, 8);
        assert!(MockConfig::from_toml_overrides(Preset::Seed, "nope = 1").is_err());
    }
}
