//! Conditions: the one small expression language of a poll's `until` and `fail_if` and of the
//! `if` and `while` steps, parsed once at plan time and evaluated against an answer and the
//! user's variables.
//!
//! ```text
//! cond    := and { "||" and }
//! and     := unary { "&&" unary }
//! unary   := "!" unary | "(" cond ")" | value [ op value ]
//! op      := "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "!~"   (=~ takes a 'regex')
//! value   := status | last_ok | $.json.path | {var} | 'text' | "text" | number | true | false | null
//! ```
//! A JSON path (RFC 9535) runs to the first space, `)` or operator outside brackets and quotes,
//! and reads the answer's first match (missing when none). `==` compares numbers as numbers
//! (text that reads as a number included), `true`/`false` as booleans, anything else as text; a
//! missing value equals only `null`. A value alone is true unless it is missing, `null`,
//! `false`, `0` or empty text.

use std::sync::Arc;

use serde_json::Value;
use serde_json_path::JsonPath;

/// A condition, compiled.
#[derive(Debug, Clone)]
pub struct Cond {
    src: String,
    expr: Expr,
    json: bool,
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, Op, Operand),
    Truthy(Operand),
}

#[derive(Debug, Clone)]
enum Operand {
    Status,
    LastOk,
    Json(Arc<JsonPath>),
    Var(usize),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match(Arc<regex::Regex>, bool),
}

/// A condition surge cannot read: where (1-based character) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{src:?}: at character {pos}: {message}")]
pub struct CondError {
    /// The condition as written.
    pub src: String,
    /// 1-based character position.
    pub pos: usize,
    /// What is wrong.
    pub message: String,
}

/// What a condition reads: the answer (when there is one) and the user's variables.
#[derive(Debug, Clone, Copy, Default)]
pub struct Answer<'a> {
    /// The HTTP status, None without an answer.
    pub status: Option<u16>,
    /// The body, parsed as JSON, when it is JSON.
    pub json: Option<&'a Value>,
    /// The user's variables, indexed like the plan's.
    pub vars: &'a [String],
    /// The user's last sample succeeded (true before any).
    pub last_ok: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Not,
    And,
    Or,
    Op(&'static str),
    Str(String),
    Num(f64),
    Word(String),
    Var(String),
    Path(String),
}

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    src: &'a str,
}

impl Lexer<'_> {
    fn err(&self, pos: usize, message: impl Into<String>) -> CondError {
        CondError {
            src: self.src.to_string(),
            pos: pos + 1,
            message: message.into(),
        }
    }

    fn tokens(mut self) -> Result<Vec<(usize, Tok)>, CondError> {
        let mut out = Vec::new();
        while self.i < self.chars.len() {
            let c = self.chars[self.i];
            let at = self.i;
            let two: String = self.chars[self.i..(self.i + 2).min(self.chars.len())]
                .iter()
                .collect();
            if c.is_whitespace() {
                self.i += 1;
                continue;
            }
            let tok = match (c, two.as_str()) {
                (_, "&&") => self.adv(2, Tok::And),
                (_, "||") => self.adv(2, Tok::Or),
                (_, "==") => self.adv(2, Tok::Op("==")),
                (_, "!=") => self.adv(2, Tok::Op("!=")),
                (_, "<=") => self.adv(2, Tok::Op("<=")),
                (_, ">=") => self.adv(2, Tok::Op(">=")),
                (_, "=~") => self.adv(2, Tok::Op("=~")),
                (_, "!~") => self.adv(2, Tok::Op("!~")),
                ('<', _) => self.adv(1, Tok::Op("<")),
                ('>', _) => self.adv(1, Tok::Op(">")),
                ('!', _) => self.adv(1, Tok::Not),
                ('(', _) => self.adv(1, Tok::LParen),
                (')', _) => self.adv(1, Tok::RParen),
                ('\'' | '"', _) => self.string(c)?,
                ('{', _) => self.var()?,
                ('$', _) => self.path(),
                (c, _) if c.is_ascii_digit() || c == '-' || c == '.' => self.number()?,
                (c, _) if c.is_ascii_alphabetic() || c == '_' => self.word(),
                ('=', _) => return Err(self.err(at, "a single =: compare with ==")),
                ('&' | '|', _) => {
                    return Err(self.err(at, format!("a single {c}: join with && or ||")))
                }
                (c, _) => return Err(self.err(at, format!("unexpected {c:?}"))),
            };
            out.push((at, tok));
        }
        Ok(out)
    }

    fn adv(&mut self, n: usize, t: Tok) -> Tok {
        self.i += n;
        t
    }

    fn string(&mut self, q: char) -> Result<Tok, CondError> {
        let start = self.i;
        self.i += 1;
        let mut s = String::new();
        while self.i < self.chars.len() {
            let c = self.chars[self.i];
            self.i += 1;
            match c {
                '\\' if self.i < self.chars.len() => {
                    s.push(self.chars[self.i]);
                    self.i += 1;
                }
                c if c == q => return Ok(Tok::Str(s)),
                c => s.push(c),
            }
        }
        Err(self.err(start, "text not closed by its quote"))
    }

    fn var(&mut self) -> Result<Tok, CondError> {
        let start = self.i;
        let rest: String = self.chars[self.i + 1..].iter().collect();
        match rest.find('}') {
            Some(end) => {
                let name = rest[..end].trim().to_string();
                self.i += rest[..end].chars().count() + 2;
                Ok(Tok::Var(name))
            }
            None => Err(self.err(start, "{ without its }")),
        }
    }

    fn path(&mut self) -> Tok {
        let (mut depth, mut quote) = (0i32, None::<char>);
        let mut s = String::new();
        while self.i < self.chars.len() {
            let c = self.chars[self.i];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '[' | '(' => depth += 1,
                    ']' => depth -= 1,
                    ')' if depth > 0 => depth -= 1,
                    c if depth <= 0 && (c.is_whitespace() || "()=!<>&|".contains(c)) => break,
                    _ => {}
                },
            }
            s.push(c);
            self.i += 1;
        }
        Tok::Path(s)
    }

    fn number(&mut self) -> Result<Tok, CondError> {
        let start = self.i;
        let mut s = String::new();
        while self.i < self.chars.len()
            && (self.chars[self.i].is_ascii_alphanumeric() || ".-+".contains(self.chars[self.i]))
        {
            s.push(self.chars[self.i]);
            self.i += 1;
        }
        s.parse::<f64>()
            .map(Tok::Num)
            .map_err(|_| self.err(start, format!("{s:?} is not a number")))
    }

    fn word(&mut self) -> Tok {
        let mut s = String::new();
        while self.i < self.chars.len()
            && (self.chars[self.i].is_ascii_alphanumeric() || self.chars[self.i] == '_')
        {
            s.push(self.chars[self.i]);
            self.i += 1;
        }
        Tok::Word(s)
    }
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    i: usize,
    src: &'a str,
    vars: &'a [String],
    json: bool,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> CondError {
        let pos = self
            .toks
            .get(self.i)
            .map_or(self.src.chars().count(), |t| t.0);
        CondError {
            src: self.src.to_string(),
            pos: pos + 1,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }

    fn or(&mut self) -> Result<Expr, CondError> {
        let mut e = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, CondError> {
        let mut e = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, CondError> {
        match self.peek() {
            Some(Tok::Not) => {
                self.i += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.i += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.err("expected )"));
                }
                self.i += 1;
                Ok(e)
            }
            _ => self.compare(),
        }
    }

    fn compare(&mut self) -> Result<Expr, CondError> {
        let left = self.operand()?;
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            return Ok(Expr::Truthy(left));
        };
        self.i += 1;
        let op = match op {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            m => {
                let Some(Tok::Str(re)) = self.peek().cloned() else {
                    return Err(self.err(format!("{m} takes a quoted regular expression")));
                };
                let re = regex::Regex::new(&re)
                    .map_err(|e| self.err(format!("not a regular expression: {e}")))?;
                self.i += 1;
                return Ok(Expr::Cmp(
                    left,
                    Op::Match(Arc::new(re), m == "=~"),
                    Operand::Null,
                ));
            }
        };
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, CondError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err("expected a value (status, $.path, {var}, 'text', a number)"));
        };
        let o = match t {
            Tok::Str(s) => Operand::Str(s),
            Tok::Num(n) => Operand::Num(n),
            Tok::Var(name) => match self.vars.iter().position(|v| *v == name) {
                Some(i) => Operand::Var(i),
                None => {
                    let hint = surge_record::text::did_you_mean(
                        &name,
                        self.vars.iter().map(String::as_str),
                    );
                    return Err(self.err(format!("unknown variable {{{name}}}{hint}")));
                }
            },
            Tok::Path(p) => {
                let path = JsonPath::parse(&p)
                    .map_err(|e| self.err(format!("{p:?} is not a JSON path (RFC 9535): {e}")))?;
                self.json = true;
                Operand::Json(Arc::new(path))
            }
            Tok::Word(w) => match w.as_str() {
                "status" => Operand::Status,
                "last_ok" => Operand::LastOk,
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                "null" => Operand::Null,
                _ => {
                    let hint = surge_record::text::did_you_mean(
                        &w,
                        ["status", "last_ok", "true", "false", "null"],
                    );
                    return Err(self.err(format!(
                        "unknown word {w:?}{hint}; text goes in quotes, variables in braces"
                    )));
                }
            },
            _ => return Err(self.err("expected a value (status, $.path, {var}, 'text', a number)")),
        };
        self.i += 1;
        Ok(o)
    }
}

/// A value read for a comparison.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Missing,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    Json(&'a Value),
}

impl Val<'_> {
    fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Missing => false,
            Val::Bool(b) => *b,
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !(s.is_empty() || *s == "0" || s.eq_ignore_ascii_case("false")),
            Val::Json(v) => !matches!(v, Value::Array(a) if a.is_empty()),
        }
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Val::Missing => "".into(),
            Val::Bool(b) => b.to_string().into(),
            Val::Num(n) => n.to_string().into(),
            Val::Str(s) => (*s).into(),
            Val::Json(v) => v.to_string().into(),
        }
    }
}

fn of_json(v: &Value) -> Val<'_> {
    match v {
        Value::Null => Val::Missing,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(Val::Json(v), Val::Num),
        Value::String(s) => Val::Str(s),
        _ => Val::Json(v),
    }
}

fn equal(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Missing, Val::Missing) => true,
        (Val::Missing, _) | (_, Val::Missing) => false,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Bool(x), Val::Str(s)) | (Val::Str(s), Val::Bool(x)) => {
            s.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        (Val::Num(_), _) | (_, Val::Num(_)) => match (a.num(), b.num()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        _ => a.text() == b.text(),
    }
}

impl Cond {
    /// Compiles `src`; `{var}` names are looked up in `vars` (the plan's variables).
    ///
    /// # Errors
    /// [`CondError`] with the character where it went wrong.
    pub fn parse(src: &str, vars: &[String]) -> Result<Cond, CondError> {
        let lexer = Lexer {
            chars: src.chars().collect(),
            i: 0,
            src,
        };
        let toks = lexer.tokens()?;
        let mut p = Parser {
            toks,
            i: 0,
            src,
            vars,
            json: false,
        };
        if p.toks.is_empty() {
            return Err(p.err("is empty"));
        }
        let expr = p.or()?;
        if p.i < p.toks.len() {
            return Err(
                p.err("unexpected text after the condition (join conditions with && or ||)")
            );
        }
        Ok(Cond {
            src: src.to_string(),
            expr,
            json: p.json,
        })
    }

    /// The condition as written.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// True when it reads the answer's body as JSON.
    pub fn needs_json(&self) -> bool {
        self.json
    }

    /// Evaluates the condition.
    pub fn eval(&self, a: &Answer<'_>) -> bool {
        eval(&self.expr, a)
    }
}

fn value<'a>(o: &'a Operand, a: &Answer<'a>) -> Val<'a> {
    match o {
        Operand::Status => a.status.map_or(Val::Missing, |s| Val::Num(f64::from(s))),
        Operand::LastOk => Val::Bool(a.last_ok),
        Operand::Json(p) => match a.json {
            Some(v) => p.query(v).first().map_or(Val::Missing, of_json),
            None => Val::Missing,
        },
        Operand::Var(i) => a.vars.get(*i).map_or(Val::Missing, |s| Val::Str(s)),
        Operand::Str(s) => Val::Str(s),
        Operand::Num(n) => Val::Num(*n),
        Operand::Bool(b) => Val::Bool(*b),
        Operand::Null => Val::Missing,
    }
}

fn eval(e: &Expr, a: &Answer<'_>) -> bool {
    match e {
        Expr::Or(x, y) => eval(x, a) || eval(y, a),
        Expr::And(x, y) => eval(x, a) && eval(y, a),
        Expr::Not(x) => !eval(x, a),
        Expr::Truthy(o) => value(o, a).truthy(),
        Expr::Cmp(l, op, r) => {
            let (l, r) = (value(l, a), value(r, a));
            let ord = |f: fn(f64, f64) -> bool| matches!((l.num(), r.num()), (Some(x), Some(y)) if f(x, y));
            match op {
                Op::Eq => equal(&l, &r),
                Op::Ne => !equal(&l, &r),
                Op::Lt => ord(|x, y| x < y),
                Op::Le => ord(|x, y| x <= y),
                Op::Gt => ord(|x, y| x > y),
                Op::Ge => ord(|x, y| x >= y),
                Op::Match(re, want) => l != Val::Missing && re.is_match(&l.text()) == *want,
            }
        }
    }
}

impl serde::Serialize for Cond {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.src)
    }
}

#[cfg(test)]
mod tests;
