//! A scenario field given as a flag (`surge run s.toml --threads 5`): clap alone would answer
//! with the nearest real flag (`--threshold`), which is not what was meant. The answer is the
//! `--set` form of the same field, with the value given, and exit code 2.

use std::ffi::OsString;

/// The fields of a scenario's `[load]` (and the words people use for them), as `--set` takes
/// them: each flag name maps to its `load.` key.
const LOAD_FIELDS: &[(&str, &str)] = &[
    ("threads", "threads"),
    ("users", "threads"),
    ("vus", "threads"),
    ("ramp_up", "ramp_up"),
    ("ramp", "ramp_up"),
    ("rampup", "ramp_up"),
    ("loops", "loops"),
    ("iterations", "loops"),
    ("duration", "duration"),
    ("delay", "delay"),
    ("rate", "rate"),
    ("rps", "rate"),
    ("start_rate", "start_rate"),
    ("time_unit", "time_unit"),
    ("pre_allocated_users", "pre_allocated_users"),
    ("think_time", "think_time"),
    ("pace", "pace"),
    ("on_error", "on_error"),
    ("profile", "profile"),
    ("start_users", "start_users"),
    ("step_users", "step_users"),
    ("step_every", "step_every"),
    ("max_users", "max_users"),
    ("hold", "hold"),
    ("base_users", "base_users"),
    ("peak_users", "peak_users"),
    ("spike_at", "spike_at"),
    ("spike_for", "spike_for"),
];

/// The `--set` form of `invalid` (the argument clap did not know, as it names it) when it names
/// a scenario field rather than a flag of the command, as an error line; `None` otherwise.
pub fn hint(args: &[OsString], invalid: &str) -> Option<String> {
    let invalid = invalid.split_once('=').map_or(invalid, |(n, _)| n);
    args.iter().enumerate().find_map(|(i, a)| {
        let a = a.to_str()?;
        if a.split_once('=').map_or(a, |(n, _)| n) != invalid {
            return None;
        }
        let flag = a.strip_prefix("--")?;
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let norm = name.replace('-', "_").to_ascii_lowercase();
        let key = LOAD_FIELDS.iter().find(|(f, _)| *f == norm)?.1;
        let value = inline.or_else(|| {
            args.get(i + 1)
                .and_then(|v| v.to_str())
                .filter(|v| !v.starts_with("--"))
                .map(str::to_string)
        });
        let set = match value {
            Some(v) => crate::cli::quote_word(&format!("load.{key}={v}")),
            None => format!("load.{key}=VALUE"),
        };
        Some(format!(
            "error: --{name} is not a flag; it is the scenario's load.{key}: give it as `--set {set}`"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(args: &[&str]) -> Option<String> {
        let invalid = args.iter().find(|a| a.starts_with("--"))?;
        hint(
            &args.iter().map(OsString::from).collect::<Vec<_>>(),
            invalid,
        )
    }

    #[test]
    fn a_field_as_a_flag_is_answered_with_its_set_form() {
        assert_eq!(
            h(&["surge", "run", "s.toml", "--threads", "5"]).unwrap(),
            "error: --threads is not a flag; it is the scenario's load.threads: give it as `--set load.threads=5`"
        );
        assert!(h(&["surge", "run", "s.toml", "--ramp-up=10s"])
            .unwrap()
            .contains("`--set load.ramp_up=10s`"));
        assert!(h(&["surge", "run", "s.toml", "--duration", "2 min"])
            .unwrap()
            .contains("`--set 'load.duration=2 min'`"));
        assert_eq!(h(&["surge", "run", "s.toml", "--threshold", "x"]), None);
    }
}
