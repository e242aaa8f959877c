//! Writes an imported [`Model`] as a readable scenario file: one section per part of the plan,
//! each with a comment naming the JMeter element it came from, and the warnings on top. Values
//! are quoted by toml_edit; the whole text is checked to parse before it is returned.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::model::{Model, ThinkOut};

fn q(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

/// A program as a TOML array: labels, and blocks as inline tables.
fn steps(p: &[super::model::StepOut]) -> String {
    let items: Vec<String> = p
        .iter()
        .map(|s| match s {
            super::model::StepOut::Request(l) => q(l),
            super::model::StepOut::Block(head, inner) if head.is_empty() => {
                format!("{{ steps = {} }}", steps(inner))
            }
            super::model::StepOut::Block(head, inner) => {
                format!("{{ {head}, steps = {} }}", steps(inner))
            }
            super::model::StepOut::Single(head) => format!("{{ {head} }}"),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn comment(out: &mut String, lines: &[String]) {
    for l in lines {
        for part in l.lines() {
            let _ = writeln!(out, "# {part}");
        }
    }
}

/// `"10s"`, `"1500ms"`.
fn dur_s(secs: f64) -> String {
    dur_ms(secs * 1000.0)
}

fn dur_ms(ms: f64) -> String {
    let ms = ms.round().max(0.0) as u64;
    if ms % 1000 == 0 {
        q(&format!("{}s", ms / 1000))
    } else {
        q(&format!("{ms}ms"))
    }
}

/// `to` written relative to `from_dir` (both made absolute), or absolute when they share no
/// root.
pub fn relative_to(from_dir: &Path, to: &Path) -> PathBuf {
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        // Lexical normalization: `a/./b/../c` → `a/c`.
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        out
    };
    let (from, to) = (abs(from_dir), abs(to));
    let fc: Vec<_> = from.components().collect();
    let tc: Vec<_> = to.components().collect();
    let common = fc.iter().zip(&tc).take_while(|(a, b)| a == b).count();
    // Only the root in common: an absolute path reads better than a climb to `/`.
    if common <= 1 {
        return to;
    }
    let mut rel = PathBuf::new();
    for _ in common..fc.len() {
        rel.push("..");
    }
    for c in &tc[common..] {
        rel.push(c);
    }
    rel
}

/// `[target]`: the server, its timeouts, the static hosts and the client certificate.
fn target_section(o: &mut String, m: &Model, out_dir: &Path) {
    let _ = writeln!(o, "\n[target]");
    comment(o, &m.target.comments);
    match &m.target.base_url {
        Some(u) => {
            let _ = writeln!(o, "base_url = {}", q(u));
        }
        None => {
            let _ = writeln!(o, "# The plan names no server: set this, or pass --target.");
            let _ = writeln!(o, "base_url = {}", q("http://localhost"));
        }
    }
    if let Some(ms) = m.target.connect_timeout_ms {
        let _ = writeln!(o, "connect_timeout = {}", dur_ms(ms as f64));
    }
    if let Some(ms) = m.target.timeout_ms {
        let _ = writeln!(o, "timeout = {}", dur_ms(ms as f64));
    }
    if let Some(k) = m.target.keep_alive {
        let _ = writeln!(o, "keep_alive = {k}");
    }
    if !m.target.static_hosts.is_empty() {
        let _ = writeln!(
            o,
            "# DNS Cache Manager: static hosts (JMeter maps a name on every port)"
        );
        let _ = writeln!(o, "resolve = {}", list(&resolve_entries(m)));
    }
    if let Some(k) = &m.target.keystore {
        let _ = writeln!(
            o,
            "# javax.net.ssl.keyStore: the client certificate (its password from the environment)"
        );
        let _ = writeln!(
            o,
            "client_p12 = {}",
            q(&relative_to(out_dir, &k.file).to_string_lossy())
        );
        let _ = writeln!(
            o,
            "client_p12_password_env = {}",
            q(super::enterprise::KEYSTORE_PASSWORD_ENV)
        );
    }
}

/// `resolve` entries for the static hosts: the base URL's port for its own host, else 443 and 80
/// (JMeter's mapping holds for every port; surge's names one).
fn resolve_entries(m: &Model) -> Vec<String> {
    let base = (m.target.base_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            Some((
                u.host_str()?.to_ascii_lowercase(),
                u.port_or_known_default()?,
            ))
        });
    let mut out = Vec::new();
    for (name, addr) in &m.target.static_hosts {
        let addr = addr.replace(' ', "");
        match &base {
            Some((h, port)) if h.eq_ignore_ascii_case(name) => {
                out.push(format!("{name}:{port}:{addr}"))
            }
            _ => {
                out.push(format!("{name}:443:{addr}"));
                out.push(format!("{name}:80:{addr}"));
            }
        }
    }
    out
}

/// One `[[request]]`, with its extractors and assertions.
fn request(o: &mut String, r: &super::model::RequestOut, out_dir: &Path) {
    let _ = writeln!(o, "\n[[request]]");
    comment(o, &r.comments);
    let _ = writeln!(o, "name = {}", q(&r.name));
    let _ = writeln!(o, "method = {}", q(&r.method));
    let _ = writeln!(o, "path = {}", q(&r.path));
    if !r.headers.is_empty() {
        let hs: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| format!("{} = {}", q(k), q(v)))
            .collect();
        let _ = writeln!(o, "headers = {{ {} }}", hs.join(", "));
    }
    if let Some(b) = &r.body {
        let _ = writeln!(o, "body = {}", q(b));
    }
    if !r.extract.is_empty() {
        let _ = writeln!(o, "# Extractors (JSON, Regular Expression, Boundary)");
        let _ = writeln!(o, "extract = [{}]", r.extract.join(", "));
    }
    if !r.asserts.is_empty() {
        let _ = writeln!(o, "# Assertions (Response on the body, JSON, Duration)");
        let _ = writeln!(o, "assert = [{}]", r.asserts.join(", "));
    }
    if let Some(c) = &r.expect_status {
        let _ = writeln!(o, "# Response Assertion on the response code");
        let _ = writeln!(
            o,
            "expect_status = [{}]",
            c.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        );
    }
    // Tables last: every key after them would be theirs.
    for p in &r.multipart {
        let _ = writeln!(o, "[[request.multipart]]");
        let _ = writeln!(o, "name = {}", q(&p.name));
        if let Some(v) = &p.value {
            let _ = writeln!(o, "value = {}", q(v));
        }
        if let Some(f) = &p.file {
            let rel = relative_to(out_dir, f);
            let _ = writeln!(o, "file = {}", q(&rel.to_string_lossy()));
        }
        if let Some(ct) = &p.content_type {
            let _ = writeln!(o, "content_type = {}", q(ct));
        }
    }
}

/// One `[[group]]` with its `[group.load]`.
fn group(o: &mut String, g: &super::model::GroupOut) {
    let _ = writeln!(o, "\n[[group]]");
    comment(o, &g.comments);
    let _ = writeln!(o, "name = {}", q(&g.name));
    if let Some(p) = g.phase {
        let _ = writeln!(o, "phase = {}", q(p));
    }
    if !g.export.is_empty() {
        let _ = writeln!(o, "export = {}", list(&g.export));
    }
    match &g.program {
        Some(p) => {
            let _ = writeln!(o, "# Controllers and timers as steps");
            let _ = writeln!(o, "steps = {}", steps(p));
        }
        None => {
            let _ = writeln!(o, "requests = {}", list(&g.steps));
        }
    }
    let _ = writeln!(o, "[group.load]");
    match &g.profile {
        Some(lines) => {
            for l in lines {
                let _ = writeln!(o, "{l}");
            }
        }
        None => {
            let _ = writeln!(o, "threads = {}", g.threads);
            let _ = writeln!(o, "ramp_up = {}", dur_s(g.ramp_up_s));
            match g.loops {
                Some(n) => {
                    let _ = writeln!(o, "loops = {n}");
                }
                None => {
                    let _ = writeln!(o, "loops = \"forever\"");
                }
            }
            if let Some(d) = g.duration_s {
                let _ = writeln!(o, "duration = {}", dur_s(d));
            }
            if let Some(d) = g.delay_s {
                let _ = writeln!(o, "delay = {}", dur_s(d));
            }
        }
    }
    if let Some(t) = g.think {
        comment(o, &g.think_comments);
        let line = match t {
            ThinkOut::Range(lo, hi) if (lo - hi).abs() < 0.5 => dur_ms(lo),
            ThinkOut::Range(lo, hi) => {
                format!("{{ min = {}, max = {} }}", dur_ms(lo), dur_ms(hi))
            }
            ThinkOut::Gaussian(mean, dev) => {
                format!(
                    "{{ gaussian = {}, deviation = {} }}",
                    dur_ms(mean),
                    dur_ms(dev)
                )
            }
            ThinkOut::Poisson(lambda, offset) => {
                format!(
                    "{{ poisson = {}, offset = {} }}",
                    dur_ms(lambda),
                    dur_ms(offset)
                )
            }
        };
        let _ = writeln!(o, "think_time = {line}");
    }
    if let Some((per_second, per)) = g.pace {
        comment(o, &g.pace_comments);
        let per_minute = per_second * 60.0;
        let rate = if (per_minute - per_minute.round()).abs() < 1e-9 {
            format!("{}/m", per_minute.round())
        } else {
            format!("{per_second}/s")
        };
        let _ = writeln!(o, "pace = {{ rate = {}, per = {} }}", q(&rate), q(per));
    }
    let _ = writeln!(o, "on_error = {}", q(g.on_error));
}

/// The scenario text. CSV files are written relative to `out_dir` (where the scenario lives).
pub fn to_toml(m: &Model, source: &Path, out_dir: &Path) -> String {
    let mut o = String::new();
    let from = source.file_name().map_or_else(
        || source.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let _ = writeln!(
        o,
        "# Imported by `surge import` from {from}{}.",
        m.jmeter
            .as_ref()
            .map_or(String::new(), |v| format!(" (saved by JMeter {v})"))
    );
    let _ = writeln!(o, "# Comments name the JMeter element each part came from; \"approximated\" marks what differs.");
    if !m.warnings.is_empty() {
        let _ = writeln!(
            o,
            "#\n# {}: approximations, and elements surge does not run:",
            surge_record::plural(m.warnings.len() as u64, "warning")
        );
        for w in &m.warnings {
            let _ = writeln!(o, "#   - {w}");
        }
    }
    if !m.notes.is_empty() {
        let _ = writeln!(o, "#\n# Notes:");
        for w in &m.notes {
            let _ = writeln!(o, "#   - {w}");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "name = {}", q(&m.name));
    if !m.description.is_empty() {
        let _ = writeln!(o, "description = {}", q(&m.description));
    }
    if m.groups.len() > 1 {
        let _ = writeln!(o, "# TestPlan.serialize_threadgroups");
        let _ = writeln!(o, "serialize_groups = {}", m.serialize);
    }

    target_section(&mut o, m, out_dir);

    if let Some(a) = &m.auth {
        let _ = writeln!(o, "\n[auth]");
        comment(&mut o, &a.comments);
        let _ = writeln!(o, "kind = {}", q(a.kind));
        for (k, v) in &a.fields {
            let _ = writeln!(o, "{k} = {}", q(v));
        }
    }

    let _ = writeln!(o, "\n[cookies]");
    comment(&mut o, &m.cookies.comments);
    if m.cookies.enabled {
        let _ = writeln!(o, "enabled = true");
        if m.cookies.clear_each_iteration {
            let _ = writeln!(o, "clear_each_iteration = true");
        }
    } else {
        let _ = writeln!(
            o,
            "# No HTTP Cookie Manager in the plan: JMeter sends no cookies, nor does this scenario."
        );
        let _ = writeln!(o, "enabled = false");
    }

    for d in &m.data {
        let _ = writeln!(o, "\n[[data]]");
        comment(&mut o, &d.comments);
        let _ = writeln!(o, "kind = \"csv\"");
        let _ = writeln!(
            o,
            "file = {}",
            q(&relative_to(out_dir, &d.file)
                .to_string_lossy()
                .replace('\\', "/"))
        );
        if d.delimiter != "," {
            let _ = writeln!(o, "delimiter = {}", q(&d.delimiter));
        }
        if let Some(c) = &d.columns {
            let _ = writeln!(o, "columns = {}", list(c));
            if d.skip_header {
                let _ = writeln!(o, "skip_header = true");
            }
        }
        let _ = writeln!(o, "share = {}\non_eof = {}", q(d.share), q(d.on_eof));
        if let Some(g) = &d.group {
            let _ = writeln!(o, "groups = [{}]", q(g));
        }
    }

    if let Some(lines) = &m.cache {
        let _ = writeln!(o, "\n[cache]");
        for l in lines {
            let _ = writeln!(o, "{l}");
        }
    }

    for d in &m.gen_data {
        let _ = writeln!(o, "\n[[data]]");
        comment(&mut o, &d.comments);
        for (k, v) in &d.fields {
            let _ = writeln!(o, "{k} = {v}");
        }
    }

    for r in &m.requests {
        request(&mut o, r, out_dir);
    }

    for g in &m.groups {
        group(&mut o, g);
    }
    debug_assert!(o.parse::<toml_edit::DocumentMut>().is_ok(), "{o}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b/c.csv")),
            PathBuf::from("c.csv")
        );
        assert_eq!(
            relative_to(Path::new("/a/out"), Path::new("/a/plans/./c.csv")),
            PathBuf::from("../plans/c.csv")
        );
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b/../c.csv")),
            PathBuf::from("../c.csv")
        );
        assert_eq!(dur_ms(1500.0), "\"1500ms\"");
        assert_eq!(dur_s(10.0), "\"10s\"");
        assert_eq!(q("a\"b"), "'a\"b'");
    }
}
