//! Configuration errors that name the file, the line and the field.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a scenario (or test plan) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field, as a dotted path (`load.threads`, `request[1].path`), or a flag (`--set`).
    pub field: String,
    /// What is wrong, and what would be right.
    pub message: String,
}

/// Every problem found in one file. Displayed as one line per problem:
/// `scenario.toml:12: load.threads: must be at least 1, got 0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the problems are in.
    pub file: PathBuf,
    /// At least one problem.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// A single problem with no position.
    pub fn single(file: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            problems: vec![Problem {
                line: None,
                column: None,
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
                if let Some(col) = p.column {
                    write!(f, ":{col}")?;
                }
            }
            // One problem, one line: a line break quoted from the input is shown escaped.
            let message = p.message.replace('\r', "\\r").replace('\n', "\\n");
            if p.field.is_empty() {
                write!(f, ": {message}")?;
            } else {
                write!(f, ": {}: {message}", p.field)?;
            }
        }
        Ok(())
    }
}

/// Finds the line of a dotted field path in TOML text, for error messages.
pub struct Locator {
    text: String,
    doc: Option<toml_edit::Document<String>>,
}

impl Locator {
    /// Parses `text` once; lookups are then cheap.
    pub fn new(text: &str) -> Self {
        Locator {
            text: text.to_string(),
            doc: toml_edit::Document::parse(text.to_string()).ok(),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// The line of `path` (`load.threads`, `request[1].headers.Accept`): the key when the path
    /// exists, else the nearest enclosing table that does.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let Some(doc) = self.doc.as_ref() else {
            // A file toml_edit cannot hold (an integer beyond i64): find the key line by line.
            return (1..=self.text.lines().count())
                .find(|&l| path_of_line(&self.text, l).as_deref() == Some(path));
        };
        let mut table: &dyn toml_edit::TableLike = doc.as_table();
        let mut best: Option<usize> = doc.as_table().span().map(|s| s.start);
        for seg in split_path(path) {
            let (key, index) = seg;
            let Some((k, item)) = table.get_key_value(key) else {
                break;
            };
            best = k.span().or_else(|| item.span()).map(|s| s.start).or(best);
            let item = match (index, item) {
                (Some(i), toml_edit::Item::ArrayOfTables(a)) => match a.get(i) {
                    Some(t) => {
                        best = t.span().map(|s| s.start).or(best);
                        table = t;
                        continue;
                    }
                    None => break,
                },
                (Some(i), toml_edit::Item::Value(toml_edit::Value::Array(a))) => match a.get(i) {
                    Some(v) => {
                        best = v.span().map(|s| s.start).or(best);
                        match v.as_inline_table() {
                            Some(t) => {
                                table = t;
                                continue;
                            }
                            None => break,
                        }
                    }
                    None => break,
                },
                (_, item) => item,
            };
            match item.as_table_like() {
                Some(t) => table = t,
                None => break,
            }
        }
        best.map(|o| self.line_col(o).0)
    }

    /// The dotted path of the deepest key whose value spans `offset` (for type errors, which
    /// serde reports by position only).
    pub fn path_at(&self, offset: usize) -> Option<String> {
        fn walk(t: &dyn toml_edit::TableLike, offset: usize, prefix: &str) -> Option<String> {
            for (k, item) in t.iter() {
                let path = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                match item {
                    toml_edit::Item::ArrayOfTables(a) => {
                        for (i, t) in a.iter().enumerate() {
                            if let Some(p) = walk(t, offset, &format!("{path}[{i}]")) {
                                return Some(p);
                            }
                        }
                    }
                    toml_edit::Item::Table(t) => {
                        if let Some(p) = walk(t, offset, &path) {
                            return Some(p);
                        }
                    }
                    toml_edit::Item::Value(v) => {
                        if v.span()
                            .is_some_and(|s| s.contains(&offset) || s.start == offset)
                        {
                            return match v.as_inline_table() {
                                Some(it) => walk(it, offset, &path).or(Some(path)),
                                None => Some(path),
                            };
                        }
                    }
                    toml_edit::Item::None => {}
                }
            }
            None
        }
        walk(self.doc.as_ref()?.as_table(), offset, "")
    }

    /// A problem at `path`, with its line when found.
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        Problem {
            line: self.line_of(path),
            column: None,
            field: path.to_string(),
            message: message.into(),
        }
    }
}

/// The dotted path of the key on 1-based `line`, read from the text line by line: for a file
/// `toml_edit` cannot hold (an integer beyond i64), where [`Locator::path_at`] finds nothing.
/// Tables of arrays are indexed by how many headers of that name came before.
pub fn path_of_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = seen.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.trim().to_string();
        }
        if i + 1 == line {
            let key = t.split('=').next()?.trim().trim_matches('"');
            if key.is_empty() || key.starts_with('[') {
                return None;
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// serde's message in a user's words: an integer beyond TOML's range says so (serde calls it
/// "integer `…` as i128"), and never names an internal type ("expected i64" reads "expected a
/// whole number").
pub fn plain_serde_message(m: &str) -> String {
    if let Some(rest) = m.strip_prefix("invalid type: integer `") {
        if let Some((n, tail)) = rest.split_once('`') {
            if tail.starts_with(" as i128") || tail.starts_with(" as u128") {
                return format!(
                    "{n} is out of range (a whole number is at most {})",
                    i64::MAX
                );
            }
        }
    }
    let Some((head, expected)) = m.rsplit_once(", expected ") else {
        return m.to_string();
    };
    let plain = match expected.trim() {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        _ => return m.to_string(),
    };
    format!("{head}, expected {plain}")
}

/// `request[1].headers.Accept` → `[("request", Some(1)), ("headers", None), ("Accept", None)]`.
fn split_path(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
            None => (seg, None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n\n[load]\nthreads = 0\n\n[[request]]\nname = \"a\"\n\n[[request]]\nname = \"b\"\npath = \"/x\"\nheaders = { Accept = \"y\" }\n";

    #[test]
    fn finds_lines_of_nested_fields() {
        let l = Locator::new(TEXT);
        assert_eq!(l.line_of("name"), Some(1));
        assert_eq!(l.line_of("load.threads"), Some(4));
        assert_eq!(l.line_of("request[1].path"), Some(11));
        assert_eq!(l.line_of("request[1].headers.Accept"), Some(12));
        // A missing field points at its table.
        assert_eq!(l.line_of("load.ramp_up"), Some(3));
    }

    #[test]
    fn display_names_file_line_and_field() {
        let e = ConfigError {
            file: "s.toml".into(),
            problems: vec![Locator::new(TEXT).problem("load.threads", "must be at least 1")],
        };
        assert_eq!(e.to_string(), "s.toml:4: load.threads: must be at least 1");
    }
}
