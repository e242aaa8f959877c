//! Importing JMeter test plans (`tests/fixtures/jmx/`): every property form, scoping, the
//! warnings for what surge does not run, errors with line and column, `surge import` output that
//! loads, and JMeter's ramp-up arithmetic on the paused clock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use surge::cli;
use surge::scenario::jmx::{self, ImportOptions};
use surge::scenario::{Auth, DataKind, OnEof, OnError, Profile, Share, ThinkTime, TokenSource};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jmx")
        .join(name)
}

fn props(p: &[(&str, &str)]) -> ImportOptions {
    ImportOptions {
        properties: p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        out_dir: None,
    }
}

fn tg(p: &surge::scenario::Plan, g: usize) -> &surge::scenario::ThreadGroup {
    let Profile::ThreadGroup(t) = &p.groups[g].load.profile else {
        panic!("not a thread group")
    };
    t
}

#[test]
fn seed_plan_imports_as_the_seed_scenario_without_warnings() {
    let opts = props(&[
        ("host", "127.0.0.1"),
        ("port", "8080"),
        ("protocol", "http"),
        ("token", "s3cr3t-t0ken"),
    ]);
    let (plan, imported) =
        jmx::load(&fixture("seed_publish.jmx"), &opts, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let t = tg(&plan, 0);
    assert_eq!(
        (t.threads, t.ramp_up, t.loops, t.duration),
        (50, Duration::from_secs(10), Some(10), None)
    );
    assert_eq!(plan.groups[0].name, "Publishers");
    assert_eq!(plan.requests.len(), 1);
    let r = &plan.requests[0];
    assert_eq!((r.name.as_str(), r.method.as_str()), ("publish", "POST"));
    assert_eq!(
        r.path.source(),
        "/api/v2/flows/actions/publish?flow={flow_id}"
    );
    assert_eq!(r.body.as_ref().map(|b| b.source()), Some("{}"));
    assert_eq!(r.expect_status, Some(vec![200]));
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.source() == "application/json"));
    assert!(
        !r.headers.iter().any(|(k, _)| k == "authorization"),
        "Authorization moved to [auth]"
    );
    assert_eq!(
        plan.auth,
        Auth::Bearer {
            source: TokenSource::Env("TOKEN".into())
        }
    );
    assert_eq!(imported.bearer_token(), Some("s3cr3t-t0ken"));
    assert!(
        !imported.toml.contains("s3cr3t"),
        "the token never reaches the scenario"
    );
    assert!(
        !format!("{imported:?}").contains("s3cr3t"),
        "nor Debug output"
    );
    match &plan.data[0].kind {
        DataKind::Csv { rows, .. } => assert_eq!(*rows, 20),
        k => panic!("{k:?}"),
    }
    assert_eq!(
        (plan.data[0].share, plan.data[0].on_eof),
        (Share::All, OnEof::Recycle)
    );
    assert_eq!(plan.vars, vec!["flow_id".to_string()]);
    match &plan.target.endpoint {
        surge::scenario::Endpoint::Url { base_url, .. } => {
            assert_eq!(base_url, "http://127.0.0.1:8080")
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        (plan.target.connect_timeout, plan.target.timeout),
        (Duration::from_secs(5), Duration::from_secs(30))
    );
    // Without -J: the plan's defaults, and the token from $TOKEN.
    let (plan, imported) = jmx::load(&fixture("seed_publish.jmx"), &props(&[]), &[]).unwrap();
    assert!(imported.bearer_token().is_none());
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    assert!(
        matches!(&plan.target.endpoint, surge::scenario::Endpoint::Url { base_url, .. } if base_url == "https://api.mypurecloud.com")
    );
}

#[test]
fn jmeter_2_string_properties_and_functions() {
    let (plan, imported) = jmx::load(&fixture("jmeter2_stringprops.jmx"), &props(&[]), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let t = tg(&plan, 0);
    // ${__P(threads,8)} with no -J: the default; loops -1 with the scheduler on.
    assert_eq!(t.threads, 8);
    assert_eq!((t.ramp_up, t.loops), (Duration::from_secs(4), None));
    assert_eq!(
        (t.duration, t.delay),
        (Some(Duration::from_secs(60)), Duration::from_secs(2))
    );
    assert_eq!(
        plan.groups[0].load.think_time,
        ThinkTime::Constant {
            pause: Duration::from_millis(250)
        }
    );
    assert_eq!(plan.groups[0].load.on_error, OnError::StopThread);
    assert_eq!(
        plan.requests[0].path.source(),
        "/api/v2/flows?pageSize=25&name=Main+IVR"
    );
    assert_eq!(
        plan.requests[1].path.source(),
        "/api/v2/flows/{__uuid}?t={__time}&n={__thread}&r={__random_1_100}"
    );
    let codes = plan.requests[1].expect_status.clone().unwrap();
    assert_eq!(
        (codes.len(), codes[0], codes[99], codes[100]),
        (101, 200, 299, 404)
    );
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.place == "WorkBench \"WorkBench\""),
        "{:?}",
        imported.notes
    );
    // -J overrides the default.
    let (plan, _) = jmx::load(
        &fixture("jmeter2_stringprops.jmx"),
        &props(&[("threads", "3")]),
        &[],
    )
    .unwrap();
    assert_eq!(tg(&plan, 0).threads, 3);
}

#[test]
fn jmeter_3_mixed_properties_csv_header_and_per_user_tokens() {
    let (plan, imported) = jmx::load(&fixture("jmeter3_mixed.jmx"), &props(&[]), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let t = tg(&plan, 0);
    assert_eq!(
        (t.threads, t.ramp_up, t.loops, t.duration),
        (
            20,
            Duration::from_secs(60),
            None,
            Some(Duration::from_secs(600))
        )
    );
    assert_eq!(
        plan.groups[0].load.think_time,
        ThinkTime::Uniform {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3)
        }
    );
    assert_eq!(plan.groups[0].load.on_error, OnError::NextLoop);
    // variableNames empty: the header row names them; a per-thread cursor that stops the thread.
    assert_eq!(plan.vars, vec!["user".to_string(), "token".to_string()]);
    assert_eq!(
        (plan.data[0].share, plan.data[0].on_eof),
        (Share::PerThread, OnEof::StopThread)
    );
    // A form POST, and a per-user bearer header from the CSV (no [auth]).
    assert_eq!(
        plan.requests[0].body.as_ref().unwrap().source(),
        "user={user}"
    );
    assert_eq!(plan.auth, Auth::None);
    let profile = &plan.requests[1];
    assert!(profile
        .headers
        .iter()
        .any(|(k, v)| k == "authorization" && v.source() == "Bearer {token}"));
    // Defaults from HTTP Request Defaults; the largest response timeout.
    assert!(
        matches!(&plan.target.endpoint, surge::scenario::Endpoint::Url { base_url, .. } if base_url == "http://localhost:8080")
    );
    assert_eq!(
        (plan.target.connect_timeout, plan.target.timeout),
        (Duration::from_secs(2), Duration::from_secs(20))
    );
}

#[test]
fn jmeter_5_typed_properties_two_serialized_groups_and_throughput_timer() {
    let (plan, imported) = jmx::load(
        &fixture("jmeter5_two_groups.jmx"),
        &props(&[("api.port", "9100")]),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.serialize_groups);
    assert_eq!(
        plan.groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["Warm-up", "Burst"]
    );
    let (a, b) = (tg(&plan, 0), tg(&plan, 1));
    assert_eq!(
        (a.threads, a.ramp_up, a.loops, a.duration),
        (2, Duration::from_secs(1), Some(3), None)
    );
    assert_eq!(
        (b.threads, b.ramp_up, b.loops),
        (4, Duration::from_secs(2), None)
    );
    assert_eq!(
        (b.duration, b.delay),
        (Some(Duration::from_secs(30)), Duration::from_secs(1))
    );
    assert_eq!(plan.groups[1].load.on_error, OnError::StopTest);
    // 120/min shared by the group's 4 threads (calcMode 2): a pace of the group, not a pause.
    assert_eq!(plan.groups[1].load.think_time, ThinkTime::None);
    assert_eq!(
        plan.groups[1].load.pace,
        Some(surge::scenario::GroupPace {
            per_second: 2.0,
            per: surge::scenario::PaceScope::Group
        })
    );
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    assert!(imported
        .toml
        .contains("pace = { rate = \"120/m\", per = \"group\" }"));
    assert_eq!(
        plan.requests[1].body.as_ref().unwrap().source(),
        r#"{"id": "{__uuid}", "n": {__thread}}"#
    );
    assert_eq!(plan.requests[1].expect_status, Some(vec![200, 202]));
    assert!(
        matches!(&plan.target.endpoint, surge::scenario::Endpoint::Url { base_url, .. } if base_url == "http://127.0.0.1:9100")
    );
}

#[test]
fn unsupported_elements_are_warned_by_type_name_and_place() {
    let imported = jmx::import_file(&fixture("nested_controllers.jmx"), &props(&[]))
        .unwrap_or_else(|e| panic!("{e}"));
    let places: Vec<&str> = imported.warnings.iter().map(|w| w.place.as_str()).collect();
    for want in [
        "Checkout/Shoppers/browse/IfController \"check\"",
        "Checkout/Shoppers/WhileController \"until paid\"",
        "Checkout/Shoppers/until paid/JSR223Sampler \"compute\"",
        "Checkout/Shoppers/until paid/HTTPSamplerProxy \"pay\"",
        "Checkout/Shoppers/JSR223PreProcessor \"set stock\"",
        "Checkout/Shoppers/DebugSampler \"Debug Sampler\"",
        "Checkout/SetupThreadGroup \"setUp\"",
    ] {
        assert!(
            places.contains(&want),
            "no warning for {want}; got {places:#?}"
        );
    }
    let msg = |place: &str| {
        imported
            .warnings
            .iter()
            .find(|w| w.place == place)
            .unwrap()
            .message
            .clone()
    };
    // `stock` and `paid` are set by scripts surge does not run: their conditions are not mapped.
    assert!(
        msg("Checkout/Shoppers/browse/IfController \"check\"").contains("not a form surge maps")
    );
    // The cookie manager, the extractor, the transaction and the counted loop map without a
    // warning.
    assert!(imported
        .toml
        .contains("[cookies]\n# Checkout/CookieManager \"HTTP Cookie Manager\"\nenabled = true"));
    for mapped in [
        "CookieManager",
        "RegexExtractor",
        "TransactionController",
        "LoopController \"poll 3x\"",
    ] {
        assert!(
            !imported.warnings.iter().any(|w| w.place.contains(mapped)),
            "{mapped}: {:#?}",
            imported.warnings
        );
    }
    assert!(
        imported
            .toml
            .contains("{ loop = 3, steps = [\"order status\"] }"),
        "{}",
        imported.toml
    );
    assert!(msg("Checkout/Shoppers/until paid/HTTPSamplerProxy \"pay\"")
        .contains("payments.example.com"));
    // Disabled and listener elements: listed as notes.
    assert!(imported.notes.iter().any(|n| n.place
        == "Checkout/Shoppers/HTTPSamplerProxy \"old endpoint\""
        && n.message.contains("disabled")));
    assert!(imported
        .notes
        .iter()
        .any(|n| n.place.contains("View Results Tree") && n.message.contains("listener")));
    // The warnings head the scenario file too.
    assert!(imported
        .toml
        .contains("#   - Checkout/Shoppers/browse/IfController \"check\""));
    let (plan, _) = jmx::load(&fixture("nested_controllers.jmx"), &props(&[]), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let seq: Vec<&str> = plan.groups[0]
        .steps
        .iter()
        .map(|i| plan.requests[*i].name.as_str())
        .collect();
    assert_eq!(
        seq,
        ["home", "search", "add to cart", "order status", "pay"]
    );
    assert!(!plan.requests.iter().any(|r| r.name == "old endpoint"));
    // --strict: warnings are errors.
    let e = imported
        .strict_error(&fixture("nested_controllers.jmx"))
        .unwrap();
    assert_eq!(e.problems.len(), imported.warnings.len());
    assert!(e.to_string().contains("IfController \"check\""), "{e}");
}

#[tokio::test]
async fn strict_and_malformed_exit_2_with_line_and_column() {
    let out = tempfile::tempdir().unwrap();
    let import = |plan: PathBuf, strict: bool| cli::import::ImportArgs {
        plan,
        out: Some(out.path().join("s.toml")),
        jmeter_property: vec![],
        strict,
    };
    assert_eq!(
        cli::import::import_cmd(&import(fixture("nested_controllers.jmx"), true)),
        2
    );
    assert!(
        !out.path().join("s.toml").exists(),
        "nothing written under --strict"
    );
    assert_eq!(
        cli::import::import_cmd(&import(fixture("nested_controllers.jmx"), false)),
        0
    );
    assert_eq!(
        cli::import::import_cmd(&import(fixture("malformed.jmx"), false)),
        2
    );
    let e = jmx::import_file(&fixture("malformed.jmx"), &props(&[])).unwrap_err();
    let p = &e.problems[0];
    assert_eq!((p.line, p.column), (Some(10), Some(7)), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "{}:10:7: malformed XML",
            fixture("malformed.jmx").display()
        )),
        "{e}"
    );
    // Not a test plan at all.
    let f = out.path().join("x.jmx");
    std::fs::write(&f, "<project><target/></project>").unwrap();
    assert!(jmx::import_file(&f, &props(&[]))
        .unwrap_err()
        .to_string()
        .contains("not a JMeter test plan"));
}

#[test]
fn surge_import_output_loads_from_another_folder() {
    let out = tempfile::tempdir().unwrap();
    for name in [
        "seed_publish.jmx",
        "jmeter2_stringprops.jmx",
        "jmeter3_mixed.jmx",
        "jmeter5_two_groups.jmx",
        "nested_controllers.jmx",
    ] {
        let dest = out
            .path()
            .join("scenarios")
            .join(name.replace(".jmx", ".toml"));
        let args = cli::import::ImportArgs {
            plan: fixture(name),
            out: Some(dest.clone()),
            jmeter_property: vec![],
            strict: false,
        };
        assert_eq!(cli::import::import_cmd(&args), 0, "{name}");
        let plan = surge::scenario::load(&dest, &[])
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", std::fs::read_to_string(&dest).unwrap()));
        // CSV files still found: written relative to the scenario's folder.
        for d in &plan.data {
            if let DataKind::Csv { file, .. } = &d.kind {
                assert!(file.exists(), "{name}: {}", file.display());
            }
        }
        let text = std::fs::read_to_string(&dest).unwrap();
        assert!(text.starts_with("# Imported by `surge import`"), "{name}");
        if name == "seed_publish.jmx" {
            // Relative to the output folder, or absolute when the two share only the root.
            let abs = fixture("flows.csv").display().to_string();
            assert!(
                text.contains(&format!("file = \"{abs}\"")) || text.contains("file = \"../"),
                "{text}"
            );
        }
    }
}

/// Every command takes `-o`/`--out` for where it writes; `surge import` also keeps `--output`.
#[tokio::test]
async fn import_takes_out_like_every_command_and_keeps_output() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["-o", "--out", "--output"] {
        let dest = dir
            .path()
            .join(format!("{}.toml", flag.trim_start_matches('-')));
        let code = cli::main_with([
            "surge".as_ref(),
            "import".as_ref(),
            fixture("seed_publish.jmx").as_os_str(),
            flag.as_ref(),
            dest.as_os_str(),
        ])
        .await;
        assert_eq!(code, 0, "{flag}");
        assert!(dest.exists(), "{flag} wrote {}", dest.display());
    }
}

/// A transport that answers 200 after a fixed delay and keeps what it was sent.
struct Scripted {
    latency: Duration,
    urls: Mutex<Vec<String>>,
}

impl surge::transport::Transport for Scripted {
    type Conn = ();

    fn conn(&self) {}

    async fn send(
        &self,
        _conn: &mut (),
        req: surge::transport::OutRequest<'_>,
    ) -> surge::transport::Exchange {
        self.urls.lock().unwrap().push(req.url.to_string());
        tokio::time::sleep(self.latency).await;
        let now = tokio::time::Instant::now();
        surge::transport::Exchange {
            status: Ok(200),
            ttfb: now,
            end: now,
            bytes_in: 10,
            bytes_out: 10,
            retry_after_ms: None,
            rate_limit: None,
            limit_key: None,
            captured: None,
        }
    }
}

async fn run_paused(plan: &surge::scenario::Plan) -> Vec<surge::record::Sample> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(100_000);
    let opts = surge::engine::ExecOptions {
        base_url: "http://h".into(),
        cancel: tokio_util::sync::CancellationToken::new(),
        stop_now: tokio_util::sync::CancellationToken::new(),
        grace: Duration::from_secs(1),
        samples: Some(tx),
        on_tick: None,
        seed: Some(3),
        segment: None,
        workers: Default::default(),
        dial: None,
    };
    let t = Arc::new(Scripted {
        latency: Duration::from_millis(100),
        urls: Mutex::new(Vec::new()),
    });
    let out =
        surge::engine::execute(plan, t, surge::transport::auth::AuthRuntime::None, opts).await;
    assert_eq!(out.stop_reason, surge::record::StopReason::Completed);
    let mut v = Vec::new();
    while let Ok(s) = rx.try_recv() {
        if let surge::record::samples::Streamed::Sample(s) = s {
            v.push(s.sample);
        }
    }
    v
}

#[tokio::test(start_paused = true)]
async fn imported_seed_plan_starts_threads_on_jmeters_ramp_up() {
    let (plan, _) = jmx::load(&fixture("seed_publish.jmx"), &props(&[]), &[]).unwrap();
    let samples = run_paused(&plan).await;
    assert_eq!(samples.len(), 500, "50 threads × 10 loops");
    // JMeter: thread i starts at delay + i × ramp_time / num_threads = i × 10 s / 50.
    for i in 0..50u32 {
        let first = samples
            .iter()
            .filter(|s| s.user == i)
            .map(|s| s.start_us)
            .min()
            .unwrap();
        assert_eq!(first, u64::from(i) * 200_000, "thread {i}");
        assert_eq!(samples.iter().filter(|s| s.user == i).count(), 10);
    }
}

#[tokio::test(start_paused = true)]
async fn imported_serialized_groups_keep_delay_ramp_and_order() {
    let (plan, _) = jmx::load(
        &fixture("jmeter5_two_groups.jmx"),
        &props(&[]),
        &["group[1].load.duration=\"5s\"".into()],
    )
    .unwrap();
    let samples = run_paused(&plan).await;
    let warm: Vec<_> = samples.iter().filter(|s| s.step == 0).collect();
    assert_eq!(warm.len(), 6, "2 threads × 3 loops");
    // Warm-up: 2 threads over 1 s: at 0 and 0.5 s.
    let first = |u: u32| {
        samples
            .iter()
            .filter(|s| s.user == u)
            .map(|s| s.start_us)
            .min()
            .unwrap()
    };
    assert_eq!((first(0), first(1)), (0, 500_000));
    // Burst starts when warm-up ends (0.5 s + 3 × 100 ms), then its own delay (1 s) and ramp-up
    // (4 threads over 2 s); the group's pace (120/min) gives the group's requests one slot
    // every 500 ms, whichever thread takes it.
    let warm_end = warm.iter().map(|s| s.end_us).max().unwrap();
    assert_eq!(warm_end, 800_000);
    assert_eq!(first(2), warm_end + 1_000_000);
    let mut burst: Vec<u64> = samples
        .iter()
        .filter(|s| s.step == 1)
        .map(|s| s.start_us)
        .collect();
    burst.sort_unstable();
    assert!(burst.len() >= 8, "{burst:?}");
    for (k, t) in burst.iter().enumerate() {
        assert_eq!(*t, warm_end + 1_000_000 + k as u64 * 500_000, "slot {k}");
    }
    for i in 1..4u32 {
        assert!(
            first(2 + i) >= warm_end + 1_000_000 + u64::from(i) * 500_000,
            "thread {i} starts on its ramp-up"
        );
    }
}
