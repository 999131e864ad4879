//! The Rust SDK of **Ignite**, a managed compile-and-run platform for Rust functions.
//!
//! You write one annotated handler; the platform compiles it into a program that serves HTTP
//! (JSON in, JSON out), or into a `wasm32-wasip2` component exporting
//! `wasi:http/incoming-handler`, and runs it. The platform owns the HTTP server, the listening
//! port and the readiness probe.
//!
//! ```no_run
//! use ignite::prelude::*;
//! use serde_json::json;
//!
//! #[ignite::main]
//! async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
//!     let message: String = req
//!         .field("message")
//!         .unwrap_or_else(|_| "Hello from Rust!".to_string());
//!     Ok(json!({
//!         "message": message,
//!         "execution_id": ctx.execution_id(),
//!         "function_id": ctx.function_id(),
//!     }))
//! }
//! ```
//!
//! - [`Request`] gives the JSON body ([`Request::field`], [`Request::body`], [`Request::raw`]) and
//!   the HTTP method, path, query parameters and headers.
//! - [`Context`] gives [`execution_id`](Context::execution_id),
//!   [`function_id`](Context::function_id), [`env`](Context::env),
//!   [`temp_store`](Context::temp_store), [`stream`](Context::stream).
//! - Return `Ok(` anything [`IntoResponse`] `)`: HTTP 200 with the JSON. `Err(e)` or a panic:
//!   HTTP 500 `{"error": "<message>"}`, and the function keeps serving.
//!
//! See [`main`] for the accepted signatures and what the attribute expands to, and the
//! crate's README for the serve loop's environment variables and headers.

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms)]

mod context;
mod env;
mod error;
mod handler;
mod invoke;
mod log;
mod panic;
mod request;
mod response;
mod serve;
mod stream;
mod temp_store;

pub use crate::context::Context;
pub use crate::env::{Env, Iter as EnvIter};
pub use crate::error::{Error, Result};
pub use crate::request::Request;
pub use crate::response::{IntoResponse, Json, Response, ResponseBuilder};
pub use crate::stream::ResponseStream;
pub use crate::temp_store::TempStore;

pub use ignite_macros::main;

/// `serde`, re-exported: `#[derive(ignite::serde::Deserialize)]` works without depending on
/// it (with `#[serde(crate = "ignite::serde")]`).
///
/// ```
/// #[derive(ignite::serde::Serialize)]
/// #[serde(crate = "ignite::serde")]
/// struct Point {
///     x: i32,
/// }
///
/// assert_eq!(ignite::serde_json::to_string(&Point { x: 1 }).unwrap(), r#"{"x":1}"#);
/// ```
pub use serde;

/// `serde_json`, re-exported.
///
/// ```
/// let value: ignite::serde_json::Value = ignite::serde_json::from_str("[1, 2]").unwrap();
/// assert_eq!(value[1], 2);
/// ```
pub use serde_json;

/// Builds a [`serde_json::Value`] from JSON-like syntax: `serde_json::json!`, re-exported.
///
/// ```
/// let id = 7;
/// let value = ignite::json!({ "id": id, "tags": ["a", "b"], "extra": null });
/// assert_eq!(value.to_string(), r#"{"extra":null,"id":7,"tags":["a","b"]}"#);
/// ```
pub use serde_json::json;

/// Everything a handler file needs: `use ignite::prelude::*;`.
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[main] // the same attribute as #[ignite::main]
/// async fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {
///     Ok(Json(vec![1, 2, 3]))
/// }
/// ```
pub mod prelude {
    pub use crate::{json, main, Context, Error, IntoResponse, Json, Request, Response, Result};
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
