//! Extracting from markup: XPath 1.0 over an XML body, or over an HTML body read tolerantly
//! (html5ever, as browsers read it: what JMeter's XPath Extractor does with "Use Tidy"), and CSS
//! selectors over HTML (JMeter's CSS Selector Extractor). Compiled at plan time; each answer
//! is parsed only by a request that has such an extractor.

use std::sync::Arc;

use sxd_document::dom;

/// A markup query, checked.
#[derive(Debug, Clone)]
pub enum Markup {
    /// An XPath 1.0 expression.
    XPath {
        /// As written (compiled at each use: sxd's compiled form cannot be shared by threads).
        expr: String,
        /// Read the body as HTML (tolerant) instead of XML.
        html: bool,
    },
    /// A CSS selector over HTML.
    Css {
        /// The selector.
        selector: Arc<scraper::Selector>,
        /// The attribute to read (None: the element's text).
        attribute: Option<String>,
    },
}

/// A query that does not compile: why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MarkupError(pub String);

impl Markup {
    /// An XPath 1.0 query.
    ///
    /// # Errors
    /// [`MarkupError`]: the expression is not XPath 1.0.
    pub fn xpath(expr: &str, html: bool) -> Result<Markup, MarkupError> {
        compile(expr)?;
        Ok(Markup::XPath {
            expr: expr.to_string(),
            html,
        })
    }

    /// A CSS selector, reading `attribute` (or the text) of each element it selects.
    ///
    /// # Errors
    /// [`MarkupError`]: not a CSS selector.
    pub fn css(selector: &str, attribute: Option<&str>) -> Result<Markup, MarkupError> {
        let s = scraper::Selector::parse(selector)
            .map_err(|e| MarkupError(format!("not a CSS selector: {e}")))?;
        Ok(Markup::Css {
            selector: Arc::new(s),
            attribute: attribute.filter(|a| !a.is_empty()).map(str::to_string),
        })
    }

    /// Every value the query finds in `body`, in document order: for XPath, each node's
    /// string value (a number, text or boolean result is one value); for CSS, each element's
    /// attribute or its text, whitespace collapsed as JMeter's (jsoup's) `text()` does. A body
    /// that does not parse finds nothing.
    pub fn find(&self, body: &str) -> Vec<String> {
        match self {
            Markup::XPath { expr, html } => {
                let package = if *html {
                    Some(html_to_dom(body))
                } else {
                    sxd_document::parser::parse(body).ok()
                };
                let Some(package) = package else {
                    return Vec::new();
                };
                let Ok(xp) = compile(expr) else {
                    return Vec::new();
                };
                let doc = package.as_document();
                let ctx = sxd_xpath::Context::new();
                match xp.evaluate(&ctx, doc.root()) {
                    Ok(sxd_xpath::Value::Nodeset(ns)) => ns
                        .document_order()
                        .iter()
                        .map(|n| n.string_value())
                        .collect(),
                    Ok(sxd_xpath::Value::String(s)) => vec![s],
                    Ok(sxd_xpath::Value::Number(n)) => vec![number_text(n)],
                    Ok(sxd_xpath::Value::Boolean(b)) => vec![b.to_string()],
                    Err(_) => Vec::new(),
                }
            }
            Markup::Css {
                selector,
                attribute,
            } => {
                let doc = scraper::Html::parse_document(body);
                doc.select(selector)
                    .filter_map(|el| match attribute {
                        Some(a) => el.value().attr(a).map(str::to_string),
                        None => Some(el.text().collect::<Vec<_>>().join(" ")),
                    })
                    .map(|t| {
                        if attribute.is_some() {
                            t
                        } else {
                            t.split_whitespace().collect::<Vec<_>>().join(" ")
                        }
                    })
                    .collect()
            }
        }
    }
}

fn compile(expr: &str) -> Result<sxd_xpath::XPath, MarkupError> {
    sxd_xpath::Factory::new()
        .build(expr)
        .map_err(|e| MarkupError(format!("not an XPath 1.0 expression: {e}")))?
        .ok_or_else(|| MarkupError("an empty XPath expression".into()))
}

/// XPath's number to text: integers without a fraction, as XPath's `string()` writes them.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// An HTML body, read as a browser would, as an XPath document.
fn html_to_dom(body: &str) -> sxd_document::Package {
    let html = scraper::Html::parse_document(body);
    let package = sxd_document::Package::new();
    {
        let doc = package.as_document();
        fn copy<'d>(
            doc: &dom::Document<'d>,
            parent: dom::Element<'d>,
            node: ego_tree::NodeRef<'_, scraper::Node>,
        ) {
            for child in node.children() {
                match child.value() {
                    scraper::Node::Element(e) => {
                        let el = doc.create_element(e.name());
                        for (k, v) in e.attrs() {
                            el.set_attribute_value(k, v);
                        }
                        parent.append_child(el);
                        copy(doc, el, child);
                    }
                    scraper::Node::Text(t) => {
                        parent.append_child(doc.create_text(t));
                    }
                    _ => {}
                }
            }
        }
        let root_el = html.root_element();
        let top = doc.create_element(root_el.value().name());
        for (k, v) in root_el.value().attrs() {
            top.set_attribute_value(k, v);
        }
        doc.root().append_child(top);
        copy(&doc, top, *root_el);
    }
    package
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xpath_over_xml_and_tolerant_html() {
        let xml = r#"<flows><flow id="f1"><name>Main</name></flow><flow id="f2"><name>Other</name></flow></flows>"#;
        let m = Markup::xpath("//flow/@id", false).unwrap();
        assert_eq!(m.find(xml), ["f1", "f2"]);
        let m = Markup::xpath("/flows/flow[2]/name", false).unwrap();
        assert_eq!(m.find(xml), ["Other"]);
        assert_eq!(
            Markup::xpath("count(//flow)", false).unwrap().find(xml),
            ["2"]
        );
        // Broken HTML (unclosed tags, no quotes) read tolerantly.
        let html =
            "<html><body><form action=/login><input name=csrf value=t0k3n><p>hi<p>there</form>";
        let m = Markup::xpath("//input[@name='csrf']/@value", true).unwrap();
        assert_eq!(m.find(html), ["t0k3n"]);
        assert!(Markup::xpath("//input[@name='csrf']/@value", false)
            .unwrap()
            .find(html)
            .is_empty());
        assert!(Markup::xpath("//[", false).is_err());
    }

    #[test]
    fn css_reads_attributes_and_text() {
        let html = r#"<ul><li class="f"><a href="/a">First  one</a></li><li class="f"><a href="/b">Second</a></li></ul>"#;
        assert_eq!(
            Markup::css("li.f > a", Some("href")).unwrap().find(html),
            ["/a", "/b"]
        );
        assert_eq!(
            Markup::css("li.f a", None).unwrap().find(html),
            ["First one", "Second"]
        );
        assert!(Markup::css("li[", None).is_err());
    }
}
