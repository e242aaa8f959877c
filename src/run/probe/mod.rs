//! `surge probe`: finds the sustained rate and the burst a target admits for a scenario's
//! requests, with as few requests as it can (each costs the user real quota).
//!
//! A search is a run whose arrivals follow a [`Dial`] that [`search::Search`] turns as answers
//! come (open model; every request recorded like a run's, with its own `result.json` and report).
//! The first search uses one token; with `--scope tokens` a second spreads its requests over two
//! tokens, so a per-token limit shows as twice the rate and a shared one as the same. The limit
//! is then fitted ([`surge_analysis::limit`]), its scope judged, the pace that keeps under it
//! advised, and all of it written to `limit.json` and `probe.html`.

pub mod search;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::search::{Done, Search, SearchConfig};
use super::{assemble, auth_runtime, RunError, Target};
use surge_analysis::limit::file::{LimitFile, SearchEnd, SearchRecord, Step};
use surge_analysis::limit::{Event, Verdict};
use surge_engine::{self as engine, ExecOptions};
use surge_mock::{MockConfig, MockServer, Preset};
use surge_plan::schedule::feedback::Dial;
use surge_plan::{ArrivalCurve, Auth, Endpoint, OnError, Plan, Policy, Profile, ThinkTime};
use surge_record::meta::GroupLoad;
use surge_record::samples::Streamed;
use surge_record::{RunResult, Sample, StatusKey, StopReason};
use surge_transport::auth::{Credentials, TokenFetch};
use surge_transport::Transport;

/// Most users a search keeps (a slow answer holds one each).
const SEARCH_USERS: u32 = 2_000;

/// Options of `surge probe`.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Output directory (default `reports/probe-<name>-<UTC timestamp>`).
    pub out: Option<PathBuf>,
    /// Requests all the searches may send together.
    pub max_requests: u64,
    /// Time all the searches may take together.
    pub max_duration: Duration,
    /// Also search with the requests spread over two tokens.
    pub scope_tokens: bool,
    /// On virtual time against the in-process mock.
    pub simulate: bool,
    /// Seed of the built-in mock's draws (and the client's).
    pub seed: Option<u64>,
    /// Fired by Ctrl-C: the search in progress stops and what was found is written.
    pub cancel: CancellationToken,
    /// The search's knobs.
    pub search: SearchConfig,
    /// The live hub (`--metrics`, `--live`): each search in turn, and the rate it tries.
    pub live: Option<Arc<surge_live::Hub>>,
}

/// One search, done.
#[derive(Debug)]
pub struct SearchRun {
    /// Tokens it spread its requests over.
    pub tokens: u32,
    /// Its recording.
    pub result: RunResult,
    /// Every answer, as the limiter gave it.
    pub events: Vec<Event>,
    /// Its rate and pauses over time.
    pub steps: Vec<Step>,
    /// Why it ended.
    pub end: SearchEnd,
}

/// Runs the searches `plan` and `opts` ask for against the plan's target.
///
/// # Errors
/// [`RunError`]: a wrong flag (`--scope tokens` without client credentials, `--simulate` without
/// the mock), refused credentials, a mock that cannot start.
pub async fn run_searches(plan: &Plan, opts: &ProbeOptions) -> Result<Vec<SearchRun>, RunError> {
    check(plan, opts)?;
    match &plan.target.endpoint {
        Endpoint::Mock { preset } if opts.simulate => {
            let cfg = MockConfig::preset(*preset).with_draw_seed(Some(opts.seed.unwrap_or(1)));
            simulate(plan.clone(), cfg, opts.clone()).await
        }
        Endpoint::Url { .. } if opts.simulate => Err(RunError::Usage(
            "--simulate: the target must be the built-in mock (base_url = \"mock\", or --target mock)"
                .into(),
        )),
        Endpoint::Mock { preset } => {
            let cfg = MockConfig::preset(*preset).with_draw_seed(opts.seed);
            let m = MockServer::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| {
                    RunError::Usage(format!("cannot start the built-in mock on 127.0.0.1: {e}"))
                })?;
            let url = m.url();
            let creds = Credentials {
                client_id: m.client_id().to_string(),
                client_secret: m.client_secret().to_string(),
            };
            let (transport, proxy) = super::http_transport(plan, &url, &url)?;
            let at = Site {
                base_url: url.clone(),
                login_url: url,
                creds: Some(creds),
                preset: Some(*preset),
                mock: true,
                simulated: false,
                proxy,
            };
            let runs = searches(plan, Arc::new(transport), &at, opts).await;
            m.shutdown().await;
            runs
        }
        Endpoint::Url {
            base_url,
            login_url,
        } => {
            let (transport, proxy) = super::http_transport(plan, base_url, login_url)?;
            let preset = match plan.target.written_for_mock {
                Some(_) => super::mock_preset_at(base_url).await,
                None => None,
            };
            let at = Site {
                base_url: base_url.clone(),
                login_url: login_url.clone(),
                creds: None,
                preset,
                mock: false,
                simulated: false,
                proxy,
            };
            searches(plan, Arc::new(transport), &at, opts).await
        }
    }
}

/// What a probe of `plan` needs before it sends anything.
///
/// # Errors
/// [`RunError::Usage`]: nothing to probe, or `--scope tokens` without client credentials.
pub fn check(plan: &Plan, opts: &ProbeOptions) -> Result<(), RunError> {
    if plan.groups.is_empty() || plan.requests.is_empty() {
        return Err(RunError::Usage(
            "the scenario has no request to probe".into(),
        ));
    }
    if opts.scope_tokens && !matches!(plan.auth, Auth::ClientCredentials { .. }) {
        return Err(RunError::Usage(
            "--scope tokens: the scenario must authenticate with [auth] kind = \"client_credentials\", \
             so that surge can fetch a second token"
                .into(),
        ));
    }
    Ok(())
}

/// Where the searches send, and as whom.
#[derive(Debug, Clone)]
struct Site {
    base_url: String,
    login_url: String,
    /// The built-in mock's own client, when it is the target.
    creds: Option<Credentials>,
    preset: Option<Preset>,
    mock: bool,
    simulated: bool,
    /// The proxy the API requests go through (shown form), when one applies.
    proxy: Option<String>,
}

/// The searches against the in-process mock, on tokio's paused clock in a runtime of its own (one
/// mock for all searches: the second finds the limiter as the first left it).
async fn simulate(
    plan: Plan,
    cfg: MockConfig,
    opts: ProbeOptions,
) -> Result<Vec<SearchRun>, RunError> {
    let preset = cfg.preset;
    super::virtual_time::run("surge-probe-simulate", move || async move {
        let mock = super::virtual_time::SimMock::new(cfg, plan.target.timeout);
        let at = Site {
            base_url: mock.url.clone(),
            login_url: mock.url,
            creds: mock.creds,
            preset: Some(preset),
            mock: true,
            simulated: true,
            proxy: None,
        };
        searches(&plan, Arc::new(mock.transport), &at, &opts).await
    })
    .await
}

/// One token, then two when the scope is asked for, within the budgets.
async fn searches<T: Transport + TokenFetch + Clone + engine::Compiled>(
    plan: &Plan,
    transport: Arc<T>,
    at: &Site,
    opts: &ProbeOptions,
) -> Result<Vec<SearchRun>, RunError> {
    let counts: &[u32] = if opts.scope_tokens { &[1, 2] } else { &[1] };
    let started = tokio::time::Instant::now();
    let mut runs: Vec<SearchRun> = Vec::new();
    for (i, &tokens) in counts.iter().enumerate() {
        let spent: u64 = runs.iter().map(|r| r.result.totals.requests).sum();
        let left = opts.max_requests.saturating_sub(spent);
        // The first search leaves room for the second: two tokens may take twice as many.
        let budget = if i + 1 < counts.len() {
            left * 2 / 5
        } else {
            left
        };
        let time_left = opts.max_duration.saturating_sub(started.elapsed());
        if opts.cancel.is_cancelled() || budget == 0 || time_left.is_zero() {
            break;
        }
        // The next search starts from a rested limiter: what the last one drained refills first.
        if let Some(last) = runs.last() {
            let rest =
                rest_after(&surge_analysis::limit::fit::fit(&last.events)).min(time_left / 4);
            tokio::select! {
                _ = tokio::time::sleep(rest) => {}
                _ = opts.cancel.cancelled() => break,
            }
        }
        let time_left = opts.max_duration.saturating_sub(started.elapsed());
        let p = search_plan(plan, tokens, budget, time_left, &opts.search);
        let fetch: Arc<dyn TokenFetch> = Arc::new((*transport).clone());
        let auth = auth_runtime(
            &p,
            surge_plan::schedule::Segment::WHOLE,
            &at.login_url,
            fetch,
            at.creds.clone(),
            None,
        )
        .await?;
        if let Some(h) = &opts.live {
            h.begin(surge_live::RunInfo {
                scenario: plan.name.clone(),
                run_id: search_dir(i, tokens),
                segment: String::new(),
            });
        }
        runs.push(one_search(&p, tokens, transport.clone(), auth, at, opts).await);
    }
    Ok(runs)
}

/// How long a limiter takes to refill after a search drained it: a bucket or queue refills its
/// burst at the sustained rate, a window reopens after its length, and a 429 asked to wait its
/// Retry-After; with a margin, at least a second, at most a minute.
fn rest_after(estimate: &surge_analysis::limit::Estimate) -> Duration {
    let Some(f) = estimate.fit() else {
        return Duration::from_secs(1);
    };
    let refill = match f.window_s {
        Some(w) => w,
        None if f.sustained_rate_per_s > 0.0 => f.burst / f.sustained_rate_per_s,
        None => 60.0,
    };
    let asked = f.evidence.retry_after_s.map_or(0.0, |(_, max)| max);
    Duration::from_secs_f64((refill.max(asked) * 1.5).clamp(1.0, 60.0))
}

/// The plan a search runs: the first group's requests, one iteration per arrival of the dial,
/// no think time, no retry and no pace (every 429 is evidence), within the budgets.
fn search_plan(
    plan: &Plan,
    tokens: u32,
    max_requests: u64,
    max_duration: Duration,
    cfg: &SearchConfig,
) -> Plan {
    let mut p = plan.clone();
    p.groups.truncate(1);
    p.serialize_groups = false;
    let g = &mut p.groups[0];
    g.load.profile = Profile::Arrivals(ArrivalCurve {
        shape: surge_plan::ArrivalShape::ProbeSearch,
        points: vec![
            (Duration::ZERO, cfg.start_rate),
            (max_duration, cfg.max_rate),
        ],
        pre_allocated_users: 8,
        max_users: SEARCH_USERS,
    });
    g.load.think_time = ThinkTime::None;
    g.load.on_error = OnError::Continue;
    if let Auth::ClientCredentials { tokens: t, .. } = &mut p.auth {
        *t = tokens;
    }
    p.limits.max_requests = Some(max_requests);
    p.limits.max_duration = Some(max_duration);
    p.on_429 = Policy::default();
    p.thresholds.clear();
    p
}

/// What the limiter did with one attempt.
fn event_of(s: &Sample, tokens: u32) -> Event {
    Event {
        t_s: s.start_us as f64 / 1e6,
        latency_s: s.end_us.saturating_sub(s.start_us) as f64 / 1e6,
        verdict: match s.status {
            StatusKey::Http(429) => Verdict::Refused,
            StatusKey::Http(c) if (200..400).contains(&c) => Verdict::Admitted,
            _ => Verdict::Other,
        },
        retry_after_s: s.retry_after_ms.map(|ms| f64::from(ms) / 1000.0),
        headers: s.rate_limit,
        token: s.user % tokens.max(1),
    }
}

async fn one_search<T: Transport + engine::Compiled>(
    p: &Plan,
    tokens: u32,
    transport: Arc<T>,
    auth: surge_transport::auth::AuthRuntime,
    at: &Site,
    opts: &ProbeOptions,
) -> SearchRun {
    let cfg = opts.search;
    let dial = Dial::new(cfg.start_rate, cfg.growth);
    let (tx, mut rx) = mpsc::channel::<Streamed>(4_096);
    let consumer = {
        let dial = dial.clone();
        let hub = opts.live.clone();
        if let Some(h) = &hub {
            h.probe(surge_live::hub::ProbeNow {
                rate: cfg.start_rate,
            });
        }
        tokio::spawn(async move {
            let mut s = Search::new(cfg);
            let mut applied = (cfg.start_rate, cfg.growth);
            let mut done = None;
            let epoch = tokio::time::Instant::now();
            let mut ticks = tokio::time::interval(Duration::from_millis(250));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let c = tokio::select! {
                    x = rx.recv() => match x {
                        Some(Streamed::Sample(x)) => s.observe(x.sample.end_us as f64 / 1e6, event_of(&x.sample, tokens)),
                        // A transaction's end says nothing the limiter decided.
                        Some(Streamed::Txn(_)) => continue,
                        None => break,
                    },
                    _ = ticks.tick() => s.tick(epoch.elapsed().as_secs_f64()),
                };
                let now = epoch.elapsed().as_secs_f64();
                if (c.rate, c.growth) != applied {
                    let since = if c.growth > 1.0 { 0.0 } else { now };
                    dial.set_rate(c.rate, c.growth, Duration::from_secs_f64(since));
                    applied = (c.rate, c.growth);
                }
                if let Some(h) = &hub {
                    let rate = dial.rate_at(Duration::from_secs_f64(now));
                    h.probe(surge_live::hub::ProbeNow { rate });
                }
                dial.pause_until(Duration::from_secs_f64(c.pause_until.max(0.0)));
                if let (Some(d), None) = (c.stop, done) {
                    done = Some(d);
                    dial.stop();
                }
            }
            (s, done)
        })
    };
    let started = time::OffsetDateTime::now_utc();
    let exec = ExecOptions {
        base_url: at.base_url.clone(),
        cancel: opts.cancel.clone(),
        grace: engine::DEFAULT_GRACE,
        samples: Some(tx),
        on_tick: opts.live.clone().map(|h| {
            let f: engine::OnTick = Arc::new(move |t: &surge_record::Tick| {
                h.tick(t);
                None
            });
            f
        }),
        seed: opts.seed,
        segment: None,
        dial: Some(dial),
        stop_now: CancellationToken::new(),
        // Virtual time runs on the caller's one thread; real time on per-core runtimes.
        workers: if at.simulated {
            engine::Workers::Ambient
        } else {
            engine::Workers::per_core()
        },
    };
    let out = T::execute_over(p, transport, auth, exec).await;
    let (search, done) = consumer.await.unwrap_or_else(|_| (Search::new(cfg), None));
    let end = match (done, &out.stop_reason) {
        (Some(Done::Stable), _) => SearchEnd::Stable,
        (Some(Done::NotReached), _) => SearchEnd::NotReached,
        (None, StopReason::MaxRequests) => SearchEnd::MaxRequests,
        (None, StopReason::MaxDuration) => SearchEnd::MaxDuration,
        (None, StopReason::Cancelled | StopReason::Aborted(_)) => SearchEnd::Cancelled,
        (None, _) => SearchEnd::Stopped,
    };
    let mut result = assemble(
        p,
        out,
        Target {
            base_url: at.base_url.clone(),
            preset: at.preset,
            mock: at.mock,
            proxy: at.proxy.clone(),
        },
        started,
        at.simulated,
    );
    result.plan.groups = vec![GroupLoad {
        name: p.groups[0].name.clone(),
        profile: "probe".into(),
        settings: BTreeMap::from([
            ("start_rate".into(), cfg.start_rate.to_string()),
            ("growth_per_s".into(), cfg.growth.to_string()),
            ("max_rate".into(), cfg.max_rate.to_string()),
            ("tokens".into(), tokens.to_string()),
        ]),
    }];
    if let Some(h) = &opts.live {
        h.finish(&result);
    }
    SearchRun {
        tokens,
        result,
        events: search.events().to_vec(),
        steps: search.steps().to_vec(),
        end,
    }
}

/// What one search found, for `limit.json`.
pub fn record(run: &SearchRun, result_path: String) -> SearchRecord {
    let t = &run.result.totals;
    let estimate = surge_analysis::limit::fit::fit(&run.events);
    let bounds = surge_analysis::limit::bounds::bounds(&run.events, &run.steps, estimate.fit());
    SearchRecord {
        tokens: run.tokens,
        result: result_path,
        bounds: (bounds.lower_per_s > 0.0 || bounds.upper_per_s.is_some()).then_some(bounds),
        estimate,
        end: run.end,
        requests: t.requests,
        throttled: t
            .by_outcome
            .get(&surge_record::Outcome::Throttled)
            .copied()
            .unwrap_or(0),
        seconds: run.result.duration_s,
        steps: run.steps.clone(),
    }
}

/// A finished probe: what it found and where it was written.
#[derive(Debug)]
pub struct ProbeReport {
    /// `limit.json`, as written.
    pub file: LimitFile,
    /// The output directory.
    pub out_dir: PathBuf,
}

/// The directory of search `i` (from 0) over `tokens` tokens.
fn search_dir(i: usize, tokens: u32) -> String {
    format!(
        "search-{}-{}",
        i + 1,
        surge_record::plural(u64::from(tokens), "token").replace(' ', "-")
    )
}

/// Runs `surge probe`: the searches, then every output (each search's result and report,
/// `limit.json`, `probe.html`) in the output directory.
///
/// # Errors
/// [`RunError`], as [`run_searches`]; output errors name the file.
pub async fn probe(plan: Plan, opts: ProbeOptions) -> Result<ProbeReport, RunError> {
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| super::stamped_dir(&format!("probe-{}", plan.name)));
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| RunError::Usage(format!("--out {}: {e}", out_dir.display())))?;
    let started = time::OffsetDateTime::now_utc();
    let runs = run_searches(&plan, &opts).await?;
    let mut records = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let dir = search_dir(i, run.tokens);
        surge_report::write_outputs(&run.result, &out_dir.join(&dir))
            .map_err(|e| RunError::Io(format!("writing outputs: {e}")))?;
        records.push(record(run, format!("{dir}/result.json")));
    }
    let target = runs
        .first()
        .map(|r| r.result.target.clone())
        .unwrap_or_else(|| surge_record::result::TargetInfo {
            base_url: String::new(),
            host: String::new(),
            kind: surge_record::result::TargetKind::Url,
            mock_preset: None,
            proxy: None,
            ca_cert: None,
        });
    let scenario = surge_record::result::ScenarioInfo {
        name: plan.name.clone(),
        description: plan.description.clone(),
        file: plan.source.display().to_string(),
    };
    let mut file = surge_analysis::limit::file::assemble(
        &scenario,
        target,
        started,
        opts.simulate,
        records,
        opts.scope_tokens,
        plan.planned_requests(),
        plan.auth.tokens(),
    );
    let path = out_dir.join("limit.json");
    let words = surge_report::probe::phrase(&file, &path.display().to_string());
    file.words = surge_analysis::limit::file::Words {
        headline: words.headline,
        recommendation: words.recommendation,
    };
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    std::fs::write(&path, text).map_err(|e| RunError::Io(format!("{}: {e}", path.display())))?;
    let results: Vec<&RunResult> = runs.iter().map(|r| &r.result).collect();
    let html = out_dir.join("probe.html");
    std::fs::write(&html, surge_report::html::probe::render(&file, &results))
        .map_err(|e| RunError::Io(format!("{}: {e}", html.display())))?;
    Ok(ProbeReport { file, out_dir })
}

#[cfg(test)]
mod rest_tests {
    use super::*;
    use surge_analysis::limit::fit::fit;

    #[test]
    fn a_drained_bucket_rests_until_its_burst_refilled_with_a_margin() {
        // 40/s with a burst of 60: 60 at once, then one every 25 ms, refused in between.
        let mut ev: Vec<Event> = (0..60)
            .map(|i| Event::admitted(0.001 * f64::from(i), 0.001))
            .collect();
        for k in 0..800 {
            let t = 0.06 + 0.005 * f64::from(k);
            ev.push(if k % 5 == 0 {
                Event::admitted(t, 0.001)
            } else {
                Event::refused(t, None)
            });
        }
        // 60 / 40 = 1.5 s to refill, × 1.5.
        let rest = rest_after(&fit(&ev)).as_secs_f64();
        assert!((2.0..=2.5).contains(&rest), "{rest}");
        assert_eq!(
            rest_after(&surge_analysis::limit::Estimate::NoData),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_retry_after_longer_than_the_refill_is_waited() {
        let mut ev: Vec<Event> = (0..10)
            .map(|i| Event::admitted(0.01 * f64::from(i), 0.001))
            .collect();
        ev.extend((0..30).map(|k| Event::refused(0.1 + 0.01 * f64::from(k), Some(10.0))));
        ev.push(Event::admitted(10.5, 0.001));
        let rest = rest_after(&fit(&ev)).as_secs_f64();
        assert!(rest >= 15.0, "{rest}");
    }
}
