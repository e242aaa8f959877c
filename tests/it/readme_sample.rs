//! The README's sample output stays what the tool prints: the seed scenario is run (simulated, so
//! the test takes a second) and its terminal output must have the README block's shape, line for
//! line: the same sentences, with only the measured numbers, the URL and the output folder free.

use std::path::Path;

/// The first fenced block after "The first command above prints".
fn readme_sample() -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let from = text
        .find("The first command above prints")
        .expect("README: the sample's lead-in sentence");
    let rest = &text[from..];
    let start = rest.find("```\n").expect("README: the sample block") + 4;
    let end = rest[start..].find("```").expect("README: the block's end") + start;
    rest[start..end].to_string()
}

/// Numbers become `N`, the target URL `URL`, output paths `PATH`; the simulated flag goes.
fn shape(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            if let Some((k, _)) = l
                .split_once(": ")
                .filter(|(k, _)| *k == "result" || *k == "report")
            {
                return format!("{k}: PATH");
            }
            let l = l.replace(" (simulated)", "").replace(" --simulate`", "`");
            let l = l
                .split(' ')
                .map(|w| if w.starts_with("http://") { "URL" } else { w })
                .collect::<Vec<_>>()
                .join(" ");
            let mut out = String::new();
            let cs: Vec<char> = l.chars().collect();
            let mut i = 0;
            while i < cs.len() {
                if cs[i].is_ascii_digit() {
                    while i < cs.len()
                        && (cs[i].is_ascii_digit()
                            || (cs[i] == '.' && cs.get(i + 1).is_some_and(char::is_ascii_digit)))
                    {
                        i += 1;
                    }
                    out.push('N');
                } else {
                    out.push(cs[i]);
                    i += 1;
                }
            }
            // Column alignment moves with the numbers' widths.
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readme_sample_is_what_the_seed_run_prints() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seed");
    // The binary itself, so every line it prints on standard output is compared; from the
    // checkout, with the scenario named as the README names it (the next step names it so).
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .arg("scenarios/architect-publish-burst.toml")
        .arg("--simulate")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("surge runs");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let printed = String::from_utf8(run.stdout).expect("UTF-8 output");
    let (want, got) = (shape(&readme_sample()), shape(&printed));
    assert_eq!(
        want, got,
        "README.md's sample output no longer has the shape of what the seed run prints; \
         paste a fresh `cargo run --release -- run scenarios/architect-publish-burst.toml` into it.\n\
         it prints:\n{printed}"
    );
}
