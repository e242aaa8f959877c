//! The Kubernetes objects of a distributed run, as JSON values: a ConfigMap with the scenario
//! and its data files, a ReadWriteMany volume for the results, an Indexed Job whose N pods each
//! run one segment from the same barrier, and a merge Job that waits for the N results, merges
//! them and judges the thresholds on the whole. Secrets reach the pods only from a Secret.

use std::time::Duration;

use serde_json::{json, Value};

/// Where the scenario's files are mounted in every pod.
pub const SCENARIO_DIR: &str = "/scenario";
/// Where the results volume is mounted (and the pods' working directory).
pub const RESULTS_DIR: &str = "/results";

/// Everything the manifests are made from.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Base name of every object (a DNS label).
    pub name: String,
    /// Namespace, when given.
    pub namespace: Option<String>,
    /// The container image with `surge` on its PATH.
    pub image: String,
    /// N: segments, pods.
    pub parallelism: u32,
    /// Shared by the segments.
    pub run_id: String,
    /// The barrier, RFC 3339.
    pub start_at: String,
    /// How late a pod may start after the barrier.
    pub start_tolerance: Duration,
    /// The scenario file's name (mounted in [`SCENARIO_DIR`]).
    pub scenario_file: String,
    /// Files to mount: path relative to [`SCENARIO_DIR`], and contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// The Secret the environment variables come from.
    pub secret: String,
    /// The environment variables the scenario reads its secrets from.
    pub secret_env: Vec<String>,
    /// More `surge run` arguments (`--target`, `--set`).
    pub run_args: Vec<String>,
    /// Size of the results volume.
    pub storage: String,
    /// Its storage class (None: the cluster's default).
    pub storage_class: Option<String>,
    /// CPU and memory requested per segment pod.
    pub cpu: String,
    /// Memory requested (and its limit) per segment pod.
    pub memory: String,
    /// How long the merge Job waits for every segment's result.
    pub merge_wait: Duration,
    /// The port each segment serves `/metrics` on, when asked.
    pub metrics_port: Option<u16>,
}

impl Spec {
    fn labels(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": "surge",
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/component": component,
        })
    }

    fn metadata(&self, name: &str, component: &str) -> Value {
        let mut m = json!({ "name": name, "labels": self.labels(component) });
        if let Some(ns) = &self.namespace {
            m["namespace"] = json!(ns);
        }
        m
    }

    fn configmap_name(&self) -> String {
        format!("{}-scenario", self.name)
    }

    fn pvc_name(&self) -> String {
        format!("{}-results", self.name)
    }

    /// `kubectl`, with the namespace when one was given.
    pub fn kubectl(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("kubectl -n {ns}"),
            None => "kubectl".into(),
        }
    }

    /// The command that creates the Secret the segment pods read their credentials from, with
    /// one key per environment variable the scenario names, each filled from the same variable
    /// of the shell it runs in (no value is ever written here); None when the scenario reads no
    /// credentials.
    pub fn secret_command(&self) -> Option<String> {
        if self.secret_env.is_empty() {
            return None;
        }
        let lits: Vec<String> = self
            .secret_env
            .iter()
            .map(|v| format!("--from-literal={v}=\"${v}\""))
            .collect();
        Some(format!(
            "{} create secret generic {} {}",
            self.kubectl(),
            self.secret,
            lits.join(" ")
        ))
    }

    /// The directory the segments write into, and the merge reads.
    pub fn run_dir(&self) -> String {
        format!("{RESULTS_DIR}/reports/{}", self.run_id)
    }

    /// The segment pods' command (each reads its index from `JOB_COMPLETION_INDEX`).
    pub fn segment_command(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "surge",
            "run",
            &format!("{SCENARIO_DIR}/{}", self.scenario_file),
            "--segments",
            &self.parallelism.to_string(),
            "--run-id",
            &self.run_id,
            "--start-at",
            &self.start_at,
            "--start-tolerance",
            &surge_record::duration::format(self.start_tolerance),
            "--yes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        c.extend(self.run_args.iter().cloned());
        c
    }

    /// The merge Job's command.
    pub fn merge_command(&self) -> Vec<String> {
        let dir = self.run_dir();
        vec![
            "surge".into(),
            "merge".into(),
            dir.clone(),
            "--wait".into(),
            surge_record::duration::format(self.merge_wait),
            "--out".into(),
            format!("{dir}/merged"),
        ]
    }

    fn volumes(&self, with_scenario: bool) -> Value {
        let mut v = vec![json!({
            "name": "results",
            "persistentVolumeClaim": { "claimName": self.pvc_name() },
        })];
        if with_scenario {
            let items: Vec<Value> = self
                .files
                .iter()
                .map(|(path, _)| json!({ "key": configmap_key(path), "path": path }))
                .collect();
            v.push(json!({
                "name": "scenario",
                "configMap": { "name": self.configmap_name(), "items": items },
            }));
        }
        Value::Array(v)
    }

    fn mounts(&self, with_scenario: bool) -> Value {
        let mut v = vec![json!({ "name": "results", "mountPath": RESULTS_DIR })];
        if with_scenario {
            v.push(json!({ "name": "scenario", "mountPath": SCENARIO_DIR, "readOnly": true }));
        }
        Value::Array(v)
    }

    fn env(&self) -> Value {
        self.secret_env
            .iter()
            .map(|var| {
                json!({
                    "name": var,
                    "valueFrom": { "secretKeyRef": { "name": self.secret, "key": var } },
                })
            })
            .collect()
    }
}

/// A ConfigMap key for a mounted path (keys allow letters, digits, `-`, `_` and `.`).
pub fn configmap_key(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The pod's security context: the image's unprivileged user; the volume made writable for
/// its group. Meets the Pod Security Standard "restricted".
fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": { "drop": ["ALL"] },
    })
}

fn configmap(s: &Spec) -> Value {
    let mut data = serde_json::Map::new();
    let mut binary = serde_json::Map::new();
    for (path, bytes) in &s.files {
        match std::str::from_utf8(bytes) {
            Ok(text) => data.insert(configmap_key(path), json!(text)),
            Err(_) => {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                binary.insert(configmap_key(path), json!(b64))
            }
        };
    }
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": s.metadata(&s.configmap_name(), "scenario"),
        "data": data,
    });
    if !binary.is_empty() {
        cm["binaryData"] = Value::Object(binary);
    }
    cm
}

fn pvc(s: &Spec) -> Value {
    let mut spec = json!({
        "accessModes": ["ReadWriteMany"],
        "resources": { "requests": { "storage": s.storage } },
    });
    if let Some(sc) = &s.storage_class {
        spec["storageClassName"] = json!(sc);
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": s.metadata(&s.pvc_name(), "results"),
        "spec": spec,
    })
}

fn segments_job(s: &Spec) -> Value {
    let mut job = segments_job_base(s);
    if let Some(port) = s.metrics_port {
        let template = &mut job["spec"]["template"];
        template["metadata"]["annotations"] = json!({
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port.to_string(),
            "prometheus.io/path": "/metrics",
        });
        template["spec"]["containers"][0]["ports"] =
            json!([{ "name": "metrics", "containerPort": port, "protocol": "TCP" }]);
    }
    job
}

fn segments_job_base(s: &Spec) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": s.metadata(&s.name, "segment"),
        "spec": {
            "completionMode": "Indexed",
            "completions": s.parallelism,
            "parallelism": s.parallelism,
            // A segment is never re-run: a second attempt would start after the barrier.
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": s.labels("segment") },
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security(),
                    // Spread the load generators over the nodes.
                    "affinity": { "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [{
                            "weight": 100,
                            "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": { "matchLabels": s.labels("segment") },
                            },
                        }],
                    }},
                    "containers": [{
                        "name": "surge",
                        "image": s.image,
                        "securityContext": container_security(),
                        "workingDir": RESULTS_DIR,
                        "command": s.segment_command(),
                        "env": s.env(),
                        "resources": {
                            "requests": { "cpu": s.cpu, "memory": s.memory },
                            "limits": { "memory": s.memory },
                        },
                        "volumeMounts": s.mounts(true),
                    }],
                    "volumes": s.volumes(true),
                },
            },
        },
    })
}

fn merge_job(s: &Spec) -> Value {
    let name = format!("{}-merge", s.name);
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": s.metadata(&name, "merge"),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": { "labels": s.labels("merge") },
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security(),
                    "containers": [{
                        "name": "surge",
                        "image": s.image,
                        "securityContext": container_security(),
                        "workingDir": RESULTS_DIR,
                        "command": s.merge_command(),
                        "resources": {
                            "requests": { "cpu": "100m", "memory": "128Mi" },
                            "limits": { "memory": "512Mi" },
                        },
                        "volumeMounts": s.mounts(false),
                    }],
                    "volumes": s.volumes(false),
                },
            },
        },
    })
}

fn reader_pod(s: &Spec) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": s.metadata(&format!("{}-results-reader", s.name), "reader"),
        "spec": {
            "restartPolicy": "Never",
                    "securityContext": pod_security(),
            "containers": [{
                "name": "reader",
                "image": s.image,
                "securityContext": container_security(),
                "command": ["sleep", "86400"],
                "volumeMounts": s.mounts(false),
            }],
            "volumes": s.volumes(false),
        },
    })
}

/// One manifest: the file it is written to, what its header comment says beyond the run, and
/// the object.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Path under the output directory.
    pub file: &'static str,
    /// Comment lines for the file's header (without `# `).
    pub notes: Vec<String>,
    /// The Kubernetes object.
    pub object: Value,
}

/// The manifests. `kubectl apply -f DIR` applies the top-level ones; `extra/` holds the
/// results reader, applied when wanted.
pub fn manifests(s: &Spec) -> Vec<Manifest> {
    let m = |file, object| Manifest {
        file,
        notes: Vec::new(),
        object,
    };
    let mut job = m("02-segments-job.yaml", segments_job(s));
    if let Some(cmd) = s.secret_command() {
        job.notes = vec![
            format!(
                "The pods read {} from the Secret {} (a key per variable), never from the ConfigMap. Create it once:",
                s.secret_env.join(", "),
                s.secret
            ),
            format!("  {cmd}"),
        ];
    }
    vec![
        m("00-scenario-configmap.yaml", configmap(s)),
        m("01-results-pvc.yaml", pvc(s)),
        job,
        m("03-merge-job.yaml", merge_job(s)),
        m("extra/results-reader.yaml", reader_pod(s)),
    ]
}
