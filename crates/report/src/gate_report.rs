//! Verdicts of thresholds and baseline checks as CI reads them: a terminal table, JUnit XML
//! (one test case per threshold or comparison), a Markdown table for job summaries, and
//! `thresholds.json` beside `result.json`. A [`Note`] (the 429 diagnosis, in the words the
//! terminal prints) rides along in JUnit and Markdown without being a check.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use surge_analysis::baseline::{Comparison, Status};
use surge_analysis::threshold_eval::Verdict;

pub use surge_record::filekind::THRESHOLDS_SCHEMA;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Passed.
    Pass,
    /// Failed (threshold broken, regression).
    Fail,
    /// Not evaluated.
    Skip,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Shown as the test name.
    pub name: String,
    /// Pass, fail or skip.
    pub status: CaseStatus,
    /// The measured value (or the change).
    pub observed: String,
    /// The sentence explaining the verdict.
    pub detail: String,
}

/// A named group of cases (JUnit's testsuite).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suite {
    /// `thresholds` or `baseline`, with the scenario.
    pub name: String,
    /// Its cases.
    pub cases: Vec<Case>,
}

impl Suite {
    /// Thresholds of a run.
    pub fn thresholds(name: &str, v: &[Verdict]) -> Suite {
        Suite {
            name: name.into(),
            cases: v
                .iter()
                .map(|v| Case {
                    name: if v.name == v.expr {
                        v.expr.clone()
                    } else {
                        format!("{}: {}", v.name, v.expr)
                    },
                    status: if v.passed {
                        CaseStatus::Pass
                    } else {
                        CaseStatus::Fail
                    },
                    observed: v.observed_text.clone(),
                    detail: v.detail.clone(),
                })
                .collect(),
        }
    }

    /// Comparisons with a baseline.
    pub fn baseline(name: &str, c: &[Comparison]) -> Suite {
        Suite {
            name: name.into(),
            cases: c
                .iter()
                .map(|c| Case {
                    name: format!("{} {}", c.label, c.metric),
                    status: match c.status {
                        Status::Pass => CaseStatus::Pass,
                        Status::Regression => CaseStatus::Fail,
                        Status::Skipped => CaseStatus::Skip,
                    },
                    observed: c.observed.clone(),
                    detail: c.detail.clone(),
                })
                .collect(),
        }
    }

    fn count(&self, s: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }
}

/// Information that rides with the verdicts in JUnit and Markdown: the 429 diagnosis, phrased
/// where it is phrased for the terminal. Never a check: it neither passes nor fails, and counts
/// in no total.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Note {
    /// Its heading (`429 diagnosis`).
    pub title: String,
    /// The lines the terminal prints, verbatim (JUnit properties `headline_1`, `headline_2`, …).
    pub headline: Vec<String>,
    /// Short facts (name → value), e.g. `limit measured` → `token bucket: …`.
    pub facts: Vec<(String, String)>,
    /// The recommendation, or why there is none (JUnit property `recommendation`).
    pub recommendation: Option<String>,
}

impl Note {
    /// `limit measured` → `limit_measured`: a fact's name as a JUnit property name.
    fn property_name(name: &str) -> String {
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }

    /// The note as a JUnit `testsuite` with no test case: its lines and facts as `properties`,
    /// its headline and recommendation as the suite's `system-out`.
    fn junit(&self, x: &mut String) {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0\">\n    <properties>",
            xml_escape(&self.title)
        );
        let headline =
            (self.headline.iter().enumerate()).map(|(i, l)| (format!("headline_{}", i + 1), l));
        let facts = self.facts.iter().map(|(k, v)| (Self::property_name(k), v));
        let advice = (self.recommendation.iter()).map(|c| ("recommendation".to_string(), c));
        for (k, v) in headline.chain(facts).chain(advice) {
            let _ = writeln!(
                x,
                "      <property name=\"{}\" value=\"{}\"/>",
                xml_escape(&k),
                xml_escape(v)
            );
        }
        let mut out = self.headline.join("\n");
        if let Some(c) = &self.recommendation {
            out.push('\n');
            out.push_str(c);
        }
        let _ = writeln!(
            x,
            "    </properties>\n    <system-out>{}</system-out>\n  </testsuite>",
            xml_escape(&out)
        );
    }

    /// The note as a Markdown section: its headline, a table of its facts, its recommendation.
    fn markdown(&self, m: &mut String) {
        let _ = writeln!(m, "### {}\n", md_cell(&self.title));
        for l in &self.headline {
            // Two trailing spaces: a line break, so the lines read as the terminal prints them.
            let _ = writeln!(m, "{}  ", md_text(l));
        }
        if !self.facts.is_empty() {
            m.push_str("\n| fact | value |\n| --- | --- |\n");
            for (k, v) in &self.facts {
                let _ = writeln!(m, "| {} | {} |", md_cell(k), md_cell(&md_text(v)));
            }
        }
        if let Some(c) = &self.recommendation {
            let _ = writeln!(m, "\n{}", md_text(c));
        }
        m.push('\n');
    }
}

/// Escapes text for XML attributes and content (`quick-xml`); drops characters XML 1.0 forbids.
pub fn xml_escape(s: &str) -> String {
    let forbidden = |c: char| {
        ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{FFFE}'
            || c == '\u{FFFF}'
    };
    if s.contains(forbidden) {
        let allowed: String = s.chars().filter(|c| !forbidden(*c)).collect();
        quick_xml::escape::escape(allowed.as_str()).into_owned()
    } else {
        quick_xml::escape::escape(s).into_owned()
    }
}

/// JUnit XML: `testsuites` › `testsuite` › `testcase` with `failure` or `skipped`; a note as a
/// last `testsuite` of no test case, with `properties` and `system-out`.
pub fn junit(suites: &[Suite], note: Option<&Note>) -> String {
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let fails: usize = suites.iter().map(|s| s.count(CaseStatus::Fail)).sum();
    let skips: usize = suites.iter().map(|s| s.count(CaseStatus::Skip)).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<testsuites name=\"surge\" tests=\"{total}\" failures=\"{fails}\" errors=\"0\" skipped=\"{skips}\" time=\"0\">");
    for s in suites {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"0\">",
            xml_escape(&s.name),
            s.cases.len(),
            s.count(CaseStatus::Fail),
            s.count(CaseStatus::Skip)
        );
        for c in &s.cases {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                xml_escape(&s.name),
                xml_escape(&c.name)
            );
            match c.status {
                CaseStatus::Pass => {
                    let _ = writeln!(
                        x,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml_escape(&c.detail)
                    );
                }
                CaseStatus::Fail => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{}\" type=\"surge.gate\">{}</failure>\n    </testcase>",
                        xml_escape(&c.observed),
                        xml_escape(&c.detail)
                    );
                }
                CaseStatus::Skip => {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(&c.detail)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    if let Some(n) = note {
        n.junit(&mut x);
    }
    x.push_str("</testsuites>\n");
    x
}

fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Running text for Markdown: on one line, no `<` that could open an HTML tag (a 429 body's
/// words may be anything), and no character that would start a heading, a list or a quote where
/// the text begins.
fn md_text(s: &str) -> String {
    let one = s.replace(['\n', '\r'], " ").replace('<', "&lt;");
    match one.chars().next() {
        Some('#' | '>' | '-' | '+' | '*' | '|') => format!("\\{one}"),
        _ => one,
    }
}

fn mark(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Pass => "✅ pass",
        CaseStatus::Fail => "❌ FAIL",
        CaseStatus::Skip => "⏭️ skipped",
    }
}

/// A Markdown summary (for `$GITHUB_STEP_SUMMARY` and the like): a headline, one table per
/// suite, and the note's section.
pub fn markdown(title: &str, suites: &[Suite], note: Option<&Note>) -> String {
    let fails: usize = suites.iter().map(|s| s.count(CaseStatus::Fail)).sum();
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let mut m = format!("## {}\n\n", md_cell(title));
    let _ = writeln!(
        m,
        "{}: {} of {total} checks failed\n",
        if fails == 0 {
            "✅ **passed**"
        } else {
            "❌ **failed**"
        },
        fails
    );
    for s in suites {
        let _ = writeln!(
            m,
            "### {}\n\n| Check | Observed | Verdict | Detail |\n| --- | --- | --- | --- |",
            md_cell(&s.name)
        );
        for c in &s.cases {
            let _ = writeln!(
                m,
                "| `{}` | {} | {} | {} |",
                md_cell(&c.name.replace('`', "'")),
                md_cell(&c.observed),
                mark(c.status),
                md_cell(&c.detail)
            );
        }
        m.push('\n');
    }
    if let Some(n) = note {
        n.markdown(&mut m);
    }
    m
}

/// A plain table for the terminal.
pub fn terminal(suites: &[Suite]) -> String {
    let mut t = String::new();
    for s in suites {
        if s.cases.is_empty() {
            continue;
        }
        let w = s
            .cases
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, 60);
        let _ = writeln!(t, "\n{}", s.name);
        for c in &s.cases {
            let tag = match c.status {
                CaseStatus::Pass => "pass",
                CaseStatus::Fail => "FAIL",
                CaseStatus::Skip => "skip",
            };
            let _ = writeln!(
                t,
                "  {tag}  {:<w$}  {:>12}  {}",
                c.name, c.observed, c.detail
            );
        }
    }
    t
}

#[derive(Serialize)]
struct ThresholdsFile<'a> {
    schema: &'static str,
    schema_version: u32,
    passed: bool,
    stop_reason: &'a str,
    verdicts: &'a [Verdict],
}

/// Writes `thresholds.json` into `dir`.
///
/// # Errors
/// I/O errors naming the file.
pub fn write_thresholds_json(
    dir: &Path,
    verdicts: &[Verdict],
    stop_reason: &str,
) -> std::io::Result<()> {
    let p = dir.join("thresholds.json");
    let f = ThresholdsFile {
        schema: THRESHOLDS_SCHEMA,
        schema_version: 1,
        passed: verdicts.iter().all(|v| v.passed),
        stop_reason,
        verdicts,
    };
    let text = serde_json::to_string_pretty(&f).map_err(std::io::Error::other)?;
    std::fs::write(&p, text)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
}

/// A CI output file that could not be written; displays as `--junit FILE: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {}: {source}", path.display())]
pub struct CiOutputError {
    /// The flag that named the file (`--junit`, `--summary-md`).
    pub flag: &'static str,
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `--junit` and `--summary-md` files when asked.
///
/// # Errors
/// [`CiOutputError`] naming the flag and file.
pub fn write_ci_outputs(
    junit_path: Option<&Path>,
    md_path: Option<&Path>,
    title: &str,
    suites: &[Suite],
    note: Option<&Note>,
) -> Result<(), CiOutputError> {
    let write = |flag: &'static str, p: &Path, text: String| {
        // A folder that does not exist yet is made, as for --out.
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(p, text))
            .map_err(|source| CiOutputError {
                flag,
                path: p.to_path_buf(),
                source,
            })
    };
    if let Some(p) = junit_path {
        write("--junit", p, junit(suites, note))?;
    }
    if let Some(p) = md_path {
        write("--summary-md", p, markdown(title, suites, note))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suites() -> Vec<Suite> {
        vec![Suite {
            name: "thresholds <mix & match>".into(),
            cases: vec![
                Case {
                    name: "p95(\"a<b\") < 800ms".into(),
                    status: CaseStatus::Pass,
                    observed: "12ms".into(),
                    detail: "ok & fine".into(),
                },
                Case {
                    name: "rate(429) < 1%".into(),
                    status: CaseStatus::Fail,
                    observed: "3%".into(),
                    detail: "3% breaks < 1%\u{1}".into(),
                },
                Case {
                    name: "x | y".into(),
                    status: CaseStatus::Skip,
                    observed: "-".into(),
                    detail: "no data".into(),
                },
            ],
        }]
    }

    #[test]
    fn junit_is_well_formed_with_counts_and_escapes() {
        use quick_xml::events::Event;
        let x = junit(&suites(), None);
        let mut r = quick_xml::Reader::from_str(&x);
        let (mut open, mut cases, mut failures, mut skipped, mut names) =
            (Vec::new(), 0, 0, 0, Vec::new());
        loop {
            match r.read_event().expect("well-formed XML") {
                Event::Start(e) => {
                    let tag = String::from_utf8_lossy(e.name().into_inner()).to_string();
                    match tag.as_str() {
                        "testcase" => {
                            cases += 1;
                            let raw = String::from_utf8_lossy(
                                &e.try_get_attribute("name").unwrap().unwrap().value,
                            )
                            .to_string();
                            names.push(quick_xml::escape::unescape(&raw).unwrap().to_string());
                        }
                        "failure" => failures += 1,
                        _ => {}
                    }
                    open.push(tag);
                }
                Event::Empty(e) if e.name().into_inner() == b"skipped" => skipped += 1,
                Event::End(e) => assert_eq!(
                    open.pop().unwrap(),
                    String::from_utf8_lossy(e.name().into_inner())
                ),
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(open.is_empty());
        assert_eq!((cases, failures, skipped), (3, 1, 1));
        assert_eq!(names[0], "p95(\"a<b\") < 800ms");
        assert!(x.contains(
            "<testsuites name=\"surge\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""
        ));
        assert!(!x.contains('\u{1}'));
    }

    fn note() -> Note {
        Note {
            title: "429 diagnosis".into(),
            headline: vec!["first <line> & more".into(), "→ pace at ≤ 5 req/s".into()],
            facts: vec![("limit measured".into(), "a | b".into())],
            recommendation: Some("# not a heading".into()),
        }
    }

    #[test]
    fn a_note_is_no_check_in_junit_or_markdown() {
        let x = junit(&suites(), Some(&note()));
        assert!(x.contains("<testsuites name=\"surge\" tests=\"3\" failures=\"1\""));
        assert!(x.contains("<testsuite name=\"429 diagnosis\" tests=\"0\" failures=\"0\""));
        assert!(
            x.contains("<property name=\"headline_1\" value=\"first &lt;line&gt; &amp; more\"/>")
        );
        assert!(x.contains("<property name=\"limit_measured\" value=\"a | b\"/>"));
        assert!(x.contains("<system-out>first &lt;line&gt; &amp; more\n→ pace at ≤ 5 req/s\n# not a heading</system-out>"));
        let mut r = quick_xml::Reader::from_str(&x);
        while !matches!(
            r.read_event().expect("well-formed"),
            quick_xml::events::Event::Eof
        ) {}

        let m = markdown("surge: mix", &suites(), Some(&note()));
        assert!(m.contains("❌ **failed**: 1 of 3 checks failed"));
        assert!(
            m.contains("### 429 diagnosis\n\nfirst &lt;line> & more  \n→ pace at ≤ 5 req/s  \n")
        );
        assert!(m.contains("| limit measured | a \\| b |"));
        assert!(m.contains("\n\\# not a heading\n"), "{m}");
    }

    #[test]
    fn markdown_escapes_pipes_and_says_the_verdict() {
        let m = markdown("surge: mix", &suites(), None);
        assert!(m.contains("❌ **failed**: 1 of 3 checks failed"));
        assert!(m.contains("`x \\| y`"));
        assert!(m.lines().filter(|l| l.starts_with("| `")).count() == 3);
    }

    #[test]
    fn a_share_row_keeps_its_written_name_and_shows_its_change() {
        use surge_analysis::baseline::{compare, parse_allowances};
        use surge_record::synthetic::{cell, from_cells};
        use surge_record::StatusKey;
        let run = |n429| {
            from_cells(
                vec![
                    cell("publish", StatusKey::Http(200), 400, |_| 2_000),
                    cell("publish", StatusKey::Http(429), n429, |_| 1_000),
                ],
                vec![],
                60.0,
            )
        };
        let labels = vec!["publish".to_string()];
        let allow = parse_allowances("rate(429)=+2pp", &labels).unwrap();
        let rows = compare(&run(0), &run(40), &allow, 0.99);
        let case = &Suite::baseline("b", &rows).cases[0];
        assert_eq!(case.name, "publish rate(429)");
        assert_ne!(case.observed, "-");
    }
}
