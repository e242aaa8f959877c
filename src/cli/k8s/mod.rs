//! `surge k8s SCENARIO --parallelism N`: writes the Kubernetes manifests of a distributed run
//! (see [`manifests`]) as YAML ([`yaml`]), and says how to apply them and read the result.

pub mod manifests;
pub mod yaml;

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use clap::Args;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::exit;
use manifests::{Spec, SCENARIO_DIR};
use surge_plan::{Auth, DataKind, Endpoint, Plan, TokenSource};

/// The largest total of files a ConfigMap holds here (Kubernetes refuses more than 1 MiB).
const CONFIGMAP_BUDGET: usize = 900 * 1024;

/// `surge k8s`.
#[derive(Debug, Args, Clone, Default)]
pub struct K8sArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Pods (segments) to spread the load over.
    #[arg(long, value_name = "N")]
    pub parallelism: u32,
    /// The container image with surge (see the Dockerfile).
    #[arg(long, default_value = concat!("surge:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// Namespace of every object [default: kubectl's current one].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Base name of the objects [default: surge-<scenario name>].
    #[arg(long)]
    pub name: Option<String>,
    /// Directory to write the manifests in [default: reports/k8s/<name>, beside the runs' outputs
    /// and ignored by git like them].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// When the segments start together (RFC 3339) [default: now + --start-in].
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Start this long after the manifests are written: apply them before then.
    #[arg(long, value_name = "DURATION", default_value = "3m", value_parser = surge_record::duration::parse_flag)]
    pub start_in: Duration,
    /// How late a pod may start after the barrier (image pulls, scheduling).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = surge_record::duration::parse_flag)]
    pub start_tolerance: Duration,
    /// The Secret holding the environment variables the scenario reads credentials from
    /// [default: <name>-secrets].
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,
    /// Send requests here instead of the scenario's target (passed to every segment).
    #[arg(long)]
    pub target: Option<String>,
    /// Override a scenario field, e.g. --set load.threads=200 (passed to every segment).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Size of the results volume.
    #[arg(long, default_value = "1Gi")]
    pub storage: String,
    /// Storage class of the results volume; it must offer ReadWriteMany [default: the cluster's].
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,
    /// CPU requested per segment pod.
    #[arg(long, default_value = "500m")]
    pub cpu: String,
    /// Memory requested (and limit) per segment pod.
    #[arg(long, default_value = "512Mi")]
    pub memory: String,
    /// Every segment serves Prometheus metrics on this port while it runs (`surge run --metrics
    /// 0.0.0.0:PORT --linger 30s`): the pod declares it as its `metrics` port, with the
    /// prometheus.io annotations a Prometheus with pod discovery reads.
    #[arg(long, value_name = "PORT")]
    pub metrics_port: Option<u16>,
}

/// A DNS label Kubernetes accepts as a base name (room left for suffixes).
fn check_name(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 40
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("--name {n:?}: use lowercase letters, digits and '-', at most 40, not starting or ending with '-'"))
    }
}

fn default_name(plan: &Plan) -> String {
    let slug: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut n = format!("surge-{}", slug.trim_matches('-'));
    n.truncate(40);
    n.trim_end_matches('-').to_string()
}

/// The scenario file and the files it reads (CSV data, the CA certificate, files it uploads), as
/// mounted paths and contents. A client certificate is refused: its key is a secret.
fn files(scenario: &Path, plan: &Plan) -> Result<Vec<(String, Vec<u8>)>, String> {
    let read = |p: &Path| {
        surge_record::limits::read(p, surge_record::limits::DATA_FILE_BYTES)
            .map_err(|e| format!("{}: cannot read: {e}", p.display()))
    };
    let base = scenario.parent().unwrap_or(Path::new(""));
    let file_name = scenario
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "scenario.toml".into());
    let mut out = vec![(file_name, read(scenario)?)];
    let csv = plan
        .data
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match &d.kind {
            DataKind::Csv { file, .. } => Some((format!("data[{i}].file"), file)),
            _ => None,
        });
    let ca = plan
        .target
        .ca_cert
        .as_ref()
        .map(|f| ("target.ca_cert".to_string(), f));
    if let Some(cc) = &plan.target.client_cert {
        let field = match cc {
            surge_plan::identity::ClientCert::Pem { .. } => "target.client_key",
            surge_plan::identity::ClientCert::Pkcs12 { .. } => "target.client_p12",
        };
        return Err(format!(
            "{}: {field}: a client certificate's private key does not go in a ConfigMap, and surge k8s does not mount one from a Secret: run this scenario outside Kubernetes",
            scenario.display()
        ));
    }
    let uploads = plan.requests.iter().enumerate().flat_map(|(i, r)| {
        r.multipart
            .iter()
            .enumerate()
            .filter_map(move |(j, p)| match &p.content {
                surge_plan::multipart::PartContent::File { path, .. } => {
                    Some((format!("request[{i}].multipart[{j}].file"), path))
                }
                surge_plan::multipart::PartContent::Text(_) => None,
            })
    });
    for (field, file) in csv.chain(ca).chain(uploads) {
        let rel = file.strip_prefix(base).unwrap_or(file);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!(
                "{}: {field} {} is not inside the scenario's directory; a pod mounts only that directory: move the file beside the scenario",
                scenario.display(),
                file.display()
            ));
        }
        let path = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, read(file)?));
        }
    }
    let total: usize = out.iter().map(|(_, b)| b.len()).sum();
    if total > CONFIGMAP_BUDGET {
        return Err(format!(
            "{}: the scenario and its data files take {} KiB; a ConfigMap holds at most 1 MiB: build the data into the image or mount it from a volume",
            scenario.display(),
            total / 1024
        ));
    }
    Ok(out)
}

/// The environment variables the scenario reads credentials from, each once, in the order the
/// scenario names them: `[auth]`'s, each `[[data]] kind = "env"` source's, and the proxy's
/// `target.proxy_credentials_env`. In a pod every one comes from the Secret.
fn secret_env(scenario: &Path, plan: &Plan) -> Result<Vec<String>, String> {
    let mut vars = match &plan.auth {
        Auth::None => Vec::new(),
        Auth::Bearer { source: TokenSource::Env(v) } => vec![v.clone()],
        Auth::Bearer { source: TokenSource::File(f) } => {
            return Err(format!(
                "{}: auth.token_file {}: in Kubernetes give the token in an environment variable (auth.token_env), filled from a Secret",
                scenario.display(),
                f.display()
            ))
        }
        Auth::Basic {
            username_env,
            password_env,
        }
        | Auth::Digest {
            username_env,
            password_env,
        } => vec![username_env.clone(), password_env.clone()],
        Auth::ClientCredentials { client_id_env, client_secret_env, .. } => {
            vec![client_id_env.clone(), client_secret_env.clone()]
        }
    };
    vars.extend(plan.data.iter().filter_map(|d| match &d.kind {
        DataKind::Env { name, .. } => Some(name.clone()),
        _ => None,
    }));
    vars.extend(plan.target.proxy_credentials_env.clone());
    let mut seen = std::collections::HashSet::new();
    vars.retain(|v| !v.is_empty() && seen.insert(v.clone()));
    Ok(vars)
}

/// Builds the manifests' inputs from the flags and the checked scenario.
///
/// # Errors
/// One line naming the flag or file at fault.
pub fn spec(a: &K8sArgs, now: OffsetDateTime) -> Result<(Spec, Plan), String> {
    if surge_plan::jmx::is_jmx(&a.scenario) {
        return Err(format!(
            "{}: surge k8s takes a TOML scenario; convert it first: surge import {} > scenario.toml",
            a.scenario.display(),
            a.scenario.display()
        ));
    }
    if a.parallelism == 0 {
        return Err("--parallelism: at least 1".into());
    }
    let mut plan = surge_plan::load(&a.scenario, &a.set).map_err(|e| e.to_string())?;
    crate::run::apply_target(&mut plan, a.target.as_deref()).map_err(|e| e.to_string())?;
    if let Endpoint::Mock { .. } = plan.target.endpoint {
        return Err("the target is the built-in mock, which each pod would start on its own; run `surge mock` as a Service and pass --target http://<service>:<port>".into());
    }
    let name = a.name.clone().unwrap_or_else(|| default_name(&plan));
    check_name(&name)?;
    let start = match &a.start_at {
        Some(s) => OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| {
            format!("--start-at {s:?}: not an RFC 3339 time such as 2026-03-01T12:00:00Z ({e})")
        })?,
        None => now + a.start_in,
    }
    .to_offset(time::UtcOffset::UTC)
    .replace_nanosecond(0)
    .map_err(|e| e.to_string())?;
    let start_at = start.format(&Rfc3339).map_err(|e| e.to_string())?;
    let stamp = start
        .format(time::macros::format_description!(
            "[year][month][day]t[hour][minute][second]z"
        ))
        .map_err(|e| e.to_string())?;
    let ahead = (start - now).max(time::Duration::ZERO).unsigned_abs();
    let run_for = plan
        .planned_duration()
        .unwrap_or(Duration::from_secs(3_600));
    let mut run_args = Vec::new();
    if let Some(t) = &a.target {
        run_args.extend(["--target".to_string(), t.clone()]);
    }
    for s in &a.set {
        run_args.extend(["--set".to_string(), s.clone()]);
    }
    if let Some(port) = a.metrics_port {
        // In a pod, its own address: the scraper comes from outside.
        run_args.extend([
            "--metrics".to_string(),
            format!("0.0.0.0:{port}"),
            "--linger".to_string(),
            "30s".to_string(),
        ]);
    }
    let files = files(&a.scenario, &plan)?;
    let spec = Spec {
        run_id: format!("{name}-{stamp}"),
        secret: a
            .secret
            .clone()
            .unwrap_or_else(|| format!("{name}-secrets")),
        name,
        namespace: a.namespace.clone(),
        image: a.image.clone(),
        parallelism: a.parallelism,
        start_at,
        start_tolerance: a.start_tolerance,
        scenario_file: files[0].0.clone(),
        files,
        secret_env: secret_env(&a.scenario, &plan)?,
        run_args,
        storage: a.storage.clone(),
        storage_class: a.storage_class.clone(),
        cpu: a.cpu.clone(),
        memory: a.memory.clone(),
        metrics_port: a.metrics_port,
        merge_wait: ahead + a.start_tolerance + run_for + Duration::from_secs(600),
    };
    Ok((spec, plan))
}

/// Writes every manifest into `dir`.
///
/// # Errors
/// I/O errors naming the file.
pub fn write(spec: &Spec, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for m in manifests::manifests(spec) {
        let p = dir.join(m.file);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut text = format!(
            "# Written by `surge k8s` {}: run {}.\n",
            env!("CARGO_PKG_VERSION"),
            spec.run_id,
        );
        for n in &m.notes {
            text += &format!("# {n}\n");
        }
        text += &yaml::to_yaml(&m.object).map_err(|e| format!("{}: {e}", p.display()))?;
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

fn next_steps(spec: &Spec, dir: &Path) -> String {
    let k = spec.kubectl();
    let mut s = format!(
        "run {}: {} segments start together at {} (pods starting later than {} after it refuse to run)\n",
        spec.run_id,
        spec.parallelism,
        spec.start_at,
        surge_record::duration::format(spec.start_tolerance)
    );
    if let Some(cmd) = spec.secret_command() {
        s += &format!("once: {cmd}\n");
    }
    s += &format!(
        "then, before the start: {k} apply -f {dir}\nverdict: {k} logs -f job/{name}-merge   (exit status: {k} wait --for=condition=complete job/{name}-merge)\nfiles:   {k} apply -f {extra} && {k} cp {name}-results-reader:{run_dir}/merged ./merged\n",
        dir = dir.display(),
        extra = dir.join("extra/results-reader.yaml").display(),
        name = spec.name,
        run_dir = spec.run_dir(),
    );
    s
}

/// Runs `surge k8s` and returns the exit code.
pub fn cmd(a: &K8sArgs) -> i32 {
    let (spec, plan) = match spec(a, OffsetDateTime::now_utc()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(w) = crate::run::segment::token_warning(&plan, spec.parallelism) {
        eprintln!("warning: {w}");
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join("k8s").join(&spec.name));
    match write(&spec, &dir) {
        Ok(files) => {
            for f in &files {
                println!("wrote {}", f.display());
            }
            print!("{}", next_steps(&spec, &dir));
            println!(
                "(scenario mounted at {SCENARIO_DIR}; results under {} on the volume)",
                spec.run_dir()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(scenario: &str) -> Result<Spec, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
        // A CA certificate beside the scenarios' directory, not inside it.
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_string()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
        let p = dir.path().join("scenarios/s.toml");
        std::fs::write(&p, scenario).unwrap();
        let a = K8sArgs {
            scenario: p,
            parallelism: 2,
            start_in: Duration::from_secs(60),
            ..K8sArgs::default()
        };
        spec(&a, OffsetDateTime::now_utc()).map(|(s, _)| s)
    }

    #[test]
    fn every_credential_the_scenario_reads_is_a_secret_key_once() {
        let s = spec_of(
            r#"name = "s"
[target]
base_url = "https://api.example.com"
proxy = "http://proxy.example.com:3128"
proxy_credentials_env = "PROXY_AUTH"
[auth]
kind = "client_credentials"
client_id_env = "CID"
client_secret_env = "CSECRET"
[[data]]
kind = "env"
var = "key"
env = "API_KEY"
[[data]]
kind = "env"
var = "again"
env = "API_KEY"
[[data]]
kind = "env"
var = "id"
env = "CID"
[[request]]
name = "r"
path = "/x?k={key}&a={again}&i={id}"
[load]
threads = 2
"#,
        )
        .unwrap();
        assert_eq!(s.secret_env, ["CID", "CSECRET", "API_KEY", "PROXY_AUTH"]);
        let cmd = s.secret_command().unwrap();
        assert_eq!(
            cmd,
            "kubectl create secret generic surge-s-secrets --from-literal=CID=\"$CID\" --from-literal=CSECRET=\"$CSECRET\" --from-literal=API_KEY=\"$API_KEY\" --from-literal=PROXY_AUTH=\"$PROXY_AUTH\""
        );
        // The ConfigMap holds the scenario only (which names the variables, never a value);
        // the pods get each variable from the Secret.
        let ms = manifests::manifests(&s);
        let data = ms[0].object["data"].as_object().unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["s.toml"]);
        let env = &ms[2].object["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env.as_array().unwrap().len(), 4);
        assert_eq!(env[3]["valueFrom"]["secretKeyRef"]["key"], "PROXY_AUTH");
        assert!(ms[2].notes[1].contains(&cmd));
        // Without credentials: no Secret, no note.
        let s = spec_of(
            "name = \"s\"\n[target]\nbase_url = \"https://api.example.com\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n",
        )
        .unwrap();
        assert!(s.secret_command().is_none());
        assert!(manifests::manifests(&s)[2].notes.is_empty());
    }

    #[test]
    fn files_outside_the_scenario_directory_are_refused_by_field() {
        let e = spec_of(
            "name = \"s\"\n[target]\nbase_url = \"https://api.example.com\"\nca_cert = \"../ca.pem\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n",
        )
        .unwrap_err();
        assert!(
            e.contains("target.ca_cert ")
                && e.contains("ca.pem is not inside the scenario's directory"),
            "{e}"
        );
        // An upload's file is mounted as the data files are, so the same rule holds.
        let e = spec_of(
            "name = \"s\"\n[target]\nbase_url = \"https://api.example.com\"\n[[request]]\nname = \"r\"\nmethod = \"POST\"\npath = \"/\"\n[[request.multipart]]\nname = \"f\"\nfile = \"../ca.pem\"\n[load]\nthreads = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("request[0].multipart[0].file "), "{e}");
    }

    #[test]
    fn a_client_certificate_is_refused_not_put_in_a_config_map() {
        let e = spec_of(
            "name = \"s\"\n[target]\nbase_url = \"https://api.example.com\"\nclient_p12 = \"../ca.pem\"\nclient_p12_password_env = \"SURGE_K8S_TEST_P12_UNSET\"\n[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n",
        )
        .unwrap_err();
        assert!(
            e.contains(
                "target.client_p12: a client certificate's private key does not go in a ConfigMap"
            ),
            "{e}"
        );
    }
}
