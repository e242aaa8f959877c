//! `report.html`: one self-contained page (inline CSS, JS and SVG; a Content-Security-Policy that
//! forbids every fetch), built from a [`RunResult`] alone, deterministically, so `surge report`
//! rebuilds the same bytes offline.
//!
//! - [`svg`]: the small chart renderer (legend, series, markers, hover data); `axis`: its scales
//!   and ticks; `path`: its path data.
//! - [`charts`]: the report's charts from a result.
//! - `page`: the sections around them (overview, 429 diagnosis, tables, run metadata);
//!   a distributed run's segments come from [`crate::distributed`].
//! - [`probe`]: `probe.html`, `surge probe`'s page (the limit, and each search over time).
//! - `report.css` and `report.js`: inlined into the page; the script adds hover values and
//!   legend toggling, and on `#selftest` checks the page and writes the outcome into
//!   `<pre id="selftest">` (the browser test reads it).

mod axis;
pub mod charts;
pub mod compare;
pub(crate) mod page;
pub use page::text;
mod path;
pub mod probe;
pub mod svg;

use std::path::Path;

use surge_analysis::Facts;
use surge_record::RunResult;

/// The page's stylesheet.
pub(crate) const CSS: &str = include_str!("report.css");
/// The page's script.
pub(crate) const JS: &str = include_str!("report.js");
/// The Content-Security-Policy of the page: nothing may be fetched; inline style and script only.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Renders the whole page.
pub fn render(r: &RunResult) -> String {
    render_with(r, &Facts::of(r), &crate::next::Next::of(r, None))
}

/// Renders the whole page from facts already computed for `r`.
pub fn render_with(r: &RunResult, facts: &Facts, next: &crate::next::Next) -> String {
    let charts = charts::all(r, &facts.figures);
    let mut out = String::with_capacity(64 * 1024 + r.timeline.len() * 160);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!(
        "<meta name=\"generator\" content=\"surge {}\">",
        esc(&r.tool.version)
    ));
    out.push_str("<link rel=\"icon\" href=\"data:,\">");
    out.push_str(&format!(
        "<title>{} · surge report</title>",
        esc(&r.scenario.name)
    ));
    // Collects errors from the start, before the main script runs (the self-test reports them).
    out.push_str(
        "<script>window.__surgeErrors=[];addEventListener('error',function(e){__surgeErrors.push('error: '+(e.message||(e.target&&(e.target.src||e.target.href))||'resource'))},true);\
         addEventListener('securitypolicyviolation',function(e){__surgeErrors.push('blocked by CSP: '+e.blockedURI+' ('+e.violatedDirective+')')});\
         (function(){var ce=console.error;console.error=function(){__surgeErrors.push('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments)}})();</script>",
    );
    out.push_str("<style>");
    out.push_str(CSS);
    out.push_str("</style></head><body>");
    page::header(&mut out, r);
    out.push_str("<main>");
    page::overview(&mut out, &facts.figures.overview);
    page::diagnosis(&mut out, &facts.diagnosis, next);
    out.push_str("<section id=\"charts\"><h2>Over time</h2>");
    for c in &charts {
        c.render(&mut out);
    }
    out.push_str("</section>");
    crate::transactions::html(&mut out, &facts.figures);
    page::tables(&mut out, r, &facts.figures);
    crate::distributed::html(&mut out, r);
    page::metadata(&mut out, r);
    out.push_str("</main>");
    out.push_str(&format!(
        "<footer>Built by surge from <code>result.json</code> (schema {} v{}); self-contained: no request leaves this page.</footer>",
        esc(&r.schema),
        r.schema_version
    ));
    out.push_str("<pre id=\"selftest\" hidden></pre><script>");
    out.push_str(JS);
    out.push_str("</script></body></html>\n");
    out
}

/// Writes `report.html` to `path`.
///
/// # Errors
/// I/O errors.
pub fn write(r: &RunResult, path: &Path) -> std::io::Result<()> {
    surge_record::atomic::write(path, render(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_escapes_what_it_shows() {
        let mut r = surge_record::synthetic::result(120, &["get", "publish"]);
        r.scenario.name = "<script>alert(1)</script>".into();
        r.labels[0] = "a\"<b>".into();
        for c in r.cells.iter_mut().filter(|c| c.label == "get") {
            c.label = "a\"<b>".into();
        }
        let html = render(&r);
        assert!(!html.contains("<script>alert"), "scenario name is escaped");
        assert!(!html.contains("a\"<b>"), "labels are escaped");
        assert!(html.contains(CSP));
        // No URL the browser could fetch: the only URLs are in text (the target host is text).
        for attr in [
            "src=\"http",
            "href=\"http",
            "url(",
            "@import",
            "src='http",
            "href='http",
        ] {
            assert!(!html.contains(attr), "{attr} found");
        }
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 7);
        assert!(html.contains("429 diagnosis"));
    }

    #[test]
    fn rendering_is_deterministic() {
        let r = surge_record::synthetic::result(90, &["get"]);
        assert_eq!(render(&r), render(&r));
    }
}
