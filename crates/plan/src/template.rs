//! `{var}` templates for paths, headers and bodies, compiled once at plan time.
//!
//! `{name}` is replaced by the variable's current value when `name` is a known variable or a
//! built-in; `{{name}}` writes a literal `{name}`. Anything else in braces (JSON such as
//! `{"a": {"b": 1}}`) is left as it is, so bodies need no escaping.

use std::fmt::Write as _;

/// Variables every template can use, besides those from `[[data]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// The user (thread) number, from 1 (JMeter's `${__threadNum}`).
    Thread,
    /// The iteration number of this user, from 1.
    Iteration,
    /// A fresh random UUID at each use.
    Uuid,
    /// Milliseconds since the Unix epoch.
    TimeMs,
    /// A uniform random integer in `[min, max]` at each use: `{__random_1_100}` (JMeter's
    /// `${__Random(1,100)}`).
    Random(i64, i64),
}

impl Builtin {
    fn from_name(s: &str) -> Option<Builtin> {
        Some(match s {
            "__thread" => Builtin::Thread,
            "__iteration" => Builtin::Iteration,
            "__uuid" => Builtin::Uuid,
            "__time" => Builtin::TimeMs,
            _ => {
                let (a, b) = s.strip_prefix("__random_")?.split_once('_')?;
                let (a, b) = (a.parse::<i64>().ok()?, b.parse::<i64>().ok()?);
                if a > b {
                    return None;
                }
                Builtin::Random(a, b)
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Var(usize),
    Builtin(Builtin),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segs: Vec<Seg>,
    source: String,
}

/// The values a template reads at render time.
pub struct Scope<'a> {
    /// Values of the data variables, indexed as the names given to [`Template::compile`].
    pub vars: &'a [String],
    /// User number from 1.
    pub thread: u32,
    /// Iteration number from 1.
    pub iteration: u64,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// `{name}` in a template where `name` is neither a data variable nor a built-in; the message
/// lists the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown variable {{{name}}}{} ({}; built-ins: __thread, __iteration, __uuid, __time, __random_MIN_MAX)", surge_record::text::did_you_mean(.name, .known.iter().map(String::as_str)), known_names(.known))]
pub struct UnknownVariable {
    /// The name as written.
    pub name: String,
    /// The data variables there are.
    pub known: Vec<String>,
}

fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        "no [[data]] variables are defined".to_string()
    } else {
        format!("known variables: {}", known.join(", "))
    }
}

impl Template {
    /// Compiles `source` against the known variable `names`.
    ///
    /// # Errors
    /// [`UnknownVariable`]: `{name}` where `name` looks like a variable but is neither in
    /// `names` nor a built-in.
    pub fn compile(source: &str, names: &[String]) -> Result<Template, UnknownVariable> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut rest = source;
        while let Some(pos) = rest.find('{') {
            lit.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            if let Some(inner) = tail.strip_prefix("{{") {
                if let Some(end) = inner.find("}}") {
                    if is_ident(&inner[..end]) {
                        lit.push('{');
                        lit.push_str(&inner[..end]);
                        lit.push('}');
                        rest = &inner[end + 2..];
                        continue;
                    }
                }
            }
            {
                if let Some(end) = tail.find('}') {
                    let name = &tail[1..end];
                    if is_ident(name) {
                        let seg = if let Some(i) = names.iter().position(|n| n == name) {
                            Seg::Var(i)
                        } else if let Some(b) = Builtin::from_name(name) {
                            Seg::Builtin(b)
                        } else {
                            return Err(UnknownVariable {
                                name: name.to_string(),
                                known: names.to_vec(),
                            });
                        };
                        if !lit.is_empty() {
                            segs.push(Seg::Lit(std::mem::take(&mut lit)));
                        }
                        segs.push(seg);
                        rest = &tail[end + 1..];
                        continue;
                    }
                }
            }
            lit.push_str(&tail[..1]);
            rest = &tail[1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit));
        }
        Ok(Template {
            segs,
            source: source.to_string(),
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The data variables it reads (indices into the names it was compiled against).
    pub fn vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.segs.iter().filter_map(|s| match s {
            Seg::Var(i) => Some(*i),
            _ => None,
        })
    }

    /// True when rendering always gives the same text.
    pub fn is_constant(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Lit(_)))
    }

    /// Appends the rendered text to `out`.
    pub fn render_into(&self, scope: &Scope<'_>, out: &mut String) {
        for seg in &self.segs {
            match seg {
                Seg::Lit(s) => out.push_str(s),
                Seg::Var(i) => out.push_str(scope.vars.get(*i).map_or("", String::as_str)),
                Seg::Builtin(Builtin::Thread) => {
                    let _ = write!(out, "{}", scope.thread);
                }
                Seg::Builtin(Builtin::Iteration) => {
                    let _ = write!(out, "{}", scope.iteration);
                }
                Seg::Builtin(Builtin::Uuid) => {
                    let _ = write!(out, "{}", uuid::Uuid::new_v4());
                }
                Seg::Builtin(Builtin::TimeMs) => {
                    let ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis());
                    let _ = write!(out, "{ms}");
                }
                Seg::Builtin(Builtin::Random(a, b)) => {
                    let _ = write!(out, "{}", rand::random_range(*a..=*b));
                }
            }
        }
    }

    /// The rendered text.
    pub fn render(&self, scope: &Scope<'_>) -> String {
        let mut s = String::with_capacity(self.source.len() + 16);
        self.render_into(scope, &mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["flow_id".into(), "flow_name".into()]
    }

    fn render(src: &str) -> String {
        let t = Template::compile(src, &names()).unwrap();
        t.render(&Scope {
            vars: &["f-1".to_string(), "Main IVR".to_string()],
            thread: 7,
            iteration: 3,
        })
    }

    #[test]
    fn substitutes_variables_and_builtins() {
        let cases = [
            (
                "/api/v2/flows/actions/publish?flow={flow_id}",
                "/api/v2/flows/actions/publish?flow=f-1",
            ),
            ("{flow_id}{flow_name}", "f-1Main IVR"),
            ("t{__thread}-i{__iteration}", "t7-i3"),
            ("no vars", "no vars"),
            ("", ""),
            ("{{flow_id}}", "{flow_id}"),
            (
                r#"{"name": "{flow_name}", "x": {"y": 1}}"#,
                r#"{"name": "Main IVR", "x": {"y": 1}}"#,
            ),
            ("{ spaced }", "{ spaced }"),
            ("{unclosed", "{unclosed"),
            ("a}b", "a}b"),
            ("{{flow_id}", "{f-1"),
            ("}}", "}}"),
            (r#"{"a": {"b": "{flow_id}"}}"#, r#"{"a": {"b": "f-1"}}"#),
        ];
        for (src, want) in cases {
            assert_eq!(render(src), want, "template {src:?}");
        }
        assert_eq!(render("{__uuid}").len(), 36);
        assert!(render("{__time}").parse::<u128>().unwrap() > 1_600_000_000_000);
        for _ in 0..50 {
            let n: i64 = render("{__random_1_3}").parse().unwrap();
            assert!((1..=3).contains(&n));
            let n: i64 = render("{__random_-2_-1}").parse().unwrap();
            assert!((-2..=-1).contains(&n));
        }
        assert_eq!(render("{__random_5_5}"), "5");
        // Bounds the wrong way round, or not numbers: not a built-in, so an error.
        assert!(Template::compile("{__random_3_1}", &names()).is_err());
        assert!(Template::compile("{__random_a_b}", &names()).is_err());
    }

    #[test]
    fn unknown_variable_is_an_error_naming_known_ones() {
        let e = Template::compile("/x?flow={flowid}", &names()).unwrap_err();
        assert_eq!(e.name, "flowid");
        let e = e.to_string();
        assert!(
            e.contains("{flowid}") && e.contains("flow_id, flow_name"),
            "{e}"
        );
    }

    #[test]
    fn constant_detection_and_vars() {
        let t = Template::compile("/a/{flow_name}/{flow_name}", &names()).unwrap();
        assert!(!t.is_constant());
        assert!(Template::compile("/a", &names()).unwrap().is_constant());
    }
}
