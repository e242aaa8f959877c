//! The plugins' thread groups and the users' state of a JMeter plan, imported: the Ultimate
//! Thread Group's rows added up, the Concurrency and Stepping Thread Groups' steps, the
//! Arrivals and Free-Form Arrivals schedules (per minute), as the plugins' documentation and
//! code give them; XPath and CSS extractors, a Gaussian timer, a Constant Throughput Timer,
//! User Parameters, a Random Variable and a Digest Authorization Manager. The arrival groups
//! then run on virtual time (`--simulate`) with the number of arrivals their rates give.

use std::path::Path;
use std::time::Duration;

use surge::scenario::jmx;
use surge::scenario::{Auth, Profile};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/plugin_groups.jmx")
}

fn points(p: &Profile) -> Vec<(f64, f64)> {
    let c = match p {
        Profile::Users(c) => &c.points,
        Profile::Arrivals(a) => &a.points,
        Profile::ThreadGroup(_) => panic!("a thread group"),
    };
    c.iter().map(|(t, v)| (t.as_secs_f64(), *v)).collect()
}

#[test]
fn plugin_thread_groups_become_curves_and_state_maps() {
    let opts = jmx::ImportOptions::default();
    let imported = jmx::import_file(&fixture(), &opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(imported.warnings.is_empty(), "{:#?}", imported.warnings);
    let (plan, _) = jmx::load(&fixture(), &opts, &[]).unwrap_or_else(|e| panic!("{e}"));
    let g = |name: &str| plan.groups.iter().find(|g| g.name == name).unwrap();
    // Ultimate: 4 users from 0 s over 4 s (one every second, the first at once), held to 14 s,
    // down over 2 s; plus 2 users from 5 s to 8 s.
    assert_eq!(
        points(&g("ultimate").load.profile),
        [
            (0.0, 0.0),
            (0.0, 1.0),
            (3.0, 4.0),
            (5.0, 4.0),
            (5.0, 6.0),
            (8.0, 6.0),
            (8.0, 4.0),
            (14.0, 4.0),
            (16.0, 0.0)
        ]
    );
    // Concurrency: target 4 in 2 steps over 4 s (the plugin's first step at 0 s), held 2 s.
    assert_eq!(
        points(&g("concurrency").load.profile),
        [
            (0.0, 0.0),
            (0.0, 2.0),
            (2.0, 2.0),
            (2.0, 4.0),
            (4.0, 4.0),
            (6.0, 4.0)
        ]
    );
    // Stepping: after 2 s, 2 more users every 5 s up to 6, held 10 s, then 3 fewer each second.
    let s = points(&g("stepping").load.profile);
    assert_eq!(s[1..4], [(2.0, 0.0), (2.0, 2.0), (7.0, 2.0)]);
    assert_eq!(s.last(), Some(&(23.0, 0.0)));
    // Arrivals: 120 per minute at once, for 1 minute; at most 5 users.
    let Profile::Arrivals(a) = &g("arrivals").load.profile else {
        panic!()
    };
    assert_eq!(
        points(&g("arrivals").load.profile),
        [(0.0, 0.0), (0.0, 2.0), (60.0, 2.0)]
    );
    assert_eq!(a.max_users, 5);
    // Free-form: 0 → 60 per minute over a minute, then 60 per minute for a minute.
    assert_eq!(
        points(&g("free form").load.profile),
        [
            (0.0, 0.0),
            (0.0, 0.0),
            (60.0, 1.0),
            (60.0, 1.0),
            (120.0, 1.0)
        ]
    );
    // Timers: the Gaussian exactly; the Constant Throughput Timer as a pace per user.
    assert_eq!(
        g("ultimate").load.think_time,
        surge::scenario::ThinkTime::Gaussian {
            mean: Duration::from_millis(300),
            deviation: Duration::from_millis(100)
        }
    );
    let pace = g("concurrency").load.pace.unwrap();
    assert_eq!(
        (pace.per_second, pace.per),
        (0.5, surge::scenario::PaceScope::User)
    );
    // XPath (tolerant HTML, the 2nd match) and CSS (an attribute).
    let u = plan.requests.iter().find(|r| r.name == "u").unwrap();
    let from: Vec<&str> = u.extract.iter().map(|e| e.from.as_str()).collect();
    assert_eq!(from, ["xpath (html) //flow/@id", "css input[name=csrf]"]);
    // Credentials come from the environment, named after the plan's properties.
    assert_eq!(
        plan.auth,
        Auth::Digest {
            username_env: "API_USER".into(),
            password_env: "API_PASSWORD".into()
        }
    );
    assert!(
        imported.toml.contains("kind = \"per_user\"")
            && imported.toml.contains("format = \"r_00\"")
    );
    assert!(
        !plan.cookies.enabled,
        "no cookie manager: no cookies, as in JMeter"
    );
}

#[tokio::test]
async fn arrival_groups_run_their_schedule_on_virtual_time() {
    let opts = jmx::ImportOptions::default();
    // Against the built-in mock on virtual time; only the two arrival groups.
    let (mut plan, _) = jmx::load(&fixture(), &opts, &["target.base_url=\"mock\"".into()])
        .unwrap_or_else(|e| panic!("{e}"));
    plan.groups
        .retain(|g| g.name == "arrivals" || g.name == "free form");
    assert_eq!(plan.groups.len(), 2);
    plan.auth = Auth::None;
    let dir = tempfile::tempdir().unwrap();
    let r = surge::run::run_plan(
        plan,
        surge::run::RunOptions {
            out: Some(dir.path().to_path_buf()),
            simulate: true,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .result;
    // 2/s for 60 s, plus ∫ of 0 → 1/s over 60 s (30) and 1/s for 60 s: 120 + 90.
    assert_eq!(
        r.totals.iterations + r.totals.dropped_iterations,
        210,
        "{} {}",
        r.totals.iterations,
        r.totals.dropped_iterations
    );
}
