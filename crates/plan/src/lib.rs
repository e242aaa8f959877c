//! surge-plan: scenario files and JMeter plans, read into a validated [`Plan`] that is pure data.
//! TOML as written ([`spec`]) is checked section by section ([`build`], [`target`], [`data`],
//! [`request`], [`load`](mod@load), [`policy`], [`steps`]) with errors that name the file, line and
//! field ([`error`]), and `{var}` templates ([`template`]); JMeter test plans are imported into the
//! same plan by [`jmx`]. The pure pacers every profile becomes are in [`schedule`]; threshold
//! expressions are parsed in [`threshold`] (evaluated by `surge-analysis`); the proxy and CA files
//! a scenario names are checked in [`proxy`] and [`pem`].
//!
//! Owns every check of user input in a scenario. Depends on `surge-record` only: Cargo refuses a
//! transport, mock, engine, analysis or report import, so a plan is built before anything runs.
//! See `ARCHITECTURE.md` at the repository's root.

pub mod build;
pub mod cond;
pub mod conversation;
pub mod data;
pub mod error;
pub mod identity;
pub mod jmx;
pub mod load;
pub mod markup;
pub mod multipart;
pub mod pem;
pub mod plan;
pub mod policy;
pub mod profile;
pub mod proxy;
pub mod request;
pub mod resolve;
pub mod schedule;
pub mod spec;
mod spec_de;
pub mod steps;
pub mod target;
pub mod template;
pub mod threshold;
pub mod timing;

use std::path::Path;

pub use build::{parse_duration, parse_duration_text, DurationError};
pub use data::{load_csv, CsvError, DataKind, DataSource, OnEof, Share};
pub use error::{ConfigError, Locator, Problem};
pub use plan::*;
pub use policy::{Adaptive, Pace, Policy, Retry};
pub use target::{check_url, derive_login, UrlError};
pub use timing::{GroupPace, PaceScope, ThinkTime};

/// Reads and checks a scenario file, applying `--set key=value` overrides first.
///
/// # Errors
/// Every problem found: unreadable file, TOML syntax, unknown keys, wrong types, bad values,
/// bad overrides; each with its line where one exists.
pub fn load(path: &Path, overrides: &[String]) -> Result<Plan, ConfigError> {
    use surge_record::filekind::FileKind;
    // Another kind of file is named for what it is, not for its first character's TOML error.
    if let Some(kind) = FileKind::of_file(path).filter(|k| *k != FileKind::Scenario) {
        let what = match kind {
            FileKind::Directory => "a folder".to_string(),
            k => k.what().to_string(),
        };
        return Err(ConfigError::single(
            path,
            "",
            format!("not a scenario (TOML): it is {what}"),
        ));
    }
    let text = surge_record::limits::read_to_string(path, surge_record::limits::SCENARIO_BYTES)
        .map_err(|e| ConfigError::single(path, "", format!("cannot read the scenario: {e}")))?;
    load_str(&text, path, overrides)
}

/// As [`load()`], from text already read; `path` names it in errors and locates relative files.
pub fn load_str(text: &str, path: &Path, overrides: &[String]) -> Result<Plan, ConfigError> {
    let original_text = text;
    let fail = |problems: Vec<Problem>| ConfigError {
        file: path.to_path_buf(),
        problems,
    };
    let text = if overrides.is_empty() {
        text.to_string()
    } else {
        apply_overrides(text, overrides).map_err(|p| fail(vec![p]))?
    };
    let loc = Locator::new(&text);
    // With overrides, lines are those of the file as written (the edited text has more), and
    // a problem in a field an override set names the flag, not a line.
    let original = (!overrides.is_empty()).then(|| Locator::new(original_text));
    let place = |mut p: Problem| {
        let Some(orig) = &original else { return p };
        if let Some(o) = overrides.iter().find(|o| set_by(&p.field, o)) {
            p.field = format!("--set {}", shown_override(o));
            p.line = None;
            p.column = None;
        } else if !p.field.is_empty() {
            p.line = orig.line_of(&p.field);
            p.column = None;
        }
        p
    };
    let de = toml::Deserializer::parse(&text)
        .map_err(|e| fail(vec![place(toml_problem(&loc, &text, &e))]))?;
    let mut unknown = Vec::new();
    let raw: spec::RawScenario = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
        .map_err(|e| fail(vec![place(toml_problem(&loc, &text, &e))]))?;
    let mut problems: Vec<Problem> = unknown
        .iter()
        .map(|p| {
            let p = normalize_path(p);
            let (parent, key) = p.rsplit_once('.').unwrap_or(("", p.as_str()));
            let hint = spec::known_fields(parent).map_or(String::new(), |f| {
                surge_record::text::did_you_mean(key, f.iter().copied())
            });
            loc.problem(
                &p,
                format!("unknown key{hint} (see scenarios/README.md for the fields)"),
            )
        })
        .collect();
    let result = match build::build(raw, path, &loc) {
        Ok(plan) if problems.is_empty() => return Ok(plan),
        Ok(_) => problems,
        Err(mut more) => {
            problems.append(&mut more);
            problems
        }
    };
    let mut problems: Vec<Problem> = result.into_iter().map(place).collect();
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Err(fail(problems))
}

/// An override as messages quote it: a credential's value (by the key's name, or by its look)
/// is hidden.
fn shown_override(o: &str) -> String {
    let Some((key, value)) = o.split_once('=') else {
        return o.to_string();
    };
    let last = key.rsplit('.').next().unwrap_or(key);
    let secret = surge_record::secrets::is_sensitive_header(last)
        || surge_record::secrets::looks_like_credential(value)
        || (last == "path" || last == "base_url")
            && surge_record::secrets::redact_url(value) != value;
    if secret {
        format!("{key}={}", surge_record::secrets::REDACTED)
    } else {
        o.to_string()
    }
}

/// True when the field at `path` was written by the override `o` (`key=value`): the key
/// itself, a field inside it, or the table that holds it.
fn set_by(path: &str, o: &str) -> bool {
    let key = o.split_once('=').map_or(o, |(k, _)| k).trim();
    !path.is_empty()
        && (path == key
            || path.starts_with(&format!("{key}."))
            || path.starts_with(&format!("{key}[")))
}

/// serde_ignored paths look like `request.1.foo`; reports use `request[1].foo`.
fn normalize_path(p: &str) -> String {
    let mut out = String::new();
    for seg in p.split('.').filter(|s| *s != "?") {
        if seg.chars().all(|c| c.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

fn toml_problem(loc: &Locator, text: &str, e: &toml::de::Error) -> Problem {
    let (line, column, field) = match e.span() {
        Some(s) => {
            let (l, c) = loc.line_col(s.start);
            let field = loc
                .path_at(s.start)
                .or_else(|| error::path_of_line(text, l))
                .unwrap_or_default();
            (Some(l), Some(c), field)
        }
        None => (None, None, String::new()),
    };
    Problem {
        line,
        column,
        field,
        message: error::plain_serde_message(e.message().trim()),
    }
}

/// Applies `key.path=value` overrides to TOML text. The value is read as TOML when it parses
/// as a TOML value (`20`, `"10s"`, `true`, `[1,2]`), else as a string (`10s`). A path may index
/// a list of tables: `request[0].path=/x`.
///
/// # Errors
/// A problem naming the `--set` flag: no `=`, an empty key, or a path through a non-table.
pub fn apply_overrides(text: &str, overrides: &[String]) -> Result<String, Problem> {
    let flag_problem = |o: &str, msg: String| Problem {
        line: None,
        column: None,
        field: format!("--set {}", shown_override(o)),
        message: msg,
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        flag_problem("", format!("the scenario is not valid TOML: {e}"))
    })?;
    for o in overrides {
        let Some((key, value)) = o.split_once('=') else {
            return Err(flag_problem(
                o,
                "expected key=value, e.g. --set load.threads=20".into(),
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(flag_problem(
                o,
                "the key is empty or has an empty part".into(),
            ));
        }
        let v = value.trim();
        let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
        if !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && v.parse::<i64>().is_err()
        {
            return Err(flag_problem(
                o,
                format!(
                    "{v} is out of range (a whole number is at most {})",
                    i64::MAX
                ),
            ));
        }
        let value: toml_edit::Value = value
            .trim()
            .parse::<toml_edit::Value>()
            .unwrap_or_else(|_| toml_edit::Value::from(value.trim()));
        let segs: Vec<(&str, Option<usize>)> = key
            .split('.')
            .map(|seg| match seg.split_once('[') {
                Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            })
            .collect();
        set_path(doc.as_table_mut(), &segs, value).map_err(|m| flag_problem(o, m))?;
    }
    Ok(doc.to_string())
}

fn set_path(
    table: &mut dyn toml_edit::TableLike,
    segs: &[(&str, Option<usize>)],
    value: toml_edit::Value,
) -> Result<(), String> {
    let ((name, index), rest) = segs.split_first().expect("non-empty path");
    if rest.is_empty() && index.is_none() {
        table.insert(name, toml_edit::Item::Value(value));
        return Ok(());
    }
    if table.get(name).is_none() {
        if index.is_some() {
            return Err(format!("{name} has no entries"));
        }
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        table.insert(name, toml_edit::Item::Table(t));
    }
    let item = table.get_mut(name).expect("present");
    let next: &mut dyn toml_edit::TableLike = match (index, item) {
        (Some(i), toml_edit::Item::ArrayOfTables(a)) => {
            let len = a.len();
            a.get_mut(*i)
                .ok_or_else(|| format!("{name} has {len} entries; [{i}] is out of range"))?
        }
        (Some(_), _) => return Err(format!("{name} is not a list of tables")),
        (None, item) => item
            .as_table_like_mut()
            .ok_or_else(|| format!("{name} is a value, not a table"))?,
    };
    if rest.is_empty() {
        return Err(format!("{name}[..] is a table; name a field inside it"));
    }
    set_path(next, rest, value)
}

#[cfg(test)]
mod tests;
