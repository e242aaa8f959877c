//! The manifests' YAML: Kubernetes objects built as JSON values, written by `serde-saphyr` in
//! block style, keys in the order Kubernetes writes them (`apiVersion`, `kind`, `metadata`,
//! `name`, `namespace` first, the rest alphabetically), multi-line text as literal blocks (a
//! scenario file in the ConfigMap reads as itself) and no single-line string folded.
//!
//! Why this crate: kubectl's YAML reader (go-yaml) and PyYAML follow YAML 1.1, where `yes`,
//! `on`, `2026-03-01`, `12:30` or `1_000` are not strings. Checked with PyYAML on such strings:
//! `serde-saphyr` 2.2 (its default `yaml_12 = false`) quotes every one and keeps literal blocks
//! exact (chomping, a first line's indent, document markers); `yaml_serde` 0.10 (the YAML
//! organization's fork of the archived `serde_yaml`), `serde_yaml_ng` 0.10 and `serde_norway`
//! 0.9 write `yes`, `on`, timestamps and sexagesimals plain; `yaml-rust2` 0.13 drops a text's
//! trailing blank lines and breaks on an indented first line; `saphyr` 0.3 writes dates and
//! `1_000` plain. tests/k8s.rs reads such strings back with PyYAML.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// `v` as a YAML document (no leading `---`).
///
/// # Errors
/// The serializer's message (a JSON value always has a YAML form; this is not expected).
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let mut o = serde_saphyr::SerializerOptions::default();
    // `containers:` then `  - name: …`, as the Kubernetes documentation writes lists.
    o.compact_list_indent = false;
    // A long command-line argument stays on its line rather than becoming a folded block.
    o.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(&Ordered(v), o).map_err(|e| e.to_string())
}

/// Keys Kubernetes manifests put first, in this order; the rest follow alphabetically.
const FIRST: &[&str] = &["apiVersion", "kind", "metadata", "name", "namespace"];

/// A JSON value serialized with its object keys in [`FIRST`]'s order.
struct Ordered<'a>(&'a Value);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries
                    .sort_by_key(|(k, _)| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &Ordered(v))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Ordered(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
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
            "cmd": ["surge", "run", "--start-at", "2026-03-01T12:00:00Z", "$(X)", "--set", "description=a line longer than eighty characters stays on its line, unfolded"]
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
  - --start-at
  - "2026-03-01T12:00:00Z"
  - $(X)
  - --set
  - description=a line longer than eighty characters stays on its line, unfolded
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
        assert_eq!(to_yaml(&v).unwrap(), want);
    }

    #[test]
    fn strings_that_yaml_1_1_would_read_otherwise_are_quoted() {
        let line = |s: &str| to_yaml(&json!({ "k": s })).unwrap();
        // A few of what tests/k8s.rs reads back with PyYAML.
        for s in [
            "yes",
            "on",
            "2026-03-01",
            "12:30",
            "1_000",
            "0b101",
            "a: b",
            "*a",
            "",
        ] {
            let y = line(s);
            assert!(
                y.starts_with("k: \"") || y.starts_with("k: '"),
                "{s:?} must be quoted: {y}"
            );
        }
        for s in [
            "surge",
            "reports/x",
            "/scenario/a.toml",
            "500m",
            "1Gi",
            "ghcr.io/x/surge:1",
        ] {
            assert_eq!(line(s), format!("k: {s}\n"), "{s:?} can stay plain");
        }
        // Literal blocks keep what they hold: trailing blank lines, a first line's indent.
        assert_eq!(line("a\n\n"), "k: |+\n  a\n\n");
        assert!(line("  lead\nx\n").starts_with("k: |2"));
    }
}
