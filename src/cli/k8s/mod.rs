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
use crate::scenario::{Auth, DataKind, Endpoint, Plan, TokenSource};
use manifests::{Spec, SCENARIO_DIR};

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
    /// Directory to write the manifests in [default: k8s/<name>].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// When the segments start together (RFC 3339) [default: now + --start-in].
    #[arg(long, value_name = "TIME", conflicts_with = "start_in")]
    pub start_at: Option<String>,
    /// Start this long after the manifests are written: apply them before then.
    #[arg(long, value_name = "DURATION", default_value = "3m", value_parser = crate::duration::parse_flag)]
    pub start_in: Duration,
    /// How late a pod may start after the barrier (image pulls, scheduling).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::parse_flag)]
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

/// The scenario file and its data files, as mounted paths and contents.
fn files(scenario: &Path, plan: &Plan) -> Result<Vec<(String, Vec<u8>)>, String> {
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()));
    let base = scenario.parent().unwrap_or(Path::new(""));
    let file_name = scenario
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "scenario.toml".into());
    let mut out = vec![(file_name, read(scenario)?)];
    for (i, d) in plan.data.iter().enumerate() {
        let DataKind::Csv { file, .. } = &d.kind else {
            continue;
        };
        let rel = file.strip_prefix(base).unwrap_or(file);
        if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!(
                "{}: data[{i}].file {} is not inside the scenario's directory; a pod mounts only that directory: move the file beside the scenario",
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

/// The environment variables the scenario reads secrets from.
fn secret_env(scenario: &Path, plan: &Plan) -> Result<Vec<String>, String> {
    Ok(match &plan.auth {
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
    })
}

/// Builds the manifests' inputs from the flags and the checked scenario.
///
/// # Errors
/// One line naming the flag or file at fault.
pub fn spec(a: &K8sArgs, now: OffsetDateTime) -> Result<(Spec, Plan), String> {
    if crate::scenario::jmx::is_jmx(&a.scenario) {
        return Err(format!(
            "{}: surge k8s takes a TOML scenario; convert it first: surge import {} > scenario.toml",
            a.scenario.display(),
            a.scenario.display()
        ));
    }
    if a.parallelism == 0 {
        return Err("--parallelism: at least 1".into());
    }
    let mut plan = crate::scenario::load(&a.scenario, &a.set).map_err(|e| e.to_string())?;
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
    for (file, value) in manifests::manifests(spec) {
        let p = dir.join(file);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let text = format!(
            "# Written by `surge k8s` {}: run {}.\n{}",
            env!("CARGO_PKG_VERSION"),
            spec.run_id,
            yaml::to_yaml(&value)
        );
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

fn next_steps(spec: &Spec, dir: &Path) -> String {
    let ns = spec
        .namespace
        .as_ref()
        .map_or(String::new(), |n| format!(" -n {n}"));
    let mut s = format!(
        "run {}: {} segments start together at {} (pods starting later than {} after it refuse to run)\n",
        spec.run_id,
        spec.parallelism,
        spec.start_at,
        crate::duration::format(spec.start_tolerance)
    );
    if !spec.secret_env.is_empty() {
        let lits: Vec<String> = spec
            .secret_env
            .iter()
            .map(|v| format!("--from-literal={v}=\"${v}\""))
            .collect();
        s += &format!(
            "once: kubectl{ns} create secret generic {} {}\n",
            spec.secret,
            lits.join(" ")
        );
    }
    s += &format!(
        "then, before the start: kubectl{ns} apply -f {dir}\nverdict: kubectl{ns} logs -f job/{name}-merge   (exit status: kubectl{ns} wait --for=condition=complete job/{name}-merge)\nfiles:   kubectl{ns} apply -f {extra} && kubectl{ns} cp {name}-results-reader:{run_dir}/merged ./merged\n",
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
        .unwrap_or_else(|| Path::new("k8s").join(&spec.name));
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
