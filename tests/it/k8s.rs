//! `surge k8s`: the manifests validate against the Kubernetes schemas (offline, with the
//! `kubernetes-validate` package .ci/run installs), read back as YAML to what was meant, keep
//! credentials out of the ConfigMap (`[auth]`'s and `[[data]] kind = "env"`: a Secret key
//! each), mount the files the scenario reads (CSV, CA certificate), and the Job's container
//! command, run as an Indexed Job runs it (`JOB_COMPLETION_INDEX`, the ConfigMap's files
//! mounted, the Secret's variables set), makes a distributed run that the merge Job's command
//! merges.
//!
//! Skipped, with a notice, only when `SURGE_SKIP_PYTHON` is set; otherwise `python3` with
//! PyYAML and `kubernetes-validate` is required.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{serve, Reply};
use serde_json::Value;
use surge::record::RunResult;

fn surge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_surge"))
}

/// What a Python script prints, given `arg`.
fn python(script: &str, arg: &Path) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(arg)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every document of a YAML file, as JSON (PyYAML reads it as Kubernetes would).
fn yaml_docs(path: &Path) -> Vec<Value> {
    let out = python(
        "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        path,
    );
    serde_json::from_slice(&out).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Maps the container's paths onto this machine's directories.
fn local(arg: &str, scenario: &Path, results: &Path) -> String {
    if let Some(rest) = arg.strip_prefix("/scenario/") {
        scenario.join(rest).display().to_string()
    } else if let Some(rest) = arg.strip_prefix("/results/") {
        results.join(rest).display().to_string()
    } else {
        arg.to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_validate_and_the_jobs_commands_run_a_distributed_run() {
    if std::env::var_os("SURGE_SKIP_PYTHON").is_some() {
        eprintln!("SURGE_SKIP_PYTHON is set: skipping the Kubernetes manifest check");
        return;
    }
    let server = serve(|r| {
        if r.header("authorization") == Some("Bearer s3cret-token")
            && r.header("x-api-key") == Some("k3y-from-the-secret")
        {
            Reply::status(200).with_body("{}")
        } else {
            Reply::status(401)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("data")).unwrap();
    let rows: String = (0..12).map(|i| format!("id-{i}\n")).collect();
    std::fs::write(src.join("data/ids.csv"), format!("id\n{rows}")).unwrap();
    // A CA the scenario trusts: the pods need it mounted beside the scenario.
    std::fs::create_dir_all(src.join("certs")).unwrap();
    let ca = common::tls::ca_for(&["127.0.0.1"], &[]);
    std::fs::write(src.join("certs/ca.pem"), &ca.ca_pem).unwrap();
    let scen = src.join("k8s-e2e.toml");
    std::fs::write(
        &scen,
        r#"name = "k8s-e2e"
[target]
base_url = "https://api.example.invalid"
ca_cert = "certs/ca.pem"
[auth]
kind = "bearer"
token_env = "API_TOKEN"
[[data]]
kind = "csv"
file = "data/ids.csv"
on_eof = "stop_thread"
[[data]]
kind = "env"
var = "api_key"
env = "API_KEY"
[[request]]
name = "get"
path = "/things/{id}"
headers = { X-Api-Key = "{api_key}" }
[load]
threads = 4
ramp_up = "400ms"
loops = 3
"#,
    )
    .unwrap();
    let out_dir = dir.path().join("k8s");
    let out = surge()
        .arg("k8s")
        .arg(&scen)
        .args([
            "--parallelism",
            "2",
            "--namespace",
            "load",
            "--start-in",
            "4s",
        ])
        .args(["--target", &server.url()])
        .arg("--out")
        .arg(&out_dir)
        // Set where the manifests are written: none of them may carry a value.
        .env("API_TOKEN", "local-token-never-written")
        .env("API_KEY", "local-key-never-written")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "kubectl -n load create secret generic surge-k8s-e2e-secrets --from-literal=API_TOKEN=\"$API_TOKEN\" --from-literal=API_KEY=\"$API_KEY\"\n"
        ),
        "{stdout}"
    );

    // Offline schema validation, strict (unknown fields refused), oldest and newest schemas.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.push(out_dir.join("extra/results-reader.yaml"));
    assert_eq!(files.len(), 5);
    for version in ["1.27.0", "1.37.0"] {
        let v = Command::new("kubernetes-validate")
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .expect("kubernetes-validate is installed (.ci/run installs it)");
        assert!(
            v.status.success(),
            "Kubernetes {version}: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
    }

    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("never-written"),
            "{} holds a credential's value",
            f.display()
        );
    }
    // The Job's manifest says which Secret keys to create.
    let job_text = std::fs::read_to_string(&files[2]).unwrap();
    assert!(
        job_text
            .contains("# The pods read API_TOKEN, API_KEY from the Secret surge-k8s-e2e-secrets"),
        "{job_text}"
    );

    let cm = &yaml_docs(&files[0])[0];
    let job = &yaml_docs(&files[2])[0];
    let merge = &yaml_docs(&files[3])[0];
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 2);
    assert_eq!(job["metadata"]["namespace"], "load");
    // The scenario reads as itself; the secret is referenced, never written.
    let scen_text = std::fs::read_to_string(&scen).unwrap();
    assert_eq!(cm["data"]["k8s-e2e.toml"], Value::String(scen_text));
    let all = std::fs::read_dir(&out_dir).unwrap().count();
    assert!(all >= 4);
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    // Both credentials come from the Secret, a key each; the ConfigMap holds the files only.
    let from_secret = |var: &str| serde_json::json!({"name": var, "valueFrom": {"secretKeyRef": {"name": "surge-k8s-e2e-secrets", "key": var}}});
    assert_eq!(
        c["env"],
        serde_json::json!([from_secret("API_TOKEN"), from_secret("API_KEY")])
    );
    let mut keys: Vec<&String> = cm["data"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["certs_ca.pem", "data_ids.csv", "k8s-e2e.toml"]);

    // Mount the ConfigMap as the pod would: each item's key at its path.
    let mounted = dir.path().join("scenario");
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let vols = pod["volumes"].as_array().unwrap();
    let cm_vol = vols.iter().find(|v| v.get("configMap").is_some()).unwrap();
    for item in cm_vol["configMap"]["items"].as_array().unwrap() {
        let p = mounted.join(item["path"].as_str().unwrap());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let key = item["key"].as_str().unwrap();
        std::fs::write(&p, cm["data"][key].as_str().unwrap()).unwrap();
    }

    // Each index runs the container's command, in its working directory, with its env.
    let cmd = strings(&c["command"]);
    assert_eq!(cmd[0], "surge");
    let work = local(c["workingDir"].as_str().unwrap(), &mounted, &results);
    let work = if work == "/results" {
        results.display().to_string()
    } else {
        work
    };
    let pods: Vec<_> = (0..2)
        .map(|i| {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_surge"))
                .args(cmd[1..].iter().map(|a| local(a, &mounted, &results)))
                .current_dir(&work)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("API_TOKEN", "s3cret-token")
                .env("API_KEY", "k3y-from-the-secret")
                .env("HOSTNAME", format!("surge-k8s-e2e-{i}-abcde"))
                .output()
        })
        .collect();
    for (i, p) in futures::future::join_all(pods)
        .await
        .into_iter()
        .enumerate()
    {
        let p = p.unwrap();
        assert!(
            p.status.success(),
            "index {i}: {}",
            String::from_utf8_lossy(&p.stderr)
        );
    }
    let run_dir = results.join(
        strings(&merge["spec"]["template"]["spec"]["containers"][0]["command"])[2]
            .strip_prefix("/results/")
            .unwrap(),
    );
    assert!(run_dir.join("segment-1/result.json").exists());
    assert!(run_dir.join("segment-2/result.json").exists());

    let mcmd = strings(&merge["spec"]["template"]["spec"]["containers"][0]["command"]);
    let m = surge()
        .args(mcmd[1..].iter().map(|a| local(a, &mounted, &results)))
        .current_dir(&results)
        .output()
        .unwrap();
    let mout = String::from_utf8_lossy(&m.stdout);
    assert!(
        m.status.success(),
        "{mout}{}",
        String::from_utf8_lossy(&m.stderr)
    );
    assert!(mout.contains("merged 2 of 2 segments"), "{mout}");
    // The merge Job's log lists the pods, each with its start after the barrier.
    for pod in ["surge-k8s-e2e-0-abcde", "surge-k8s-e2e-1-abcde"] {
        let row = mout
            .lines()
            .find(|l| l.contains(pod))
            .unwrap_or_else(|| panic!("{mout}"));
        assert!(row.contains(" ms ") && row.ends_with("completed"), "{row}");
    }
    let r = RunResult::read(&run_dir.join("merged/result.json")).unwrap();
    assert_eq!(r.totals.requests, 12);
    assert_eq!(
        server.count("200"),
        12,
        "every request carried the Secret's token and key"
    );
    let hosts: Vec<String> = r
        .distributed
        .unwrap()
        .members
        .iter()
        .map(|m| m.host.clone())
        .collect();
    assert_eq!(hosts, ["surge-k8s-e2e-0-abcde", "surge-k8s-e2e-1-abcde"]);
}

/// Strings YAML 1.1 readers (PyYAML here; kubectl's go-yaml alike) would read as something
/// else when written plain, and text a literal block must keep exactly: each one, as a value,
/// a list item and a key, reads back as the very string.
#[test]
fn manifest_yaml_reads_back_as_written_under_yaml_1_1() {
    if std::env::var_os("SURGE_SKIP_PYTHON").is_some() {
        eprintln!("SURGE_SKIP_PYTHON is set: skipping the YAML read-back check");
        return;
    }
    let strings = [
        "name = \"a\"\n\n[load]\nthreads = 4\n",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "N",
        "true",
        "null",
        "~",
        "",
        "10",
        "-1",
        "+1",
        "1.5e+3",
        ".5",
        ".inf",
        "-.inf",
        "NaN",
        "0x1F",
        "0o17",
        "017",
        "0b101",
        "1_000",
        "12:30",
        "1:2:3",
        "2026-03-01",
        "2026-03-01T12:00:00Z",
        "2026-03-01 12:00:00",
        "$(X)",
        "--start-at",
        "-",
        "? x",
        "a: b",
        "a #b",
        "#x",
        "*a",
        "&a",
        "!a",
        "%a",
        "@a",
        "`a",
        "'a",
        "\"a",
        "{a}",
        "[a]",
        "a,b",
        " a",
        "a ",
        "=",
        "<<",
        "...",
        "---\nx\n",
        "a\n---\nb\n",
        "x\n...\n",
        "a\nb",
        "a \nb\n",
        "a\tb\nc\n",
        "  x\ny\n",
        "\tx\ny\n",
        "a\n\n\n",
        "\nx\n",
        "x\r\ny\n",
        "\u{feff}x",
        "x\u{85}y",
        "x\u{2028}y",
        "z\u{7f}",
        "a\u{0}b",
        "é\nü\n",
        "日本\n語\n",
        "a line of text longer than eighty characters, with spaces in it, that a folder might fold",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for s in strings {
        for v in [
            serde_json::json!({ "data": { "k": s } }),
            serde_json::json!({ "list": [s] }),
            serde_json::json!({ s: 1 }),
        ] {
            docs.push(serde_json::json!({
                "want": v,
                "yaml": surge::cli::k8s::yaml::to_yaml(&v).unwrap(),
            }));
        }
    }
    let f = dir.path().join("docs.json");
    std::fs::write(&f, serde_json::to_string(&docs).unwrap()).unwrap();
    let out = python(
        r#"import json, sys, yaml
bad = []
for d in json.load(open(sys.argv[1])):
    try:
        got = yaml.safe_load(d["yaml"])
    except Exception as e:
        got = "error: " + str(e).splitlines()[0]
    if got != d["want"]:
        bad.append(repr(d["yaml"]) + " -> " + repr(got))
print("\n".join(bad))"#,
        &f,
    );
    let bad = String::from_utf8_lossy(&out);
    assert!(bad.trim().is_empty(), "read back otherwise:\n{bad}");
}
