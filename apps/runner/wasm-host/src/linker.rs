//! Linking, once per component: the WASI interfaces `wasmtime serve -Scli` gives a component
//! (all of `wasi:cli`, `wasi:filesystem`, `wasi:clocks`, `wasi:random`, `wasi:io`, and
//! `wasi:sockets` with no network allowed) plus `wasi:http`, resolved ahead of every request.

use wasmtime::component::{Component, Linker};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::guest_state::GuestState;

/// The component linked against the host's interfaces, ready to be instantiated per request.
/// Refused with the missing import when the component wants what the host does not give.
pub fn link(engine: &Engine, component: &Component) -> Result<ProxyPre<GuestState>> {
    let mut linker = Linker::<GuestState>::new(engine);
    // What `-Scli` adds to `wasmtime serve`: the whole WASI 0.2 command set, then HTTP.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let pre = linker
        .instantiate_pre(component)
        .context("the component imports what this host does not provide")?;
    ProxyPre::new(pre).context("the component does not export wasi:http/incoming-handler")
}
