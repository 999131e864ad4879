//! The wasm32-wasi glue: the function as a `wasi:http/proxy` component.
//!
//! `#[ignite::main]` exports `wasi:http/incoming-handler` (through the `wasip2` crate's
//! bindings) and calls [`serve`] once per request. One invocation at a time runs on a
//! single-threaded tokio runtime; what the request decodes to, the handler call, the panic and
//! error handling and the response encoding are [`crate::invoke`]'s, as on native. Only the
//! bytes move differently: the request comes from the host's `incoming-request`, the response
//! goes to its `response-outparam`.
//!
//! State lives for the life of the component instance, like a native process's: the settings
//! and the environment snapshot are taken at the first request, statics keep their values
//! between requests.
//!
//! A panic cannot unwind on this target (`panic = "abort"`): the panic hook answers the
//! request itself (500 `{"error": ...}`, or a last `{"error": ...}` line of a stream), then the
//! component traps. The host must not reuse a trapped instance.

mod blocking;
mod http_io;
mod panic_hook;

use std::future::Future;
use std::sync::OnceLock;

use bytes::Bytes;
use http::StatusCode;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

pub(crate) use self::blocking::SyncFn;
use crate::handler::Handler;
use crate::invoke::{self, App, Outcome, Settings};
use crate::response::Response;

/// Request header of the host's readiness probe (the counterpart of the native probe's
/// `GET /ready`): answered 200 `{"status":"ready"}` once the function is set up, or 503
/// `{"error": ...}` if it cannot be (a bad setting), without calling the handler. The runner
/// removes `x-ignite-*` headers from its callers' requests, so only the host sends it.
const PROBE: http::HeaderName = http::HeaderName::from_static("x-ignite-probe");

/// The handler behind a trait object: the component has exactly one, set at the first request.
type DynHandler = Box<dyn Handler>;

impl Handler for DynHandler {
    fn call(&self, request: crate::Request, ctx: crate::Context) -> crate::handler::HandlerFuture {
        (**self).call(request, ctx)
    }
}

/// What every request of this component instance shares.
struct State {
    app: App<DynHandler>,
    runtime: tokio::runtime::Runtime,
}

/// The state, or why the function cannot serve (a bad setting): every request gets a 500
/// saying so, as a native function would refuse to start.
static STATE: OnceLock<Result<State, String>> = OnceLock::new();

fn state(
    make_handler: impl FnOnce() -> DynHandler,
    crate_name: &str,
) -> &'static Result<State, String> {
    STATE.get_or_init(|| {
        panic_hook::install();
        let settings = Settings::from_env(crate_name)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|error| format!("could not start the tokio runtime: {error}"))?;
        Ok(State {
            app: App::new(make_handler(), settings),
            runtime,
        })
    })
}

/// How the handler is called.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An `async fn handler`: its future runs on the runtime (`block_on`).
    Async,
    /// A synchronous `fn handler`: called outside of `block_on` but inside the runtime's
    /// context, as on native's blocking pool, so that it may use `Handle::current().block_on`.
    Blocking,
}

/// Serves one `wasi:http` request with `handler`.
pub(crate) fn serve<H: Handler>(
    handler: impl FnOnce() -> H,
    kind: Kind,
    crate_name: &str,
    request: IncomingRequest,
    response_out: ResponseOutparam,
) {
    let state = state(|| Box::new(handler()), crate_name);
    let parts = http_io::parts_of(&request);
    if parts.headers.contains_key(PROBE) {
        // The host's readiness probe: the function is set up (settings, environment snapshot,
        // runtime) and the request goes the way an invocation's does, but the handler is not
        // called.
        let execution_id = invoke::execution_id(&parts.headers);
        let response = match state {
            Ok(state) => {
                match http_io::read_body(request, &parts.headers, state.app.max_body_bytes()) {
                    Ok(_) => Response::json(&serde_json::json!({ "status": "ready" }))
                        .expect("a literal serializes"),
                    Err(response) => response,
                }
            }
            Err(message) => Response::error(StatusCode::SERVICE_UNAVAILABLE, message),
        };
        http_io::send_complete(response_out, response, execution_id);
        return;
    }
    let state = match state {
        Ok(state) => state,
        Err(message) => {
            eprintln!("ignite: {message}");
            let execution_id = invoke::execution_id(&parts.headers);
            let response = Response::error(StatusCode::INTERNAL_SERVER_ERROR, message);
            http_io::send_complete(response_out, response, execution_id);
            return;
        }
    };
    let app = &state.app;
    let execution_id = invoke::execution_id(&parts.headers);
    // From here on a panic (in the handler or anywhere else) is answered by the panic hook.
    let _current = panic_hook::Current::enter(execution_id.clone(), response_out);
    let body: Bytes = match http_io::read_body(request, &parts.headers, app.max_body_bytes()) {
        Ok(body) => body,
        Err(response) => {
            http_io::send_complete(panic_hook::take_outparam(), response, execution_id);
            return;
        }
    };
    let invocation = app.invoke(execution_id.clone(), parts, body);
    panic_hook::set_context(invocation.context());
    let outcome = match kind {
        Kind::Async => state.runtime.block_on(invocation),
        Kind::Blocking => {
            let _context = state.runtime.enter();
            let mut invocation = std::pin::pin!(invocation);
            // A synchronous handler is done after one poll.
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match invocation.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(outcome) => outcome,
                std::task::Poll::Pending => state.runtime.block_on(invocation),
            }
        }
    };
    match outcome {
        Outcome::Complete(response) => {
            http_io::send_complete(panic_hook::take_outparam(), response, execution_id);
        }
        Outcome::Stream(mut stream) => {
            let content_type = stream.content_type().clone();
            let out =
                http_io::start_stream(panic_hook::take_outparam(), content_type, execution_id);
            panic_hook::set_stream(out, stream.shared_receiver());
            while let Some(chunk) = state
                .runtime
                .block_on(std::future::poll_fn(|cx| stream.poll_chunk(cx)))
            {
                panic_hook::write_stream_chunk(&chunk);
            }
            panic_hook::finish_stream();
        }
    }
}

/// `__ignite_main()` on this target: a component has no `main` to run.
pub(crate) fn main(crate_name: &str) -> ! {
    eprintln!(
        "ignite: {crate_name} is an Ignite function built as a wasi:http/proxy component: it has no main program; serve it with `wasmtime serve` or `jco serve`"
    );
    std::process::exit(1)
}
