//! Files written whole or not at all: the content goes to a temporary file beside the target
//! (same folder, so the same file system), is flushed to disk, and only then renamed over the
//! target. A full disk or a stop mid-write leaves the previous file (or none), never a
//! truncated one; the temporary file is removed on failure.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Tells apart the temporary files of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A file being written: [`AtomicFile::commit`] puts it in place; dropped without it, the
/// temporary file is removed and the target left as it was.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `target`: `.NAME.PID-N.tmp` in its folder.
    ///
    /// # Errors
    /// The temporary file cannot be created, the error naming `target`.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = target.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| named(target, e))?;
        Ok(AtomicFile {
            file,
            tmp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary file, to write to.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Flushes the content to disk and renames it over the target.
    ///
    /// # Errors
    /// The flush or the rename failed (the temporary file is removed), naming the target.
    pub fn commit(mut self) -> io::Result<()> {
        let r = self
            .file
            .flush()
            .and_then(|()| self.file.sync_all())
            .and_then(|()| std::fs::rename(&self.tmp, &self.target));
        if r.is_ok() {
            self.committed = true;
        }
        r.map_err(|e| named(&self.target, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `path: error`, keeping the error's kind.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes `target` whole or not at all with what `fill` writes (through a buffer).
///
/// # Errors
/// Any write, flush or rename error, naming `target`.
pub fn write_with(
    target: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>,
) -> io::Result<()> {
    let a = AtomicFile::create(target)?;
    let mut w = io::BufWriter::new(a.file());
    fill(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| named(target, e))?;
    drop(w);
    a.commit()
}

/// Writes `bytes` to `target` whole or not at all.
///
/// # Errors
/// As [`write_with`].
pub fn write(target: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    write_with(target, |w| w.write_all(bytes.as_ref()))
}

/// Checks that files can be created in `dir` (a read-only or full folder is found before a
/// run sends anything): creates and removes a temporary file there.
///
/// # Errors
/// Why not, naming the folder.
pub fn check_writable(dir: &Path) -> io::Result<()> {
    let probe = AtomicFile::create(&dir.join("surge-write-check"))
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let r = (&probe.file)
        .write_all(b"surge")
        .and_then(|()| probe.file.sync_all());
    drop(probe);
    r.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("result.json");
        write(&p, "old").unwrap();
        let e = write_with(&p, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("result.json: disk full"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        write(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        check_writable(d.path()).unwrap();
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
