//! What `#[ignite::main]` expands to calls into. Not a public API: it may change in any
//! release.

use std::future::Future;

use crate::context::Context;
use crate::error::Error;
use crate::request::Request;
use crate::response::IntoResponse;

/// Runs the serve loop with an `async fn handler` and exits the process.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_async<F, Fut, R, E>(handler: F, crate_name: &'static str) -> !
where
    F: Fn(Request, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    crate::serve::run(crate::handler::AsyncFn(handler), crate_name)
}

/// Runs the serve loop with a synchronous `fn handler` (on the blocking thread pool) and exits
/// the process.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_blocking<F, R, E>(handler: F, crate_name: &'static str) -> !
where
    F: Fn(Request, Context) -> Result<R, E> + Send + Sync + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    crate::serve::run(crate::serve::BlockingFn::new(handler), crate_name)
}

#[cfg(target_arch = "wasm32")]
compile_error!(
    "the wasm32 target of the ignite SDK (wasi:http glue) is not implemented yet: build for a native target"
);
