//! A synthetic, deterministic [`RunResult`] shaped like a throttled Genesys run (a per-minute
//! limit per token, Retry-After, rate-limit headers, a few 5xx, 404s and timeouts), for the
//! report benchmark and tests that need a long result without running for an hour.

use std::collections::BTreeMap;

use crate::meta::{AuthKind, AuthSummary, GroupLoad, PlanSummary};
use crate::result::{
    Cell, Quantiles, RateLimitSecond, RunResult, ScenarioInfo, Second, Summary, TargetInfo, Tool,
    Totals, Transaction, TxnCell, SCHEMA, SCHEMA_VERSION,
};
use crate::{ErrorClass, Hist, Outcome, StatusKey};

/// Uniform in [0, 1) from the result's seeded generator.
fn unit(rng: &mut rand::rngs::Xoshiro256PlusPlus) -> f64 {
    rand::RngExt::random(rng)
}

/// A result of `seconds` one-second rows over `labels`: 40 users ramped over the first tenth,
/// about 2 requests per user per second, a limit of 600 per minute (reset each minute) answered
/// with 429 and `Retry-After` = seconds left in the minute, `inin-ratelimit-*` on every response,
/// 0.5% 503s, 0.3% 404s and a rare timeout.
pub fn result(seconds: u32, labels: &[&str]) -> RunResult {
    let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(0x5eed);
    let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    let nl = labels.len().max(1);
    let mut timeline = Vec::with_capacity(seconds as usize);
    let mut totals = Totals::default();
    // (label index, status) → (service, response, count, retries)
    let mut cells: BTreeMap<(usize, StatusKey), (Hist, Hist, u64, u64)> = BTreeMap::new();
    let allowed = 600u32;
    let mut used = 0u32;
    let ramp = (seconds / 10).max(1);
    for t in 0..seconds {
        if t % 60 == 0 {
            used = 0;
        }
        let users = (40 * (t + 1) / ramp).min(40);
        let demand = (f64::from(users) * (1.8 + 0.4 * unit(&mut rng))).round() as u64;
        let mut s = Second {
            t,
            active_users: users,
            started: demand,
            completed: demand,
            ..Second::default()
        };
        let mut lat: BTreeMap<Outcome, (Hist, Hist)> = BTreeMap::new();
        for i in 0..demand {
            let x = unit(&mut rng);
            let status = if x < 0.005 {
                StatusKey::Http(503)
            } else if x < 0.008 {
                StatusKey::Http(404)
            } else if x < 0.0085 {
                StatusKey::Error(ErrorClass::Timeout)
            } else if used < allowed {
                used += 1;
                StatusKey::Http(200)
            } else {
                StatusKey::Http(429)
            };
            let o = status.outcome();
            let service = match o {
                Outcome::Success => {
                    60_000.0 + 40_000.0 * unit(&mut rng) + 400_000.0 * unit(&mut rng).powi(40)
                }
                Outcome::Throttled => 800.0 + 1_500.0 * unit(&mut rng),
                Outcome::TransportError => 10_000_000.0,
                _ => 20_000.0 + 30_000.0 * unit(&mut rng),
            } as u64;
            let response = service + (50_000.0 * unit(&mut rng).powi(8)) as u64;
            let retry = i % 5 == 0 && t > 0 && used >= allowed;
            let e = lat.entry(o).or_default();
            e.0.record(service);
            e.1.record(response);
            *s.by_status.entry(status).or_default() += 1;
            *s.by_outcome.entry(o).or_default() += 1;
            s.retries += u64::from(retry);
            if o == Outcome::Throttled {
                if totals.first_429_s.is_none() {
                    totals.first_429_s = Some(f64::from(t) + x);
                }
                if i % 50 == 49 {
                    totals.throttled_without_retry_after += 1;
                } else {
                    *s.retry_after.entry(60 - t % 60).or_default() += 1;
                }
            }
            let label = (i as usize) % nl;
            let c = cells.entry((label, status)).or_default();
            c.0.record(service);
            c.1.record(response);
            c.2 += 1;
            c.3 += u64::from(retry);
        }
        for (o, (sv, rs)) in &lat {
            s.latency.insert(*o, Quantiles::of(sv));
            s.response_latency.insert(*o, Quantiles::of(rs));
        }
        if demand > 0 {
            s.rate_limit = Some(RateLimitSecond {
                responses: demand,
                allowed,
                count_max: used,
                reset_min: 60 - t % 60,
            });
        }
        totals.requests += demand;
        totals.retries += s.retries;
        for (k, v) in &s.by_status {
            *totals.by_status.entry(*k).or_default() += v;
        }
        for (k, v) in &s.by_outcome {
            *totals.by_outcome.entry(*k).or_default() += v;
        }
        for (k, v) in &s.retry_after {
            *totals.retry_after.entry(*k).or_default() += v;
        }
        timeline.push(s);
    }
    totals.iterations = totals.requests - totals.retries;
    totals.completion_s = f64::from(seconds);
    let cells = cells
        .into_iter()
        .map(|((l, status), (sv, rs, count, retries))| Cell {
            label: labels.get(l).cloned().unwrap_or_default(),
            status,
            outcome: status.outcome(),
            count,
            retries,
            bytes_in: count * 420,
            bytes_out: count * 310,
            service: Summary::of(&sv),
            response: Summary::of(&rs),
            service_hist: sv,
            response_hist: rs,
        })
        .collect();
    RunResult {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: "synthetic-publish".into(),
            description: "Synthetic run: 40 users against a 600/min limit".into(),
            file: "scenarios/synthetic.toml".into(),
        },
        plan: plan(seconds, ramp),
        target: TargetInfo {
            base_url: "https://api.example.invalid".into(),
            host: "api.example.invalid".into(),
            kind: crate::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: "2025-06-02T09:00:00Z".into(),
        started_unix_ms: 1_748_854_800_000,
        duration_s: f64::from(seconds),
        partial: false,
        stop_reason: crate::StopReason::Completed,
        simulated: false,
        labels,
        totals,
        cells,
        timeline,
        transactions: Vec::new(),
        distributed: None,
    }
}

/// One thread group of 40 users ramped over `ramp` seconds, client credentials with one token.
fn plan(seconds: u32, ramp: u32) -> PlanSummary {
    PlanSummary {
        groups: vec![GroupLoad::from_json(
            "main",
            &serde_json::json!({"profile": "thread_group", "threads": 40, "ramp_up": ramp, "loops": null, "duration": seconds, "delay": 0}),
        )],
        auth: AuthSummary {
            kind: AuthKind::ClientCredentials,
            tokens: 1,
        },
        thresholds: Vec::new(),
        expect_status: Default::default(),
        paced_from: None,
    }
}

/// A cell of `n` attempts of `label` × `status`, the i-th taking `lat(i)` µs (service and response + 1ms).
pub fn cell(label: &str, status: StatusKey, n: u64, lat: impl Fn(u64) -> u64) -> Cell {
    let (mut s, mut r) = (Hist::new(), Hist::new());
    for i in 0..n {
        s.record(lat(i));
        r.record(lat(i) + 1_000);
    }
    Cell {
        label: label.into(),
        status,
        outcome: status.outcome(),
        count: n,
        retries: 0,
        bytes_in: 0,
        bytes_out: 0,
        service: Summary::of(&s),
        response: Summary::of(&r),
        service_hist: s,
        response_hist: r,
    }
}

/// A result built by hand from cells (totals derived from them) and a timeline.
pub fn from_cells(cells: Vec<Cell>, timeline: Vec<Second>, duration_s: f64) -> RunResult {
    let mut labels: Vec<String> = Vec::new();
    let mut totals = Totals::default();
    for c in &cells {
        if !labels.contains(&c.label) {
            labels.push(c.label.clone());
        }
        totals.requests += c.count;
        totals.retries += c.retries;
        *totals.by_outcome.entry(c.outcome).or_default() += c.count;
        *totals.by_status.entry(c.status).or_default() += c.count;
    }
    RunResult {
        schema: "surge/result".into(),
        schema_version: 1,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: "t".into(),
            description: String::new(),
            file: "t.toml".into(),
        },
        plan: crate::PlanSummary::default(),
        target: TargetInfo {
            base_url: "http://127.0.0.1:1".into(),
            host: "127.0.0.1".into(),
            kind: crate::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: String::new(),
        started_unix_ms: 0,
        duration_s,
        partial: false,
        stop_reason: crate::StopReason::Completed,
        simulated: false,
        labels,
        totals,
        cells,
        timeline,
        transactions: Vec::new(),
        distributed: None,
    }
}

/// One second of a hand-built timeline: `ok` 200s and `thr` 429s, all started in the same second, `users` active.
pub fn sec(
    t: u32,
    users: u32,
    ok: u64,
    thr: u64,
    rl: Option<(u32, u32, u32)>,
    ra: Option<u32>,
) -> Second {
    let mut s = Second {
        t,
        active_users: users,
        started: ok + thr,
        completed: ok + thr,
        ..Second::default()
    };
    for (k, o, c) in [
        (StatusKey::Http(200), Outcome::Success, ok),
        (StatusKey::Http(429), Outcome::Throttled, thr),
    ] {
        if c > 0 {
            s.by_status.insert(k, c);
            s.by_outcome.insert(o, c);
        }
    }
    if let (Some(v), true) = (ra, thr > 0) {
        s.retry_after.insert(v, thr);
    }
    s.rate_limit = rl.map(|(allowed, count_max, reset_min)| RateLimitSecond {
        responses: ok + thr,
        allowed,
        count_max,
        reset_min,
    });
    s
}

/// A result built by hand from a timeline (totals derived from it, no cells), as the
/// diagnosis reads one.
pub fn from_timeline(timeline: Vec<Second>, plan: PlanSummary) -> RunResult {
    let mut totals = Totals::default();
    for s in &timeline {
        totals.requests += s.completed;
        for (k, v) in &s.by_status {
            *totals.by_status.entry(*k).or_default() += v;
        }
        for (k, v) in &s.by_outcome {
            *totals.by_outcome.entry(*k).or_default() += v;
        }
        for (k, v) in &s.retry_after {
            *totals.retry_after.entry(*k).or_default() += v;
        }
        if totals.first_429_s.is_none() && s.by_outcome.contains_key(&Outcome::Throttled) {
            totals.first_429_s = Some(f64::from(s.t) + 0.25);
        }
    }
    let thr = totals
        .by_outcome
        .get(&Outcome::Throttled)
        .copied()
        .unwrap_or(0);
    totals.throttled_without_retry_after = thr - totals.retry_after.values().sum::<u64>();
    RunResult {
        schema: crate::result::SCHEMA.into(),
        schema_version: crate::result::SCHEMA_VERSION,
        tool: crate::result::Tool::current(),
        scenario: crate::result::ScenarioInfo {
            name: "t".into(),
            description: String::new(),
            file: "t.toml".into(),
        },
        plan,
        target: crate::result::TargetInfo {
            base_url: "http://127.0.0.1:1".into(),
            host: "127.0.0.1".into(),
            kind: crate::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        },
        started_at: "2025-01-01T00:00:00Z".into(),
        started_unix_ms: 0,
        duration_s: timeline.len() as f64,
        partial: false,
        stop_reason: crate::StopReason::Completed,
        simulated: false,
        labels: vec!["get".into()],
        totals,
        cells: vec![],
        timeline,
        transactions: Vec::new(),
        distributed: None,
    }
}

/// A plan summary with OAuth client credentials and `tokens` tokens.
pub fn cc(tokens: u32) -> PlanSummary {
    PlanSummary {
        auth: AuthSummary {
            kind: AuthKind::ClientCredentials,
            tokens,
        },
        ..PlanSummary::default()
    }
}

/// 12 req/s with 6 users; from second 10 the server admits 5/s and answers the rest with 429,
/// naming 300 per minute in its headers.
pub fn throttled_run(headers: bool) -> RunResult {
    let tl = (0..40)
        .map(|t| {
            let (ok, thr) = if t < 10 { (12, 0) } else { (5, 7) };
            let rl = headers.then_some((300, if t < 10 { 12 * (t + 1) } else { 300 }, 60 - t % 60));
            sec(t, 6, ok, thr, rl, headers.then_some(3))
        })
        .collect();
    from_timeline(tl, cc(1))
}

/// [`result`] over `publish` as a run of the seed batch with transaction `publish_to_success`: `ok` successes of 9 to 10 s,
/// `failed` ended in failure.
pub fn with_transaction(name: &str, ok: u64, failed: u64) -> RunResult {
    let mut r = result(60, &["publish"]);
    r.scenario.name = name.into();
    r.totals.final_by_outcome = [(Outcome::Success, r.totals.requests)].into();
    let cell = |outcome, n: u64| {
        let mut h = Hist::new();
        for k in 0..n {
            h.record(9_000_000 + 1_000_000 * k / n.max(1));
        }
        TxnCell {
            outcome,
            count: n,
            duration: Summary::of(&h),
            duration_hist: h,
        }
    };
    let mut cells = vec![cell(Outcome::Success, ok)];
    if failed > 0 {
        cells.push(cell(Outcome::Assertion, failed));
    }
    r.transactions = vec![Transaction {
        name: "publish_to_success".into(),
        started: ok + failed,
        unfinished: 0,
        cells,
    }];
    r
}
