//! Ahead-of-time compilation of a verified component for this host's engine.

use wasmtime::error::Context as _;
use wasmtime::{Engine, Precompiled, Result};

/// Compiles a `wasi:http/proxy` component (its binary bytes) to the machine code of `engine`:
/// the bytes of a `.cwasm` file that [`crate::load_component`] maps at start-up without
/// compiling anything. A core module, or bytes that are not WebAssembly, are refused.
pub fn precompile(engine: &Engine, component: &[u8]) -> Result<Vec<u8>> {
    if Engine::detect_precompiled(component).is_some() {
        wasmtime::bail!("the input is already precompiled (a .cwasm file), not a component");
    }
    if is_core_module(component) {
        wasmtime::bail!("the input is a core WebAssembly module, not a component");
    }
    let compiled = engine
        .precompile_component(component)
        .context("the component could not be compiled")?;
    debug_assert_eq!(
        Engine::detect_precompiled(&compiled),
        Some(Precompiled::Component)
    );
    Ok(compiled)
}

/// A core module starts with `\0asm` and version 1; a component with `\0asm`, version 0x0d and
/// layer 1.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}
