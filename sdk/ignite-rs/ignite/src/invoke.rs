//! One invocation, independent of the HTTP server that carries it: decode the request, call
//! the handler (catching panics), encode the outcome, drive a streamed response. The native
//! native serve loop and the wasm32 glue only move bytes in and out.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::sync::mpsc;

use crate::context::{Context, FunctionId};
use crate::env::Env;
use crate::handler::{Handler, HandlerFuture};
use crate::request::Request;
use crate::response::Response;
use crate::temp_store::TempRoot;

/// Request header: the platform's id of this invocation. Echoed on every response.
pub(crate) const EXECUTION_ID: HeaderName = HeaderName::from_static("x-ignite-execution-id");
/// Request header: overrides the function id (`IGNITE_FUNCTION_ID`) for one invocation.
pub(crate) const FUNCTION_ID: HeaderName = HeaderName::from_static("x-ignite-function-id");

/// Default largest request body: 6 MiB.
const DEFAULT_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// Longest accepted `x-ignite-execution-id` / `x-ignite-function-id` value.
const MAX_ID_LEN: usize = 256;

/// Settings read from the environment when the function starts.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `IGNITE_FUNCTION_ID`, else `local/<crate name>`.
    pub(crate) function_id: Arc<str>,
    /// `IGNITE_TEMP_DIR`, else the system temp directory.
    pub(crate) temp_dir: PathBuf,
    /// `IGNITE_MAX_BODY_BYTES`, else 6 MiB.
    pub(crate) max_body_bytes: usize,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub(crate) fn from_env(crate_name: &str) -> Result<Settings, String> {
        let function_id = match env_var("IGNITE_FUNCTION_ID")? {
            Some(id) => id,
            None => format!("local/{crate_name}"),
        };
        let temp_dir = match std::env::var_os("IGNITE_TEMP_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => default_temp_dir(),
        };
        let max_body_bytes = match env_var("IGNITE_MAX_BODY_BYTES")? {
            Some(value) => value.parse::<usize>().map_err(|_| {
                format!("IGNITE_MAX_BODY_BYTES must be a number of bytes, got {value:?}")
            })?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Settings {
            function_id: function_id.into(),
            temp_dir,
            max_body_bytes,
        })
    }
}

/// Where temp stores live without `IGNITE_TEMP_DIR`: the system temp directory.
#[cfg(not(target_arch = "wasm32"))]
fn default_temp_dir() -> PathBuf {
    std::env::temp_dir()
}

/// Where temp stores live without `IGNITE_TEMP_DIR`: WASI has no temp directory of its own
/// (`std::env::temp_dir` panics), so `/tmp`, which works if the host preopens a directory there.
#[cfg(target_arch = "wasm32")]
fn default_temp_dir() -> PathBuf {
    PathBuf::from("/tmp")
}

/// A non-empty environment variable; an error if it is not UTF-8.
pub(crate) fn env_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// Everything invocations share: the handler and the function's settings.
pub(crate) struct App<H> {
    handler: H,
    settings: Settings,
    env: Arc<Env>,
    temp_root: Arc<TempRoot>,
}

impl<H: Handler> App<H> {
    pub(crate) fn new(handler: H, settings: Settings) -> App<H> {
        App {
            handler,
            env: Arc::new(Env::from_process()),
            temp_root: Arc::new(TempRoot::new(settings.temp_dir.clone())),
            settings,
        }
    }

    /// The function id when no request header overrides it.
    // Used by the native serve loop only: a component has no startup log nor shutdown.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn function_id(&self) -> &str {
        &self.settings.function_id
    }

    /// The largest request body accepted (a larger one gets a 413).
    pub(crate) fn max_body_bytes(&self) -> usize {
        self.settings.max_body_bytes
    }

    /// Removes what the function left on disk (at shutdown).
    // Used by the native serve loop only: a component has no startup log nor shutdown.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn cleanup(&self) {
        self.temp_root.remove();
    }

    /// Starts an invocation. `execution_id` comes from [`execution_id`]; the body has been
    /// read whole (the server enforces [`App::max_body_bytes`]).
    pub(crate) fn invoke(
        &self,
        execution_id: HeaderValue,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Invocation {
        let function_id = match parts.headers.get(FUNCTION_ID) {
            Some(value) if is_valid_id(value) => FunctionId::Header(value.clone()),
            _ => FunctionId::Shared(self.settings.function_id.clone()),
        };
        let request = match Request::decode(parts.method, parts.uri, parts.headers, body) {
            Ok(request) => request,
            Err(message) => {
                return Invocation::done(Response::error(StatusCode::BAD_REQUEST, &message))
            }
        };
        let ctx = Context::new(
            execution_id,
            function_id,
            self.env.clone(),
            self.temp_root.clone(),
        );
        let live = Live {
            ctx: ctx.clone(),
            ended: false,
        };
        let future = self.handler.call(request, ctx);
        Invocation {
            state: State::Running { future, live },
        }
    }
}

/// A request body over `limit` bytes: 413 (every server, before or while reading it), in the
/// words of the Ignite API and runner (`payload_too_large`), so that every invoke path answers alike.
pub(crate) fn body_too_large(limit: usize) -> Response {
    Response::platform_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &serde_json::json!({
            "error": format!("request body is larger than the limit of {limit} bytes"),
            "code": "payload_too_large",
            "limitBytes": limit,
        }),
    )
}

/// A request body that could not be read: 400.
pub(crate) fn body_unreadable(detail: &str) -> Response {
    Response::error(
        StatusCode::BAD_REQUEST,
        &format!("could not read the request body: {detail}"),
    )
}

/// Whether the declared `content-length` is over `limit`: the body is refused before any of it is read.
pub(crate) fn declares_too_large(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

/// The execution id of a request: its `x-ignite-execution-id` header if that is a sensible id
/// (visible ASCII, at most 256 bytes), else a new UUIDv7.
pub(crate) fn execution_id(headers: &HeaderMap) -> HeaderValue {
    match headers.get(EXECUTION_ID) {
        Some(value) if is_valid_id(value) => value.clone(),
        _ => {
            let mut buffer = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buffer);
            HeaderValue::from_str(id).expect("a UUID is a valid header value")
        }
    }
}

fn is_valid_id(value: &HeaderValue) -> bool {
    !value.is_empty() && value.len() <= MAX_ID_LEN && value.to_str().is_ok()
}

/// The outcome of an invocation.
pub(crate) enum Outcome {
    /// A whole response.
    Complete(Response),
    /// The handler started streaming: send a 200 with this body.
    Stream(StreamBody),
}

/// A running invocation; resolves as soon as the response can be sent (when the handler
/// returns, or when it starts streaming).
pub(crate) struct Invocation {
    state: State,
}

enum State {
    Running { future: HandlerFuture, live: Live },
    Done(Option<Response>),
}

impl Invocation {
    fn done(response: Response) -> Invocation {
        Invocation {
            state: State::Done(Some(response)),
        }
    }
}

impl Future for Invocation {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Outcome> {
        let State::Running { future, live } = &mut self.state else {
            let State::Done(response) = &mut self.state else {
                unreachable!()
            };
            return Poll::Ready(Outcome::Complete(
                response.take().expect("Invocation polled after completion"),
            ));
        };
        match poll_handler(future, cx, &live.ctx) {
            Poll::Ready(response) => {
                let outcome = match live.ctx.stream().finish() {
                    // Streamed, then returned before the serve loop noticed.
                    Some(started) => {
                        live.end();
                        let trailer = Some(final_line(response));
                        Outcome::Stream(StreamBody::new(started, None, trailer, live.take()))
                    }
                    None => {
                        live.end();
                        Outcome::Complete(response)
                    }
                };
                self.state = State::Done(None);
                Poll::Ready(outcome)
            }
            Poll::Pending => match live.ctx.stream().poll_started(cx.waker()) {
                Some(started) => {
                    let State::Running { future, live } =
                        std::mem::replace(&mut self.state, State::Done(None))
                    else {
                        unreachable!()
                    };
                    Poll::Ready(Outcome::Stream(StreamBody::new(
                        started,
                        Some(future),
                        None,
                        live,
                    )))
                }
                None => Poll::Pending,
            },
        }
    }
}

/// Polls the handler, turning `Err` and panics into 500 responses. What it logs meanwhile is
/// the invocation's (see `crate::log`).
fn poll_handler(
    future: &mut HandlerFuture,
    cx: &mut TaskContext<'_>,
    ctx: &Context,
) -> Poll<Response> {
    crate::log::in_invocation(ctx, || {
        match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => Poll::Ready(response),
            Ok(Poll::Ready(Err(error))) => {
                let message = error.to_string();
                crate::log::platform_line(&format!(
                    "invocation {} failed: {message}",
                    ctx.execution_id()
                ));
                Poll::Ready(Response::error(StatusCode::INTERNAL_SERVER_ERROR, &message))
            }
            // The panic hook has logged its message and location.
            Err(payload) => {
                let message = crate::panic::message(&*payload);
                Poll::Ready(Response::error(StatusCode::INTERNAL_SERVER_ERROR, &message))
            }
        }
    })
}

/// The last line of a stream: the handler's JSON result, unless it is `null`.
fn final_line(response: Response) -> Option<Bytes> {
    let (_, _, body) = response.into_parts();
    if body.as_ref() == b"null" {
        return None;
    }
    let mut line = BytesMut::with_capacity(body.len() + 1);
    line.extend_from_slice(&body);
    line.extend_from_slice(b"\n");
    Some(line.freeze())
}

/// Ends the invocation (removes its temp directory) exactly once: when the handler returns,
/// or when the invocation is dropped because the caller went away.
struct Live {
    ctx: Context,
    ended: bool,
}

impl Live {
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.ctx.stream().finish();
            self.ctx.temp_store().close();
        }
    }

    fn take(&mut self) -> Live {
        let live = Live {
            ctx: self.ctx.clone(),
            ended: self.ended,
        };
        self.ended = true;
        live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.end();
    }
}

/// The body of a streamed response. Polling it also drives the handler, which keeps running
/// while its chunks are sent; dropping it (the caller went away) cancels the handler.
pub(crate) struct StreamBody {
    handler: Option<HandlerFuture>,
    receiver: StreamReceiver,
    content_type: HeaderValue,
    trailer: Option<Bytes>,
    /// Whether the last chunk sent ended a line (so the trailer starts on a line of its own).
    at_line_start: bool,
    live: Live,
}

impl StreamBody {
    fn new(
        started: crate::stream::Started,
        handler: Option<HandlerFuture>,
        trailer: Option<Option<Bytes>>,
        live: Live,
    ) -> StreamBody {
        let mut receiver = started.receiver;
        if handler.is_none() {
            receiver.close();
        }
        StreamBody {
            handler,
            receiver: StreamReceiver::new(receiver),
            content_type: started.content_type,
            trailer: trailer.flatten(),
            at_line_start: true,
            live,
        }
    }

    /// The `content-type` of the stream.
    pub(crate) fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// The next chunk, `None` at the end.
    pub(crate) fn poll_chunk(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Bytes>> {
        if let Some(future) = &mut self.handler {
            if let Poll::Ready(response) = poll_handler(future, cx, &self.live.ctx) {
                self.handler = None;
                self.trailer = final_line(response);
                self.live.end();
                // Chunks already queued are still sent; nothing more can be.
                self.receiver.get().close();
            }
        }
        let received = self.receiver.get().poll_recv(cx);
        match received {
            Poll::Ready(Some(chunk)) => {
                self.at_line_start = chunk.ends_with(b"\n");
                Poll::Ready(Some(chunk))
            }
            // Every sender is gone while the handler still runs: wait for it.
            Poll::Ready(None) if self.handler.is_some() => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(self.trailer.take().map(|trailer| {
                if self.at_line_start {
                    trailer
                } else {
                    self.at_line_start = true;
                    let mut line = BytesMut::with_capacity(trailer.len() + 1);
                    line.extend_from_slice(b"\n");
                    line.extend_from_slice(&trailer);
                    line.freeze()
                }
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Invocation {
    /// The invocation's context, while the handler runs (the wasm32 glue keeps it for its panic
    /// hook).
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn context(&self) -> Option<Context> {
        match &self.state {
            State::Running { live, .. } => Some(live.ctx.clone()),
            State::Done(_) => None,
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl StreamBody {
    /// The chunks the handler queued, shared with the wasm32 glue's panic hook: a panic there
    /// cannot unwind into [`StreamBody::poll_chunk`], so the hook sends what is queued itself.
    pub(crate) fn shared_receiver(&self) -> std::rc::Rc<std::cell::RefCell<mpsc::Receiver<Bytes>>> {
        self.receiver.0.clone()
    }
}

/// The receiving end of a stream's chunks: owned by the [`StreamBody`] natively; on wasm32 also
/// reachable from the panic hook (one thread, so an `Rc<RefCell<_>>`).
#[cfg(not(target_arch = "wasm32"))]
struct StreamReceiver(mpsc::Receiver<Bytes>);

#[cfg(not(target_arch = "wasm32"))]
impl StreamReceiver {
    fn new(receiver: mpsc::Receiver<Bytes>) -> StreamReceiver {
        StreamReceiver(receiver)
    }

    fn get(&mut self) -> &mut mpsc::Receiver<Bytes> {
        &mut self.0
    }
}

#[cfg(target_arch = "wasm32")]
struct StreamReceiver(std::rc::Rc<std::cell::RefCell<mpsc::Receiver<Bytes>>>);

#[cfg(target_arch = "wasm32")]
impl StreamReceiver {
    fn new(receiver: mpsc::Receiver<Bytes>) -> StreamReceiver {
        StreamReceiver(std::rc::Rc::new(std::cell::RefCell::new(receiver)))
    }

    fn get(&mut self) -> std::cell::RefMut<'_, mpsc::Receiver<Bytes>> {
        self.0.borrow_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_ids_come_from_the_header_or_are_generated() {
        let mut headers = HeaderMap::new();
        headers.insert(EXECUTION_ID, HeaderValue::from_static("exec-1"));
        assert_eq!(execution_id(&headers), "exec-1");

        let generated = execution_id(&HeaderMap::new());
        let id = uuid::Uuid::parse_str(generated.to_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);

        headers.insert(EXECUTION_ID, HeaderValue::from_bytes(&[0xff]).unwrap());
        assert_ne!(
            execution_id(&headers),
            HeaderValue::from_bytes(&[0xff]).unwrap()
        );
        headers.insert(
            EXECUTION_ID,
            HeaderValue::from_str(&"x".repeat(300)).unwrap(),
        );
        assert_eq!(execution_id(&headers).len(), 36);
    }

    #[test]
    fn final_lines() {
        use crate::IntoResponse;
        assert_eq!(final_line(().into_response()), None);
        assert_eq!(
            final_line(serde_json::json!({"a": 1}).into_response()),
            Some(Bytes::from_static(b"{\"a\":1}\n"))
        );
    }
}
