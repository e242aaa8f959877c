//! A Markdown summary of the checks (for `$GITHUB_STEP_SUMMARY` and the like): a headline, one
//! table per suite, and the note's section. Text from servers may hold anything, so every cell
//! and line is made safe to read as Markdown.

use std::fmt::Write as _;

use super::{CaseStatus, Note, Suite};

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
        note_section(n, &mut m);
    }
    m
}

/// The note as a Markdown section: its headline, a table of its facts, its recommendation.
fn note_section(n: &Note, m: &mut String) {
    let _ = writeln!(m, "### {}\n", md_cell(&n.title));
    for l in &n.headline {
        // Two trailing spaces: a line break, so the lines read as the terminal prints them.
        let _ = writeln!(m, "{}  ", md_text(l));
    }
    if !n.facts.is_empty() {
        m.push_str("\n| fact | value |\n| --- | --- |\n");
        for (k, v) in &n.facts {
            let _ = writeln!(m, "| {} | {} |", md_cell(k), md_cell(&md_text(v)));
        }
    }
    if let Some(c) = &n.recommendation {
        let _ = writeln!(m, "\n{}", md_text(c));
    }
    m.push('\n');
}
