//! `[[request.multipart]]`: a `multipart/form-data` body of form fields (templates) and files
//! (sent from disk as they go, never read whole), each with its own file name and content type.
//! Files are checked when the scenario is read; their size then is what a run sends.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::build::Checker;
use super::plan::RequestSpec;
use super::template::Template;

/// One raw `[[request.multipart]]` part.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RawPart {
    /// The form field's name.
    pub name: Option<String>,
    /// A form field's value (a template).
    pub value: Option<String>,
    /// A file sent as the part's content (relative to the scenario).
    pub file: Option<String>,
    /// The part's file name (default: the file's own name; none for a field).
    pub filename: Option<String>,
    /// The part's `Content-Type` (default: `application/octet-stream` for a file, none for a
    /// field).
    pub content_type: Option<String>,
}

/// What a part holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartContent {
    /// A form field's value.
    Text(Template),
    /// A file's first `len` bytes (its size when the scenario was read).
    File {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
}

/// One part of a multipart body, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field's name.
    pub name: String,
    /// Its value or file.
    pub content: PartContent,
    /// `filename` in its `Content-Disposition`.
    pub filename: Option<String>,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
}

impl Serialize for Part {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Part", 4)?;
        st.serialize_field("name", &self.name)?;
        match &self.content {
            PartContent::Text(t) => st.serialize_field("value", t.source())?,
            PartContent::File { path, .. } => st.serialize_field("file", path)?,
        }
        st.serialize_field("filename", &self.filename)?;
        st.serialize_field("content_type", &self.content_type)?;
        st.end()
    }
}

/// Characters a part's name, file name or content type cannot hold (they would break its
/// header).
fn breaks_header(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || c == '"')
}

/// Checks each request's parts (`raw[i]` for `requests[i]`) and attaches them.
pub(super) fn attach(
    c: &mut Checker<'_>,
    requests: &mut [RequestSpec],
    raw: Vec<Vec<RawPart>>,
    base_dir: &Path,
    vars: &[String],
) {
    for (i, (r, parts)) in requests.iter_mut().zip(raw).enumerate() {
        if parts.is_empty() {
            continue;
        }
        let p = format!("request[{i}].multipart");
        if r.body.is_some() {
            c.err(
                &format!("request[{i}].body"),
                "set body or multipart, not both",
            );
        }
        if matches!(r.method, http::Method::GET | http::Method::HEAD) {
            c.err(
                &format!("request[{i}].method"),
                format!(
                    "{} sends no body; a multipart upload needs POST, PUT or PATCH",
                    r.method
                ),
            );
        }
        if let Some((k, _)) = r
            .headers
            .iter()
            .find(|(k, _)| *k == http::header::CONTENT_TYPE || *k == http::header::CONTENT_LENGTH)
        {
            c.err(
                &format!("request[{i}].headers.{k}"),
                "is set by multipart (its boundary and length); remove it",
            );
        }
        for (j, raw) in parts.into_iter().enumerate() {
            if let Some(part) = build_part(c, &format!("{p}[{j}]"), raw, base_dir, vars) {
                r.multipart.push(part);
            }
        }
    }
}

fn build_part(
    c: &mut Checker<'_>,
    p: &str,
    raw: RawPart,
    base_dir: &Path,
    vars: &[String],
) -> Option<Part> {
    let name = match raw.name {
        Some(n) if !n.is_empty() && !breaks_header(&n) => n,
        Some(_) => {
            c.err(&format!("{p}.name"), "must be one line without '\"'");
            return None;
        }
        None => {
            c.err(&format!("{p}.name"), "is required: the form field's name");
            return None;
        }
    };
    for (f, v) in [
        ("filename", &raw.filename),
        ("content_type", &raw.content_type),
    ] {
        if v.as_deref().is_some_and(breaks_header) {
            c.err(&format!("{p}.{f}"), "must be one line without '\"'");
            return None;
        }
    }
    let (content, filename, content_type) = match (raw.value, raw.file) {
        (Some(v), None) => match Template::compile(&v, vars) {
            Ok(t) => (PartContent::Text(t), raw.filename, raw.content_type),
            Err(e) => {
                c.err(&format!("{p}.value"), e.to_string());
                return None;
            }
        },
        (None, Some(f)) => {
            let path = base_dir.join(&f);
            let len = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m.len(),
                Ok(_) => {
                    c.err(
                        &format!("{p}.file"),
                        format!("{}: is not a file", path.display()),
                    );
                    return None;
                }
                Err(e) => {
                    c.err(&format!("{p}.file"), format!("{}: {e}", path.display()));
                    return None;
                }
            };
            if let Err(e) = std::fs::File::open(&path) {
                c.err(&format!("{p}.file"), format!("{}: {e}", path.display()));
                return None;
            }
            let own = Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            (
                PartContent::File { path, len },
                raw.filename.or(own),
                raw.content_type
                    .or_else(|| Some("application/octet-stream".into())),
            )
        }
        (Some(_), Some(_)) => {
            c.err(
                &format!("{p}.file"),
                "set value (a form field) or file, not both",
            );
            return None;
        }
        (None, None) => {
            c.err(p, "needs value (a form field) or file (a file to upload)");
            return None;
        }
    };
    Some(Part {
        name,
        content,
        filename,
        content_type,
    })
}
