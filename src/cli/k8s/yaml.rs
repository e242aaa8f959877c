//! A small YAML writer for Kubernetes manifests built as JSON values: block style, plain
//! scalars where YAML reads them back as the same string, literal blocks for multi-line text
//! (a scenario file reads as itself in the ConfigMap), JSON-quoted strings otherwise (a JSON
//! string is a valid YAML double-quoted scalar).

use serde_json::Value;

/// `v` as a YAML document (no leading `---`).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Keys Kubernetes manifests put first, in this order; the rest follow alphabetically.
const FIRST: &[&str] = &["apiVersion", "kind", "metadata", "name"];

fn map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by_key(|(k, _)| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
    for (i, (k, v)) in entries.into_iter().enumerate() {
        // The first key of a sequence item follows its "- ".
        if i > 0 || !out.ends_with("- ") {
            pad(indent, out);
        }
        out.push_str(&key(k));
        out.push(':');
        value_after_key(v, indent, out);
    }
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(a, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn seq(a: &[Value], indent: usize, out: &mut String) {
    for v in a {
        pad(indent, out);
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => map(m, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(inner, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A scalar, written at a block indented by `indent` when it is multi-line text.
fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) if literal_ok(s) => literal(s, indent),
        Value::String(s) => quoted(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// Would YAML read `s` back, unquoted, as this very string?
fn plain_ok(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    let looks_number = s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
        || s.starts_with('.')
        || s.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '_')
        // Dates and times (YAML 1.1 timestamps), e.g. 2026-03-01T12:00:00Z.
        || (first.is_ascii_digit() && s.contains(['-', ':']));
    (first.is_ascii_alphanumeric() || first == '/')
        && !looks_number
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=@+".contains(c) || c == ':' || c == ' ')
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.ends_with(' ')
        && !s.contains(" #")
}

/// Multi-line printable text that a literal block keeps exactly.
fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with(' ')
        && !s.starts_with('\n')
        && !s.ends_with("\n\n")
        && !s
            .chars()
            .any(|c| c == '\r' || (c.is_control() && c != '\n' && c != '\t'))
        && !s.contains("\t\n")
        && !s.lines().any(|l| l.ends_with(' '))
        && !s.starts_with('\u{feff}')
}

fn literal(s: &str, indent: usize) -> String {
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(b) => (b, "|"),
        None => (s, "|-"),
    };
    let mut out = String::from(chomp);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(indent, &mut out);
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifests_read_as_kubernetes_writes_them() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "surge"}},
            "data": {"scenario.toml": "name = \"a\"\n\n[load]\nthreads = 4\n", "n": "10", "t": "true", "e": ""},
            "list": [{"name": "a", "value": "1"}, "b", [], {}],
            "cmd": ["surge", "run", "--start-at", "2026-03-01T12:00:00Z", "$(X)"]
        });
        let want = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  labels:
    app.kubernetes.io/name: surge
cmd:
  - surge
  - run
  - "--start-at"
  - "2026-03-01T12:00:00Z"
  - "$(X)"
data:
  e: ""
  "n": "10"
  scenario.toml: |
    name = "a"

    [load]
    threads = 4
  t: "true"
list:
  - name: a
    value: "1"
  - b
  - []
  - {}
"#;
        assert_eq!(to_yaml(&v), want);
    }

    #[test]
    fn strings_that_plain_yaml_would_change_are_quoted() {
        for s in [
            "yes", "No", "null", "~", "1.5", "0x10", "12:30", "a: b", "a #b", "-x", "*a", "&a",
            "!a", "%a", "@a", "`a", "'a", "\"a", "{a}", "[a]", "a,b", " a", "a ", "",
        ] {
            assert!(!plain_ok(s), "{s:?} must be quoted");
        }
        for s in [
            "surge",
            "reports/x",
            "/scenario/a.toml",
            "500m",
            "1Gi",
            "a-b_c.d",
            "ghcr.io/x/surge:1",
        ] {
            assert!(plain_ok(s), "{s:?} can stay plain");
        }
        // Text a literal block would not keep is JSON-quoted instead.
        assert_eq!(scalar(&json!(" lead\nx"), 2), "\" lead\\nx\"");
        assert_eq!(scalar(&json!("a\r\nb"), 2), "\"a\\r\\nb\"");
        assert_eq!(scalar(&json!("a\nb"), 2), "|-\n  a\n  b");
    }
}
