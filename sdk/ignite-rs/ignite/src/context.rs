//! [`Context`]: who this invocation is and what it may use.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use crate::env::Env;
use crate::stream::ResponseStream;
use crate::temp_store::{TempRoot, TempStore};

/// The context of one invocation: its ids, the function's environment, its scratch space and
/// its streaming response. Context exposes methods, not fields.
///
/// `Context` is cheap to clone (it is reference-counted), so a clone can move into a task the
/// handler spawns; everything still refers to the same invocation.
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     eprintln!("[{}] invoked {}", ctx.execution_id(), ctx.function_id());
///     Ok(json!({
///         "execution_id": ctx.execution_id(),
///         "function_id": ctx.function_id(),
///         "stage": ctx.env().get("STAGE"),
///     }))
/// }
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    execution_id: HeaderValue,
    function_id: FunctionId,
    env: Arc<Env>,
    temp_store: TempStore,
    stream: ResponseStream,
}

/// The function id, shared by every invocation or taken from a request header.
pub(crate) enum FunctionId {
    Shared(Arc<str>),
    Header(HeaderValue),
}

impl FunctionId {
    fn as_str(&self) -> &str {
        match self {
            FunctionId::Shared(id) => id,
            // Only visible-ASCII header values are accepted (see `invoke`).
            FunctionId::Header(value) => value.to_str().unwrap_or_default(),
        }
    }
}

impl Context {
    /// `execution_id` must be visible ASCII (checked by the serve loop).
    pub(crate) fn new(
        execution_id: HeaderValue,
        function_id: FunctionId,
        env: Arc<Env>,
        temp_root: Arc<TempRoot>,
    ) -> Context {
        Context {
            inner: Arc::new(Inner {
                execution_id,
                function_id,
                env,
                temp_store: TempStore::new(temp_root),
                stream: ResponseStream::new(),
            }),
        }
    }

    /// This invocation's id: the `x-ignite-execution-id` the platform sent with the request,
    /// or, when the function is run by hand without one, a UUIDv7 generated for it. The
    /// response carries it back in its `x-ignite-execution-id` header.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     eprintln!("handling {}", ctx.execution_id());
    ///     Ok(json!({ "execution_id": ctx.execution_id() }))
    /// }
    /// ```
    pub fn execution_id(&self) -> &str {
        // Validated as visible ASCII when the context was made.
        self.inner.execution_id.to_str().unwrap_or_default()
    }

    /// The function's id, `"org/func"`: the `x-ignite-function-id` request header if present,
    /// else the `IGNITE_FUNCTION_ID` environment variable the platform sets, else
    /// `"local/<crate name>"` when run by hand.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let (org, name) = ctx.function_id().split_once('/').unwrap_or(("", ctx.function_id()));
    ///     Ok(json!({ "org": org, "name": name }))
    /// }
    /// ```
    pub fn function_id(&self) -> &str {
        self.inner.function_id.as_str()
    }

    /// The function's environment variables (a snapshot taken at start, without the
    /// platform's `PORT` and `IGNITE_*` variables): see [`Env`].
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let greeting = ctx.env().get("GREETING").unwrap_or("Hello");
    ///     Ok(json!({ "message": format!("{greeting}, world") }))
    /// }
    /// ```
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// This invocation's scratch space: a directory of its own, created on first use and
    /// removed when the invocation ends. See [`TempStore`].
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let path = ctx.temp_store().write("scratch.txt", "temporary")?;
    ///     Ok(json!({ "path": path }))
    /// }
    /// ```
    pub fn temp_store(&self) -> &TempStore {
        &self.inner.temp_store
    }

    /// The streaming response of this invocation: what the handler writes to it reaches the
    /// caller while the handler still runs. See [`ResponseStream`] for the semantics.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     ctx.stream().send_json(&json!({ "status": "working" })).await?;
    ///     Ok(json!({ "status": "done" }))
    /// }
    /// ```
    pub fn stream(&self) -> &ResponseStream {
        &self.inner.stream
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("execution_id", &self.execution_id())
            .field("function_id", &self.function_id())
            .finish_non_exhaustive()
    }
}
