//! The mock's shared state: clients and tokens, limit-model state, the flow store, jobs, and ground-truth
//! counters. Counters are atomics indexed by route / status / model, so counting takes no shared lock.

use super::config::{MockConfig, Preset};
use super::flows_store::FlowStore;
use super::limits::{Backlog, Bucket, FixedWindow, LimitKind, WindowState};
use super::random::Draws;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::time::{Duration, Instant};

/// Every route pattern the mock serves, as counted in `requests_by_path`; `UNMATCHED` counts the rest.
pub const ROUTES: &[&str] = &[
    "POST /oauth/token",
    "GET /api/v2/flows",
    "POST /api/v2/flows",
    "GET /api/v2/flows/{flowId}",
    "PUT /api/v2/flows/{flowId}",
    "DELETE /api/v2/flows/{flowId}",
    "POST /api/v2/flows/actions/checkout",
    "POST /api/v2/flows/actions/checkin",
    "POST /api/v2/flows/actions/publish",
    "POST /api/v2/flows/actions/unlock",
    "POST /api/v2/flows/actions/deactivate",
    "POST /api/v2/flows/actions/revert",
    "GET /api/v2/flows/{flowId}/latestconfiguration",
    "GET /api/v2/flows/{flowId}/versions",
    "POST /api/v2/flows/jobs",
    "GET /api/v2/flows/jobs/{jobId}",
    "PUT /mock/uploads/{jobId}",
    "GET /mock/stats",
    "unmatched",
];

/// Index of `route` in [`ROUTES`] (the last one when unknown).
pub fn route_index(route: &str) -> usize {
    ROUTES
        .iter()
        .position(|r| *r == route)
        .unwrap_or(ROUTES.len() - 1)
}

/// Ground truth, as served by `GET /mock/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockStats {
    /// The preset the mock started from (`--config` may have changed its parameters since).
    #[serde(default)]
    pub preset: Preset,
    /// Requests per route pattern (e.g. `POST /api/v2/flows/actions/publish`), `unmatched` for 404 paths.
    pub requests_by_path: BTreeMap<String, u64>,
    pub responses_by_status: BTreeMap<u16, u64>,
    /// 429s per `limit.key` (the HYPOTHESIS model's key starts with `HYPOTHESIS`).
    pub throttled_by_limit: BTreeMap<String, u64>,
    /// Publish operations per `actionStatus` (current status of running ones, final status of the rest).
    pub operations_by_status: BTreeMap<String, u64>,
    pub total_requests: u64,
}

impl MockStats {
    /// A few lines for a terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "mock (preset {}): {}\n",
            self.preset,
            surge_record::plural(self.total_requests, "request")
        );
        let line = |title: &str, m: Vec<(String, u64)>| {
            let parts: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("  {title}: {}\n", parts.join(", "))
        };
        s += &line(
            "by status",
            self.responses_by_status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        );
        s += &line(
            "by path",
            self.requests_by_path
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        s += &line(
            "429 by limit",
            self.throttled_by_limit
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        s += &line(
            "publish operations",
            self.operations_by_status
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        );
        s
    }
}

/// A minted token.
#[derive(Debug)]
pub struct TokenEntry {
    pub client: usize,
    pub expires_at: Instant,
    pub window: Mutex<FixedWindow>,
    /// The gateway bucket, when it is per token.
    pub bucket: Mutex<Bucket>,
}

#[derive(Debug)]
pub struct ClientState {
    pub id: String,
    pub secret: String,
    pub expires_in: u64,
    pub token_limit: u32,
    pub org_app_user: Mutex<FixedWindow>,
}

/// An asynchronous export/import job (`/api/v2/flows/jobs`).
#[derive(Debug, Clone)]
pub struct Job {
    pub created: Instant,
    pub uploaded: bool,
}

pub struct Inner {
    pub cfg: MockConfig,
    pub epoch: Instant,
    /// Unix ms at `epoch`; used only to print dates, never for limits.
    pub wall_epoch_ms: i128,
    pub clients: Vec<ClientState>,
    pub tokens: RwLock<HashMap<String, Arc<TokenEntry>>>,
    sweep_at: AtomicUsize,
    /// One window per endpoint rule per tier.
    pub endpoint_windows: Vec<Vec<Mutex<FixedWindow>>>,
    pub backlog: Mutex<Backlog>,
    pub flows: RwLock<FlowStore>,
    pub jobs: Mutex<HashMap<String, Job>>,
    pub draws: Draws,
    token_draws: Draws,
    pub by_route: Vec<AtomicU64>,
    pub by_status: Vec<AtomicU64>,
    pub by_limit: [AtomicU64; 5],
    /// The gateway bucket, when it is the organization's.
    gateway: Mutex<Bucket>,
    correlation: AtomicU64,
}

/// The mock's state; cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct MockState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for MockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockState")
            .field("preset", &self.0.cfg.preset)
            .finish()
    }
}

impl MockState {
    /// Builds the state, with `cfg.flows` flows. Must run inside a tokio runtime (it reads tokio's clock).
    pub fn new(cfg: MockConfig) -> MockState {
        let now = Instant::now();
        let wall_epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i128);
        let clients = cfg
            .clients
            .iter()
            .map(|c| ClientState {
                id: c.id.clone(),
                secret: c.secret.clone(),
                expires_in: c.expires_in,
                token_limit: c
                    .token_rate_per_minute
                    .unwrap_or(cfg.token_limit.per_minute),
                org_app_user: Mutex::new(FixedWindow::new()),
            })
            .collect();
        let endpoint_windows = cfg
            .endpoint_limits
            .iter()
            .map(|e| {
                (0..e.page_size_tiers.len().max(1))
                    .map(|_| Mutex::new(FixedWindow::new()))
                    .collect()
            })
            .collect();
        let b = &cfg.compile_backlog;
        let backlog = Backlog::new(b.workers, b.enabled.then_some(b.capacity));
        let flows = FlowStore::new(cfg.seed, cfg.flows, wall_epoch_ms);
        let inner = Inner {
            draws: Draws::new(cfg.draws_seed()),
            token_draws: Draws::new(cfg.draws_seed() ^ 0x746f_6b65_6e73),
            cfg,
            epoch: now,
            wall_epoch_ms,
            clients,
            tokens: RwLock::new(HashMap::new()),
            sweep_at: AtomicUsize::new(64),
            endpoint_windows,
            backlog: Mutex::new(backlog),
            flows: RwLock::new(flows),
            jobs: Mutex::new(HashMap::new()),
            by_route: (0..ROUTES.len()).map(|_| AtomicU64::new(0)).collect(),
            by_status: (0..600).map(|_| AtomicU64::new(0)).collect(),
            by_limit: Default::default(),
            gateway: Mutex::new(Bucket::default()),
            correlation: AtomicU64::new(0),
        };
        MockState(Arc::new(inner))
    }

    pub fn cfg(&self) -> &MockConfig {
        &self.0.cfg
    }

    /// A fresh `ININ-Correlation-Id` (UUID-shaped, deterministic per state).
    pub fn correlation_id(&self) -> String {
        let n = self.0.correlation.fetch_add(1, Ordering::Relaxed);
        let s = self.0.cfg.seed;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (s as u32),
            (n >> 48) as u16,
            (n >> 36) & 0xfff,
            (n >> 24) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }

    pub fn count_route(&self, route: usize) {
        self.0.by_route[route].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_status(&self, status: u16) {
        self.0.by_status[usize::from(status).min(599)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_throttled(&self, kind: LimitKind) {
        self.0.by_limit[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Client index for Basic credentials.
    pub fn client_by_credentials(&self, id: &str, secret: &str) -> Option<usize> {
        self.0
            .clients
            .iter()
            .position(|c| c.id == id && c.secret == secret)
    }

    /// Mints a new distinct token for client `client`; returns it and its lifetime in seconds.
    /// Expired tokens are swept when the map has doubled since the last sweep (amortised O(1)).
    pub fn mint_token(&self, client: usize) -> (String, u64) {
        let c = &self.0.clients[client];
        let now = Instant::now();
        let token = format!(
            "{:016x}{:016x}",
            self.0.token_draws.next_u64(),
            self.0.token_draws.next_u64()
        );
        let entry = TokenEntry {
            client,
            expires_at: now + Duration::from_secs(c.expires_in),
            window: Mutex::new(FixedWindow::new()),
            bucket: Mutex::new(Bucket::default()),
        };
        let mut map = self.0.tokens.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.0.sweep_at.load(Ordering::Relaxed) {
            map.retain(|_, t| t.expires_at > now);
            self.0
                .sweep_at
                .store((map.len() * 2).max(64), Ordering::Relaxed);
        }
        map.insert(token.clone(), Arc::new(entry));
        (token, c.expires_in)
    }

    /// The live token entry, or `None` when unknown or expired (an expired one is dropped).
    pub fn token(&self, token: &str) -> Option<Arc<TokenEntry>> {
        let now = Instant::now();
        let found = self
            .0
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned();
        match found {
            Some(t) if t.expires_at > now => Some(t),
            Some(_) => {
                self.0
                    .tokens
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(token);
                None
            }
            None => None,
        }
    }

    /// Live tokens held (for tests of the bound).
    pub fn token_count(&self) -> usize {
        self.0
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Applies the `token` model; `Ok(Some(state))` gives the `inin-ratelimit-*` values.
    pub fn check_token_limit(
        &self,
        t: &TokenEntry,
        now: Instant,
    ) -> Result<Option<WindowState>, (u64, Duration)> {
        if !self.0.cfg.token_limit.enabled {
            return Ok(None);
        }
        let limit = self.0.clients[t.client].token_limit;
        let mut w = t.window.lock().unwrap_or_else(|e| e.into_inner());
        w.check(now, limit)
            .map(Some)
            .map_err(|wait| (u64::from(limit), wait))
    }

    /// Applies the `org_app_user` model (one org, client credentials have no user: keyed per client).
    pub fn check_org_app_user(&self, client: usize, now: Instant) -> Result<(), (u64, Duration)> {
        let l = &self.0.cfg.org_app_user_limit;
        if !l.enabled {
            return Ok(());
        }
        let mut w = self.0.clients[client]
            .org_app_user
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        w.check(now, l.per_minute)
            .map(|_| ())
            .map_err(|wait| (u64::from(l.per_minute), wait))
    }

    /// Applies the `gateway` bucket (the organization's, or the token's).
    pub fn check_gateway(&self, t: &TokenEntry, now: Instant) -> Result<(), (u64, Duration)> {
        let g = &self.0.cfg.gateway_limit;
        if !g.enabled {
            return Ok(());
        }
        let b = if g.per_token {
            &t.bucket
        } else {
            &self.0.gateway
        };
        b.lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(now, g.rate_per_s, g.burst)
            .map_err(|wait| (u64::from(g.burst), wait))
    }

    /// Applies the per-endpoint limits for `route`; `page_size` selects the tier.
    pub fn check_endpoint(
        &self,
        route: &str,
        page_size: u32,
        now: Instant,
    ) -> Result<(), (u64, Duration)> {
        for (rule, windows) in self
            .0
            .cfg
            .endpoint_limits
            .iter()
            .zip(&self.0.endpoint_windows)
        {
            if rule.route != route {
                continue;
            }
            let (tier, limit) = if rule.page_size_tiers.is_empty() {
                (0, rule.per_minute)
            } else {
                let tiers = &rule.page_size_tiers;
                let i = tiers
                    .iter()
                    .position(|(size, _)| page_size <= *size)
                    .unwrap_or(tiers.len() - 1);
                (i, tiers[i].1)
            };
            let mut w = windows[tier].lock().unwrap_or_else(|e| e.into_inner());
            w.check(now, limit)
                .map_err(|wait| (u64::from(limit), wait))?;
        }
        Ok(())
    }

    /// Unix ms of a tokio instant.
    pub fn wall_ms(&self, at: Instant) -> i128 {
        self.0.wall_epoch_ms + at.saturating_duration_since(self.0.epoch).as_millis() as i128
    }

    /// Snapshot of the ground-truth counters.
    pub fn stats(&self) -> MockStats {
        let mut s = MockStats {
            preset: self.cfg().preset,
            ..MockStats::default()
        };
        for (i, c) in self.0.by_route.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                s.requests_by_path.insert(ROUTES[i].to_string(), n);
            }
            s.total_requests += n;
        }
        for (i, c) in self.0.by_status.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                s.responses_by_status.insert(i as u16, n);
            }
        }
        for k in LimitKind::ALL {
            let n = self.0.by_limit[k.index()].load(Ordering::Relaxed);
            if n > 0 {
                s.throttled_by_limit.insert(k.key().to_string(), n);
            }
        }
        let now = Instant::now();
        s.operations_by_status = self
            .0
            .flows
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .operations_by_status(now);
        s
    }
}
