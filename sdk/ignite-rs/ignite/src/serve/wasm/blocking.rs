//! Synchronous handlers on wasm32: there are no other threads to run them on, and nothing else
//! runs while one invocation is handled, so the handler is simply called when the invocation
//! is first polled (by the glue, outside of the runtime's `block_on`: see
//! [`Kind::Blocking`](super::Kind::Blocking)). It blocks the component's only thread, as it
//! would block a thread of the native blocking pool.

use std::sync::Arc;

use crate::context::Context;
use crate::error::Error;
use crate::handler::{Handler, HandlerFuture};
use crate::request::Request;
use crate::response::IntoResponse;

/// Adapts a synchronous `fn handler(Request, Context) -> Result<R, E>`.
pub(crate) struct SyncFn<F>(Arc<F>);

impl<F> SyncFn<F> {
    pub(crate) fn new(handler: F) -> SyncFn<F> {
        SyncFn(Arc::new(handler))
    }
}

impl<F, R, E> Handler for SyncFn<F>
where
    F: Fn(Request, Context) -> Result<R, E> + Send + Sync + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    fn call(&self, request: Request, ctx: Context) -> HandlerFuture {
        let handler = self.0.clone();
        Box::pin(async move {
            handler(request, ctx)
                .map(IntoResponse::into_response)
                .map_err(Into::into)
        })
    }
}
