//! Ignite's wasm host: serves one function's `wasi:http/proxy` component with Wasmtime.
//!
//! The component is precompiled ahead of time for this host's engine configuration
//! ([`precompile`], named by [`cache_key`]), mapped at start ([`load_component`]), linked
//! once, and instantiated afresh for every request ([`Executor::handle`]) from the pooling
//! allocator with copy-on-write memory images. Each execution has its own store: the
//! function's environment, a preopened temp directory removed afterwards, its stdout and
//! stderr captured as lines tagged with the execution id, a memory limit (a resource limiter)
//! and a time limit (a deadline checked at the ticks of one shared epoch ticker).
//!
//! The `serve` part ([`config`], [`listener`], [`server`], [`log_output`]) is the program the
//! runner starts: see the crate's README for its interface. With the runner's direct port, the
//! host also serves callers' connections the runner hands over ([`direct`]), as a native
//! program built with the SDK does.

#![deny(missing_docs)]

pub mod component;
pub mod config;
pub mod direct;
pub mod engine;
pub mod epoch;
pub mod error_response;
pub mod executor;
pub mod guest_log;
pub mod guest_state;
pub mod limits;
pub mod linker;
pub mod listener;
pub mod log_output;
pub mod platform_headers;
pub mod precompile;
pub mod server;
pub mod stats;
pub mod temp_dir;

pub use component::{load_component, ComponentSource};
pub use engine::{cache_key, engine, precompiled_file_name, PoolSettings};
pub use executor::{Executor, FunctionSettings, ResponseBody};
pub use guest_log::{LogSink, LogStream};
pub use precompile::precompile;
