//! `[[data]]`: variable sources (CSV files, UUIDs, counters, lists) checked into
//! [`DataSource`]s, and the CSV reader they load with. The variables they set are the names
//! request templates may use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::build::Checker;
use serde::Serialize;

use super::spec::RawData;

mod csv_file;
mod groups;
pub use self::csv_file::{load_csv, CsvError};

use self::groups::bind_groups;
pub(super) use self::groups::check_group_draws;

/// How users share a data source's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// One cursor for every user (JMeter "All threads").
    All,
    /// Each user reads from the start on its own (JMeter "Current thread").
    PerThread,
}

/// What happens when a finite source runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEof {
    /// Start again from the first value.
    Recycle,
    /// The user that hit the end stops.
    StopThread,
    /// The whole test stops.
    StopTest,
}

/// What a data source yields.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataKind {
    /// Rows of a CSV file (header row names the variables).
    Csv {
        /// The file.
        file: PathBuf,
        /// Number of data rows.
        rows: usize,
        /// The rows, loaded once.
        #[serde(skip)]
        data: Arc<Vec<Vec<String>>>,
    },
    /// A random UUID per draw.
    Uuid,
    /// start, start+step, … (back to start after `end`).
    Counter {
        /// First value.
        start: i64,
        /// Increment.
        step: i64,
        /// The last value before it starts again.
        #[serde(skip_serializing_if = "Option::is_none")]
        end: Option<i64>,
        /// How values are written.
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<NumFormat>,
    },
    /// A uniform random integer in `[min, max]` per draw.
    Random {
        /// Smallest.
        min: i64,
        /// Largest.
        max: i64,
        /// How values are written.
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<NumFormat>,
    },
    /// One row of values per user (JMeter's User Parameters): user n takes row (n - 1) mod
    /// rows, in its group.
    PerUser {
        /// The rows.
        rows: Arc<Vec<Vec<String>>>,
    },
    /// The values in order.
    List {
        /// The values.
        values: Arc<Vec<String>>,
    },
    /// One value from an environment variable (a secret: never written to any output).
    Env {
        /// The variable's name.
        name: String,
        /// Its value when the scenario was read; None when it was not set (a run refuses to
        /// start, naming it; other commands need no value).
        #[serde(skip)]
        value: Option<EnvValue>,
    },
}

/// A value read from the environment; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvValue(pub String);

impl std::fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A `[[data]]` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    /// What it yields.
    #[serde(flatten)]
    pub kind: DataKind,
    /// Cursor sharing.
    pub share: Share,
    /// End-of-data behaviour (finite sources only).
    pub on_eof: OnEof,
    /// Indices into [`Plan::vars`](super::Plan::vars) this source sets, in column order.
    pub vars: Vec<usize>,
    /// The groups (indices into [`Plan::groups`](crate::Plan::groups)) whose users draw from it; None: every group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<usize>>,
}

impl DataSource {
    /// A user of group `group` draws from this source (a user of no known group, from every
    /// source).
    pub fn drawn_by(&self, group: Option<usize>) -> bool {
        match (&self.groups, group) {
            (Some(bound), Some(g)) => bound.contains(&g),
            _ => true,
        }
    }
}

/// Checks every `[[data]]` source. Returns the sources and the variable names they set, in file
/// order (templates index into the names). `groups` names the `[[group]]`s in file order (None
/// with `[load]`): what a source's `groups` may name.
pub(super) fn build_data(
    c: &mut Checker<'_>,
    raw: Vec<RawData>,
    base_dir: &Path,
    groups: Option<&[String]>,
) -> (Vec<DataSource>, Vec<String>) {
    let mut vars: Vec<String> = Vec::new();
    let mut data = Vec::new();
    for (i, d) in raw.into_iter().enumerate() {
        let p = format!("data[{i}]");
        let share = c.choice(
            &format!("{p}.share"),
            d.share.as_deref(),
            Share::All,
            &[("all", Share::All), ("per_thread", Share::PerThread)],
        );
        let on_eof = c.choice(
            &format!("{p}.on_eof"),
            d.on_eof.as_deref(),
            OnEof::Recycle,
            &[
                ("recycle", OnEof::Recycle),
                ("stop_thread", OnEof::StopThread),
                ("stop_test", OnEof::StopTest),
            ],
        );
        let bound = bind_groups(c, &p, d.groups.as_deref(), groups);
        let Some((kind, mut names)) = source_kind(c, &p, &d, base_dir) else {
            continue;
        };
        if !matches!(kind, DataKind::Csv { .. } | DataKind::PerUser { .. }) {
            match &d.var {
                Some(v) => names = vec![v.clone()],
                None => {
                    c.err(
                        &format!("{p}.var"),
                        "is required: the variable name this source sets",
                    );
                    continue;
                }
            }
        } else if d.var.is_some() {
            c.err(
                &format!("{p}.var"),
                "does not apply to csv sources: the header row names the variables",
            );
        }
        let mut idx = Vec::new();
        for n in names {
            if let Some(k) = vars.iter().position(|v| *v == n) {
                // Each group its own source of one variable (JMeter's CSV Data Set inside each
                // thread group): a user draws the one its group is bound to.
                if groups::apart(&data, k, bound.as_deref()) {
                    idx.push(k);
                } else {
                    c.err(
                        &p,
                        format!("variable {n:?} is already set by an earlier [[data]] source (two sources may set one variable only when each names its groups and no group draws both)"),
                    );
                }
                continue;
            }
            idx.push(vars.len());
            vars.push(n);
        }
        data.push(DataSource {
            kind,
            share,
            on_eof,
            vars: idx,
            groups: bound,
        });
    }

    (data, vars)
}

/// What source `p` yields and the variables it names (a CSV's header row, else none yet); None
/// when it cannot be built (the problem is recorded).
fn source_kind(
    c: &mut Checker<'_>,
    p: &str,
    d: &RawData,
    base_dir: &Path,
) -> Option<(DataKind, Vec<String>)> {
    let mut names: Vec<String> = Vec::new();
    let kind = match d.kind.as_deref() {
        Some("csv") => match &d.file {
            None => {
                c.err(&format!("{p}.file"), "is required for kind = \"csv\"");
                return None;
            }
            Some(f) => {
                let path = base_dir.join(f);
                let delim = match d.delimiter.as_deref() {
                    None => b',',
                    Some(s) if s.len() == 1 => s.as_bytes()[0],
                    Some("\\t") => b'\t',
                    Some(s) => {
                        c.err(
                            &format!("{p}.delimiter"),
                            format!("must be one character, got {s:?}"),
                        );
                        b','
                    }
                };
                let columns = d.columns.clone();
                if columns
                    .as_ref()
                    .is_some_and(|c| c.is_empty() || c.iter().any(|n| n.trim().is_empty()))
                {
                    c.err(&format!("{p}.columns"), "must name every column");
                }
                if d.skip_header.is_some() && columns.is_none() {
                    c.err(&format!("{p}.skip_header"), "applies only with columns (without them the header row names the variables)");
                }
                match load_csv(
                    &path,
                    delim,
                    columns.as_deref(),
                    d.skip_header.unwrap_or(false),
                ) {
                    Ok((header, rows)) => {
                        names = header;
                        DataKind::Csv {
                            file: path,
                            rows: rows.len(),
                            data: Arc::new(rows),
                        }
                    }
                    Err(e) => {
                        c.err(&format!("{p}.file"), e.to_string());
                        return None;
                    }
                }
            }
        },
        Some("uuid") => DataKind::Uuid,
        Some("env") => match &d.env {
            Some(name) if !name.trim().is_empty() => DataKind::Env {
                name: name.clone(),
                value: std::env::var(name).ok().map(EnvValue),
            },
            _ => {
                c.err(
                    &format!("{p}.env"),
                    "is required for kind = \"env\": the environment variable holding the value",
                );
                return None;
            }
        },
        Some("list") => match &d.values {
            Some(v) if !v.is_empty() => DataKind::List {
                values: Arc::new(v.clone()),
            },
            _ => {
                c.err(
                    &format!("{p}.values"),
                    "is required for kind = \"list\" and must not be empty",
                );
                return None;
            }
        },
        Some(k @ ("counter" | "random" | "per_user")) => {
            let (kind, cols) = generated_kind(c, p, d, k)?;
            if let Some(cols) = cols {
                names = cols;
            }
            kind
        }
        Some(other) => {
            let kinds = [
                "csv", "uuid", "counter", "list", "random", "per_user", "env",
            ];
            c.err(
                &format!("{p}.kind"),
                format!(
                    "{other:?} is not one of: {}{}",
                    kinds.join(", "),
                    surge_record::text::did_you_mean(other, kinds)
                ),
            );
            return None;
        }
        None => {
            c.err(
                &format!("{p}.kind"),
                "is required: csv, uuid, counter, list, random, per_user or env",
            );
            return None;
        }
    };
    for (set, field, kinds) in [
        (d.end.is_some(), "end", &["counter"][..]),
        (d.format.is_some(), "format", &["counter", "random"][..]),
        (d.min.is_some() || d.max.is_some(), "min", &["random"][..]),
        (d.rows.is_some(), "rows", &["per_user"][..]),
    ] {
        if set && !kinds.contains(&d.kind.as_deref().unwrap_or("")) {
            c.err(
                &format!("{p}.{field}"),
                format!("applies to kind = {}", kinds.join(" or ")),
            );
        }
    }
    Some((kind, names))
}

/// A counter, random or per-user source; with the variables a per-user source names.
fn generated_kind(
    c: &mut Checker<'_>,
    p: &str,
    d: &RawData,
    kind: &str,
) -> Option<(DataKind, Option<Vec<String>>)> {
    let kind = match kind {
        "counter" => {
            let (start, step) = (d.start.unwrap_or(1), d.step.unwrap_or(1));
            if let Some(end) = d.end {
                if step == 0 || (end - start).signum() * step.signum() < 0 {
                    c.err(
                        &format!("{p}.end"),
                        format!("{end} is never reached from start = {start} by step = {step}"),
                    );
                }
            }
            DataKind::Counter {
                start,
                step,
                end: d.end,
                format: number_format(c, p, d),
            }
        }
        "random" => {
            let (Some(min), Some(max)) = (d.min, d.max) else {
                c.err(p, "kind = \"random\" needs min and max");
                return None;
            };
            if max < min {
                c.err(&format!("{p}.max"), "must not be less than min");
            }
            DataKind::Random {
                min,
                max: max.max(min),
                format: number_format(c, p, d),
            }
        }
        "per_user" => {
            let (Some(cols), Some(rows)) = (&d.columns, &d.rows) else {
                c.err(
                    p,
                    "kind = \"per_user\" needs columns (the variables) and rows (one list of values per user)",
                );
                return None;
            };
            if rows.is_empty() || rows.iter().any(|r| r.len() != cols.len()) {
                c.err(
                    &format!("{p}.rows"),
                    format!("needs at least one row, each of {} values", cols.len()),
                );
                return None;
            }
            return Some((
                DataKind::PerUser {
                    rows: Arc::new(rows.clone()),
                },
                Some(cols.clone()),
            ));
        }
        _ => return None,
    };
    Some((kind, None))
}

/// JMeter's number format (java.text.DecimalFormat) as counters and random variables use it:
/// literal text around a run of `0` and `#` (`,` and a fraction are read as nothing); the
/// count of `0`s is the fewest digits written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NumFormat {
    /// As written.
    pub source: String,
    #[serde(skip)]
    prefix: String,
    #[serde(skip)]
    digits: usize,
    #[serde(skip)]
    suffix: String,
}

impl NumFormat {
    /// Reads a pattern; None when it has no `0` or `#`.
    pub fn parse(pattern: &str) -> Option<NumFormat> {
        let start = pattern.find(['0', '#'])?;
        let end = pattern[start..]
            .find(|c: char| !"0#,.".contains(c))
            .map_or(pattern.len(), |i| start + i);
        let body = &pattern[start..end];
        let int = body.split('.').next().unwrap_or("");
        Some(NumFormat {
            source: pattern.to_string(),
            prefix: pattern[..start].replace('\'', ""),
            digits: int.chars().filter(|c| *c == '0').count(),
            suffix: pattern[end..].replace('\'', ""),
        })
    }

    /// `n` written with the pattern.
    pub fn write(&self, n: i64, out: &mut String) {
        use std::fmt::Write as _;
        out.push_str(&self.prefix);
        if n < 0 {
            out.push('-');
        }
        let _ = write!(out, "{:0w$}", n.unsigned_abs(), w = self.digits);
        out.push_str(&self.suffix);
    }
}

fn number_format(c: &mut Checker<'_>, p: &str, d: &RawData) -> Option<NumFormat> {
    let f = d.format.as_ref()?;
    let parsed = NumFormat::parse(f);
    if parsed.is_none() {
        c.err(
            &format!("{p}.format"),
            format!("{f:?} has no digits: write it as JMeter does, e.g. \"000\" or \"user_000\""),
        );
    }
    parsed
}
