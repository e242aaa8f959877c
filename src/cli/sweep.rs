//! `surge sweep SCENARIO --vary key=a,b --vary key2=x,y [--simulate]`: runs every combination of
//! the values (each a `--set` on the scenario, or `seed`, the run's `--seed`), one result each,
//! then compares them. `--vary seed=1..10` runs the same scenario over ten seeds of the client's
//! and the built-in mock's randomness.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::{exit, LoadArgs, PaceArgs};
use crate::run::{self, RunOptions};
use surge_record::RunResult;
use surge_report::terminal::summary_at;

/// `surge sweep`.
#[derive(Debug, Args, Default)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// A field and the values to try, e.g. --vary load.ramp_up=0s,10s,30s (repeatable: every
    /// combination runs); `seed=1..10` (or `seed=1,5,9`) varies the run's --seed.
    #[arg(long = "vary", value_name = "KEY=V1,V2,…", required = true)]
    pub vary: Vec<String>,
    /// `--set` (every run), `--yes`, `--seed` (unless `--vary seed=…`), `--simulate`.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output directory: one folder per run, compare.html and compare.csv (default
    /// reports/sweep-<name>-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// No progress bars and no per-run summaries.
    #[arg(long, short)]
    pub quiet: bool,
    /// `--pace-from`, for every run (`--vary` still changes the rest).
    #[command(flatten)]
    pub pace: PaceArgs,
    /// `--metrics`, `--linger` (each run's series carry its own run_id).
    #[command(flatten)]
    pub live: super::LiveArgs,
}

/// Each output of one sweep run that could not be written (the run's figures are kept).
fn say_output_errors(label: &str, errors: &[String]) {
    for e in errors {
        eprintln!("error: {label}: {e}");
    }
}

/// Parses `--vary` flags into (key, values).
///
/// # Errors
/// A message naming the flag.
pub fn parse_vary(vary: &[String]) -> Result<Vec<(String, Vec<String>)>, String> {
    vary.iter()
        .map(|v| {
            let (k, vals) = v
                .split_once('=')
                .ok_or_else(|| format!("--vary {v}: expected KEY=V1,V2,…"))?;
            let vals: Vec<String> = split_top(vals)
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if k.trim().is_empty() || vals.is_empty() {
                return Err(format!("--vary {v}: needs a key and at least one value"));
            }
            let vals = if k.trim() == SEED {
                seeds(&vals).map_err(|e| format!("--vary {v}: {e}"))?
            } else {
                vals
            };
            Ok((k.trim().to_string(), vals))
        })
        .collect()
}

/// The `--vary` key that sets the run's `--seed` instead of a scenario field.
pub const SEED: &str = "seed";

/// `1..10` (inclusive) and `3` into seeds, in order.
fn seeds(vals: &[String]) -> Result<Vec<String>, String> {
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{s:?} is not a seed (a whole number, or a range such as 1..10)"))
    };
    let mut out = Vec::new();
    for v in vals {
        match v.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b.trim_start_matches('='))?);
                if b < a || b - a >= 1000 {
                    return Err(format!("{v}: a range from low to high, at most 1000 seeds"));
                }
                out.extend((a..=b).map(|s| s.to_string()));
            }
            None => out.push(num(v)?.to_string()),
        }
    }
    Ok(out)
}

/// Splits a combination into its scenario overrides and the seed it sets, if any.
fn split_seed(combo: &[String]) -> (Vec<String>, Option<u64>) {
    let mut seed = None;
    let sets = combo
        .iter()
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == SEED => {
                seed = v.parse().ok();
                false
            }
            _ => true,
        })
        .cloned()
        .collect();
    (sets, seed)
}

/// Splits on commas outside braces, brackets and quotes, so a value may be a TOML inline table:
/// `on_429={policy="none"},{policy="pace",rate=4.5}`.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start, mut out) = (0i32, None::<char>, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Every combination, as `--set` lists, in order (the first --vary changes slowest).
pub fn combinations(axes: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    let mut combos: Vec<Vec<String>> = vec![vec![]];
    for (k, vals) in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                vals.iter()
                    .map(move |v| [c.clone(), vec![format!("{k}={v}")]].concat())
            })
            .collect();
    }
    combos
}

fn slug(sets: &[String]) -> String {
    let s: String = sets
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.chars().take(80).collect()
}

/// Says the pace every run of the sweep gets, and the 429 policies it goes with.
fn say_pace(
    plans: &[surge_plan::Plan],
    f: &std::path::Path,
    shape: &surge_record::pace::PaceShape,
) {
    let mut policies: Vec<&str> = plans.iter().map(|p| p.on_429.name.as_str()).collect();
    policies.dedup();
    println!(
        "pace: {} (from {}) for every run; on_429 {} {}",
        surge_report::diagnosis::pace_text(shape),
        f.display(),
        if policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        policies.join(", ")
    );
}

/// Runs `surge sweep`.
pub async fn cmd(a: SweepArgs, stops: super::stop::Stops) -> i32 {
    let live = match super::live::Live::start(&a.live).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let code = sweep(a, stops, super::live::Live::hub(live.as_ref())).await;
    if let Some(l) = live {
        l.end().await;
    }
    code
}

/// The runs of a sweep, each feeding `hub` when there is one.
async fn sweep(
    a: SweepArgs,
    stops: super::stop::Stops,
    hub: Option<std::sync::Arc<surge_live::Hub>>,
) -> i32 {
    let cancel = stops.graceful.clone();
    let axes = match parse_vary(&a.vary) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let combos = combinations(&axes);
    let pace = match a
        .pace
        .pace_from
        .as_deref()
        .map(|f| (f, surge_record::pace::read_recommended(f)))
    {
        None => None,
        Some((f, Ok(shape))) => Some((f, shape)),
        Some((_, Err(e))) => {
            eprintln!("error: --pace-from {e}");
            return exit::USAGE;
        }
    };
    // Check every combination before running any, so a bad value never costs a half sweep.
    let mut plans = Vec::new();
    for c in &combos {
        let (vary_sets, _) = split_seed(c);
        let sets: Vec<String> = a.load.set.iter().cloned().chain(vary_sets).collect();
        match surge_plan::load(&a.scenario, &sets) {
            Ok(mut p) => {
                if let Some((f, shape)) = &pace {
                    super::pace_from(&mut p, shape, f);
                }
                plans.push(p);
            }
            Err(e) => {
                // A problem of the file itself is said once, without blaming a combination.
                match surge_plan::load(&a.scenario, &a.load.set) {
                    Err(own) => eprintln!("error: {own}"),
                    Ok(_) => eprintln!("error: with --vary {}:\n{e}", c.join(" ")),
                }
                return exit::USAGE;
            }
        }
    }
    if let Some((f, shape)) = &pace {
        say_pace(&plans, f, shape);
    }
    if let Some(p) = plans.first() {
        if let surge_plan::Endpoint::Url { base_url, .. } = &p.target.endpoint {
            if !run::is_loopback(base_url) && !a.load.yes {
                eprintln!("error: --yes: a sweep of {} runs against {base_url} (outside this machine) needs --yes", plans.len());
                return exit::USAGE;
            }
        }
    }
    let name = plans
        .first()
        .map_or("sweep".to_string(), |p| p.name.clone());
    let out = match a.out.clone() {
        Some(o) => o,
        None => match run::out_dir::claim_fresh(&run::stamped_dir(&format!("sweep-{name}"))) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: cannot create the output folder: {e}");
                return exit::FAILED;
            }
        },
    };
    let mut done: Vec<(String, RunResult)> = Vec::new();
    let total = plans.len();
    for (i, (plan, combo)) in plans.into_iter().zip(&combos).enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        // Short names: the last part of each key (`load.ramp_up=10s` → `ramp_up=10s`).
        let label = combo
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => format!("{}={v}", k.rsplit('.').next().unwrap_or(k)),
                None => kv.clone(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        println!("[{}/{total}] {label}", i + 1);
        let observer = (!a.quiet && std::io::stdout().is_terminal()).then(|| {
            std::sync::Arc::new(super::progress::bar(&plan)) as std::sync::Arc<dyn run::RunObserver>
        });
        let opts = RunOptions {
            out: Some(out.join(format!("{:02}-{}", i + 1, slug(combo)))),
            observer,
            cancel: stops.graceful.clone(),
            stop_now: stops.now.clone(),
            seed: split_seed(combo).1.or(a.load.seed),
            simulate: a.load.simulate,
            load_started: stops.load_started.clone(),
            live: hub.clone(),
            ..RunOptions::default()
        };
        match run::run_plan(plan, opts).await {
            Ok(rep) => {
                if !a.quiet {
                    let json = rep.out_dir.join("result.json");
                    print!("{}", summary_at(&rep.result, &json));
                }
                say_output_errors(&label, &rep.output_errors);
                done.push((label, rep.result));
            }
            Err(e) => {
                eprintln!("error: {label}: {e}");
                return match e {
                    run::RunError::Io(_) => exit::FAILED,
                    _ => exit::USAGE,
                };
            }
        }
    }
    if done.is_empty() {
        eprintln!("error: no run finished");
        return exit::ABORTED;
    }
    let runs: Vec<(String, &RunResult)> = done.iter().map(|(n, r)| (n.clone(), r)).collect();
    match super::compare::write_comparison(&runs, &out) {
        Ok(figs) => {
            print!(
                "{}",
                surge_report::compare::table(&figs, surge_report::compare::terminal_width())
            );
            println!("compare: {}", out.join("compare.html").display());
            if done.len() < total || cancel.is_cancelled() {
                exit::ABORTED
            } else {
                exit::OK
            }
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

    #[test]
    fn vary_parses_and_combines_in_order() {
        let axes = parse_vary(&[
            "load.ramp_up=0s,10s".into(),
            "on_429.policy=none, retry_after".into(),
        ])
        .unwrap();
        let c = combinations(&axes);
        assert_eq!(c.len(), 4);
        assert_eq!(c[0], vec!["load.ramp_up=0s", "on_429.policy=none"]);
        assert_eq!(c[3], vec!["load.ramp_up=10s", "on_429.policy=retry_after"]);
        assert!(parse_vary(&["load.ramp_up".into()])
            .unwrap_err()
            .contains("--vary load.ramp_up"));
        assert!(parse_vary(&["x=".into()]).is_err());
        assert_eq!(slug(&c[3]), "load.ramp_up_10s_on_429.policy_retry_after");
        // `seed` is the run's --seed, in ranges too; never a scenario field.
        let axes = parse_vary(&["seed=1..3,7".into(), "load.threads=2".into()]).unwrap();
        assert_eq!(axes[0].1, vec!["1", "2", "3", "7"]);
        let c = combinations(&axes);
        assert_eq!(
            split_seed(&c[1]),
            (vec!["load.threads=2".to_string()], Some(2))
        );
        assert!(parse_vary(&["seed=3..1".into()])
            .unwrap_err()
            .contains("from low to high"));
        assert!(parse_vary(&["seed=x".into()])
            .unwrap_err()
            .contains("is not a seed"));
        let axes = parse_vary(&[
            r#"on_429={policy="none"},{policy="pace",rate=4.5,retry="retry_after"}"#.into(),
        ])
        .unwrap();
        assert_eq!(
            axes[0].1,
            vec![
                r#"{policy="none"}"#,
                r#"{policy="pace",rate=4.5,retry="retry_after"}"#
            ]
        );
    }
}
