//! `surge k8s --metrics-port`: every segment pod serves `/metrics` on that port (its `surge run`
//! gets `--metrics 0.0.0.0:PORT --linger 30s`), declares it as its `metrics` port with the
//! prometheus.io annotations, and the manifests still validate (offline, `kubernetes-validate`,
//! which .ci/run installs).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn yaml_docs(path: &Path) -> Vec<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn each_segment_pod_serves_metrics_on_its_declared_port() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("live.toml");
    std::fs::write(
        &scen,
        "name = \"k8s-live\"\n[target]\nbase_url = \"http://127.0.0.1:9/\"\n[[request]]\nname = \"get\"\npath = \"/\"\n[load]\nthreads = 4\nloops = 3\n",
    )
    .unwrap();
    let out_dir = dir.path().join("k8s");
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .arg("k8s")
        .arg(&scen)
        .args(["--parallelism", "2", "--metrics-port", "9464", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = &yaml_docs(&out_dir.join("02-segments-job.yaml"))[0];
    let template = &job["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
    assert_eq!(
        template["metadata"]["annotations"]["prometheus.io/port"],
        "9464"
    );
    let container = &template["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["ports"][0]["containerPort"], 9464);
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let at = command
        .iter()
        .position(|a| *a == "--metrics")
        .expect("--metrics");
    assert_eq!(command[at + 1], "0.0.0.0:9464");
    assert!(command.windows(2).any(|w| w == ["--linger", "30s"]));

    let v = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", "1.37.0"])
        .arg(out_dir.join("02-segments-job.yaml"))
        .output()
        .expect("kubernetes-validate is installed (.ci/run installs it)");
    assert!(
        v.status.success(),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}
