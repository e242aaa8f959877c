//! Import semantics on small inline plans: JMeter's scoping of header managers, defaults and
//! timers, secrets kept out of the scenario, labels kept unique.

use std::path::Path;

use super::{import_str, ImportOptions};

/// A plan with `tg` (thread group children) and `top` (test plan children).
fn plan(top: &str, tg: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="5.0" jmeter="5.6.3"><hashTree>
<TestPlan testclass="TestPlan" testname="P"/><hashTree>
{top}
<ThreadGroup testclass="ThreadGroup" testname="TG">
  <intProp name="ThreadGroup.num_threads">2</intProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><intProp name="LoopController.loops">1</intProp></elementProp>
</ThreadGroup><hashTree>{tg}</hashTree>
</hashTree></hashTree></jmeterTestPlan>"#
    )
}

fn sampler(name: &str, path: &str, children: &str) -> String {
    format!(
        r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}"><stringProp name="HTTPSampler.path">{path}</stringProp></HTTPSamplerProxy><hashTree>{children}</hashTree>"#
    )
}

fn headers(name: &str, pairs: &[(&str, &str)]) -> String {
    let items: String = pairs
        .iter()
        .map(|(k, v)| format!(r#"<elementProp name="" elementType="Header"><stringProp name="Header.name">{k}</stringProp><stringProp name="Header.value">{v}</stringProp></elementProp>"#))
        .collect();
    format!(
        r#"<HeaderManager testclass="HeaderManager" testname="{name}"><collectionProp name="HeaderManager.headers">{items}</collectionProp></HeaderManager><hashTree/>"#
    )
}

fn defaults(domain: &str, port: &str) -> String {
    format!(
        r#"<ConfigTestElement guiclass="HttpDefaultsGui" testclass="ConfigTestElement" testname="D"><stringProp name="HTTPSampler.domain">{domain}</stringProp><stringProp name="HTTPSampler.port">{port}</stringProp></ConfigTestElement><hashTree/>"#
    )
}

fn timer(ms: u32) -> String {
    format!(
        r#"<ConstantTimer testclass="ConstantTimer" testname="T{ms}"><stringProp name="ConstantTimer.delay">{ms}</stringProp></ConstantTimer><hashTree/>"#
    )
}

fn import(text: &str) -> super::Imported {
    import_str(text, Path::new("/tmp/p.jmx"), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn load(text: &str) -> crate::Plan {
    let i = import(text);
    crate::load_str(&i.toml, Path::new("/tmp/p.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}\n{}", i.toml))
}

#[test]
fn header_managers_merge_outer_first_and_inner_replaces() {
    let text = plan(
        &headers("outer", &[("Accept", "text/plain"), ("X-Team", "core")]),
        &format!(
            "{}{}",
            sampler(
                "a",
                "/a",
                &headers("inner", &[("accept", "application/json")])
            ),
            sampler("b", "/b", "")
        ),
    );
    let p = load(&text);
    let h = |i: usize| {
        p.requests[i]
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={}", v.source()))
            .collect::<Vec<_>>()
    };
    assert_eq!(h(0), ["x-team=core", "accept=application/json"]);
    assert_eq!(h(1), ["accept=text/plain", "x-team=core"]);
}

#[test]
fn nearest_defaults_win_and_a_header_after_the_sampler_still_applies() {
    // JMeter scopes by tree level, not by order among siblings.
    let text = plan(
        &defaults("outer.example.com", "8443"),
        &format!(
            "{}{}",
            sampler("a", "/a", ""),
            defaults("inner.example.com", "")
        ),
    );
    let p = load(&text);
    match &p.target.endpoint {
        crate::Endpoint::Url { base_url, .. } => {
            assert_eq!(base_url, "http://inner.example.com:8443")
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn timers_in_scope_add_up_and_differing_ones_are_averaged_with_a_warning() {
    let same = plan(
        &timer(100),
        &format!(
            "{}{}{}",
            timer(50),
            sampler("a", "/a", ""),
            sampler("b", "/b", "")
        ),
    );
    let p = load(&same);
    assert_eq!(
        p.groups[0].load.think_time,
        crate::ThinkTime::Constant {
            pause: std::time::Duration::from_millis(150)
        }
    );
    let differ = plan(
        "",
        &format!(
            "{}{}",
            sampler("a", "/a", &timer(300)),
            sampler("b", "/b", "")
        ),
    );
    let i = import(&differ);
    assert!(
        i.warnings
            .iter()
            .any(|w| w.message.contains("timers differ")),
        "{:?}",
        i.warnings
    );
    let p = load(&differ);
    assert_eq!(
        p.groups[0].load.think_time,
        crate::ThinkTime::Constant {
            pause: std::time::Duration::from_millis(150)
        }
    );
}

#[test]
fn literal_secrets_are_never_copied() {
    let text = plan(
        &defaults("h.example.com", ""),
        &format!(
            "{}{}",
            headers(
                "h",
                &[
                    ("Authorization", "Bearer eyJhbGciOi.literal"),
                    ("X-Api-Key", "k-123")
                ]
            ),
            sampler("a", "/a", "")
        ),
    );
    let i = import(&text);
    assert!(
        !i.toml.contains("eyJhbGciOi") && !i.toml.contains("k-123"),
        "{}",
        i.toml
    );
    assert!(i.toml.contains("token_env = \"SURGE_TOKEN\""));
    assert!(i.bearer_token().is_none());
    assert_eq!(i.warnings.len(), 2, "{:?}", i.warnings);
    let p = load(&text);
    assert_eq!(
        p.auth,
        crate::Auth::Bearer {
            source: crate::TokenSource::Env("SURGE_TOKEN".into())
        }
    );
}

#[test]
fn same_named_samplers_stay_apart_or_are_shared() {
    let text = plan(
        &defaults("h", ""),
        &format!(
            "{}{}{}",
            sampler("get", "/a", ""),
            sampler("get", "/b", ""),
            sampler("get", "/a", "")
        ),
    );
    let p = load(&text);
    let names: Vec<&str> = p.groups[0]
        .steps
        .iter()
        .map(|s| p.requests[*s].name.as_str())
        .collect();
    assert_eq!(names, ["get", "get (2)", "get"]);
}

#[test]
fn disabled_subtrees_are_skipped_with_everything_under_them() {
    let csv = r#"<CSVDataSet testclass="CSVDataSet" testname="c"><stringProp name="filename">nope.csv</stringProp><stringProp name="variableNames">x</stringProp></CSVDataSet><hashTree/>"#;
    let text = plan(
        &defaults("h", ""),
        &format!(
            r#"<GenericController testclass="GenericController" testname="off" enabled="false"/><hashTree>{csv}{}</hashTree>{}"#,
            sampler("hidden", "/h", ""),
            sampler("a", "/a", "")
        ),
    );
    let p = load(&text);
    assert_eq!(p.requests.len(), 1);
    assert!(p.data.is_empty());
}

#[test]
fn a_csv_data_set_inside_a_thread_group_is_read_by_that_group_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, rows: &str, mode: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, rows).unwrap();
        format!(
            r#"<CSVDataSet testclass="CSVDataSet" testname="{name}"><stringProp name="filename">{}</stringProp><stringProp name="variableNames">user</stringProp><stringProp name="shareMode">{mode}</stringProp></CSVDataSet><hashTree/>"#,
            f.display()
        )
    };
    let group = |name: &str, body: String| {
        format!(
            r#"<ThreadGroup testclass="ThreadGroup" testname="{name}"><intProp name="ThreadGroup.num_threads">1</intProp><elementProp name="ThreadGroup.main_controller" elementType="LoopController"><intProp name="LoopController.loops">1</intProp></elementProp></ThreadGroup><hashTree>{body}</hashTree>"#
        )
    };
    let text = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="5.0" jmeter="5.6.3"><hashTree>
<TestPlan testclass="TestPlan" testname="P"/><hashTree>{}{}{}</hashTree></hashTree></jmeterTestPlan>"#,
        defaults("h", ""),
        // Both named alike, as JMeter names a new one.
        group(
            "Thread Group",
            csv("admins.csv", "root\n", "shareMode.group") + &sampler("a", "/u/${user}", "")
        ),
        group(
            "Thread Group",
            csv("buyers.csv", "b1\nb2\n", "shareMode.all") + &sampler("b", "/u/${user}", "")
        ),
    );
    let i = import(&text);
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    assert!(
        !i.notes
            .iter()
            .any(|n| n.message.contains("shareMode.group")),
        "inside its group, shareMode.group is exact: {:?}",
        i.notes
    );
    assert!(i.toml.contains("groups = [\"Thread Group\"]"), "{}", i.toml);
    assert!(
        i.toml.contains("groups = [\"Thread Group 2\"]"),
        "{}",
        i.toml
    );
    let p = crate::load_str(&i.toml, Path::new("/tmp/p.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}\n{}", i.toml));
    assert_eq!(p.vars, ["user"]);
    assert_eq!(p.data[0].groups, Some(vec![0]));
    assert_eq!(p.data[1].groups, Some(vec![1]));
    assert_eq!(p.data[0].vars, p.data[1].vars);
}
