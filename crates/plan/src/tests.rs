//! Scenario loading: a full valid file, every problem reported with its line, `--set`.

use std::path::Path;
use std::time::Duration;

use super::*;

const GOOD: &str = r#"
name = "architect-publish"
description = "the seed's JMeter test"

[target]
base_url = "https://api.mypurecloud.com"
timeout = "30s"

[auth]
kind = "client_credentials"
client_id_env = "GENESYS_CLIENT_ID"
client_secret_env = "GENESYS_CLIENT_SECRET"
tokens = 2

[[data]]
kind = "list"
var = "flow_id"
values = ["a", "b"]

[[data]]
kind = "counter"
var = "n"
start = 100

[[request]]
name = "publish"
method = "post"
path = "/api/v2/flows/actions/publish?flow={flow_id}"
headers = { "Content-Type" = "application/json", "X-Run" = "{n}" }
body = "null"

[load]
threads = 50
ramp_up = "10s"
loops = 10
think_time = { min = "100ms", max = "1s" }
on_error = "next_loop"

[limits]
max_requests = 10000
max_duration = "10m"
"#;

fn load(text: &str) -> Result<Plan, ConfigError> {
    load_str(text, Path::new("s.toml"), &[])
}

#[test]
fn a_full_scenario_becomes_a_plan() {
    let p = load(GOOD).unwrap();
    assert_eq!(p.name, "architect-publish");
    assert_eq!(
        p.target.endpoint,
        Endpoint::Url {
            base_url: "https://api.mypurecloud.com".into(),
            login_url: "https://login.mypurecloud.com".into()
        }
    );
    assert_eq!(p.target.timeout, Duration::from_secs(30));
    assert!(matches!(p.auth, Auth::ClientCredentials { tokens: 2, .. }));
    assert_eq!(p.vars, vec!["flow_id", "n"]);
    assert_eq!(p.requests[0].method, http::Method::POST);
    assert_eq!(p.groups.len(), 1);
    let g = &p.groups[0];
    assert_eq!(g.load.on_error, OnError::NextLoop);
    assert_eq!(
        g.load.think_time,
        ThinkTime::Uniform {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1)
        }
    );
    let Profile::ThreadGroup(tg) = &g.load.profile else {
        panic!()
    };
    assert_eq!(
        (tg.threads, tg.ramp_up, tg.loops),
        (50, Duration::from_secs(10), Some(10))
    );
    assert_eq!(p.planned_requests(), Some(500));
    assert_eq!(p.limits.max_duration, Some(Duration::from_secs(600)));
    // The plan as written to result.json holds variable names, not secrets.
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("GENESYS_CLIENT_SECRET"));
}

#[test]
fn region_maps_to_api_and_login_hosts() {
    let p = load(&GOOD.replace(
        "base_url = \"https://api.mypurecloud.com\"",
        "region = \"eu-central-1\"",
    ))
    .unwrap();
    assert_eq!(
        p.target.endpoint,
        Endpoint::Url {
            base_url: "https://api.mypurecloud.de".into(),
            login_url: "https://login.mypurecloud.de".into()
        }
    );
    let e = load(&GOOD.replace(
        "base_url = \"https://api.mypurecloud.com\"",
        "region = \"mars-1\"",
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("s.toml:6: target.region: \"mars-1\" is not a Genesys Cloud region"),
        "{e}"
    );
}

#[test]
fn every_problem_is_reported_with_file_line_and_field() {
    let bad = GOOD
        .replace("threads = 50", "threads = 0")
        .replace("ramp_up = \"10s\"", "ramp_up = \"ten seconds\"")
        .replace("on_error = \"next_loop\"", "on_error = \"retry\"")
        .replace(
            "path = \"/api/v2/flows/actions/publish?flow={flow_id}\"",
            "path = \"/x?flow={flowid}\"",
        )
        .replace("timeout = \"30s\"", "timeout = \"30s\"\ntimeuot = \"1s\"");
    let e = load(&bad).unwrap_err();
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    for want in [
        "s.toml:8: target.timeuot: unknown key; did you mean \"timeout\"? (see scenarios/README.md",
        "s.toml:29: request[0].path: unknown variable {flowid}; did you mean \"flow_id\"? (known variables: flow_id, n;",
        "s.toml:34: load.threads: must be between 1 and 100000, got 0",
        "s.toml:35: load.ramp_up: \"ten seconds\" is not a duration",
        "s.toml:38: load.on_error: \"retry\" is not one of: continue, next_loop, stop_thread, stop_test",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(want)), "missing {want:?} in\n{text}");
    }
}

#[test]
fn syntax_and_type_errors_have_line_and_column() {
    let e = load("name = \"x\"\n[load\nthreads = 1\n").unwrap_err();
    assert_eq!(e.problems[0].line, Some(2), "{e}");
    let e = load(&GOOD.replace("threads = 50", "threads = \"many\"")).unwrap_err();
    assert_eq!(e.problems[0].line, Some(33), "{e}");
    assert!(
        e.to_string()
            .starts_with("s.toml:33:11: load.threads: invalid type"),
        "{e}"
    );
}

#[test]
fn secrets_in_the_scenario_are_refused() {
    let e = load(&GOOD.replace("\"X-Run\" = \"{n}\"", "\"X-Api-Token\" = \"abc123\"")).unwrap_err();
    assert!(
        e.to_string()
            .contains("request[0].headers.X-Api-Token: looks like a credential"),
        "{e}"
    );
    let e =
        load(&GOOD.replace("\"X-Run\" = \"{n}\"", "Authorization = \"Bearer abc\"")).unwrap_err();
    assert!(e.to_string().contains("conflicts with [auth]"), "{e}");
}

#[test]
fn forever_needs_an_end_and_mock_is_a_target() {
    let e = load(
        &GOOD
            .replace("loops = 10", "loops = \"forever\"")
            .replace("[limits]\nmax_requests = 10000\nmax_duration = \"10m\"", ""),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("load.loops: \"forever\" needs an end"),
        "{e}"
    );
    let p = load(&GOOD.replace("\"https://api.mypurecloud.com\"", "\"mock\"")).unwrap();
    assert_eq!(
        p.target.endpoint,
        Endpoint::Mock {
            preset: surge_record::Preset::Seed
        }
    );
}

#[test]
fn overrides_set_values_and_name_the_flag_when_wrong() {
    let p = load_str(
        GOOD,
        Path::new("s.toml"),
        &[
            "load.threads=20".into(),
            "load.ramp_up=30s".into(),
            "request[0].path=/p".into(),
        ],
    )
    .unwrap();
    let Profile::ThreadGroup(tg) = &p.groups[0].load.profile else {
        panic!()
    };
    assert_eq!((tg.threads, tg.ramp_up), (20, Duration::from_secs(30)));
    assert_eq!(p.requests[0].path.source(), "/p");
    // A new table is created when absent.
    let p = load_str(
        &GOOD.replace("[limits]\nmax_requests = 10000\nmax_duration = \"10m\"", ""),
        Path::new("s.toml"),
        &["limits.max_requests=5".into()],
    )
    .unwrap();
    assert_eq!(p.limits.max_requests, Some(5));
    for (o, want) in [
        ("load.threads", "--set load.threads: expected key=value"),
        ("=3", "--set =3: the key is empty"),
        ("name.x=1", "--set name.x=1: name is a value, not a table"),
        ("request[3].path=/x", "--set request[3].path=/x: request has 1 entries"),
        ("load.threads=zero", "s.toml: --set load.threads=zero: invalid type: string \"zero\", expected a whole number"),
        ("load.threads=0", "s.toml: --set load.threads=0: must be between 1 and 100000, got 0"),
        ("load.threads=100000000000000000000", "s.toml: --set load.threads=100000000000000000000: 100000000000000000000 is out of range"),
        ("limits.max_duration=10min", "s.toml: --set limits.max_duration=10min: \"10min\" is not a duration (unknown unit \"min\"); write a number of seconds"),
    ] {
        let e = load_str(GOOD, Path::new("s.toml"), &[o.into()]).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{o}: {e}");
        assert!(e.to_string().contains(want), "{o}: {e}");
    }
    // A key an override adds shifts the edited text's lines; problems elsewhere keep the lines
    // of the file as written.
    let bad = GOOD.replace("max_requests = 10000", "max_requests = 0");
    let line = bad.lines().position(|l| l == "max_requests = 0").unwrap() + 1;
    let e = load_str(&bad, Path::new("s.toml"), &["load.delay=1s".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("s.toml:{line}: limits.max_requests: must be at least 1, got 0")
    );
}

#[test]
fn csv_files_are_checked_with_their_own_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.csv"),
        "flow_id,flow_name\nf1,One\nf2,Two\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ragged.csv"),
        "flow_id,flow_name\nf1,One\nf2\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("nohead.csv"), "f1;One\nf2;Two\n").unwrap();
    let scen = |data: &str| {
        format!("name = \"c\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{data}\n[[request]]\nname = \"r\"\npath = \"/{{flow_id}}\"\n[load]\nthreads = 1\n")
    };
    let p = load_str(
        &scen("[[data]]\nkind = \"csv\"\nfile = \"ok.csv\""),
        &dir.path().join("s.toml"),
        &[],
    )
    .unwrap();
    assert_eq!(p.vars, vec!["flow_id", "flow_name"]);
    let p = load_str(&scen("[[data]]\nkind = \"csv\"\nfile = \"nohead.csv\"\ndelimiter = \";\"\ncolumns = [\"flow_id\", \"flow_name\"]"), &dir.path().join("s.toml"), &[]).unwrap();
    assert!(matches!(&p.data[0].kind, DataKind::Csv { rows: 2, .. }));
    // `columns` naming the first fields only: the rest of each line is not read (JMeter's
    // variableNames); naming more than a line has is a mistake.
    let p = load_str(&scen("[[data]]\nkind = \"csv\"\nfile = \"nohead.csv\"\ndelimiter = \";\"\ncolumns = [\"flow_id\"]"), &dir.path().join("s.toml"), &[]).unwrap();
    assert_eq!(p.vars, vec!["flow_id"]);
    let e = load_str(&scen("[[data]]\nkind = \"csv\"\nfile = \"nohead.csv\"\ndelimiter = \";\"\ncolumns = [\"a\", \"b\", \"c\"]"), &dir.path().join("s.toml"), &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("nohead.csv:1: has 2 fields, expected 3 (a, b, c)"),
        "{e}"
    );
    let e = load_str(
        &scen("[[data]]\nkind = \"csv\"\nfile = \"ragged.csv\""),
        &dir.path().join("s.toml"),
        &[],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("ragged.csv:3: has 1 fields, expected 2"),
        "{e}"
    );
    let e = load_str(
        &scen("[[data]]\nkind = \"csv\"\nfile = \"missing.csv\""),
        &dir.path().join("s.toml"),
        &[],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("s.toml:6: data[0].file: cannot read"),
        "{e}"
    );
    assert_eq!(
        e.problems.len(),
        1,
        "no cascade of unknown-variable errors: {e}"
    );
}

#[test]
fn gaussian_and_poisson_think_times_draw_as_jmeter() {
    use rand::SeedableRng as _;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let ms = std::time::Duration::from_millis;
    let g = ThinkTime::Gaussian {
        mean: ms(300),
        deviation: ms(100),
    };
    let draws: Vec<f64> = (0..20_000)
        .map(|_| g.draw(&mut rng).as_secs_f64() * 1000.0)
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let sd = (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
    assert!(
        (mean - 300.0).abs() < 3.0 && (sd - 100.0).abs() < 3.0,
        "{mean} {sd}"
    );
    assert!(draws.iter().all(|d| *d >= 0.0));
    let p = ThinkTime::Poisson {
        lambda: ms(40),
        offset: ms(100),
    };
    let draws: Vec<f64> = (0..20_000)
        .map(|_| p.draw(&mut rng).as_secs_f64() * 1000.0)
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
    assert!(
        (mean - 140.0).abs() < 0.5 && (var - 40.0).abs() < 2.0,
        "{mean} {var}"
    );
    assert!(draws.iter().all(|d| d.fract() == 0.0), "whole milliseconds");
    let text = "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[request]]\nname = \"a\"\npath = \"/\"\n[load]\nthink_time = { gaussian = \"300ms\", deviation = \"100ms\" }\n";
    let plan = crate::load_str(text, std::path::Path::new("t.toml"), &[]).unwrap();
    assert_eq!(plan.groups[0].load.think_time, g);
    let bad = "name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[request]]\nname = \"a\"\npath = \"/\"\n[load]\npace = { rate = \"fast\", per = \"usr\" }\n";
    let e = crate::load_str(bad, std::path::Path::new("t.toml"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml:8: load.pace.per") && e.contains("load.pace.rate"),
        "{e}"
    );
}

#[test]
fn a_data_source_binds_to_groups_by_name_and_a_mistake_names_its_line() {
    let text = r#"name = "bind"
[target]
base_url = "http://127.0.0.1:1"
[[data]]
kind = "list"
var = "flow_id"
values = ["a", "b"]
groups = ["batch"]
[[data]]
kind = "list"
var = "canary"
values = ["c"]
groups = ["canary"]
[[request]]
name = "publish"
path = "/p?flow={flow_id}"
[[request]]
name = "canary_publish"
path = "/p?flow={canary}"
[[group]]
name = "batch"
requests = ["publish"]
load = { threads = 2 }
[[group]]
name = "canary"
requests = ["canary_publish"]
load = { threads = 1 }
"#;
    let plan = load_str(text, Path::new("t.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.data[0].groups, Some(vec![0]));
    assert_eq!(plan.data[1].groups, Some(vec![1]));
    assert!(plan.data[0].drawn_by(Some(0)) && !plan.data[0].drawn_by(Some(1)));

    let err = |t: &str| {
        load_str(t, Path::new("t.toml"), &[])
            .unwrap_err()
            .to_string()
    };
    let e = err(&text.replace("groups = [\"canary\"]", "groups = [\"canery\"]"));
    assert!(
        e.contains("t.toml:13: data[1].groups: no [[group]] is named \"canery\"; the groups are \"batch\", \"canary\"")
            && e.contains("did you mean \"canary\""),
        "{e}"
    );
    let e = err(&text.replace("groups = [\"batch\"]", "groups = []"));
    assert!(
        e.contains("t.toml:8: data[0].groups: names no group"),
        "{e}"
    );
    // The canary's request uses {flow_id}, a variable only the batch draws.
    let e = err(&text.replace("flow={canary}", "flow={flow_id}"));
    assert!(
        e.contains("t.toml:8: data[0].groups: group \"canary\" does not draw from this source, yet its request \"canary_publish\" uses {flow_id}"),
        "{e}"
    );
    // Unnamed groups bind by their default names.
    let unnamed = text
        .replace("name = \"batch\"\n", "")
        .replace("groups = [\"batch\"]", "groups = [\"group1\"]");
    let plan = load_str(&unnamed, Path::new("t.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.data[0].groups, Some(vec![0]));
    // With [load] there is one group, and nothing to bind to.
    let single = "name = \"one\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[data]]\nkind = \"uuid\"\nvar = \"u\"\ngroups = [\"main\"]\n[[request]]\nname = \"a\"\npath = \"/{u}\"\n[load]\nthreads = 1\n";
    let e = err(single);
    assert!(
        e.contains("t.toml:7: data[0].groups: applies only with [[group]]s"),
        "{e}"
    );
}

#[test]
fn each_group_may_have_its_own_source_of_one_variable() {
    let text = r#"name = "own"
[target]
base_url = "http://127.0.0.1:1"
[[data]]
kind = "list"
var = "user"
values = ["a1", "a2"]
groups = ["a"]
[[data]]
kind = "list"
var = "user"
values = ["b1"]
groups = ["b"]
[[request]]
name = "r"
path = "/u/{user}"
[[group]]
name = "a"
load = { threads = 2 }
[[group]]
name = "b"
load = { threads = 1 }
"#;
    let plan = load_str(text, Path::new("t.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.vars, vec!["user".to_string()]);
    assert_eq!(plan.data[0].vars, plan.data[1].vars);
    // A group drawing both would get two values for one variable.
    let e = load_str(
        &text.replace("groups = [\"b\"]", "groups = [\"b\", \"a\"]"),
        Path::new("t.toml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("t.toml:9: data[1]: variable \"user\" is already set by an earlier [[data]] source (two sources may set one variable only when each names its groups"),
        "{e}"
    );
    // Unbound, the second source would be drawn by every group.
    let e = load_str(
        &text.replace("groups = [\"b\"]\n", ""),
        Path::new("t.toml"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("data[1]: variable \"user\" is already set"),
        "{e}"
    );
}

#[test]
fn a_transaction_or_rendezvous_reused_with_other_settings_is_named() {
    let scen = |steps: &str| {
        format!(
            "name = \"n\"\nsteps = [{steps}]\n[target]\nbase_url = \"http://127.0.0.1:1\"\n[[request]]\nname = \"a\"\npath = \"/a\"\n[load]\nthreads = 2\n"
        )
    };
    let err = |t: &str| {
        load_str(t, Path::new("t.toml"), &[])
            .unwrap_err()
            .to_string()
    };
    // The same settings twice: one transaction, one rendezvous.
    let same = scen(
        "{ transaction = \"t\", steps = [\"a\"] }, { transaction = \"t\", steps = [\"a\"] }, \
         { rendezvous = \"r\", users = 2 }, { rendezvous = \"r\", users = 2 }",
    );
    let p = load_str(&same, Path::new("t.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.groups[0].program.points.len(), 1);
    let e = err(&scen(
        "{ transaction = \"t\", steps = [\"a\"] }, { transaction = \"t\", exclude_pauses = true, steps = [\"a\"] }",
    ));
    assert!(
        e.contains(
            "steps[1].transaction: \"t\" is used by another transaction with other settings"
        ),
        "{e}"
    );
    let e = err(&scen(
        "{ rendezvous = \"r\", users = 2 }, { rendezvous = \"r\", users = 1 }",
    ));
    assert!(
        e.contains("steps[1].rendezvous: \"r\" is used by another rendezvous with other settings"),
        "{e}"
    );
}
