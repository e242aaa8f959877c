//! Checking a raw scenario into a [`Plan`]: every problem is collected with its field path,
//! and located to a line by the caller's [`Locator`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::error::{Locator, Problem};
use super::load::build_load;
use super::plan::*;
use super::spec::{RawDuration, RawScenario};
use super::target::{build_auth, build_target};
use super::template::Template;

/// Parses a duration as written in a scenario.
pub fn parse_duration(raw: &RawDuration) -> Result<Duration, String> {
    match raw {
        RawDuration::Seconds(s) if s.is_finite() && *s >= 0.0 => Ok(Duration::from_secs_f64(*s)),
        RawDuration::Seconds(s) => {
            Err(format!("must be a non-negative number of seconds, got {s}"))
        }
        RawDuration::Text(t) => parse_duration_text(t),
    }
}

/// Parses `"10s"`, `"500ms"`, `"2m"`, `"1m 30s"` or a plain number of seconds.
pub fn parse_duration_text(t: &str) -> Result<Duration, String> {
    let t = t.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return parse_duration(&RawDuration::Seconds(secs));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!("{t:?} is not a duration ({e}); write e.g. \"10s\", \"500ms\", \"2m\"")
    })
}

pub(super) struct Checker<'a> {
    loc: &'a Locator,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.problems.push(self.loc.problem(path, msg));
    }

    pub(super) fn duration(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Duration {
        match raw.map(parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(path, e);
                default
            }
        }
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        path: &str,
        raw: Option<&str>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(v) = raw else { return default };
        if let Some((_, t)) = options.iter().find(|(n, _)| *n == v) {
            return *t;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.err(path, format!("{v:?} is not one of: {}", names.join(", ")));
        default
    }
}

/// Checks a raw scenario and builds the plan. `source` locates relative files.
pub fn build(raw: RawScenario, source: &Path, loc: &Locator) -> Result<Plan, Vec<Problem>> {
    let mut c = Checker {
        loc,
        problems: Vec::new(),
    };
    let base_dir = source.parent().map(Path::to_path_buf).unwrap_or_default();

    let name = match raw.name {
        Some(n) if !n.trim().is_empty() => {
            if !n
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            {
                c.err("name", format!("{n:?} may hold only letters, digits, '-', '_' and '.' (it names the report folder)"));
            }
            n
        }
        _ => {
            c.err(
                "name",
                "is required: a short name such as \"architect-publish-burst\"",
            );
            String::new()
        }
    };

    let target = build_target(&mut c, raw.target.unwrap_or_default(), &base_dir);
    let auth = build_auth(&mut c, raw.auth.unwrap_or_default(), &base_dir);

    // Data sources first: they define the variables templates may use.
    let mut vars: Vec<String> = Vec::new();
    let mut data = Vec::new();
    let problems_before_data = c.problems.len();
    for (i, d) in raw.data.into_iter().enumerate() {
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
        let mut names: Vec<String> = Vec::new();
        let kind = match d.kind.as_deref() {
            Some("csv") => match &d.file {
                None => {
                    c.err(&format!("{p}.file"), "is required for kind = \"csv\"");
                    continue;
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
                            c.err(&format!("{p}.file"), e);
                            continue;
                        }
                    }
                }
            },
            Some("uuid") => DataKind::Uuid,
            Some("counter") => DataKind::Counter {
                start: d.start.unwrap_or(1),
                step: d.step.unwrap_or(1),
            },
            Some("list") => match d.values {
                Some(v) if !v.is_empty() => DataKind::List {
                    values: Arc::new(v),
                },
                _ => {
                    c.err(
                        &format!("{p}.values"),
                        "is required for kind = \"list\" and must not be empty",
                    );
                    continue;
                }
            },
            Some(other) => {
                c.err(
                    &format!("{p}.kind"),
                    format!("{other:?} is not one of: csv, uuid, counter, list"),
                );
                continue;
            }
            None => {
                c.err(
                    &format!("{p}.kind"),
                    "is required: csv, uuid, counter or list",
                );
                continue;
            }
        };
        if !matches!(kind, DataKind::Csv { .. }) {
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
            if vars.contains(&n) {
                c.err(
                    &p,
                    format!("variable {n:?} is already set by an earlier [[data]] source"),
                );
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
        });
    }

    // When a data source failed, its variables are unknown: do not cascade into templates.
    let data_ok = c.problems.len() == problems_before_data;
    let compile =
        |c: &mut Checker<'_>, path: &str, src: &str, vars: &[String]| match Template::compile(
            src, vars,
        ) {
            Ok(t) => Some(t),
            Err(e) => {
                if data_ok {
                    c.err(path, e);
                }
                None
            }
        };
    if raw.request.is_empty() {
        c.err("request", "at least one [[request]] is required");
    }
    let mut requests: Vec<RequestSpec> = Vec::new();
    for (i, r) in raw.request.into_iter().enumerate() {
        let p = format!("request[{i}]");
        let name = match r.name {
            Some(n) if !n.trim().is_empty() => n,
            _ => {
                c.err(
                    &format!("{p}.name"),
                    "is required: the label used in every report",
                );
                format!("request{i}")
            }
        };
        if requests.iter().any(|q| q.name == name) {
            c.err(
                &format!("{p}.name"),
                format!("{name:?} is used by an earlier request; labels must be unique"),
            );
        }
        let method = match r
            .method
            .as_deref()
            .unwrap_or("GET")
            .to_ascii_uppercase()
            .parse::<http::Method>()
        {
            Ok(m) => m,
            Err(_) => {
                c.err(&format!("{p}.method"), "is not an HTTP method");
                http::Method::GET
            }
        };
        let path = match r.path {
            Some(s) if s.starts_with('/') => s,
            Some(s) => {
                c.err(
                    &format!("{p}.path"),
                    format!("must start with '/', got {s:?} (the host comes from [target])"),
                );
                s
            }
            None => {
                c.err(&format!("{p}.path"), "is required, e.g. \"/api/v2/flows\"");
                "/".into()
            }
        };
        let path = compile(&mut c, &format!("{p}.path"), &path, &vars)
            .unwrap_or_else(|| Template::compile("/", &[]).expect("constant"));
        let mut headers = Vec::new();
        for (k, v) in &r.headers {
            let hp = format!("{p}.headers.{k}");
            let Ok(hn) = http::HeaderName::from_bytes(k.as_bytes()) else {
                c.err(&hp, "is not a valid header name");
                continue;
            };
            if hn == http::header::AUTHORIZATION && !matches!(auth, Auth::None) {
                c.err(
                    &hp,
                    "conflicts with [auth], which sets Authorization; remove one",
                );
            }
            if is_sensitive_header(k) && !v.contains('{') {
                c.err(&hp, "looks like a secret written into the scenario; read it from the environment with [auth] instead");
            }
            if let Some(t) = compile(&mut c, &hp, v, &vars) {
                headers.push((hn, t));
            }
        }
        let body = r
            .body
            .and_then(|b| compile(&mut c, &format!("{p}.body"), &b, &vars));
        if let Some(list) = &r.expect_status {
            if list.is_empty() || list.iter().any(|s| !(100..=599).contains(s)) {
                c.err(
                    &format!("{p}.expect_status"),
                    "must list HTTP status codes between 100 and 599",
                );
            }
        }
        requests.push(RequestSpec {
            name,
            method,
            path,
            headers,
            body,
            expect_status: r.expect_status,
        });
    }
    if requests.len() > usize::from(u16::MAX) {
        c.err("request", "too many requests (at most 65535)");
    }

    let mut groups = Vec::new();
    if raw.group.is_empty() {
        let load = build_load(&mut c, "load", raw.load);
        groups.push(Group {
            name: "main".into(),
            load,
            steps: (0..requests.len()).collect(),
        });
    } else {
        if raw.load.is_some() {
            c.err("load", "set [load] or [[group]]s, not both");
        }
        for (i, g) in raw.group.into_iter().enumerate() {
            let p = format!("group[{i}]");
            let name = g.name.unwrap_or_else(|| format!("group{}", i + 1));
            if groups.iter().any(|x: &Group| x.name == name) {
                c.err(
                    &format!("{p}.name"),
                    format!("{name:?} is used by an earlier group"),
                );
            }
            let steps: Vec<usize> = match g.requests {
                None => (0..requests.len()).collect(),
                Some(labels) => labels
                    .iter()
                    .filter_map(|l| match requests.iter().position(|r| &r.name == l) {
                        Some(i) => Some(i),
                        None => {
                            c.err(
                                &format!("{p}.requests"),
                                format!("no [[request]] is named {l:?}"),
                            );
                            None
                        }
                    })
                    .collect(),
            };
            if steps.is_empty() {
                c.err(
                    &format!("{p}.requests"),
                    "a group needs at least one request",
                );
            }
            let load = build_load(&mut c, &format!("{p}.load"), g.load);
            groups.push(Group { name, load, steps });
        }
    }

    let raw_limits = raw.limits.unwrap_or_default();
    let max_requests = match raw_limits.max_requests {
        None => None,
        Some(n) if n >= 1 => Some(n as u64),
        Some(n) => {
            c.err(
                "limits.max_requests",
                format!("must be at least 1, got {n}"),
            );
            None
        }
    };
    let max_duration = raw_limits
        .max_duration
        .as_ref()
        .map(|d| c.duration("limits.max_duration", Some(d), Duration::ZERO));
    if max_duration == Some(Duration::ZERO) {
        c.err("limits.max_duration", "must be longer than 0s");
    }
    let limits = Limits {
        max_requests,
        max_duration,
    };

    for (i, g) in groups.iter().enumerate() {
        if !g.is_bounded() && limits.max_duration.is_none() && limits.max_requests.is_none() {
            let field = if groups.len() == 1 && g.name == "main" {
                "load.loops".to_string()
            } else {
                format!("group[{i}].load.loops")
            };
            c.err(&field, "\"forever\" needs an end: set a duration, limits.max_duration or limits.max_requests");
        }
    }

    let labels: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
    let on_429 = super::policy::build_policy(&mut c, raw.on_429, &labels);

    let mut thresholds = Vec::new();
    for (i, t) in raw.threshold.into_iter().enumerate() {
        let p = format!("threshold[{i}]");
        let Some(expr) = t.expr else {
            c.err(&p, "needs expr, e.g. expr = \"p95(LABEL) < 800ms\"");
            continue;
        };
        let abort = t.abort_on_fail.unwrap_or(false);
        match crate::analysis::threshold::Threshold::new(&expr, t.name, abort, Some(&labels)) {
            Ok(t) => thresholds.push(t),
            Err(e) => c.err(&format!("{p}.expr"), e.to_string()),
        }
    }

    if c.problems.is_empty() {
        Ok(Plan {
            name,
            description: raw.description.unwrap_or_default(),
            source: source.to_path_buf(),
            target,
            auth,
            data,
            vars,
            requests,
            groups,
            serialize_groups: raw.serialize_groups.unwrap_or(false),
            limits,
            on_429,
            thresholds,
        })
    } else {
        Err(c.problems)
    }
}

/// Reads a CSV data file. Without `columns`, the header row names the variables; with them,
/// every row is data (after an optional header row to skip). Every row must have as many
/// fields as there are names.
///
/// # Errors
/// Unreadable file, a ragged row (with its line), or no data rows.
pub fn load_csv(
    path: &Path,
    delim: u8,
    columns: Option<&[String]>,
    skip_header: bool,
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(columns.is_none() || skip_header)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let header: Vec<String> = match columns {
        Some(c) => c.iter().map(|s| s.trim().to_string()).collect(),
        None => rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect(),
    };
    if header.is_empty() || header.iter().any(String::is_empty) {
        return Err(format!(
            "{}:1: the header row must name every column",
            path.display()
        ));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format!("{}:{line}: {e}", path.display())
        })?;
        if rec.len() != header.len() {
            let line = rec.position().map_or(0, |p| p.line());
            return Err(format!(
                "{}:{line}: has {} fields, expected {} ({})",
                path.display(),
                rec.len(),
                header.len(),
                header.join(", ")
            ));
        }
        rows.push(rec.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err(format!("{}: has no data rows", path.display()));
    }
    Ok((header, rows))
}
