//! What `#[ignite::main]` expands to calls into. Not a public API: it may change in any
//! release.

use std::future::Future;

use crate::context::Context;
use crate::error::Error;
use crate::request::Request;
use crate::response::IntoResponse;

pub use crate::log::{write_line, Stream};

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

/// On wasm32 the function is a component serving `wasi:http/incoming-handler`, not a program:
/// its `main` (reachable only if the crate is built as a command) says so and exits with 1.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
pub fn run_async<F, Fut, R, E>(_handler: F, crate_name: &'static str) -> !
where
    F: Fn(Request, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    crate::serve::wasm::main(crate_name)
}

/// See [`run_async`].
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
pub fn run_blocking<F, R, E>(_handler: F, crate_name: &'static str) -> !
where
    F: Fn(Request, Context) -> Result<R, E> + Send + Sync + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    crate::serve::wasm::main(crate_name)
}

/// The `wasi:http/proxy` glue the attribute generates on wasm32-wasi: the `wasip2` bindings it
/// exports `wasi:http/incoming-handler` with, and the functions its `handle` calls.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
pub mod wasm {
    use super::*;

    pub use wasip2;
    pub use wasip2::_export_proxy as export;
    pub use wasip2::exports::http::incoming_handler::Guest;
    pub use wasip2::http::types::{IncomingRequest, ResponseOutparam};

    /// Serves one request with an `async fn handler`.
    pub fn serve_async<F, Fut, R, E>(
        handler: F,
        crate_name: &'static str,
        request: IncomingRequest,
        response_out: ResponseOutparam,
    ) where
        F: Fn(Request, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: IntoResponse,
        E: Into<Error>,
    {
        crate::serve::wasm::serve(
            move || crate::handler::AsyncFn(handler),
            crate::serve::wasm::Kind::Async,
            crate_name,
            request,
            response_out,
        )
    }

    /// Serves one request with a synchronous `fn handler`.
    pub fn serve_blocking<F, R, E>(
        handler: F,
        crate_name: &'static str,
        request: IncomingRequest,
        response_out: ResponseOutparam,
    ) where
        F: Fn(Request, Context) -> Result<R, E> + Send + Sync + 'static,
        R: IntoResponse,
        E: Into<Error>,
    {
        crate::serve::wasm::serve(
            move || crate::serve::wasm::SyncFn::new(handler),
            crate::serve::wasm::Kind::Blocking,
            crate_name,
            request,
            response_out,
        )
    }
}

#[cfg(all(target_arch = "wasm32", not(target_os = "wasi")))]
compile_error!(
    "the ignite SDK's WebAssembly target is wasm32-wasip2 (a wasi:http/proxy component); wasm32 without WASI is not supported"
);
