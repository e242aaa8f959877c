//! What a file is, from its first few kilobytes: so a file given where another kind is expected
//! (a result where a scenario goes, a JTL where a result goes, a scenario to `surge import`) is
//! named for what it is, with the command that reads it, instead of a parser's complaint about
//! its first character. Reads at most [`HEAD_BYTES`]; never fails (an unreadable file is
//! `None`, and the caller's own read says why).

use std::io::Read;
use std::path::Path;

/// How much of a file is read to tell its kind.
pub const HEAD_BYTES: u64 = 4096;

// The schemas, as their writers name them: one constant per schema.
use crate::pace::LIMIT_SCHEMA;
use crate::result::SCHEMA as RESULT_SCHEMA;

/// The `schema` of `thresholds.json` (the verdicts `surge run` and `surge check` write).
pub const THRESHOLDS_SCHEMA: &str = "surge/thresholds";

/// A kind of file surge reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A run's `result.json` (`"schema": "surge/result"`).
    Result,
    /// `surge probe`'s `limit.json`.
    Limit,
    /// `thresholds.json`, the verdicts beside a result.
    Thresholds,
    /// Some other JSON.
    Json,
    /// JMeter results as CSV (a JTL with JMeter's header).
    JtlCsv,
    /// JMeter results as XML.
    JtlXml,
    /// A JMeter test plan.
    Jmx,
    /// A scenario (TOML, by its name: TOML has no mark of its own).
    Scenario,
    /// A folder.
    Directory,
}

impl FileKind {
    /// The kind of the file at `path`, when it is one of these.
    pub fn of_file(path: &Path) -> Option<FileKind> {
        if path.is_dir() {
            return Some(FileKind::Directory);
        }
        let mut head = Vec::new();
        std::fs::File::open(path)
            .ok()?
            .take(HEAD_BYTES)
            .read_to_end(&mut head)
            .ok()?;
        FileKind::of_text(&String::from_utf8_lossy(&head)).or_else(|| {
            path.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
                .then_some(FileKind::Scenario)
        })
    }

    /// The kind of a file that begins with `head`.
    pub fn of_text(head: &str) -> Option<FileKind> {
        let t = head.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            let schema = schema_of(t);
            return Some(match schema {
                Some(RESULT_SCHEMA) => FileKind::Result,
                Some(LIMIT_SCHEMA) => FileKind::Limit,
                Some(THRESHOLDS_SCHEMA) => FileKind::Thresholds,
                _ => FileKind::Json,
            });
        }
        if t.starts_with("timeStamp,") || t.starts_with("\"timeStamp\",") {
            return Some(FileKind::JtlCsv);
        }
        if t.starts_with('<') {
            if t.contains("<jmeterTestPlan") {
                return Some(FileKind::Jmx);
            }
            if t.contains("<testResults") {
                return Some(FileKind::JtlXml);
            }
        }
        None
    }

    /// What it is and what reads it, to follow "it is".
    pub fn what(self) -> &'static str {
        match self {
            FileKind::Result => {
                "a run's result (result.json): `surge report`, `surge check` and `surge compare` read it"
            }
            FileKind::Limit => {
                "a limit file (limit.json, from `surge probe`): `surge run --pace-from` reads it"
            }
            FileKind::Thresholds => {
                "the threshold verdicts of a run (thresholds.json); its result is the result.json beside it"
            }
            FileKind::Json => "JSON without a surge schema",
            FileKind::JtlCsv => {
                "JMeter results (a JTL): `surge report` and `surge compare` read it, `surge check` too"
            }
            FileKind::JtlXml => {
                "JMeter results saved as XML: surge reads JTL files saved as CSV, JMeter's default \
                 (jmeter.save.saveservice.output_format=csv)"
            }
            FileKind::Jmx => {
                "a JMeter test plan (.jmx): `surge run` runs it as it is, `surge import` converts it \
                 to a scenario"
            }
            FileKind::Scenario => {
                "a scenario (TOML): `surge run` runs it, and writes its result.json"
            }
            FileKind::Directory => "a folder with no result.json in it",
        }
    }
}

/// The value of a top-level `"schema"` key among the first keys of a JSON object, if it reads
/// as a string there.
fn schema_of(json: &str) -> Option<&str> {
    let at = json.find("\"schema\"")?;
    let rest = json[at + 8..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.get(..rest.find('"')?)
}

#[cfg(test)]
mod tests {
    use super::FileKind::{self, *};

    #[test]
    fn kinds_from_their_first_bytes() {
        let of = FileKind::of_text;
        assert_eq!(of("{\n  \"schema\": \"surge/result\",\n"), Some(Result));
        assert_eq!(of("\u{feff} {\"schema\":\"surge/limit\"}"), Some(Limit));
        assert_eq!(of("{\"schema\" : \"surge/thresholds\"}"), Some(Thresholds));
        assert_eq!(of("{\"a\": 1}"), Some(Json));
        assert_eq!(of("{\"schema\": 3}"), Some(Json));
        assert_eq!(of("timeStamp,elapsed,label\n1,2,x\n"), Some(JtlCsv));
        assert_eq!(
            of("<?xml version=\"1.0\"?>\n<testResults version=\"1.2\">"),
            Some(JtlXml)
        );
        assert_eq!(
            of("<?xml version=\"1.0\"?>\n<jmeterTestPlan version=\"1.2\">"),
            Some(Jmx)
        );
        assert_eq!(of("name = \"x\"\n[target]\n"), None);
        assert_eq!(of(""), None);
    }
}
