//! HTTP samplers → `[[request]]`s: HTTP Request Defaults and header managers in scope merged in,
//! arguments into the query or a form body, the raw body kept, `Authorization: Bearer` from a
//! property turned into `[auth]` (the token is never written), hosts checked against `[target]`.

use super::expr::{self, Piece, Pieces};
use super::model::{AuthOut, PartOut, RequestOut};
use super::walk::{place_of, Ctx, Scope, Step, Walker};
use super::xml::Element;

/// Response codes (100..=599) a Response Assertion pattern accepts, by its test type
/// (2 matches, 1 contains, 8 equals, 16 substring); `None` for a pattern this cannot read.
pub fn codes_matching(pattern: &str, test_type: i64) -> Option<Vec<u16>> {
    let all = 100u16..=599;
    if test_type & 8 != 0 {
        let c: u16 = pattern.parse().ok()?;
        return Some(vec![c]);
    }
    if test_type & 16 != 0 {
        return Some(all.filter(|c| c.to_string().contains(pattern)).collect());
    }
    let alts: Vec<Vec<Atom>> = pattern.split('|').map(atoms).collect::<Option<_>>()?;
    let anywhere = test_type & 1 != 0;
    Some(
        all.filter(|c| {
            let s = c.to_string();
            let s = s.as_bytes();
            alts.iter().any(|a| {
                if anywhere {
                    (0..=s.len().saturating_sub(a.len()))
                        .any(|i| matches_at(a, &s[i..]) && s.len() >= i + a.len())
                } else {
                    a.len() == s.len() && matches_at(a, s)
                }
            })
        })
        .collect(),
    )
}

#[derive(Debug, Clone)]
enum Atom {
    Any,
    Set(Vec<(u8, u8)>),
}

fn atoms(p: &str) -> Option<Vec<Atom>> {
    let p = p.trim_start_matches('^').trim_end_matches('$');
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => out.push(Atom::Any),
            b'\\' if b.get(i + 1) == Some(&b'd') => {
                out.push(Atom::Set(vec![(b'0', b'9')]));
                i += 1;
            }
            b'[' => {
                let end = p[i..].find(']')? + i;
                let inner = &b[i + 1..end];
                let mut set = Vec::new();
                let mut j = 0;
                while j < inner.len() {
                    if j + 2 < inner.len() && inner[j + 1] == b'-' {
                        set.push((inner[j], inner[j + 2]));
                        j += 3;
                    } else {
                        set.push((inner[j], inner[j]));
                        j += 1;
                    }
                }
                out.push(Atom::Set(set));
                i = end;
            }
            c if c.is_ascii_digit() => out.push(Atom::Set(vec![(c, c)])),
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

fn matches_at(a: &[Atom], s: &[u8]) -> bool {
    a.len() <= s.len()
        && a.iter().zip(s).all(|(atom, c)| match atom {
            Atom::Any => true,
            Atom::Set(set) => set.iter().any(|(lo, hi)| (lo..=hi).contains(&c)),
        })
}

/// `(protocol, host, port)` and the path of a sampler path written as a full URL.
fn split_url(raw: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = raw.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Some((
        scheme.to_ascii_lowercase(),
        authority.to_string(),
        path.to_string(),
    ))
}

/// `TOKEN` from a property name such as `token` or `api.token`.
pub fn env_name(prop: &str) -> String {
    let s: String = prop
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("JMETER_{s}")
    } else {
        s
    }
}

impl Walker<'_> {
    /// The sampler's property, else the innermost HTTP Request Defaults' one.
    fn field(el: &Element, scope: &Scope<'_>, name: &str) -> Option<String> {
        el.prop_nonempty(name).or_else(|| {
            scope
                .defaults
                .iter()
                .rev()
                .find_map(|d| d.prop_nonempty(name))
        })
    }

    pub(super) fn sampler<'e>(
        &mut self,
        el: &'e Element,
        sub: Option<&'e Element>,
        scope: &Scope<'e>,
        path: &str,
        g: usize,
    ) {
        let place = place_of(path, el);
        let sc = self.level(
            sub,
            scope,
            &format!("{path}/{}", el.testname()),
            Ctx::Sampler,
        );
        let label = el.testname().trim().to_string();
        let raw_method = Self::field(el, &sc, "HTTPSampler.method").unwrap_or_else(|| "GET".into());
        let pieces = self.expr(&raw_method, &place);
        let method = match expr::is_constant(&pieces).then(|| expr::plain(&pieces)) {
            Some(m)
                if http::Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).is_ok()
                    && !m.trim().is_empty() =>
            {
                m.trim().to_ascii_uppercase()
            }
            Some(m) => {
                self.warn(
                    &place,
                    format!("method {m:?} is not an HTTP method surge can send: GET instead"),
                );
                "GET".into()
            }
            None => {
                self.warn(&place, format!("the method {raw_method:?} is chosen at run time; surge sends a fixed method: GET instead"));
                "GET".into()
            }
        };
        let path_src = self.location(el, &sc, &place);
        let (path_t, body, form, multipart) =
            self.path_and_body(el, &sc, &place, &method, &path_src);
        let headers = self.headers(&sc, &place, form);
        self.transport_settings(el, &sc, &place);
        let req = RequestOut {
            name: label,
            method,
            path: path_t,
            headers,
            body,
            multipart,
            expect_status: sc.codes.clone(),
            extract: sc.post.clone(),
            asserts: sc.checks.clone(),
            comments: vec![place.clone()],
        };
        let label = self.add_request(req, &place);
        // Synchronizing Timers in scope: a rendezvous before the request.
        for t in &sc.timers {
            if let super::walk::Timer::Sync(head) = t {
                self.tree[g].push(super::model::StepOut::Single(head.clone()));
            }
        }
        self.tree[g].push(super::model::StepOut::Request(label.clone()));
        self.steps[g].push(Step {
            label,
            timers: sc.timers.clone(),
        });
    }

    /// Where the sampler goes: its protocol, host and port (checked against the plan's one
    /// target); returns the path as written, without any scheme and authority it held.
    fn location(&mut self, el: &Element, sc: &Scope<'_>, place: &str) -> String {
        let raw_path = Self::field(el, sc, "HTTPSampler.path").unwrap_or_default();
        let (mut proto, mut host, mut port) = (
            Self::field(el, sc, "HTTPSampler.protocol").unwrap_or_default(),
            Self::field(el, sc, "HTTPSampler.domain").unwrap_or_default(),
            Self::field(el, sc, "HTTPSampler.port").unwrap_or_default(),
        );
        let mut path_src = raw_path.trim().to_string();
        if let Some((p, authority, rest)) = split_url(&path_src) {
            proto = p;
            match authority.rsplit_once(':') {
                Some((h, pt)) if pt.chars().all(|c| c.is_ascii_digit()) => {
                    host = h.into();
                    port = pt.into();
                }
                _ => {
                    host = authority;
                    port = String::new();
                }
            }
            path_src = rest;
        }
        self.check_host(&proto, &host, &port, place);
        path_src
    }

    /// The path template, with the arguments as its query (GET-like methods) or as the body (a
    /// form for POST, PUT and PATCH, or the raw body); true when the body is a form; the parts
    /// of a multipart body.
    fn path_and_body<'e>(
        &mut self,
        el: &'e Element,
        sc: &Scope<'e>,
        place: &str,
        method: &str,
        path_src: &str,
    ) -> (String, Option<String>, bool, Vec<PartOut>) {
        let mut path_t = expr::to_template(&self.expr(path_src, place), false);
        if !path_t.starts_with('/') {
            path_t.insert(0, '/');
        }
        let mut args: Vec<&Element> = Vec::new();
        let arg_list = |e: &'e Element| -> Vec<&'e Element> {
            e.prop_el("HTTPsampler.Arguments")
                .map(|a| a.collection("Arguments.arguments").iter().collect())
                .unwrap_or_default()
        };
        args.extend(arg_list(el));
        for d in &sc.defaults {
            args.extend(arg_list(d));
        }
        let raw_body = el.prop_bool("HTTPSampler.postBodyRaw").unwrap_or(false);
        let mut body: Option<String> = None;
        let mut form = false;
        let multipart = if raw_body {
            None
        } else {
            self.multipart_parts(el, &args, method, place)
        };
        if let Some(parts) = multipart {
            return (path_t, None, false, parts);
        }
        if raw_body {
            let text: String = args
                .iter()
                .map(|a| a.prop("Argument.value").unwrap_or_default())
                .collect();
            body = Some(expr::to_template(&self.expr(&text, place), false));
        } else if !args.is_empty() {
            let mut pairs = Vec::new();
            for a in &args {
                let name = a.prop("Argument.name").unwrap_or_default();
                let value = a.prop("Argument.value").unwrap_or_default();
                let encode = a.prop_bool("HTTPArgument.always_encode").unwrap_or(false);
                let eq =
                    a.prop_bool("HTTPArgument.use_equals").unwrap_or(true) || !value.is_empty();
                let n = expr::to_template(&self.expr(&name, place), encode);
                let pieces = self.expr(&value, place);
                let secret = surge_record::secrets::is_sensitive_param(&name)
                    || surge_record::secrets::looks_like_credential(&value);
                if secret && !value.is_empty() && expr::is_constant(&pieces) {
                    self.warn(place, format!("argument {name:?} holds a fixed credential; surge never writes secrets into a scenario: not copied (read it with [[data]] kind = \"env\")"));
                    continue;
                }
                let v = expr::to_template(&pieces, encode);
                pairs.push(if eq { format!("{n}={v}") } else { n });
            }
            let q = pairs.join("&");
            if matches!(method, "POST" | "PUT" | "PATCH") {
                body = Some(q);
                form = true;
            } else {
                path_t.push(if path_t.contains('?') { '&' } else { '?' });
                path_t.push_str(&q);
            }
        }
        if el.prop_bool("HTTPSampler.image_parser") == Some(true) {
            self.warn(place, "embedded resources are not downloaded");
        }
        (path_t, body, form, Vec::new())
    }

    /// The headers of the managers in scope (outer first, inner ones replace the same name),
    /// converted; Authorization becomes `[auth]` where it can; fixed secrets are not copied.
    fn headers(&mut self, sc: &Scope<'_>, place: &str, form: bool) -> Vec<(String, String)> {
        let mut raw_headers: Vec<(String, String)> = Vec::new();
        for hm in &sc.headers {
            for h in hm.collection("HeaderManager.headers") {
                let (Some(n), v) = (
                    h.prop("Header.name"),
                    h.prop("Header.value").unwrap_or_default(),
                ) else {
                    continue;
                };
                let n = n.trim().to_string();
                if n.is_empty() {
                    continue;
                }
                raw_headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&n));
                raw_headers.push((n, v));
            }
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for (n, v) in raw_headers {
            if n.eq_ignore_ascii_case("authorization") {
                let mut problems = Vec::new();
                let pieces = expr::convert(&v, &self.env, &mut problems);
                let (keep, token_prop) = self.authorization(&pieces, &v, place);
                for pr in problems {
                    // A token property with no value is expected: surge reads it from the environment.
                    if !token_prop
                        .as_ref()
                        .is_some_and(|p| pr.contains(&format!("property {p:?}")))
                    {
                        self.warn(place, pr);
                    }
                }
                if let Some(h) = keep {
                    headers.push((n, h));
                }
                continue;
            }
            let pieces = self.expr(&v, place);
            if (crate::is_sensitive_header(&n) || surge_record::secrets::looks_like_credential(&v))
                && expr::is_constant(&pieces)
            {
                self.warn(place, format!("header {n:?} holds a fixed secret; surge never writes secrets into a scenario: not copied (set it from a CSV column, or use [auth])"));
            } else {
                headers.push((n, expr::to_template(&pieces, false)));
            }
        }
        if form
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        headers
    }

    /// Transport settings surge sets per target, collected to be reconciled over all samplers.
    fn transport_settings(&mut self, el: &Element, sc: &Scope<'_>, place: &str) {
        for (prop, what) in [
            ("HTTPSampler.connect_timeout", "connect_timeout"),
            ("HTTPSampler.response_timeout", "response_timeout"),
        ] {
            let Some(raw) = Self::field(el, sc, prop).and_then(|t| self.constant(&t, place, what))
            else {
                continue;
            };
            if raw.trim().is_empty() {
                continue;
            }
            match raw.trim().parse::<u64>() {
                Ok(ms) if what == "connect_timeout" => self.connect_timeouts.push(ms),
                Ok(ms) => self.response_timeouts.push(ms),
                Err(_) => self.warn(
                    place,
                    format!("{prop} = {raw:?} is not a number of milliseconds ≥ 0: ignored (surge's default applies)"),
                ),
            }
        }
        self.keep_alive
            .push(el.prop_bool("HTTPSampler.use_keepalive").unwrap_or(true));
        if el.prop_bool("HTTPSampler.follow_redirects") == Some(true)
            || el.prop_bool("HTTPSampler.auto_redirects") == Some(true)
        {
            self.follow_redirects += 1;
        }
    }

    /// Keeps labels unique: an identical sampler of the same name is reused; a different one
    /// gets a new label.
    fn add_request(&mut self, mut req: RequestOut, place: &str) -> String {
        let same = |a: &RequestOut, b: &RequestOut| {
            (
                &a.method,
                &a.path,
                &a.headers,
                &a.body,
                &a.expect_status,
                &a.extract,
                &a.asserts,
            ) == (
                &b.method,
                &b.path,
                &b.headers,
                &b.body,
                &b.expect_status,
                &b.extract,
                &b.asserts,
            )
        };
        if req.name.is_empty() {
            req.name = "HTTP Request".into();
        }
        let base = req.name.clone();
        let mut n = 2;
        loop {
            match self.m.requests.iter().find(|r| r.name == req.name) {
                None => break,
                Some(r) if same(r, &req) => return req.name,
                Some(_) => {
                    req.name = format!("{base} ({n})");
                    n += 1;
                }
            }
        }
        if req.name != base {
            self.note(place, format!("another sampler is also named {base:?}: this one is labelled {:?} (JMeter would merge them in its reports)", req.name));
        }
        let name = req.name.clone();
        self.m.requests.push(req);
        name
    }

    fn check_host(&mut self, proto: &str, host: &str, port: &str, place: &str) {
        let Some(host) = self.constant(host, place, "HTTPSampler.domain") else {
            return;
        };
        let proto = self
            .constant(proto, place, "HTTPSampler.protocol")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let port = self
            .constant(port, place, "HTTPSampler.port")
            .unwrap_or_default()
            .trim()
            .to_string();
        let host = host.trim().to_string();
        if host.is_empty() {
            return;
        }
        let proto = if proto.is_empty() {
            "http".to_string()
        } else {
            proto
        };
        let default_port = if proto == "https" { "443" } else { "80" };
        let url = if port.is_empty() || port == default_port {
            format!("{proto}://{host}")
        } else {
            format!("{proto}://{host}:{port}")
        };
        match &self.seen_hosts {
            None => {
                self.m.target.base_url = Some(url.clone());
                self.seen_hosts = Some((url, place.to_string()));
            }
            Some((first, _)) if *first == url => {}
            Some((first, from)) => {
                let msg = format!("sends to {url}, but surge sends every request to one base URL, {first} (from {from}): this sampler's host is not used");
                self.warn(place, msg);
            }
        }
    }

    /// `Authorization` header: a bearer token from a property becomes `[auth]` (the value is
    /// kept for `surge run plan.jmx` only); a literal token is never copied; a header built from
    /// CSV variables stays a header. Returns the header template to keep, if any, and the
    /// property the token comes from, if it does.
    fn authorization(
        &mut self,
        pieces: &Pieces,
        raw: &str,
        place: &str,
    ) -> (Option<String>, Option<String>) {
        let mut rest: Pieces = pieces.clone();
        let bearer = match rest.first_mut() {
            Some(Piece::Lit(l)) if l.len() >= 7 && l[..7].eq_ignore_ascii_case("bearer ") => {
                *l = l[7..].trim_start().to_string();
                if l.is_empty() {
                    rest.remove(0);
                }
                true
            }
            _ => false,
        };
        if !expr::is_constant(&rest) {
            // Per-user tokens from a CSV file: a header template, no secret in the scenario.
            return (Some(expr::to_template(pieces, false)), None);
        }
        let mut token_prop = None;
        let (env, comment, token) = match (bearer, rest.as_slice()) {
            (
                true,
                [Piece::Prop {
                    name,
                    value,
                    defaulted,
                }],
            ) => {
                let explicit_default = raw.contains(',');
                if *defaulted && explicit_default {
                    self.warn(place, format!("the plan's default value for property {name:?} (a token) is not copied into the scenario"));
                }
                token_prop = Some(name.clone());
                let env = env_name(name);
                (
                    env.clone(),
                    format!("JMeter sent \"Authorization: Bearer ${{__P({name})}}\" ({place}).\nsurge reads the token from ${env}, or from -J {name}=… when running the .jmx directly;\nthe token itself is never written here."),
                    (!*defaulted || explicit_default).then(|| value.clone()),
                )
            }
            _ => {
                self.warn(place, "Authorization holds a literal credential: not copied; surge reads a bearer token from $SURGE_TOKEN instead");
                (
                    "SURGE_TOKEN".to_string(),
                    format!("JMeter sent a literal Authorization value ({place}); it was not copied. Put the bearer token in $SURGE_TOKEN."),
                    None,
                )
            }
        };
        match &self.auth_from {
            None => {
                self.auth_from = Some(raw.to_string());
                self.m.auth = Some(AuthOut {
                    kind: "bearer",
                    fields: vec![("token_env", env)],
                    comments: vec![comment],
                });
                self.m.bearer_token = token.filter(|t| !t.is_empty());
            }
            Some(first) if first == raw => {}
            Some(first) => {
                let msg = format!("Authorization {raw:?} differs from {first:?} used elsewhere; surge sends one bearer token to every request: this one is not used");
                self.warn(place, msg);
            }
        }
        (None, token_prop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_code_patterns() {
        assert_eq!(codes_matching("200", 8), Some(vec![200]));
        assert_eq!(codes_matching("200", 2), Some(vec![200]));
        assert_eq!(codes_matching("20[0-2]", 2), Some(vec![200, 201, 202]));
        assert_eq!(codes_matching("2\\d\\d", 2).unwrap().len(), 100);
        assert_eq!(codes_matching("200|429", 2), Some(vec![200, 429]));
        let c = codes_matching("42", 16).unwrap();
        assert_eq!(c.len(), 15);
        assert!(c.contains(&429) && c.contains(&142) && !c.contains(&400));
        assert_eq!(codes_matching("20.", 1).unwrap().len(), 10);
        assert_eq!(codes_matching("2.*", 2), None);
        assert_eq!(codes_matching("OK", 8), None);
        assert_eq!(env_name("token"), "TOKEN");
        assert_eq!(env_name("api.token-1"), "API_TOKEN_1");
    }
}
