//! Users' state in a test plan → the scenario's: the HTTP Cookie Manager (`[cookies]`), the
//! HTTP Authorization Manager (`[auth]` basic or digest, credentials read from the
//! environment, never copied), and the variables a Counter, User Parameters and a Random
//! Variable set (`[[data]]` counter, per_user and random sources). Read in the first pass,
//! wherever they sit, as JMeter reads them at the start.

use super::expr::{self, Piece};
use super::http::env_name;
use super::model::{AuthOut, GenDataOut};
use super::walk::Walker;
use super::xml::Element;

fn q(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

impl Walker<'_> {
    /// A Cookie Manager, Authorization Manager, Counter, User Parameters or Random Variable.
    pub(super) fn user_state(&mut self, el: &Element, place: &str) {
        match el.tag.as_str() {
            "CookieManager" => self.cookie_manager(el, place),
            "AuthManager" => self.auth_manager(el, place),
            "CounterConfig" => self.counter(el, place),
            "CacheManager" => self.cache_manager(el, place),
            "UserParameters" => self.user_parameters(el, place),
            _ => self.random_variable(el, place),
        }
    }

    fn add_var(&mut self, place: &str, name: &str) -> bool {
        let name = name.trim();
        if name.is_empty() {
            self.note(
                place,
                "sets no variable (its name is empty): nothing to import",
            );
            return false;
        }
        if self.env.data_vars.iter().any(|v| v == name) {
            self.warn(
                place,
                format!("variable {name:?} is already set by another element: not imported"),
            );
            return false;
        }
        self.env.data_vars.push(name.to_string());
        true
    }

    fn cache_manager(&mut self, el: &Element, place: &str) {
        if self.m.cache.is_some() {
            self.note(
                place,
                "another HTTP Cache Manager: surge keeps one cache per user for the whole plan",
            );
            return;
        }
        let mut lines = vec![format!("# {place}"), "enabled = true".to_string()];
        // JMeter's element defaults to false when the property is absent.
        if el.prop_bool("useExpires") != Some(true) {
            lines.push("use_expires = false".into());
        }
        if el.prop_bool("clearEachIteration") == Some(true) {
            lines.push("clear_each_iteration = true".into());
        }
        if let Some(n) = self.number(el, "maxSize", place).filter(|n| *n >= 1.0) {
            lines.push(format!("max_entries = {}", n.min(1_000_000.0) as u64));
        }
        if el.prop_bool("CacheManager.controlledByThread") == Some(true) {
            self.note(place, "controlled by the thread group: surge keeps the cache across iterations unless clear_each_iteration");
        }
        self.m.cache = Some(lines);
    }

    fn cookie_manager(&mut self, el: &Element, place: &str) {
        let c = &mut self.m.cookies;
        if c.enabled {
            self.note(
                place,
                "another HTTP Cookie Manager: surge keeps one jar per user for the whole plan",
            );
            return;
        }
        c.enabled = true;
        c.clear_each_iteration = el
            .prop_bool("CookieManager.clearEachIteration")
            .unwrap_or(false);
        c.comments.push(place.to_string());
        if !el.collection("CookieManager.cookies").is_empty() {
            self.warn(place, "cookies defined in the manager are not imported (they may hold secrets): the jar starts empty");
        }
        if let Some(p) = el.prop_nonempty("CookieManager.policy") {
            if !matches!(
                p.trim(),
                "standard" | "standard-strict" | "default" | "rfc2965" | "compatibility"
            ) {
                self.note(
                    place,
                    format!("cookie policy {p:?}: surge follows RFC 6265 as browsers do"),
                );
            }
        }
    }

    /// A credential field: a property (`${__P(user)}`) becomes its environment variable; a
    /// literal is not copied (`fallback` names the variable to set instead).
    fn credential_env(&mut self, raw: &str, place: &str, fallback: &str) -> Option<String> {
        let mut problems = Vec::new();
        let pieces = expr::convert(raw, &self.env, &mut problems);
        match pieces.as_slice() {
            [Piece::Prop { name, .. }] => Some(env_name(name)),
            _ if !expr::is_constant(&pieces) => {
                self.warn(place, format!("credentials from variables ({raw:?}, per user) are not supported: not imported"));
                None
            }
            _ => Some(fallback.to_string()),
        }
    }

    fn auth_manager(&mut self, el: &Element, place: &str) {
        let entries = el.collection("AuthManager.auth_list");
        let Some(first) = entries.first() else {
            return;
        };
        if entries.len() > 1 {
            self.warn(
                place,
                format!(
                    "{} credentials by URL: surge sends the first ones to every request",
                    entries.len()
                ),
            );
        }
        let mech = first
            .prop("Authorization.mechanism")
            .unwrap_or_else(|| "BASIC_DIGEST".into());
        let kind = match mech.trim() {
            "DIGEST" => "digest",
            "BASIC" => "basic",
            "BASIC_DIGEST" | "" => {
                self.note(
                    place,
                    "BASIC_DIGEST: surge sends Basic credentials with every request",
                );
                "basic"
            }
            other => {
                self.warn(
                    place,
                    format!(
                        "mechanism {other} is not supported (Basic and Digest are): not imported"
                    ),
                );
                return;
            }
        };
        if self.m.auth.is_some() {
            self.warn(place, "the plan already authenticates with an Authorization header: these credentials are not used");
            return;
        }
        let user = first.prop("Authorization.username").unwrap_or_default();
        let pass = first.prop("Authorization.password").unwrap_or_default();
        let (Some(u), Some(p)) = (
            self.credential_env(&user, place, "SURGE_USERNAME"),
            self.credential_env(&pass, place, "SURGE_PASSWORD"),
        ) else {
            return;
        };
        let literal = !user.contains("${") || !pass.contains("${");
        if literal {
            self.warn(place, format!("the plan's literal credentials are not copied into the scenario: set ${u} and ${p}"));
        }
        if first.prop_nonempty("Authorization.url").is_some() {
            self.note(
                place,
                "credentials for a URL prefix: surge sends them to every request of the plan",
            );
        }
        self.m.auth = Some(AuthOut {
            kind,
            fields: vec![("username_env", u.clone()), ("password_env", p.clone())],
            comments: vec![format!("{place}: {mech}; the user name from ${u}, the password from ${p}; never written here")],
        });
    }

    fn counter(&mut self, el: &Element, place: &str) {
        let name = el.prop("CounterConfig.name").unwrap_or_default();
        if !self.add_var(place, &name) {
            return;
        }
        let mut n = |k: &str| -> Option<i64> {
            let v = el.prop_nonempty(k)?;
            self.constant(&v, place, k)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|f| f as i64)
        };
        let (start, incr, end) = (
            n("CounterConfig.start"),
            n("CounterConfig.incr"),
            n("CounterConfig.end"),
        );
        let mut fields = vec![
            ("kind", q("counter")),
            ("var", q(name.trim())),
            ("start", start.unwrap_or(0).to_string()),
            ("step", incr.unwrap_or(1).to_string()),
        ];
        // JMeter's default maximum is Long.MAX_VALUE: no end.
        if let Some(e) = end.filter(|e| *e < i64::MAX) {
            fields.push(("end", e.to_string()));
        }
        if let Some(f) = el.prop_nonempty("CounterConfig.format") {
            if crate::data::NumFormat::parse(&f).is_some() {
                fields.push(("format", q(&f)));
            } else {
                self.warn(
                    place,
                    format!("format {f:?} is not a number format surge reads: plain numbers"),
                );
            }
        }
        let per_user = el.prop_bool("CounterConfig.per_user").unwrap_or(false);
        fields.push(("share", q(if per_user { "per_thread" } else { "all" })));
        if el.prop_bool("CounterConfig.reset_on_tg_iteration") == Some(true) {
            self.warn(place, "\"reset counter on each thread group iteration\" is not supported: the counter goes on");
        }
        self.m.gen_data.push(GenDataOut {
            fields,
            comments: vec![format!(
                "{place}: one value per iteration, as JMeter's counter under a thread group"
            )],
        });
    }

    fn user_parameters(&mut self, el: &Element, place: &str) {
        let names: Vec<String> = el
            .collection("UserParameters.names")
            .iter()
            .map(|n| n.text.trim().to_string())
            .collect();
        let rows: Vec<Vec<String>> = el
            .collection("UserParameters.thread_values")
            .iter()
            .map(|row| row.children.iter().map(|c| c.text.clone()).collect())
            .collect();
        if names.iter().all(String::is_empty) {
            self.note(place, "names no variable: nothing to import");
            return;
        }
        if rows.is_empty() || rows.iter().any(|r| r.len() != names.len()) {
            self.warn(place, "names and values do not line up: not imported");
            return;
        }
        if rows.iter().flatten().any(|v| v.contains("${")) {
            self.warn(place, "values with functions or variables are kept as written (surge's per-user values are text)");
        }
        for n in &names {
            if !self.add_var(place, n) {
                return;
            }
        }
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let rows_toml: Vec<String> = rows.iter().map(|r| list(r)).collect();
        self.m.gen_data.push(GenDataOut {
            fields: vec![
                ("kind", q("per_user")),
                ("columns", list(&names)),
                ("rows", format!("[{}]", rows_toml.join(", "))),
            ],
            comments: vec![format!(
                "{place}: user n takes column ((n - 1) mod {}) of the values",
                rows.len()
            )],
        });
    }

    fn random_variable(&mut self, el: &Element, place: &str) {
        let name = el.prop("variableName").unwrap_or_default();
        if !self.add_var(place, &name) {
            return;
        }
        let mut n = |k: &str| -> Option<i64> {
            let v = el.prop_nonempty(k)?;
            self.constant(&v, place, k)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|f| f as i64)
        };
        let min = n("minimumValue").unwrap_or(1);
        let max = n("maximumValue").unwrap_or(i64::from(i32::MAX)).max(min);
        let mut fields = vec![
            ("kind", q("random")),
            ("var", q(name.trim())),
            ("min", min.to_string()),
            ("max", max.to_string()),
        ];
        if let Some(f) = el.prop_nonempty("outputFormat") {
            if crate::data::NumFormat::parse(&f).is_some() {
                fields.push(("format", q(&f)));
            }
        }
        let mut comments = vec![format!("{place}: a new value each iteration")];
        if el.prop_nonempty("randomSeed").is_some() {
            comments.push(
                "approximated: the plan's seed is not used; surge's --seed makes a run repeatable"
                    .into(),
            );
        }
        self.m.gen_data.push(GenDataOut { fields, comments });
    }
}

/// The properties a setUp Thread Group sets from its variables, anywhere under `el`:
/// `${__setProperty(p,${v})}` in any field, `props.put("p", vars.get("v"))` (or
/// `props.setProperty`) in a script. Pairs of (property, variable).
pub fn set_properties(el: &Element, out: &mut Vec<(String, String)>) {
    let re = regex::Regex::new(
        r#"__setProperty\(\s*([\w.-]+)\s*,\s*\$\{([\w.-]+)\}|props\.(?:put|setProperty)\(\s*"([\w.-]+)"\s*,\s*vars\.get\(\s*"([\w.-]+)"\s*\)\s*\)"#,
    )
    .expect("a valid expression");
    let mut stack = vec![el];
    while let Some(e) = stack.pop() {
        for c in re.captures_iter(&e.text) {
            let (p, v) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                (Some(p), Some(v), _, _) | (_, _, Some(p), Some(v)) => (p.as_str(), v.as_str()),
                _ => continue,
            };
            if !out.iter().any(|(x, _)| x == p) {
                out.push((p.to_string(), v.to_string()));
            }
        }
        stack.extend(e.children.iter());
    }
}

/// True when a script only sets properties from variables (what a setup group exports).
pub fn only_sets_properties(script: &str) -> bool {
    let re = regex::Regex::new(
        r#"^props\.(?:put|setProperty)\(\s*"[\w.-]+"\s*,\s*vars\.get\(\s*"[\w.-]+"\s*\)\s*\)\s*;?$"#,
    )
    .expect("a valid expression");
    let lines: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    !lines.is_empty() && lines.iter().all(|l| re.is_match(l))
}
