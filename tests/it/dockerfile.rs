//! The Dockerfile builds the whole workspace: no image can be built here (no Docker engine), so
//! this reads its `COPY` lines against `cargo metadata` instead. Every workspace member's folder
//! (and the root's manifest, lock file, sources and declared benchmarks) must be copied into the
//! build stage, or `cargo build --locked` fails inside the image.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The build stage's `COPY SRC… DST` sources, as paths relative to the repository.
fn copied(dockerfile: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with("FROM ") && !out.is_empty() {
            break; // the runtime stage copies from the build stage, not the context
        }
        let Some(rest) = line.strip_prefix("COPY ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        assert!(
            !words.iter().any(|w| w.starts_with("--from")),
            "a COPY --from in the build stage: {line}"
        );
        for w in &words[..words.len() - 1] {
            out.push(PathBuf::from(w.trim_start_matches("./")));
        }
    }
    out
}

#[test]
fn the_dockerfile_copies_every_workspace_member() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docker = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let copies = copied(&docker);
    let has = |p: &Path| copies.iter().any(|c| p.starts_with(c));

    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    assert!(packages.len() >= 8, "the binary and its seven crates");

    for p in packages {
        let manifest = Path::new(p["manifest_path"].as_str().expect("manifest_path"));
        let dir = manifest.parent().expect("a folder");
        let rel = dir.strip_prefix(root).expect("inside the repository");
        if rel.as_os_str().is_empty() {
            // The root package: its manifest, the lock file, its sources and benchmarks.
            for f in ["Cargo.toml", "Cargo.lock", "src"] {
                assert!(has(Path::new(f)), "the Dockerfile does not copy {f}");
            }
            for t in p["targets"].as_array().expect("targets") {
                let kinds: Vec<&str> = t["kind"]
                    .as_array()
                    .expect("kind")
                    .iter()
                    .filter_map(|k| k.as_str())
                    .collect();
                if kinds.contains(&"bench") || kinds.contains(&"bin") || kinds.contains(&"lib") {
                    let src = Path::new(t["src_path"].as_str().expect("src_path"));
                    let rel = src.strip_prefix(root).expect("inside");
                    assert!(has(rel), "the Dockerfile does not copy {}", rel.display());
                }
            }
        } else {
            assert!(
                has(rel),
                "the Dockerfile does not copy the workspace member {} ({})",
                p["name"],
                rel.display()
            );
        }
    }
    // And nothing it copies is missing from the checkout.
    for c in &copies {
        assert!(
            root.join(c).exists(),
            "the Dockerfile copies {} that does not exist",
            c.display()
        );
    }
}
