//! `surge import plan.jmx [-o scenario.toml]`, and the in-memory import behind
//! `surge run plan.jmx`: warnings go to stderr; `--strict` makes them errors.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{exit, RunArgs};
use surge_plan::jmx::{self, ImportOptions, Imported};
use surge_plan::Plan;

/// `surge import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JMeter test plan (.jmx).
    pub plan: PathBuf,
    /// Write the scenario here (default: print it).
    #[arg(long, short, visible_alias = "output", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A JMeter property, read by ${__P(NAME)} (repeatable), as jmeter -JNAME=VALUE.
    #[arg(short = 'J', long = "jmeter-property", value_name = "NAME=VALUE")]
    pub jmeter_property: Vec<String>,
    /// Treat every warning as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
}

fn options(props: &[String], out_dir: Option<PathBuf>) -> Result<ImportOptions, String> {
    let properties = props
        .iter()
        .map(|p| jmx::parse_property(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(ImportOptions {
        properties,
        out_dir,
    })
}

fn report(imported: &Imported, plan: &Path) {
    for w in &imported.warnings {
        eprintln!("warning: {}: {w}", plan.display());
    }
    for n in &imported.notes {
        eprintln!("note: {}: {n}", plan.display());
    }
}

/// Imports `a.scenario` (a .jmx) for `surge run`: the plan, and a bearer token given with `-J`.
///
/// # Errors
/// The message to print: a bad `-J`, an import error, `--strict` warnings, or a problem of the
/// imported scenario.
pub fn load_for_run(a: &RunArgs) -> Result<(Plan, Option<String>), String> {
    let opts = options(&a.jmeter_property, None)?;
    let (plan, imported) = match jmx::load(&a.scenario, &opts, &a.load.set) {
        Ok(x) => x,
        Err(e) => {
            let hint = if e.file.extension().is_some_and(|x| x == "toml") {
                format!("\n(in the scenario imported from {}; `surge import` writes it, to see those lines)", a.scenario.display())
            } else {
                String::new()
            };
            return Err(format!("{e}{hint}"));
        }
    };
    if let Some(e) = a
        .strict
        .then(|| imported.strict_error(&a.scenario))
        .flatten()
    {
        return Err(e.to_string());
    }
    if !a.quiet {
        report(&imported, &a.scenario);
    } else {
        for w in &imported.warnings {
            eprintln!("warning: {}: {w}", a.scenario.display());
        }
    }
    Ok((plan, imported.bearer_token().map(str::to_string)))
}

/// `surge import`: writes (or prints) the scenario; returns the exit code.
pub fn import_cmd(a: &ImportArgs) -> i32 {
    use surge_record::filekind::FileKind;
    if let Some(k) = FileKind::of_file(&a.plan).filter(|k| *k != FileKind::Jmx) {
        eprintln!(
            "error: {}: not a JMeter test plan (.jmx): it is {}",
            a.plan.display(),
            k.what()
        );
        return exit::USAGE;
    }
    let out_dir = a
        .out
        .as_ref()
        .map(|o| o.parent().map(Path::to_path_buf).unwrap_or_default());
    let opts = match options(&a.jmeter_property, out_dir) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let imported = match jmx::import_file(&a.plan, &opts) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(e) = a.strict.then(|| imported.strict_error(&a.plan)).flatten() {
        eprintln!("error: {e}");
        return exit::USAGE;
    }
    report(&imported, &a.plan);
    match &a.out {
        None => match crate::console::write_product(&imported.toml) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: writing the scenario to stdout: {e}");
                exit::FAILED
            }
        },
        Some(o) => match o
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(o, &imported.toml))
        {
            Ok(()) => {
                eprintln!(
                    "wrote {} ({}, {})",
                    o.display(),
                    surge_record::plural(imported.warnings.len() as u64, "warning"),
                    surge_record::plural(imported.notes.len() as u64, "note")
                );
                exit::OK
            }
            Err(e) => {
                eprintln!("error: --out {}: {e}", o.display());
                exit::FAILED
            }
        },
    }
}
