//! The HTTP server that carries invocations. Target-specific: the native serve loop is a hyper
//! HTTP/1.1 server on a multi-threaded tokio runtime; on wasm32-wasi the function is a
//! `wasi:http/proxy` component whose `incoming-handler` export calls [`crate::invoke`] the same
//! way.

#[cfg(not(target_arch = "wasm32"))]
mod native;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{run, BlockingFn};

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
pub(crate) mod wasm;
