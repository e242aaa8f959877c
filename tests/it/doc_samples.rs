#![cfg(unix)]
//! Every sample output in the docs is what surge prints today, numbers included: a fenced block
//! after a marker line `<!-- sample: COMMAND -->` (in README.md, scenarios/README.md, docs/*.md)
//! must appear, line for line, in what COMMAND prints (standard output and error, in order);
//! with `<!-- sample: COMMAND => FILE -->`, in the file COMMAND writes. COMMAND runs through
//! `sh -c` with the built `surge` first on PATH, in a fresh folder where `scenarios/` is the
//! checkout's; only UTC timestamps in folder names are free. A sample may be an excerpt (the
//! end of a summary): its lines must be consecutive lines of the output. The commands use
//! `--simulate` (virtual time, deterministic), so a new sample is covered by adding its marker.

use std::path::{Path, PathBuf};
use std::process::Command;

const DOCS: &[&str] = &["README.md", "scenarios/README.md", "docs"];

struct Sample {
    file: PathBuf,
    line: usize,
    command: String,
    output_file: Option<String>,
    text: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn markdown_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in DOCS {
        let p = root().join(d);
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p);
        }
    }
    out
}

/// The marked samples of `file`.
fn samples(file: &Path) -> Vec<Sample> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(spec) = l
            .trim()
            .strip_prefix("<!-- sample:")
            .and_then(|s| s.strip_suffix("-->"))
        else {
            continue;
        };
        let (command, output_file) = match spec.split_once(" => ") {
            Some((c, f)) => (c.trim().to_string(), Some(f.trim().to_string())),
            None => (spec.trim().to_string(), None),
        };
        let fence = lines.get(i + 1).copied().unwrap_or("");
        assert!(
            fence.starts_with("```"),
            "{}:{}: a sample marker must be followed by a fenced block",
            file.display(),
            i + 1
        );
        let end = lines[i + 2..]
            .iter()
            .position(|l| l.starts_with("```"))
            .unwrap_or_else(|| panic!("{}:{}: unclosed block", file.display(), i + 2))
            + i
            + 2;
        out.push(Sample {
            file: file.to_path_buf(),
            line: i + 1,
            command,
            output_file,
            text: lines[i + 2..end].join("\n"),
        });
    }
    out
}

/// `s` with each UTC timestamp of a folder name (`20261207T101500Z`, lower case in Kubernetes
/// names) as `STAMP`, each RFC 3339 start time as `TIME`, and each line's trailing blanks gone.
fn normal(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| {
            let cs: Vec<char> = l.chars().collect();
            let mut out = String::new();
            let mut i = 0;
            while i < cs.len() {
                let is_stamp = cs.len() >= i + 16
                    && cs[i..i + 8].iter().all(char::is_ascii_digit)
                    && cs[i + 8].eq_ignore_ascii_case(&'t')
                    && cs[i + 9..i + 15].iter().all(char::is_ascii_digit)
                    && cs[i + 15].eq_ignore_ascii_case(&'z');
                // 2026-12-07T10:28:16Z, a start time.
                let is_time = cs.len() >= i + 20
                    && cs[i..i + 4].iter().all(char::is_ascii_digit)
                    && cs[i + 4] == '-'
                    && cs[i + 10] == 'T'
                    && cs[i + 13] == ':'
                    && cs[i + 19] == 'Z';
                if is_stamp {
                    out.push_str("STAMP");
                    i += 16;
                } else if is_time {
                    out.push_str("TIME");
                    i += 20;
                } else {
                    out.push(cs[i]);
                    i += 1;
                }
            }
            out.trim_end().to_string()
        })
        .collect()
}

fn run(s: &Sample) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("scenarios"), dir.path().join("scenarios")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_surge")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("({}) 2>&1", s.command))
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("SURGE_BASE_URL")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&o.stdout).to_string();
    match &s.output_file {
        Some(f) => std::fs::read_to_string(dir.path().join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}; the command printed:\n{printed}")),
        None => printed,
    }
}

#[test]
fn every_marked_sample_is_what_its_command_prints() {
    let all: Vec<Sample> = markdown_files().iter().flat_map(|f| samples(f)).collect();
    assert!(
        all.len() >= 8,
        "the docs' samples are marked ({})",
        all.len()
    );
    let mut wrong = Vec::new();
    for s in &all {
        let got = run(s);
        let (want, have) = (normal(&s.text), normal(&got));
        let found = have.len() >= want.len()
            && (0..=have.len() - want.len()).any(|k| have[k..k + want.len()] == want[..]);
        if !found {
            wrong.push(format!(
                "{}:{}: `{}` no longer prints this sample; it prints:\n{got}",
                s.file.strip_prefix(root()).unwrap_or(&s.file).display(),
                s.line,
                s.command
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
