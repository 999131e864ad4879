//! The handler as the serve loop sees it: one boxed future per invocation.

use std::future::Future;
use std::pin::Pin;

use crate::context::Context;
use crate::error::Error;
use crate::request::Request;
use crate::response::{IntoResponse, Response};

/// The future of one invocation of a handler.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;

/// A handler the serve loop can call: the user's function behind an adapter.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Starts one invocation.
    fn call(&self, request: Request, ctx: Context) -> HandlerFuture;
}

/// Adapts an `async fn handler(Request, Context) -> Result<R, E>`.
pub(crate) struct AsyncFn<F>(pub(crate) F);

impl<F, Fut, R, E> Handler for AsyncFn<F>
where
    F: Fn(Request, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
    R: IntoResponse,
    E: Into<Error>,
{
    fn call(&self, request: Request, ctx: Context) -> HandlerFuture {
        let future = (self.0)(request, ctx);
        Box::pin(async move {
            match future.await {
                Ok(value) => Ok(value.into_response()),
                Err(error) => Err(error.into()),
            }
        })
    }
}
