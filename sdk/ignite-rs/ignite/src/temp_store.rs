//! [`TempStore`]: per-invocation scratch space on the local disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// The directory under which this process creates its invocations' directories:
/// `<IGNITE_TEMP_DIR or the system temp dir>/ignite-<pid>-<random>`, created on first use and
/// removed when the serve loop stops.
#[derive(Debug)]
pub(crate) struct TempRoot {
    dir: PathBuf,
    created: OnceLock<()>,
    next: AtomicU64,
}

impl TempRoot {
    /// A root under `parent` (nothing is created yet).
    pub(crate) fn new(parent: PathBuf) -> TempRoot {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        TempRoot {
            dir: parent.join(format!("ignite-{}{}", process_tag(), &unique[20..])),
            created: OnceLock::new(),
            next: AtomicU64::new(1),
        }
    }

    fn ensure_created(&self) -> io::Result<()> {
        if self.created.get().is_none() {
            create_private_dir(&self.dir, true)?;
            let _ = self.created.set(());
        }
        Ok(())
    }

    /// Removes the root and everything left in it (at shutdown).
    // A component has no shutdown: its host removes the directory it preopened.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn remove(&self) {
        if self.created.get().is_some() {
            if let Err(error) = fs::remove_dir_all(&self.dir) {
                if error.kind() != io::ErrorKind::NotFound {
                    eprintln!(
                        "ignite: could not remove temp directory {}: {error}",
                        self.dir.display()
                    );
                }
            }
        }
    }
}

/// Added to the error when the directory cannot be created.
#[cfg(not(target_arch = "wasm32"))]
const NO_DIRECTORY_HINT: &str = "";

/// On wasm32 a component sees only the directories its host preopened.
#[cfg(target_arch = "wasm32")]
const NO_DIRECTORY_HINT: &str = " (a wasm component has a file system only where its host preopens a directory: the host must preopen one and set IGNITE_TEMP_DIR to its path inside the component, e.g. `wasmtime serve -Scli --dir /tmp/scratch::/tmp --env IGNITE_TEMP_DIR=/tmp`; the Ignite runner does)";

/// `<pid>-`: which process a temp root belongs to.
#[cfg(not(target_arch = "wasm32"))]
fn process_tag() -> String {
    format!("{}-", std::process::id())
}

/// Nothing on wasm32: WASI has no process ids (`std::process::id` panics).
#[cfg(target_arch = "wasm32")]
fn process_tag() -> String {
    String::new()
}

/// Scratch space for one invocation: a directory of its own on the local disk, created the
/// first time it is used and removed, with everything in it, when the invocation ends (when
/// the response has been produced; for a streaming response, when the handler returns). Get
/// it with [`Context::temp_store`](crate::Context::temp_store).
///
/// Files are named by a plain file name: names that are empty or contain `/`, `\`, `..` or
/// NUL are rejected, so a name can never leave the directory. The methods do ordinary
/// blocking file I/O, meant for scratch files of modest size; for large files use
/// [`TempStore::path`] with `tokio::fs`. After the invocation has ended (from a task the
/// handler spawned, say) every method fails.
///
/// The directory is `<root>/<n>` where `<root>` is `ignite-<pid>-<random>` inside
/// `IGNITE_TEMP_DIR` (default: the system temp directory, `TMPDIR` or `/tmp`).
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     let csv: String = req.field("csv")?;
///     let store = ctx.temp_store();
///     let path = store.write("input.csv", csv.as_bytes())?;
///     let lines = store.read_to_string("input.csv")?.lines().count();
///     Ok(json!({ "lines": lines, "path": path }))
/// }
/// ```
#[derive(Debug)]
pub struct TempStore {
    root: Arc<TempRoot>,
    dir: OnceLock<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    created: bool,
    closed: bool,
}

impl TempStore {
    pub(crate) fn new(root: Arc<TempRoot>) -> TempStore {
        TempStore {
            root,
            dir: OnceLock::new(),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The invocation's directory, created if needed.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let dir = ctx.temp_store().path()?;
    ///     tokio::fs::write(dir.join("big.bin"), vec![0u8; 1 << 20]).await?;
    ///     Ok(json!({ "dir": dir }))
    /// }
    /// ```
    pub fn path(&self) -> Result<&Path> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::msg(
                "temp store: the invocation has ended and its temp directory was removed",
            ));
        }
        let dir = self.dir.get_or_init(|| {
            let n = self.root.next.fetch_add(1, Ordering::Relaxed);
            self.root.dir.join(n.to_string())
        });
        if !state.created {
            self.root
                .ensure_created()
                .and_then(|()| create_private_dir(dir, false))
                .map_err(|error| {
                    Error::msg(format!(
                        "temp store: cannot create {}: {error}{}",
                        dir.display(),
                        NO_DIRECTORY_HINT
                    ))
                })?;
            state.created = true;
        }
        Ok(dir)
    }

    /// The path file `name` has (or would have) in the directory, which is created if needed.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let output = ctx.temp_store().file_path("report.pdf")?;
    ///     // ... hand `output` to a tool that writes the file ...
    ///     Ok(json!({ "output": output }))
    /// }
    /// ```
    pub fn file_path(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.path()?.join(name))
    }

    /// Writes `contents` to file `name` (replacing it) and returns its path.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let path = ctx.temp_store().write("notes.txt", "remember the milk")?;
    ///     Ok(json!({ "written": path }))
    /// }
    /// ```
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
        let path = self.file_path(name)?;
        fs::write(&path, contents)
            .map_err(|error| Error::msg(format!("temp store: cannot write {name:?}: {error}")))?;
        Ok(path)
    }

    /// Reads file `name`.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let store = ctx.temp_store();
    ///     store.write("data.bin", [1u8, 2, 3])?;
    ///     Ok(json!({ "bytes": store.read("data.bin")? }))
    /// }
    /// ```
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.file_path(name)?;
        fs::read(&path)
            .map_err(|error| Error::msg(format!("temp store: cannot read {name:?}: {error}")))
    }

    /// Reads file `name` as UTF-8 text.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let store = ctx.temp_store();
    ///     store.write("greeting.txt", "hello")?;
    ///     Ok(json!({ "text": store.read_to_string("greeting.txt")? }))
    /// }
    /// ```
    pub fn read_to_string(&self, name: &str) -> Result<String> {
        let path = self.file_path(name)?;
        fs::read_to_string(&path)
            .map_err(|error| Error::msg(format!("temp store: cannot read {name:?}: {error}")))
    }

    /// Whether file `name` exists.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "cached": ctx.temp_store().contains("cache.json")? }))
    /// }
    /// ```
    pub fn contains(&self, name: &str) -> Result<bool> {
        let path = self.file_path(name)?;
        path.try_exists()
            .map_err(|error| Error::msg(format!("temp store: cannot check {name:?}: {error}")))
    }

    /// Removes file `name`.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let store = ctx.temp_store();
    ///     store.write("partial.tmp", "...")?;
    ///     store.remove("partial.tmp")?;
    ///     Ok(())
    /// }
    /// ```
    pub fn remove(&self, name: &str) -> Result<()> {
        let path = self.file_path(name)?;
        fs::remove_file(&path)
            .map_err(|error| Error::msg(format!("temp store: cannot remove {name:?}: {error}")))
    }

    /// The names of the files (and directories) in the invocation's directory, sorted.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let store = ctx.temp_store();
    ///     store.write("a.txt", "a")?;
    ///     store.write("b.txt", "b")?;
    ///     Ok(json!({ "files": store.list()? })) // ["a.txt", "b.txt"]
    /// }
    /// ```
    pub fn list(&self) -> Result<Vec<String>> {
        let dir = self.path()?;
        let mut names = fs::read_dir(dir)
            .and_then(|entries| {
                entries
                    .map(|entry| {
                        entry.map(|entry| entry.file_name().to_string_lossy().into_owned())
                    })
                    .collect::<io::Result<Vec<_>>>()
            })
            .map_err(|error| Error::msg(format!("temp store: cannot list: {error}")))?;
        names.sort();
        Ok(names)
    }

    /// Ends the store: removes the directory (if it was created) and fails later calls.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        if state.created {
            if let Some(dir) = self.dir.get() {
                if let Err(error) = fs::remove_dir_all(dir) {
                    eprintln!(
                        "ignite: could not remove temp directory {}: {error}",
                        dir.display()
                    );
                }
            }
        }
    }
}

/// A plain file name: not empty, no `/`, `\`, `..` or NUL.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name.contains(['/', '\\', '\0']) || name.contains("..") {
        return Err(Error::msg(format!(
            "temp store: invalid file name {name:?}: use a plain file name without '/', '\\' or '..'"
        )));
    }
    Ok(())
}

/// Creates a directory readable only by this user (`recursive` for the root's parents).
fn create_private_dir(dir: &Path, recursive: bool) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ignite-unit-{}", uuid::Uuid::now_v7().simple()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "x..y", "nul\0"] {
            assert!(check_name(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["a.txt", ".hidden", "report-2024.csv", "ünïcødé"] {
            assert!(check_name(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn store_lifecycle() {
        let parent = scratch();
        let root = Arc::new(TempRoot::new(parent.clone()));
        let store = TempStore::new(root.clone());
        let other = TempStore::new(root.clone());
        // Nothing is created until the store is used.
        assert_eq!(fs::read_dir(&parent).unwrap().count(), 0);

        let path = store.write("a.txt", "hello").unwrap();
        assert_eq!(store.read_to_string("a.txt").unwrap(), "hello");
        assert!(store.contains("a.txt").unwrap());
        store.write("b.bin", [1u8, 2]).unwrap();
        assert_eq!(store.list().unwrap(), ["a.txt", "b.bin"]);
        store.remove("b.bin").unwrap();
        assert_eq!(store.list().unwrap(), ["a.txt"]);
        assert!(store.write("../escape", "x").is_err());

        other.write("a.txt", "other").unwrap();
        assert_ne!(store.path().unwrap(), other.path().unwrap());

        let dir = store.path().unwrap().to_path_buf();
        store.close();
        assert!(!path.exists());
        assert!(!dir.exists());
        assert!(store.path().is_err());
        assert!(store.read("a.txt").is_err());
        assert_eq!(other.read_to_string("a.txt").unwrap(), "other");

        root.remove();
        assert_eq!(fs::read_dir(&parent).unwrap().count(), 0);
        fs::remove_dir_all(parent).unwrap();
    }
}
