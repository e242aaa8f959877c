//! Where a run's outputs go, claimed so that no run ever writes over another's: a default
//! folder (`reports/<name>-<UTC timestamp>`) is created atomically, and when another run already
//! took that name in the same second, the next free `-2`, `-3`, … is taken instead; a folder
//! given with `--out` may exist, but not with a result in it.

use std::io;
use std::path::{Path, PathBuf};

/// How many suffixes are tried before giving up (a thousand runs of one scenario in a second).
const TRIES: u32 = 1000;

/// `reports/<prefix>-<UTC timestamp>`, not yet created.
pub fn stamped(prefix: &str) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "run".into());
    Path::new("reports").join(format!("{prefix}-{stamp}"))
}

/// Creates `dir`, or `dir-2`, `dir-3`, … when it exists: a folder no other run has. Its parent
/// is created as needed.
///
/// # Errors
/// The parent cannot be created, or a thousand names are taken.
pub fn claim_fresh(dir: &Path) -> io::Result<PathBuf> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    for n in 1..=TRIES {
        let candidate = if n == 1 {
            dir.to_path_buf()
        } else {
            let mut name = dir.file_name().unwrap_or_default().to_os_string();
            name.push(format!("-{n}"));
            dir.with_file_name(name)
        };
        // create_dir (not _all) fails if the folder exists: the claim is atomic.
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} and {TRIES} numbered folders beside it exist",
            dir.display()
        ),
    ))
}

/// Creates `dir` (given with `--out`) unless it already holds a run's `result.json`.
///
/// # Errors
/// A message naming the folder: it holds a result, or cannot be created.
pub fn claim_given(dir: &Path) -> Result<PathBuf, String> {
    let existing = dir.join("result.json");
    if existing.exists() {
        return Err(format!(
            "{} already holds a run's result; give another folder, or remove it",
            existing.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_in_the_same_second_get_folders_of_their_own() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("reports/x-20260101T000000Z");
        let got: Vec<PathBuf> = (0..4).map(|_| claim_fresh(&base).unwrap()).collect();
        assert_eq!(got[0], base);
        assert_eq!(got[1], tmp.path().join("reports/x-20260101T000000Z-2"));
        assert_eq!(got[3], tmp.path().join("reports/x-20260101T000000Z-4"));
        // Threads racing for one name each get their own.
        let base = tmp.path().join("reports/race");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let b = base.clone();
                std::thread::spawn(move || claim_fresh(&b).unwrap())
            })
            .collect();
        let mut dirs: Vec<PathBuf> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        dirs.sort();
        dirs.dedup();
        assert_eq!(dirs.len(), 8);
    }

    #[test]
    fn a_given_folder_with_a_result_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(claim_given(tmp.path()).is_ok());
        std::fs::write(tmp.path().join("result.json"), "{}").unwrap();
        assert!(claim_given(tmp.path())
            .unwrap_err()
            .contains("already holds a run's result"));
    }
}
