//! JUnit XML, written with `quick-xml` (which escapes every name, attribute and text): one
//! `testsuite` per suite with a `testcase` per check (`failure` or `skipped` when it did not
//! pass), and a note as a last `testsuite` of no test case, with `properties` and `system-out`.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{CaseStatus, Note, Suite};

/// Characters XML 1.0 forbids (control characters but tab and line ends, U+FFFE, U+FFFF): a
/// check's text may hold anything a server answered, and one of them would make the file
/// unreadable, so they are dropped.
fn xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{FFFE}'
            || c == '\u{FFFF}'
    };
    if s.contains(forbidden) {
        s.chars()
            .filter(|c| !forbidden(*c))
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// The document being written: writing into memory cannot fail, so the writer's results are
/// not carried around.
struct Doc(Writer<Vec<u8>>);

impl Doc {
    fn put(&mut self, e: Event<'_>) {
        // A Vec<u8> never refuses a write.
        let _ = self.0.write_event(e);
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.put(Event::Start(element(name, attrs)));
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.put(Event::Empty(element(name, attrs)));
    }

    fn end(&mut self, name: &str) {
        self.put(Event::End(BytesEnd::new(name)));
    }

    /// `<name>text</name>`.
    fn text_element(&mut self, name: &str, text: &str) {
        self.start(name, &[]);
        self.put(Event::Text(BytesText::new(&xml_chars(text))));
        self.end(name);
    }
}

fn element<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut e = BytesStart::new(name);
    for (k, v) in attrs {
        e.push_attribute((*k, xml_chars(v).as_ref()));
    }
    e
}

/// JUnit XML of `suites`, with `note` riding along as a suite of no test case.
pub fn junit(suites: &[Suite], note: Option<&Note>) -> String {
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let fails: usize = suites.iter().map(|s| s.count(CaseStatus::Fail)).sum();
    let skips: usize = suites.iter().map(|s| s.count(CaseStatus::Skip)).sum();
    let mut d = Doc(Writer::new_with_indent(Vec::new(), b' ', 2));
    d.put(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let (total, fails, skips) = (total.to_string(), fails.to_string(), skips.to_string());
    d.start(
        "testsuites",
        &[
            ("name", "surge"),
            ("tests", &total),
            ("failures", &fails),
            ("errors", "0"),
            ("skipped", &skips),
            ("time", "0"),
        ],
    );
    for s in suites {
        let (n, f, k) = (
            s.cases.len().to_string(),
            s.count(CaseStatus::Fail).to_string(),
            s.count(CaseStatus::Skip).to_string(),
        );
        d.start(
            "testsuite",
            &[
                ("name", &s.name),
                ("tests", &n),
                ("failures", &f),
                ("errors", "0"),
                ("skipped", &k),
                ("time", "0"),
            ],
        );
        for c in &s.cases {
            d.start(
                "testcase",
                &[("classname", &s.name), ("name", &c.name), ("time", "0")],
            );
            match c.status {
                CaseStatus::Pass => d.text_element("system-out", &c.detail),
                CaseStatus::Fail => {
                    d.start(
                        "failure",
                        &[("message", &c.observed), ("type", "surge.gate")],
                    );
                    d.put(Event::Text(BytesText::new(&xml_chars(&c.detail))));
                    d.end("failure");
                }
                CaseStatus::Skip => d.empty("skipped", &[("message", &c.detail)]),
            }
            d.end("testcase");
        }
        d.end("testsuite");
    }
    if let Some(n) = note {
        note_suite(&mut d, n);
    }
    d.end("testsuites");
    let mut x = String::from_utf8_lossy(&d.0.into_inner()).into_owned();
    x.push('\n');
    x
}

/// The note as a JUnit `testsuite` with no test case: its lines and facts as `properties`, its
/// headline and recommendation as the suite's `system-out`.
fn note_suite(d: &mut Doc, n: &Note) {
    d.start(
        "testsuite",
        &[
            ("name", &n.title),
            ("tests", "0"),
            ("failures", "0"),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", "0"),
        ],
    );
    d.start("properties", &[]);
    let headline = (n.headline.iter().enumerate()).map(|(i, l)| (format!("headline_{}", i + 1), l));
    let facts = n.facts.iter().map(|(k, v)| (Note::property_name(k), v));
    let advice = (n.recommendation.iter()).map(|c| ("recommendation".to_string(), c));
    for (k, v) in headline.chain(facts).chain(advice) {
        d.empty("property", &[("name", &k), ("value", v)]);
    }
    d.end("properties");
    let mut out = n.headline.join("\n");
    if let Some(c) = &n.recommendation {
        out.push('\n');
        out.push_str(c);
    }
    d.text_element("system-out", &out);
    d.end("testsuite");
}
