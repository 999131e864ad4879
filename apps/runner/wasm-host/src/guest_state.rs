//! What one execution's `Store` holds: its WASI context (environment, preopened temp
//! directory, stdout/stderr), its `wasi:http` context, its resource table and its memory
//! limiter; and the `wasi:http` hooks that refuse outgoing requests.

use std::future::Future;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::limits::MemoryLimiter;

/// The data of one execution's store.
pub struct GuestState {
    /// WASI: environment, preopens, clocks, random, stdio.
    pub wasi: WasiCtx,
    /// `wasi:http` state.
    pub http: WasiHttpCtx,
    /// Resources handed to the guest.
    pub table: ResourceTable,
    /// The memory limit.
    pub limiter: MemoryLimiter,
    hooks: NoOutgoingHttp,
}

impl GuestState {
    /// The state of a new execution.
    pub fn new(wasi: WasiCtx, limiter: MemoryLimiter) -> GuestState {
        GuestState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limiter,
            hooks: NoOutgoingHttp,
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Functions cannot call out: every outgoing request is refused (`HTTP-request-denied`, the
/// guest sees an error from `outgoing-handler.handle`).
struct NoOutgoingHttp;

impl WasiHttpHooks for NoOutgoingHttp {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}
