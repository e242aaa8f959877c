//! A small XML tree for `.jmx` files (quick-xml underneath), and readers for JMeter's property
//! forms: `stringProp`, `intProp`, `longProp`, `boolProp`, `floatProp`, `doubleProp` (whose name
//! and value are child elements), `elementProp` and `collectionProp`.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One element: its tag, attributes, child elements, text, and where it starts.
#[derive(Debug, Clone, Default)]
pub struct Element {
    /// Tag name (`ThreadGroup`, `stringProp`, `hashTree`, …).
    pub tag: String,
    /// Attributes, in file order, unescaped.
    pub attrs: Vec<(String, String)>,
    /// Child elements, in file order.
    pub children: Vec<Element>,
    /// Text content (entities resolved, CDATA included).
    pub text: String,
    /// 1-based line of the start tag.
    pub line: usize,
}

/// A malformed file: what, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// 1-based (line, column) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    let before = &text[..o];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// The byte offset where each line starts, so that an element's line is a binary search, not a
/// scan from the top (which made large plans quadratic).
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex(starts)
    }

    /// 1-based line of `offset`.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset)
    }
}

fn start_element(
    text: &str,
    pos: usize,
    line: usize,
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<Element, XmlError> {
    let err = |m: String| {
        let (line, column) = line_col(text, pos);
        XmlError {
            line,
            column,
            message: m,
        }
    };
    let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|x| err(format!("bad attribute in <{tag}>: {x}")))?;
        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|x| err(format!("bad attribute value in <{tag}>: {x}")))?
            .into_owned();
        attrs.push((k, v));
    }
    Ok(Element {
        tag,
        attrs,
        children: Vec::new(),
        text: String::new(),
        line,
    })
}

/// Parses a whole document and returns its root element.
///
/// # Errors
/// Malformed XML (with the line and column where the parser stopped), a missing end tag, or
/// no root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let lines = LineIndex::new(text);
    let at = |pos: u64, message: String| {
        let (line, column) = line_col(text, pos as usize);
        XmlError {
            line,
            column,
            message,
        }
    };
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(at(reader.error_position(), format!("malformed XML: {e}"))),
        };
        // The event starts at the first '<' at or after `pos` (text events start at `pos`).
        let tag_pos = text[pos..].find('<').map_or(pos, |i| pos + i);
        match ev {
            Event::Start(e) => {
                if stack.len() >= surge_record::limits::JMX_DEPTH {
                    return Err(at(
                        tag_pos as u64,
                        format!(
                            "elements nest deeper than {} levels: not a JMeter test plan surge reads",
                            surge_record::limits::JMX_DEPTH
                        ),
                    ));
                }
                stack.push(start_element(text, tag_pos, lines.line(tag_pos), &e)?)
            }
            Event::Empty(e) => {
                let el = start_element(text, tag_pos, lines.line(tag_pos), &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(at(tag_pos as u64, "a second root element".into())),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| at(tag_pos as u64, "an end tag without a start tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(at(tag_pos as u64, "a second root element".into())),
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| at(pos as u64, format!("bad text: {e}")))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(at(pos as u64, "text outside the root element".into())),
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&t.into_inner()));
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| at(pos as u64, format!("bad entity: {e}")))?;
                    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_string)
                };
                let Some(s) = resolved else {
                    return Err(at(pos as u64, "unknown entity reference".into()));
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        let (line, column) = line_col(text, text.len());
        return Err(XmlError {
            line,
            column,
            message: format!(
                "the file ends inside <{}> (opened on line {}): a missing end tag",
                open.tag, open.line
            ),
        });
    }
    root.ok_or_else(|| XmlError {
        line: 1,
        column: 1,
        message: "no XML element found".into(),
    })
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `testname`, or the tag when there is none.
    pub fn testname(&self) -> &str {
        self.attr("testname").unwrap_or(&self.tag)
    }

    /// False for `enabled="false"`.
    pub fn enabled(&self) -> bool {
        self.attr("enabled") != Some("false")
    }

    /// The property child named `name` (any property form).
    pub fn prop_el(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| prop_name(c) == Some(name))
    }

    /// A scalar property's text (stringProp, intProp, longProp, boolProp, floatProp, or the
    /// `<value>` of a doubleProp), trimmed of nothing: values are taken as written.
    pub fn prop(&self, name: &str) -> Option<String> {
        let p = self.prop_el(name)?;
        match p.tag.as_str() {
            "doubleProp" | "floatProp" | "FloatProperty" | "DoubleProperty"
                if p.children.iter().any(|c| c.tag == "value") =>
            {
                p.children
                    .iter()
                    .find(|c| c.tag == "value")
                    .map(|v| v.text.clone())
            }
            "stringProp" | "intProp" | "longProp" | "boolProp" | "floatProp" | "doubleProp" => {
                Some(p.text.clone())
            }
            _ => None,
        }
    }

    /// A scalar property, `None` when absent or empty.
    pub fn prop_nonempty(&self, name: &str) -> Option<String> {
        self.prop(name).filter(|s| !s.trim().is_empty())
    }

    /// A boolean property (`true`/`false`, as JMeter writes both forms).
    pub fn prop_bool(&self, name: &str) -> Option<bool> {
        self.prop(name).and_then(|s| match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    /// The items of a `collectionProp` named `name` (elements, or scalar props).
    pub fn collection(&self, name: &str) -> &[Element] {
        match self.prop_el(name) {
            Some(c) if c.tag == "collectionProp" => &c.children,
            _ => &[],
        }
    }
}

/// The `name` of a property element: the attribute, or a doubleProp's `<name>` child.
fn prop_name(el: &Element) -> Option<&str> {
    if let Some(n) = el.attr("name") {
        return Some(n);
    }
    if el.tag.ends_with("Prop") || el.tag.ends_with("Property") {
        return el
            .children
            .iter()
            .find(|c| c.tag == "name")
            .map(|n| n.text.as_str());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_property_form() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<X testname="a &amp; b" enabled="false">
  <stringProp name="s">v &lt;1&gt; &#65;</stringProp>
  <intProp name="i">5</intProp>
  <longProp name="l">7</longProp>
  <boolProp name="b">true</boolProp>
  <doubleProp><name>d</name><value>60.0</value><savedValue>0.0</savedValue></doubleProp>
  <stringProp name="c"><![CDATA[{"x": 1}]]></stringProp>
  <stringProp name="empty"/>
  <collectionProp name="coll"><stringProp name="1">200</stringProp></collectionProp>
</X>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.testname(), "a & b");
        assert!(!root.enabled());
        assert_eq!(root.prop("s").as_deref(), Some("v <1> A"));
        assert_eq!(root.prop("i").as_deref(), Some("5"));
        assert_eq!(root.prop("l").as_deref(), Some("7"));
        assert_eq!(root.prop_bool("b"), Some(true));
        assert_eq!(root.prop("d").as_deref(), Some("60.0"));
        assert_eq!(root.prop("c").as_deref(), Some("{\"x\": 1}"));
        assert_eq!(root.prop("empty").as_deref(), Some(""));
        assert_eq!(root.prop_nonempty("empty"), None);
        assert_eq!(root.collection("coll")[0].text, "200");
        assert_eq!(root.prop_el("i").unwrap().line, 4);
    }

    #[test]
    fn malformed_xml_names_line_and_column() {
        let e = parse("<a>\n  <b>\n  </c>\n</a>").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.column >= 3, "{e:?}");
        let e = parse("<a>\n  <b attr=\"x></b>\n</a>").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        let e = parse("<a>\n<b>\n").unwrap_err();
        assert!(e.message.contains("missing end tag"), "{e:?}");
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        let idx = LineIndex::new("ab\ncd\n\nx");
        assert_eq!([0, 2, 3, 5, 6, 7].map(|o| idx.line(o)), [1, 1, 2, 2, 3, 4]);
    }
}
