//! `[[request]]`: each request checked and compiled (method, path, header and body templates,
//! expected statuses) into a [`RequestSpec`]; labels are unique.

use super::build::Checker;
use super::conversation::{build_asserts, build_extractors, build_poll, CheckNames};
use super::data::{DataKind, DataSource};
use super::plan::*;
use super::spec::RawRequest;
use super::template::Template;

/// Checks every `[[request]]` against the variables `vars`. When a data source failed
/// (`data_ok` false) its variables are unknown, so template problems are not reported twice.
pub(super) fn build_requests(
    c: &mut Checker<'_>,
    raw: Vec<RawRequest>,
    vars: &[String],
    data_ok: bool,
    auth: &Auth,
    checks: &mut CheckNames,
) -> Vec<RequestSpec> {
    if raw.is_empty() {
        c.err("request", "at least one [[request]] is required");
    }
    let mut requests: Vec<RequestSpec> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let spec = build_request(c, i, r, &requests, vars, data_ok, auth, checks);
        requests.push(spec);
    }
    if requests.len() > usize::from(u16::MAX) {
        c.err("request", "too many requests (at most 65535)");
    }

    requests
}

/// How a credential gets into a request without being written in the scenario.
pub const FROM_ENV: &str = "read it from the environment: add [[data]] with kind = \"env\", var = \"key\", env = \"MY_API_KEY\" and write {key} here (for Authorization, [auth] kind = \"bearer\" with token_env or token_file)";

/// What in `v` cannot be in a header value: a line break (CR, LF, which would split the header
/// or end the request's head) or another control character. None when it can be sent.
pub(super) fn header_breaker(v: &str) -> Option<String> {
    let (i, ch) = v
        .char_indices()
        .find(|(_, ch)| (ch.is_control() && *ch != '\t') || *ch == '\u{7f}')?;
    Some(match ch {
        '\r' | '\n' => format!("a line break (CR or LF) at byte {i}"),
        _ => format!("a control character (U+{:04X}) at byte {i}", u32::from(ch)),
    })
}

/// Checks the values a header template takes from `[[data]]` (CSV rows, lists): each must be
/// sendable in a header, else the problem names the request's header, the source and the row.
pub(super) fn check_header_data(
    c: &mut Checker<'_>,
    requests: &[RequestSpec],
    data: &[DataSource],
) {
    for (i, r) in requests.iter().enumerate() {
        for (name, t) in &r.headers {
            for var in t.vars() {
                let Some((d, src)) = data.iter().enumerate().find(|(_, s)| s.vars.contains(&var))
                else {
                    continue;
                };
                let col = src.vars.iter().position(|v| *v == var).unwrap_or(0);
                let bad = match &src.kind {
                    DataKind::Csv { data: rows, .. } | DataKind::PerUser { rows } => {
                        rows.iter().enumerate().find_map(|(row, vals)| {
                            Some((
                                format!("data row {}", row + 1),
                                header_breaker(vals.get(col)?)?,
                            ))
                        })
                    }
                    DataKind::List { values } => values.iter().enumerate().find_map(|(row, v)| {
                        Some((format!("value {}", row + 1), header_breaker(v)?))
                    }),
                    DataKind::Env { value, .. } => value
                        .as_ref()
                        .and_then(|v| Some(("value".to_string(), header_breaker(&v.0)?))),
                    DataKind::Uuid | DataKind::Counter { .. } | DataKind::Random { .. } => None,
                };
                if let Some((row, what)) = bad {
                    c.err(
                        &format!("request[{i}].headers.{name}"),
                        format!("takes a value from data[{d}], whose {row} has {what}; a header value must be one line of text"),
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_request(
    c: &mut Checker<'_>,
    i: usize,
    r: RawRequest,
    earlier: &[RequestSpec],
    vars: &[String],
    data_ok: bool,
    auth: &Auth,
    checks: &mut CheckNames,
) -> RequestSpec {
    let compile =
        |c: &mut Checker<'_>, path: &str, src: &str, vars: &[String]| match Template::compile(
            src, vars,
        ) {
            Ok(t) => Some(t),
            Err(e) => {
                if data_ok {
                    c.err(path, e.to_string());
                }
                None
            }
        };
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
    if earlier.iter().any(|q| q.name == name) {
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
    let secret_params = surge_record::secrets::literal_secret_params(&path);
    if !secret_params.is_empty() {
        c.err(
            &format!("{p}.path"),
            format!(
                "the query parameter {} holds a credential written into the scenario; {FROM_ENV}",
                secret_params.join(", ")
            ),
        );
    }
    let path = compile(c, &format!("{p}.path"), &path, vars)
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
        let literal = !v.contains('{') && !v.trim().is_empty();
        if literal && (is_sensitive_header(k) || surge_record::secrets::looks_like_credential(v)) {
            c.err(
                &hp,
                format!("looks like a credential written into the scenario; {FROM_ENV}"),
            );
            continue;
        }
        if let Some(bad) = header_breaker(v) {
            c.err(
                &hp,
                format!("has {bad}; a header value must be one line of text"),
            );
            continue;
        }
        if let Some(t) = compile(c, &hp, v, vars) {
            headers.push((hn, t));
        }
    }
    let body = r
        .body
        .and_then(|b| compile(c, &format!("{p}.body"), &b, vars));
    if let Some(list) = &r.expect_status {
        if list.is_empty() || list.iter().any(|s| !(100..=599).contains(s)) {
            c.err(
                &format!("{p}.expect_status"),
                "must list HTTP status codes between 100 and 599",
            );
        }
    }
    let extract = build_extractors(c, &p, &name, r.extract, vars, checks);
    let asserts = build_asserts(c, &p, &name, r.assert, checks);
    let poll = r
        .poll
        .and_then(|raw| build_poll(c, &p, &name, raw, vars, checks));
    RequestSpec {
        name,
        method,
        path,
        headers,
        body,
        multipart: Vec::new(),
        expect_status: r.expect_status,
        extract,
        asserts,
        poll,
    }
}
