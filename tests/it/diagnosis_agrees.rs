//! One diagnosis everywhere: what `surge run` prints, what `surge report` and `surge check` print
//! for the saved result, the words result.json keeps and report.html's tiles and sentences are
//! the same facts in the same words, for a run with a pace and one too short to give one.

use std::path::Path;
use std::process::Command;

fn surge(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_surge"))
        .args(args)
        .output()
        .expect("surge runs");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "surge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The two lines that start with "429 diagnosis:".
fn headline(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("429 diagnosis:"))
        .unwrap_or_else(|| panic!("no diagnosis in:\n{text}"));
    vec![lines[i].to_string(), lines[i + 1].to_string()]
}

#[test]
fn run_report_check_result_json_and_html_say_one_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    for (name, has_pace) in [
        ("architect-retry-after", true),
        ("architect-publish-burst", false),
    ] {
        let sc = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let out = dir.path().join(name);
        let o = out.to_str().unwrap();
        let ran = headline(&surge(&["run", &sc, "--simulate", "-o", o]));
        let rj = out.join("result.json");
        let r = rj.to_str().unwrap();
        let rebuilt = dir.path().join(format!("{name}-report"));
        let reported = headline(&surge(&["report", r, "-o", rebuilt.to_str().unwrap()]));
        let checked = headline(&surge(&["check", r, "--threshold", "rate(429) < 100%"]));
        assert_eq!(ran, reported, "{name}: run vs report");
        assert_eq!(ran, checked, "{name}: run vs check");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&rj).unwrap()).unwrap();
        assert_eq!(v["diagnosis"]["words"]["headline"][0], ran[0].as_str());
        // The terminal ends the second line with the command that paces from this run's
        // result.json; the file's words name no path of their own (they move with the folder).
        let kept = v["diagnosis"]["words"]["headline"][1].as_str().unwrap();
        match ran[1].strip_prefix(kept.trim_end_matches('.')) {
            Some("") | Some(".") => {}
            Some(rest) => assert!(
                rest.starts_with(": surge run ") && rest.contains(" --pace-from "),
                "{name}: {rest}"
            ),
            None => panic!(
                "{name}: result.json says {kept:?}, the terminal {:?}",
                ran[1]
            ),
        }
        assert_eq!(v["diagnosis"]["advice"].is_object(), has_pace, "{name}");
        assert_matches_schema(&v);
        // report.html holds the recommendation and the pace tile, in the terminal's words.
        for html in [out.join("report.html"), rebuilt.join("report.html")] {
            let page = std::fs::read_to_string(Path::new(&html)).unwrap();
            let rec = v["diagnosis"]["words"]["recommendation"].as_str().unwrap();
            assert!(page.contains(&surge::report::html::text(rec)), "{name}");
            let tile = if has_pace {
                let pace = ran[1].split("pace at ").nth(1).unwrap();
                pace.split(" (").next().unwrap().to_string()
            } else {
                "none".to_string()
            };
            assert!(
                page.contains(&format!(
                    "<dt>recommended pace</dt><dd>{}</dd>",
                    surge::report::html::esc(&tile)
                )),
                "{name}: {tile}"
            );
        }
    }
}

/// result.json, diagnosis included, is what the schema users are given describes.
fn assert_matches_schema(doc: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/result.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let mut bad = doc.clone();
    bad["diagnosis"]["verdict"] = serde_json::json!("maybe");
    assert!(!v.is_valid(&bad));
}
