//! Per-execution temp directories: created under the scratch base before the instance, given
//! to the guest as `/tmp` (its `ctx.temp_store()`), removed with everything in it after.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The per-execution directories of one host.
#[derive(Debug)]
pub struct TempDirs {
    base: PathBuf,
    next: AtomicU64,
}

impl TempDirs {
    /// Directories under `base` (created if missing), named `exec-<pid>-<n>`.
    pub fn new(base: impl Into<PathBuf>) -> io::Result<TempDirs> {
        let base = base.into();
        std::fs::create_dir_all(&base)?;
        Ok(TempDirs {
            base,
            next: AtomicU64::new(1),
        })
    }

    /// A new empty directory, private to its owner (0700).
    pub fn create(&self) -> io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.base.join(format!("exec-{}-{n}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(TempDir { path: Some(path) })
    }
}

/// One execution's directory: removed, with its contents, when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: Option<PathBuf>,
}

impl TempDir {
    /// Its path on the host.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("present until dropped")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        // Most executions leave it empty: one rmdir. Otherwise the whole tree, off the
        // async threads when there are some.
        if std::fs::remove_dir(&path).is_ok() {
            return;
        }
        let remove = move || {
            if let Err(error) = std::fs::remove_dir_all(&path) {
                if error.kind() != io::ErrorKind::NotFound {
                    eprintln!(
                        "host warn could not remove the temp directory {}: {error}",
                        path.display()
                    );
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_and_what_is_in_it_go_when_dropped() {
        let base =
            std::env::temp_dir().join(format!("ignite-wasm-host-test-{}", std::process::id()));
        let dirs = TempDirs::new(&base).unwrap();
        let empty = dirs.create().unwrap();
        let full = dirs.create().unwrap();
        assert_ne!(empty.path(), full.path());
        std::fs::create_dir(full.path().join("sub")).unwrap();
        std::fs::write(full.path().join("sub").join("a.txt"), "x").unwrap();
        let (a, b) = (empty.path().to_owned(), full.path().to_owned());
        drop(empty);
        drop(full);
        assert!(!a.exists() && !b.exists());
        std::fs::remove_dir(&base).unwrap();
    }
}
