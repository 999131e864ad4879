//! Loading a precompiled component: from a path, or from a descriptor the sandbox handed over.

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled, Result};

use crate::engine::cache_key;

/// Where the precompiled component (`.cwasm`) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentSource {
    /// A file path (`IGNITE_COMPONENT`).
    Path(PathBuf),
    /// An inherited open descriptor (`IGNITE_COMPONENT_FD`): the sandbox passes host files this
    /// way. It is read through `/proc/self/fd/N`.
    Fd(RawFd),
}

impl ComponentSource {
    /// The path the file is opened (mapped) by.
    fn path(&self) -> PathBuf {
        match self {
            ComponentSource::Path(path) => path.clone(),
            ComponentSource::Fd(fd) => PathBuf::from(format!("/proc/self/fd/{fd}")),
        }
    }

    fn describe(&self) -> String {
        match self {
            ComponentSource::Path(path) => path.display().to_string(),
            ComponentSource::Fd(fd) => format!("descriptor {fd}"),
        }
    }
}

/// Maps a precompiled component made by [`crate::precompile`] for an engine of this
/// configuration. Refused with the reason, before anything of it runs: a file that is not a
/// precompiled component, a file named for another cache key, a file Wasmtime finds made by
/// another version or configuration.
///
/// The file's bytes are trusted as machine code: it must be the compile worker's output, as
/// verified by the runner (content-addressed), never a tenant's file.
pub fn load_component(engine: &Engine, source: &ComponentSource) -> Result<Component> {
    let path = source.path();
    let what = source.describe();
    let ours = cache_key(engine);
    if let ComponentSource::Path(path) = source {
        if let Some(theirs) = key_in_file_name(path) {
            if theirs != ours {
                wasmtime::bail!(
                    "{what} was precompiled for engine {theirs}, this host is {ours}: precompile the component again (`ignite-wasm-host precompile IN.wasm OUT.cwasm`)"
                );
            }
        }
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(&path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .map_err(|error| wasmtime::format_err!("{what} could not be read: {error}"))?;
    if magic == *b"\0asm" {
        wasmtime::bail!(
            "{what} is not a precompiled component but WebAssembly to compile: precompile it first (`ignite-wasm-host precompile IN.wasm OUT.cwasm`)"
        );
    }
    if magic != *b"\x7fELF" {
        wasmtime::bail!(
            "{what} is not a precompiled component (a .cwasm made by `ignite-wasm-host precompile`)"
        );
    }
    match Engine::detect_precompiled_file(&path) {
        Ok(Some(Precompiled::Component)) => {}
        Ok(Some(Precompiled::Module)) => {
            wasmtime::bail!("{what} is a precompiled core module, not a component")
        }
        Ok(None) => wasmtime::bail!(
            "{what} is not a precompiled component (a .cwasm made by `ignite-wasm-host precompile`)"
        ),
        Err(error) => wasmtime::bail!("{what} could not be read: {error}"),
    }
    // SAFETY: the file is the output of `precompile` (see above); it is mapped, not copied, and
    // must not change while the host runs (the runner's artifact copies are immutable).
    unsafe { Component::deserialize_file(engine, &path) }.map_err(|error| {
        wasmtime::format_err!(
            "{what} does not fit this host (engine {ours}): {error}; precompile the component again (`ignite-wasm-host precompile IN.wasm OUT.cwasm`)"
        )
    })
}

/// `<sha256>.<cache key>.cwasm` → the cache key.
fn key_in_file_name(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".cwasm")?;
    let (_, key) = stem.split_once('.')?;
    key.starts_with("wasmtime-").then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_of_a_file_name() {
        assert_eq!(
            key_in_file_name(Path::new("/a/ab12.wasmtime-48.0.8-00ff.cwasm")),
            Some("wasmtime-48.0.8-00ff")
        );
        assert_eq!(key_in_file_name(Path::new("/a/component.cwasm")), None);
        assert_eq!(key_in_file_name(Path::new("/a/x.other.cwasm")), None);
    }

    #[test]
    fn a_descriptor_is_read_through_proc() {
        assert_eq!(
            ComponentSource::Fd(7).path(),
            PathBuf::from("/proc/self/fd/7")
        );
    }
}
