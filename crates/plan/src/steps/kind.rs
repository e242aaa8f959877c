//! What a step table is: the one key that names its kind (`loop`, `if`, `transaction`, …), read
//! once into a [`Kind`], and the keys each kind takes. The compiler matches on a `Kind`
//! exhaustively, so a kind added here has to say what it compiles to: none falls through to
//! `once`.

use std::fmt;

/// Declares [`Kind`], every kind's key and the list of them all from one table, so that the
/// three cannot disagree.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident = $key:literal,)+) => {
        /// The kind of a step table, named by one of its keys.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Kind {
            $($(#[$doc])* $kind,)+
        }

        impl Kind {
            /// Every kind, in the order error messages list them.
            pub(super) const ALL: &'static [Kind] = &[$(Kind::$kind,)+];

            /// The key that names this kind in a step table.
            pub(super) fn key(self) -> &'static str {
                match self {
                    $(Kind::$kind => $key,)+
                }
            }
        }
    };
}

kinds! {
    /// `{ transaction = "name", steps = [...] }`: a transaction around its steps.
    Transaction = "transaction",
    /// `{ loop = 3, steps = [...] }`: a counted loop.
    Loop = "loop",
    /// `{ while = "cond", max = 50, steps = [...] }`.
    While = "while",
    /// `{ if = "cond", steps = [...] }`.
    If = "if",
    /// `{ once = true, steps = [...] }`: the first pass only (of the enclosing loop).
    Once = "once",
    /// `{ request = "label" }`: one request, as a bare label is.
    Request = "request",
    /// `{ interleave = true, steps = [...] }`: one item per pass, in turn.
    Interleave = "interleave",
    /// `{ random = true, steps = [...] }`: one item per pass, at random.
    Random = "random",
    /// `{ random_order = true, steps = [...] }`: every item, in a new order each pass.
    RandomOrder = "random_order",
    /// `{ percent = 25, steps = [...] }`: a Throughput Controller's share of passes.
    Percent = "percent",
    /// `{ total = 10, steps = [...] }`: a Throughput Controller's first passes.
    Total = "total",
    /// `{ switch = "{var}", steps = [...] }`: the item the value names.
    Switch = "switch",
    /// `{ foreach = "var", as = "item", steps = [...] }`.
    Foreach = "foreach",
    /// `{ rendezvous = "name", users = 10, timeout = "5s" }`: a Synchronizing Timer.
    Rendezvous = "rendezvous",
    /// `{ during = "10s", steps = [...] }`: a Runtime Controller.
    During = "during",
}

impl Kind {
    /// The kinds whose keys `t` has, in [`Kind::ALL`] order: a step table names exactly one.
    pub(super) fn named_in(t: &toml::Table) -> Vec<Kind> {
        Kind::ALL
            .iter()
            .copied()
            .filter(|k| t.contains_key(k.key()))
            .collect()
    }

    /// Every kind's key, as a list for messages: `transaction, loop, while, …`.
    pub(super) fn listed() -> String {
        Kind::ALL
            .iter()
            .map(|k| k.key())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The keys a step of this kind takes (any step may also have a `name`).
    pub(super) fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Transaction => &["transaction", "steps", "exclude_pauses", "parent_sample"],
            Kind::Loop => &["loop", "steps"],
            Kind::While => &["while", "steps", "max"],
            Kind::If => &["if", "steps"],
            Kind::Once => &["once", "steps"],
            Kind::Request => &["request"],
            Kind::Interleave => &["interleave", "steps", "across_users"],
            Kind::Random => &["random", "steps"],
            Kind::RandomOrder => &["random_order", "steps"],
            Kind::Percent => &["percent", "steps", "per_user"],
            Kind::Total => &["total", "steps", "per_user"],
            Kind::Switch => &["switch", "steps"],
            Kind::Foreach => &["foreach", "steps", "as"],
            Kind::Rendezvous => &["rendezvous", "users", "timeout"],
            Kind::During => &["during", "steps"],
        }
    }

    /// True when the step holds other steps (`steps = [...]`, required).
    pub(super) fn has_body(self) -> bool {
        self.keys().contains(&"steps")
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Kind;

    /// The error of a scenario whose `steps` are `steps` (requests `a` and `b`), or "" when it
    /// loads.
    fn error(steps: &str) -> String {
        let scen = format!(
            "name = \"n\"\nsteps = [{steps}]\n[target]\nbase_url = \"http://127.0.0.1:1\"\n\
             [[request]]\nname = \"a\"\npath = \"/a\"\n[[request]]\nname = \"b\"\npath = \"/b\"\n\
             [load]\nthreads = 2\n"
        );
        crate::load_str(&scen, Path::new("t.toml"), &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// A step of each kind that compiles; the match makes a new kind bring one.
    fn example(k: Kind) -> &'static str {
        match k {
            Kind::Transaction => "{ transaction = \"t\", exclude_pauses = true, steps = [\"a\"] }",
            Kind::Loop => "{ loop = 2, steps = [\"a\"] }",
            Kind::While => "{ while = \"true\", max = 3, steps = [\"a\"] }",
            Kind::If => "{ if = \"true\", steps = [\"a\"] }",
            Kind::Once => "{ once = true, steps = [\"a\"] }",
            Kind::Request => "{ request = \"a\" }",
            Kind::Interleave => {
                "{ interleave = true, across_users = true, steps = [\"a\", \"b\"] }"
            }
            Kind::Random => "{ random = true, steps = [\"a\", \"b\"] }",
            Kind::RandomOrder => "{ random_order = true, steps = [\"a\", \"b\"] }",
            Kind::Percent => "{ percent = 25, per_user = false, steps = [\"a\"] }",
            Kind::Total => "{ total = 10, steps = [\"a\"] }",
            Kind::Switch => "{ switch = \"1\", steps = [\"a\", \"b\"] }",
            Kind::Foreach => "{ foreach = [\"1\", \"2\"], as = \"item\", steps = [\"a\"] }",
            Kind::Rendezvous => "{ rendezvous = \"r\", users = 2, timeout = \"1s\" }, \"a\"",
            Kind::During => "{ during = \"1s\", steps = [\"a\"] }",
        }
    }

    #[test]
    fn every_kind_has_a_key_of_its_own_and_compiles() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert!(!Kind::ALL[..i].iter().any(|o| o.key() == k.key()), "{k}");
            assert_eq!(error(example(*k)), "", "{k}");
        }
    }

    #[test]
    fn a_step_table_names_one_kind_and_only_its_keys() {
        let every = Kind::listed();
        let table = [
            (
                "{ lop = 3 }",
                format!("steps[0]: needs exactly one of {every}"),
            ),
            (
                "{ loop = 3, if = \"true\", steps = [\"a\"] }",
                format!("steps[0]: needs exactly one of {every}"),
            ),
            (
                "{ loop = 2, step = [\"a\"] }",
                "steps[0].step: unknown key in this loop step; did you mean \"steps\"?".into(),
            ),
            (
                "{ random = true, across_users = true, steps = [\"a\"] }",
                "steps[0].across_users: unknown key in this random step".into(),
            ),
            (
                "{ request = \"a\", steps = [\"b\"] }",
                "steps[0].steps: unknown key in this request step".into(),
            ),
            (
                "{ once = false, steps = [\"a\"] }",
                "steps[0].once: is written once = true".into(),
            ),
            (
                "{ loop = 2 }",
                "steps[0].steps: is required: the steps inside".into(),
            ),
            (
                "{ steps = [\"a\"], lop = 3 }",
                "steps[0].lop: unknown key in this block".into(),
            ),
        ];
        for (steps, want) in table {
            let e = error(&format!("{steps}, \"a\""));
            assert!(e.contains(&want), "{steps}: {e}");
        }
        assert!(every.starts_with("transaction, loop, while, if, once, request, interleave"));
    }
}
