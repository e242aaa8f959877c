//! The next steps surge prints, as commands a reader can paste as they are: the scenario's own
//! file as it was given, the real path of the result or `limit.json` to pace from, `--simulate`
//! when the run was simulated, each word quoted for a POSIX shell where it needs it. What was just
//! done is never advised again: a run paced from a file is told whether the pace held, not to
//! probe; a run whose answers were all 404 is told about the 404s.

use std::path::Path;

use surge_record::result::{RunResult, TargetKind};
use surge_record::sample::StatusKey;

/// What a next step needs to name real things, read from the run it follows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Next {
    /// The scenario file, as given on the command line (empty when unknown).
    pub scenario: String,
    /// The run was simulated (`--simulate`), so its next run should be too.
    pub simulated: bool,
    /// The run's `result.json`, where it is known (a pace can be read from it).
    pub result: Option<String>,
    /// The file the run's pace came from (`--pace-from`, `on_429.rate = "from:…"`).
    pub paced_from: Option<String>,
    /// Every answer was 404 and none was expected: this many.
    pub all_not_found: Option<u64>,
    /// The built-in mock answered.
    pub mock: bool,
}

impl Next {
    /// The next steps of run `r`, whose `result.json` is at `result` when known.
    pub fn of(r: &RunResult, result: Option<&Path>) -> Next {
        let answers: u64 = r
            .totals
            .by_status
            .iter()
            .filter(|(k, _)| !matches!(k, StatusKey::Error(_)))
            .map(|(_, n)| n)
            .sum();
        let not_found = r
            .totals
            .by_status
            .get(&StatusKey::Http(404))
            .copied()
            .unwrap_or(0);
        Next {
            scenario: r.scenario.file.clone(),
            simulated: r.simulated,
            result: result.map(|p| p.display().to_string()),
            paced_from: r.plan.paced_from.clone(),
            all_not_found: (not_found > 0
                && not_found == answers
                && r.plan.expected_answers(&r.cells) == 0)
                .then_some(not_found),
            mock: r.target.kind == TargetKind::Mock,
        }
    }

    /// `surge probe SCENARIO [--simulate]`, or how to get there from a JMeter plan.
    pub fn probe(&self) -> String {
        let lower = self.scenario.to_ascii_lowercase();
        if lower.ends_with(".toml") {
            let mut words = vec!["surge", "probe", self.scenario.as_str()];
            if self.simulated {
                words.push("--simulate");
            }
            format!("`{}`", command(&words))
        } else if lower.ends_with(".jmx") {
            format!(
                "`{}`, then `surge probe` on the scenario it writes",
                command(&["surge", "import", self.scenario.as_str()])
            )
        } else {
            "`surge probe` on the run's scenario".into()
        }
    }

    /// `surge run SCENARIO --pace-from FILE [--simulate]`, when the scenario is known.
    pub fn run_paced(&self, from: &str) -> String {
        if self.scenario.is_empty() {
            return format!("`--pace-from {}` on the run's scenario", quote(from));
        }
        let mut words = vec!["surge", "run", self.scenario.as_str(), "--pace-from", from];
        if self.simulated {
            words.push("--simulate");
        }
        format!("`{}`", command(&words))
    }

    /// Pacing from this run's result: the command, or where to find the file.
    pub fn run_paced_from_result(&self) -> String {
        match &self.result {
            Some(r) => self.run_paced(r),
            None if self.scenario.is_empty() => "`--pace-from` and this run's result.json".into(),
            None => {
                let mut words = vec!["surge", "run", self.scenario.as_str()];
                if self.simulated {
                    words.push("--simulate");
                }
                format!(
                    "`{} --pace-from` and this run's result.json",
                    command(&words)
                )
            }
        }
    }

    /// The arrow line of a run with no 429, when it says something better than "probe": the
    /// pace held, or every answer was 404.
    pub fn unthrottled_arrow(&self) -> Option<String> {
        if let Some(n) = self.all_not_found {
            return Some(format!("→ {}", self.not_found_sentence(n)));
        }
        self.paced_from
            .as_ref()
            .map(|f| format!("→ the pace from {} held: no 429s.", quote(f)))
    }

    /// Why every answer was 404, and where to look.
    pub fn not_found_sentence(&self, n: u64) -> String {
        let all = if n == 1 {
            "the one answer was 404".to_string()
        } else {
            format!("all {n} answers were 404")
        };
        let mock = if self.mock {
            " The built-in mock knows only the flow ids of its own preset (the ids \
             `surge mock --export-flow-ids FILE` writes)."
        } else {
            ""
        };
        format!(
            "{all} (not found): the target does not know these paths or ids, so nothing here \
             says where a limit is; check the URLs and the data file.{mock}"
        )
    }
}

/// `s` as one word for a POSIX shell: as it is when every character is one a shell takes
/// literally, else in single quotes (a `'` inside written `'\''`).
pub fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Words joined into one command line, each quoted where it needs it.
pub fn command(words: &[&str]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_where_a_shell_needs_it() {
        assert_eq!(
            command(&["surge", "run", "my scenarios/a'b.toml", "--simulate"]),
            r#"surge run 'my scenarios/a'\''b.toml' --simulate"#
        );
        assert_eq!(
            quote("reports/probe-seed/limit.json"),
            "reports/probe-seed/limit.json"
        );
    }

    #[test]
    fn a_jmx_plan_is_imported_before_it_is_probed() {
        let n = Next {
            scenario: "plan.jmx".into(),
            ..Next::default()
        };
        assert!(
            n.probe().starts_with("`surge import plan.jmx`"),
            "{}",
            n.probe()
        );
    }
}
