//! Synchronous handlers: each invocation runs on tokio's blocking thread pool.

use std::panic;
use std::sync::Arc;

use crate::context::Context;
use crate::error::Error;
use crate::handler::{Handler, HandlerFuture};
use crate::request::Request;
use crate::response::IntoResponse;

/// Adapts a synchronous `fn handler(Request, Context) -> Result<R, E>`: it runs with
/// `spawn_blocking`, off the async executor threads, so it may block.
pub(crate) struct BlockingFn<F>(Arc<F>);

impl<F> BlockingFn<F> {
    pub(crate) fn new(handler: F) -> BlockingFn<F> {
        BlockingFn(Arc::new(handler))
    }
}

impl<F, R, E> Handler for BlockingFn<F>
where
    F: Fn(Request, Context) -> Result<R, E> + Send + Sync + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    fn call(&self, request: Request, ctx: Context) -> HandlerFuture {
        let handler = self.0.clone();
        let task = tokio::task::spawn_blocking(move || {
            let invocation = ctx.clone();
            crate::log::in_invocation(&invocation, || {
                handler(request, ctx)
                    .map(IntoResponse::into_response)
                    .map_err(Into::into)
            })
        });
        Box::pin(async move {
            match task.await {
                Ok(result) => result,
                // Re-raise the handler's panic here, where the invocation catches it like an
                // async handler's (the panic hook already reported it on its thread).
                Err(error) => match error.try_into_panic() {
                    Ok(payload) => panic::resume_unwind(payload),
                    Err(error) => Err(Error::msg(format!("the handler did not finish: {error}"))),
                },
            }
        })
    }
}
