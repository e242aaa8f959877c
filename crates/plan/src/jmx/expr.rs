//! JMeter expressions (`${var}`, `${__P(name,default)}`, `${__UUID()}`, …) turned into surge
//! templates (`{var}`, `{__uuid}`, …). Properties are resolved at import time, from `-J` values
//! or the defaults written in the plan; what surge cannot evaluate is reported, never dropped.

use std::collections::BTreeMap;

/// One piece of a converted expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// Text that came from a JMeter property (`-J name=value` or its default): kept apart so
    /// secrets read from properties can be recognized and kept out of the scenario.
    Prop {
        /// The property name.
        name: String,
        /// Its value, as resolved.
        value: String,
        /// True when no `-J` value was given and the default (or JMeter's fallback) was used.
        defaulted: bool,
    },
    /// A surge template variable or built-in (`flow_id`, `__uuid`, `__random_1_100`, …).
    Var(String),
}

/// A converted expression.
pub type Pieces = Vec<Piece>;

/// What expressions may refer to.
#[derive(Debug, Default, Clone)]
pub struct Env {
    /// `-J name=value`.
    pub props: BTreeMap<String, String>,
    /// User-defined variables, already converted.
    pub udvs: BTreeMap<String, Pieces>,
    /// Variables set by CSV data sets (become surge `{name}`).
    pub data_vars: Vec<String>,
    /// Properties a setUp Thread Group sets from its variables (`${__setProperty(p,${v})}`,
    /// `props.put("p", vars.get("v"))`): `${__P(p)}` reads variable `v`, which the setup group
    /// exports.
    pub exported: BTreeMap<String, String>,
}

/// Converts `src`; problems (unknown functions or variables) go to `problems`.
pub fn convert(src: &str, env: &Env, problems: &mut Vec<String>) -> Pieces {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(pos) = rest.find("${") {
        push_lit(&mut out, &rest[..pos]);
        let tail = &rest[pos..];
        match matching_brace(tail) {
            Some(end) => {
                let inner = &tail[2..end];
                convert_ref(inner, &tail[..=end], env, problems, &mut out);
                rest = &tail[end + 1..];
            }
            None => {
                push_lit(&mut out, tail);
                rest = "";
            }
        }
    }
    push_lit(&mut out, rest);
    out
}

/// Index of the `}` closing the `${` at the start of `s`, counting nested `${…}` and `{…}`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn push_lit(out: &mut Pieces, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Piece::Lit(l)) = out.last_mut() {
        l.push_str(s);
    } else {
        out.push(Piece::Lit(s.to_string()));
    }
}

/// Splits function arguments at commas not escaped by `\` and not inside `${…}` or `(…)`.
fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut esc) = (0i32, false);
    for c in s.chars() {
        if esc {
            cur.push(c);
            esc = false;
            continue;
        }
        match c {
            '\\' => esc = true,
            '{' | '(' => {
                depth += 1;
                cur.push(c);
            }
            '}' | ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    args.push(cur);
    args
}

/// The plain text of converted pieces (variables shown as `${name}`).
pub fn plain(p: &Pieces) -> String {
    p.iter()
        .map(|x| match x {
            Piece::Lit(s) => s.clone(),
            Piece::Prop { value, .. } => value.clone(),
            Piece::Var(v) => format!("${{{v}}}"),
        })
        .collect()
}

/// True when the pieces hold no variable (a constant after import).
pub fn is_constant(p: &Pieces) -> bool {
    p.iter().all(|x| !matches!(x, Piece::Var(_)))
}

fn convert_ref(inner: &str, whole: &str, env: &Env, problems: &mut Vec<String>, out: &mut Pieces) {
    let inner_t = inner.trim();
    if let Some(f) = inner_t.strip_prefix("__") {
        let (name, args) = match f.find('(') {
            Some(i) if f.ends_with(')') => (&f[..i], split_args(&f[i + 1..f.len() - 1])),
            _ => (f, Vec::new()),
        };
        // Arguments may themselves hold expressions (a default read from another property).
        let arg = |i: usize, problems: &mut Vec<String>| -> Option<String> {
            args.get(i)
                .map(|a| plain(&convert(a.trim(), env, problems)))
        };
        match name {
            "setProperty" if arg(0, problems).is_some_and(|p| env.exported.contains_key(&p)) => {
                // Exported by the setup group; the function itself writes nothing.
            }
            "P" | "property"
                if arg(0, problems).is_some_and(|p| {
                    env.exported.contains_key(&p) && !env.props.contains_key(&p)
                }) =>
            {
                let p = arg(0, problems).unwrap_or_default();
                out.push(Piece::Var(env.exported[&p].clone()));
            }
            "P" | "property" => {
                let Some(pname) = arg(0, problems).filter(|s| !s.is_empty()) else {
                    problems.push(format!("{whole}: needs a property name"));
                    return;
                };
                let default_idx = if name == "P" { 1 } else { 2 };
                let (value, defaulted) = match env.props.get(&pname) {
                    Some(v) => (v.clone(), false),
                    None => match arg(default_idx, problems) {
                        Some(d) if !(name == "property" && d.is_empty()) => (d, true),
                        _ => {
                            // JMeter's fallbacks: "1" for __P, the name itself for __property.
                            let v = if name == "P" {
                                "1".to_string()
                            } else {
                                pname.clone()
                            };
                            problems.push(format!("{whole}: property {pname:?} is not set (-J {pname}=…) and has no default; JMeter would use {v:?}, so does surge"));
                            (v, true)
                        }
                    },
                };
                out.push(Piece::Prop {
                    name: pname,
                    value,
                    defaulted,
                });
            }
            "UUID" => out.push(Piece::Var("__uuid".into())),
            "threadNum" => out.push(Piece::Var("__thread".into())),
            "time" => {
                if arg(0, problems).is_some_and(|f| !f.is_empty()) {
                    problems.push(format!("{whole}: a date format is not supported; surge writes epoch milliseconds ({{__time}})"));
                }
                if arg(1, problems).is_some_and(|v| !v.is_empty()) {
                    problems.push(format!("{whole}: storing into a variable is not supported"));
                }
                out.push(Piece::Var("__time".into()));
            }
            "Random" => {
                let lo = arg(0, problems).and_then(|s| s.trim().parse::<i64>().ok());
                let hi = arg(1, problems).and_then(|s| s.trim().parse::<i64>().ok());
                match (lo, hi) {
                    (Some(a), Some(b)) if a <= b => {
                        if arg(2, problems).is_some_and(|v| !v.is_empty()) {
                            problems
                                .push(format!("{whole}: storing into a variable is not supported"));
                        }
                        out.push(Piece::Var(format!("__random_{a}_{b}")));
                    }
                    _ => {
                        problems.push(format!(
                            "{whole}: needs two integer bounds, min <= max; left as written"
                        ));
                        push_lit(out, whole);
                    }
                }
            }
            other => {
                problems.push(format!(
                    "{whole}: JMeter function __{other} is not supported; left as written"
                ));
                push_lit(out, whole);
            }
        }
        return;
    }
    if let Some(v) = env.udvs.get(inner_t) {
        out.extend(v.iter().cloned());
        return;
    }
    if env.data_vars.iter().any(|v| v == inner_t) {
        out.push(Piece::Var(inner_t.to_string()));
        return;
    }
    problems.push(format!("{whole}: variable {inner_t:?} is not defined by the plan's variables or CSV data sets (an extractor or script may set it in JMeter); left as written"));
    push_lit(out, whole);
}

/// True for a name surge's templates read as a variable (`{name}`).
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// Escapes literal text for a surge template: a literal `{name}` becomes `{{name}}`.
pub fn escape_lit(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(pos) = rest.find('{') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        match tail[1..].find('}') {
            Some(end) if is_ident(&tail[1..1 + end]) => {
                out.push('{');
                out.push_str(&tail[..end + 2]);
                out.push('}');
                rest = &tail[end + 2..];
            }
            _ => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Renders pieces as a surge template. `encode` percent-encodes literal parts (query
/// arguments JMeter sends encoded).
pub fn to_template(p: &Pieces, encode: bool) -> String {
    let mut out = String::new();
    for x in p {
        match x {
            Piece::Lit(s) | Piece::Prop { value: s, .. } => {
                if encode {
                    let enc: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                    escape_lit(&enc, &mut out);
                } else {
                    escape_lit(s, &mut out);
                }
            }
            Piece::Var(v) => {
                out.push('{');
                out.push_str(v);
                out.push('}');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        let mut e = Env::default();
        e.props.insert("host".into(), "api.example.com".into());
        e.udvs.insert("ver".into(), vec![Piece::Lit("v2".into())]);
        e.data_vars.push("flow_id".into());
        e
    }

    fn conv(s: &str) -> (String, Vec<String>) {
        let mut p = Vec::new();
        let t = to_template(&convert(s, &env(), &mut p), false);
        (t, p)
    }

    #[test]
    fn converts_functions_variables_and_properties() {
        let cases = [
            (
                "/api/${ver}/flows?flow=${flow_id}",
                "/api/v2/flows?flow={flow_id}",
            ),
            ("${__P(host,x)}", "api.example.com"),
            ("${__P(port,8443)}", "8443"),
            ("${__property(port,,9000)}", "9000"),
            ("${__P(missing,${__P(host)})}", "api.example.com"),
            (
                "id=${__UUID()}&t=${__time()}&n=${__threadNum}",
                "id={__uuid}&t={__time}&n={__thread}",
            ),
            ("${__Random(1,100)}", "{__random_1_100}"),
            ("${__Random(-5,5,r)}", "{__random_-5_5}"),
            (
                r#"{"a": {b}, "c": "${flow_id}"}"#,
                r#"{"a": {{b}}, "c": "{flow_id}"}"#,
            ),
            ("plain", "plain"),
            ("${unclosed", "${unclosed"),
        ];
        for (src, want) in cases {
            assert_eq!(conv(src).0, want, "{src}");
        }
        assert!(conv("${__P(port,8443)}").1.is_empty());
    }

    #[test]
    fn unknown_things_are_reported_and_kept_as_written() {
        let (t, p) = conv("/x/${extracted}");
        assert_eq!(t, "/x/${{extracted}}");
        assert!(p[0].contains("extracted"), "{p:?}");
        let (t, p) = conv("${__groovy(1+1)}");
        assert_eq!(t, "${__groovy(1+1)}");
        assert!(p[0].contains("__groovy"), "{p:?}");
        let (t, p) = conv("${__P(nope)}");
        assert_eq!(t, "1");
        assert!(p[0].contains("nope"), "{p:?}");
        let (t, _) = conv("${__property(nope)}");
        assert_eq!(t, "nope");
    }

    #[test]
    fn property_pieces_keep_their_origin() {
        let mut p = Vec::new();
        let e = env();
        let v = convert("Bearer ${__P(token,abc)}", &e, &mut p);
        assert_eq!(
            v[1],
            Piece::Prop {
                name: "token".into(),
                value: "abc".into(),
                defaulted: true
            }
        );
        assert_eq!(to_template(&convert("a b&c", &e, &mut p), true), "a+b%26c");
    }
}
