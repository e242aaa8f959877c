//! Wording shared by every output: counts in words (`1 user`, `2 users`) and "did you mean"
//! hints for a misspelt name. Plain functions on strings; imports nothing of surge.

/// `1 user`, `2 users`, `0 retries`: a count and its noun, singular for exactly one. Every
/// output that counts things in words says it this way (never "1 users" or "user(s)").
pub fn plural(n: u64, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ if noun.ends_with(['s', 'x', 'z']) || noun.ends_with("ch") || noun.ends_with("sh") => {
            format!("{n} {noun}es")
        }
        _ => format!("{n} {noun}s"),
    }
}

/// The option closest to `word` by edit distance (`strsim`'s Levenshtein), when it is close
/// enough to be a likely misspelling: at most 2 edits, or a third of the word's length.
pub fn closest<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    options
        .into_iter()
        .map(|o| (strsim::levenshtein(word, o), o))
        .min()
        .filter(|(d, _)| *d <= 2.max(word.chars().count() / 3))
        .map(|(_, o)| o)
}

/// `; did you mean "publish"?` for the closest option, or nothing.
pub fn did_you_mean<'a>(word: &str, options: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, options).map_or(String::new(), |o| format!("; did you mean {o:?}?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_is_singular_for_one_only() {
        assert_eq!(plural(1, "user"), "1 user");
        assert_eq!(plural(0, "user"), "0 users");
        assert_eq!(plural(4, "token"), "4 tokens");
        assert_eq!(plural(1, "retry"), "1 retry");
        assert_eq!(plural(3, "retry"), "3 retries");
        assert_eq!(plural(2, "day"), "2 days");
        assert_eq!(plural(2, "search"), "2 searches");
        assert_eq!(plural(3, "process"), "3 processes");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let fields = ["threads", "ramp_up", "loops"];
        assert_eq!(closest("treads", fields), Some("threads"));
        assert_eq!(closest("ramp-up", fields), Some("ramp_up"));
        assert_eq!(closest("duration", fields), None);
        assert_eq!(did_you_mean("lops", fields), "; did you mean \"loops\"?");
        assert_eq!(did_you_mean("x", fields), "");
    }
}
