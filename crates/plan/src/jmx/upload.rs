//! The HTTP sampler's uploads: `DO_MULTIPART_POST` and its file parameters (`HTTPFileArgs`)
//! become `[[request.multipart]]` parts, its arguments the form fields among them.

use super::expr;
use super::model::PartOut;
use super::walk::Walker;
use super::xml::Element;

impl Walker<'_> {
    /// The parts of `el`'s body when JMeter sends it as `multipart/form-data` (the option is
    /// ticked, or a POST, PUT or PATCH names file parameters); None when it does not. `args`
    /// are the sampler's arguments (with the defaults').
    pub(super) fn multipart_parts(
        &mut self,
        el: &Element,
        args: &[&Element],
        method: &str,
        place: &str,
    ) -> Option<Vec<PartOut>> {
        let files: Vec<&Element> = el
            .prop_el("HTTPsampler.Files")
            .map(|f| f.collection("HTTPFileArgs.files").iter().collect())
            .unwrap_or_default();
        let named = |f: &&Element| f.prop_nonempty("File.paramname").is_some();
        let ticked = el.prop_bool("HTTPSampler.DO_MULTIPART_POST") == Some(true);
        let body_method = matches!(method, "POST" | "PUT" | "PATCH");
        if !body_method {
            if ticked || !files.is_empty() {
                self.warn(
                    place,
                    format!(
                        "a {method} sends no body: its multipart option and files are not sent"
                    ),
                );
            }
            return None;
        }
        if !ticked && !files.iter().any(named) {
            if !files.is_empty() {
                self.warn(
                    place,
                    "a file sent as the whole body (no parameter name) is not supported: not sent",
                );
            }
            return None;
        }
        let mut parts = Vec::new();
        for a in args {
            let name = a.prop("Argument.name").unwrap_or_default();
            if name.trim().is_empty() {
                continue;
            }
            let value = a.prop("Argument.value").unwrap_or_default();
            let pieces = self.expr(&value, place);
            let secret = surge_record::secrets::is_sensitive_param(&name)
                || surge_record::secrets::looks_like_credential(&value);
            if secret && !value.is_empty() && expr::is_constant(&pieces) {
                self.warn(place, format!("argument {name:?} holds a fixed credential; surge never writes secrets into a scenario: not copied (read it with [[data]] kind = \"env\")"));
                continue;
            }
            parts.push(PartOut {
                name: name.trim().to_string(),
                value: Some(expr::to_template(&pieces, false)),
                file: None,
                content_type: None,
            });
        }
        for f in files {
            let Some(param) = f.prop_nonempty("File.paramname") else {
                self.warn(
                    place,
                    "a file without a parameter name in a multipart body: not sent",
                );
                continue;
            };
            let Some(raw) = f.prop_nonempty("File.path") else {
                continue;
            };
            let Some(path) = self.constant(&raw, place, "File.path") else {
                continue;
            };
            let file = self.jmx_dir.join(path.trim());
            if !file.is_file() {
                self.warn(
                    place,
                    format!(
                        "upload file {} is not there: the scenario refuses to run until it is",
                        file.display()
                    ),
                );
            }
            parts.push(PartOut {
                name: param.trim().to_string(),
                value: None,
                file: Some(file),
                content_type: f
                    .prop_nonempty("File.mimetype")
                    .map(|m| m.trim().to_string()),
            });
        }
        Some(parts)
    }
}
