//! The HTTP server that carries invocations. Target-specific: the native serve loop is a hyper
//! HTTP/1.1 server on a multi-threaded tokio runtime; a wasm32-wasip2 build will add a
//! `wasi:http` incoming-handler glue next to it, reusing [`crate::invoke`] unchanged.

#[cfg(not(target_arch = "wasm32"))]
mod native;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{run, BlockingFn};
