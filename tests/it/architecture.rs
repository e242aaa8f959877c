//! The workspace is the architecture: `ARCHITECTURE.md`'s table of which crate depends on which is
//! the one `cargo metadata` reports, the graph has no cycle, and the rooms keep their rules that
//! Cargo alone cannot see (no `#[path]` module, the plan crate free of runtime crates).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// crate → the surge crates it depends on (normal dependencies), per `cargo metadata`.
fn metadata_graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut g = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let deps = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .filter(|n| n.starts_with("surge"))
            .map(str::to_string)
            .collect();
        g.insert(p["name"].as_str().unwrap().to_string(), deps);
    }
    g
}

/// The same, as ARCHITECTURE.md's table says it.
fn documented_graph() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut g = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `surge")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let deps = if cells[2].starts_with("every crate") {
            BTreeSet::from(["*".to_string()])
        } else {
            cells[2]
                .split(',')
                .map(|d| d.trim().trim_matches('`').to_string())
                .filter(|d| d.starts_with("surge"))
                .collect()
        };
        g.insert(name, deps);
    }
    g
}

#[test]
fn the_crate_graph_is_the_documented_one_and_has_no_cycle() {
    let actual = metadata_graph();
    let mut documented = documented_graph();
    assert!(actual.len() >= 8, "{actual:?}");
    // "every crate above": the binary.
    for (name, deps) in documented.iter_mut() {
        if deps.contains("*") {
            *deps = actual.keys().filter(|k| *k != name).cloned().collect();
        }
    }
    assert_eq!(
        actual, documented,
        "ARCHITECTURE.md's table and cargo metadata differ"
    );
    // Acyclic: every crate can be placed after all it depends on.
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while placed.len() < actual.len() {
        let next: Vec<String> = actual
            .iter()
            .filter(|(n, d)| !placed.contains(*n) && d.iter().all(|x| placed.contains(x)))
            .map(|(n, _)| n.clone())
            .collect();
        assert!(
            !next.is_empty(),
            "a cycle among {:?}",
            actual
                .keys()
                .filter(|k| !placed.contains(*k))
                .collect::<Vec<_>>()
        );
        placed.extend(next);
    }
    // The rooms' own rules.
    let plan = &actual["surge-plan"];
    for forbidden in [
        "surge-transport",
        "surge-mock",
        "surge-analysis",
        "surge-engine",
        "surge-report",
    ] {
        assert!(
            !plan.contains(forbidden),
            "the plan crate depends on {forbidden}"
        );
    }
    assert!(!actual["surge-analysis"].contains("surge-report"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_is_attached_by_path() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 100);
    let attr = concat!("#[", "path");
    let with_path: Vec<_> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(attr))
        .collect();
    assert!(
        with_path.is_empty(),
        "modules attached with #[path]: {with_path:?}"
    );
}
