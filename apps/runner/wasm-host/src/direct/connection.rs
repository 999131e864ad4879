//! One handed-over connection: served with hyper until the caller closes it, it goes idle, or the
//! host drains; then given back to the runner (or closed). Each request on it is served as the
//! proxied ones are (a fresh instance, the host's limits and answers: [`crate::executor`]), with
//! what the runner's proxy would add around it: the route checked and its prefix removed, the
//! caller's `x-ignite-*` headers and Ignite key removed, a new execution id, the platform's
//! response headers, the slot's state as the answer goes out and a report once it is complete.
//!
//! A public connection's request that does not keep to the connection's terms (another function,
//! another key, the key's time or the budget spent: see [`super::Access`]) is not served: its
//! service call fails with [`GiveBack`], carrying the request as bytes (its head written again,
//! its body read), so that hyper ends the connection without writing anything, and the connection
//! goes back to the runner with those bytes, which it authenticates and routes as a new request.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Buf, Bytes};
use http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::uri::PathAndQuery;
use http::{HeaderValue, StatusCode, Uri};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::reports::Report;
use super::route::{presents_api_key, request_bytes, route, route_public};
use super::slots::{DONE, IDLE, REQUEST, RESPONDING};
use super::{whole_ms, Access, Handover, Shared};
use crate::executor::ResponseBody;
use crate::log_output::host_line;
use crate::platform_headers::{add_response_headers, strip_platform_headers};

/// Reported for an answer the caller did not wait for (nginx's convention, as the runner's).
const CALLER_CLOSED: u16 = 499;
/// Of an error answer (status 400 and up), this much is kept to report its `{"error"}` message,
/// as the runner's proxy keeps of the answers it relays.
const ERROR_BODY_BYTES: usize = 4096;

/// How a connection ended here.
enum End {
    /// Back to the runner, with what was read of it and not handled.
    Release(Bytes),
    /// Shut down (a misdirected request, a broken exchange, an answer cut short).
    Close,
}

pub(super) async fn serve(shared: &'static Shared, handover: Handover) {
    let slot = handover.slot;
    let end = match run(shared, handover).await {
        Ok(end) => end,
        Err(error) => {
            host_line(&format!(
                "could not serve a connection from the runner: {error}"
            ));
            End::Close
        }
    };
    let local = shared.slots.local(slot);
    // What a budget's unused part is worked out from (counted only with a budget).
    let served = local.served.load(Ordering::Relaxed);
    shared.slots.set(slot, IDLE);
    match end {
        End::Release(rest) => shared.tell(&serde_json::json!({ "type": "released", "slot": slot, "rest": BASE64.encode(&rest), "served": served })),
        End::Close => shared.tell(&serde_json::json!({ "type": "released", "slot": slot, "closed": true, "served": served })),
    }
    if shared.open.fetch_sub(1, Ordering::SeqCst) == 1 {
        shared.none_open.notify_waiters();
    }
}

async fn run(shared: &'static Shared, handover: Handover) -> io::Result<End> {
    let Handover {
        socket,
        slot,
        head,
        access,
    } = handover;
    let stream = std::net::TcpStream::from(socket);
    // Kept to shut the connection for both sides (the runner's copy too) when it closes here.
    let copy = OwnedFd::from(stream.try_clone()?);
    shared.slots.set(slot, IDLE);
    let local = shared.slots.local(slot);
    local
        .last_active_ms
        .store(shared.clock.now_ms(), Ordering::Release);
    stream.set_nonblocking(true)?;
    let stream = TcpStream::from_std(stream)?;
    let _ = stream.set_nodelay(true);

    local.closing.store(false, Ordering::Release);
    local.served.store(0, Ordering::Relaxed);
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        let started = Instant::now();
        // A public connection's terms are checked here, before the request's future exists:
        // borrowed from this closure, nothing of them is copied per request.
        let route = match &access {
            None => match route(request.uri().path_and_query(), &shared.function_id) {
                Ok(uri) => Route::Serve(uri),
                Err(message) => Route::Misdirected(message),
            },
            Some(access) => admit(
                access,
                shared,
                slot,
                shared.clock.ms_at(started),
                &mut request,
            ),
        };
        async move {
            match route {
                Route::GiveBack => give_back(request, shared.max_body_bytes).await,
                Route::Misdirected(message) => {
                    shared
                        .slots
                        .local(slot)
                        .closing
                        .store(true, Ordering::Release);
                    Ok(misdirected(&message))
                }
                Route::Serve(uri) => Ok(handle(shared, slot, started, uri, request).await),
            }
        }
    });
    let io = DirectIo {
        stream,
        head,
        shared,
        slot,
    };
    let mut connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    let idle_ms = shared.idle_return_ms;
    let mut shutting_down = false;
    let result = loop {
        // Before what a nudge is about is read: a nudge from now on is not lost.
        local.checked();
        let idle = shared.slots.get(slot) == IDLE
            && shared
                .clock
                .now_ms()
                .saturating_sub(local.last_active_ms.load(Ordering::Acquire))
                >= idle_ms;
        if !shutting_down && (idle || shared.draining.load(Ordering::SeqCst)) {
            // Answers what is in flight (with `connection: close`), then ends without closing the socket.
            Pin::new(&mut connection).graceful_shutdown();
            shutting_down = true;
        }
        tokio::select! {
            biased;
            result = &mut connection => break result,
            () = local.nudged(), if !shutting_down => {}
        }
    };
    // A request that goes back to the runner: nothing of it was answered here.
    let returned = match result {
        Ok(()) => None,
        Err(error) => match std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<GiveBack>())
        {
            Some(given) => Some(given.0.clone()),
            None => {
                shutdown(&copy);
                return Ok(End::Close);
            }
        },
    };
    // A misdirected request, or an answer that did not complete (its body failed: a stream cut
    // at the time limit): the caller sees the connection end.
    if local.closing.load(Ordering::Acquire) || shared.slots.get(slot) != IDLE {
        shutdown(&copy);
        return Ok(End::Close);
    }
    let parts = connection.into_parts();
    let io = parts.io.into_inner();
    let mut rest = returned.map(|request| request.to_vec()).unwrap_or_default();
    rest.extend_from_slice(&io.head);
    rest.extend_from_slice(&parts.read_buf);
    Ok(End::Release(Bytes::from(rest)))
}

/// How a request is served.
enum Route {
    /// This function's request: the path its handler sees.
    Serve(Uri),
    /// The internal route's request for another function: 421, and the connection closes.
    Misdirected(String),
    /// A public connection's request outside its terms: it goes back to the runner.
    GiveBack,
}

/// Whether a request on a public connection keeps to its terms: the same function, the same key
/// (byte for byte; the key is then removed: no handler sees the platform's credential), within
/// the key's time and the budget.
fn admit(
    access: &Access,
    shared: &Shared,
    slot: usize,
    now_ms: u64,
    request: &mut hyper::Request<Incoming>,
) -> Route {
    if now_ms >= access.until_ms {
        return Route::GiveBack;
    }
    let local = shared.slots.local(slot);
    if let Some(budget) = access.budget {
        if local.served.load(Ordering::Relaxed) >= budget {
            return Route::GiveBack;
        }
    }
    let Some(uri) = route_public(
        request.uri().path_and_query(),
        &shared.public_prefix,
        &shared.function_id,
    ) else {
        return Route::GiveBack;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .filter(|value| presents_api_key(value.as_bytes()));
    if presented.map(HeaderValue::as_bytes) != access.authorization.as_deref() {
        return Route::GiveBack;
    }
    if presented.is_some() {
        request.headers_mut().remove(AUTHORIZATION);
    }
    if access.budget.is_some() {
        local.served.fetch_add(1, Ordering::Relaxed);
    }
    Route::Serve(uri)
}

/// A request that goes back to the runner, as the bytes the runner reads it from: its service call
/// fails with this, so that hyper writes nothing.
struct GiveBack(Bytes);

impl fmt::Debug for GiveBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GiveBack({} bytes)", self.0.len())
    }
}

impl fmt::Display for GiveBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request goes back to the runner")
    }
}

impl std::error::Error for GiveBack {}

/// The request written out again (its body read, at most `limit` bytes: a larger one is
/// answered 413 here, and the connection closes).
async fn give_back(
    request: hyper::Request<Incoming>,
    limit: usize,
) -> Result<hyper::Response<DirectBody>, GiveBack> {
    let (parts, incoming) = request.into_parts();
    let too_large = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            &serde_json::json!({
                "error": format!("request body is larger than the limit of {limit} bytes"),
                "code": "payload_too_large",
                "limitBytes": limit,
            }),
        )
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(too_large());
    }
    let body = match Limited::new(incoming, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => return Ok(too_large()),
        Err(error) => {
            return Ok(answer(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": format!("could not read the request body: {error}") }),
            ))
        }
    };
    let target = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
    Err(GiveBack(Bytes::from(request_bytes(
        parts.method.as_str(),
        target,
        parts.version,
        &parts.headers,
        &body,
    ))))
}

/// One request on a direct connection: what the runner's proxy would do around the invocation.
async fn handle(
    shared: &'static Shared,
    slot: usize,
    started: Instant,
    uri: Uri,
    request: hyper::Request<Incoming>,
) -> hyper::Response<DirectBody> {
    let started_ms = shared.clock.ms_at(started);
    let local = shared.slots.local(slot);
    let (mut parts, body) = request.into_parts();
    parts.uri = uri;
    // The caller's own `x-ignite-*` headers (the runner's token, an execution id of its choosing)
    // never reach the guest, nor an Ignite key: the platform's credential.
    strip_platform_headers(&mut parts.headers);
    if parts
        .headers
        .get(AUTHORIZATION)
        .is_some_and(|value| presents_api_key(value.as_bytes()))
    {
        parts.headers.remove(AUTHORIZATION);
    }
    let execution_id = uuid::Uuid::now_v7();
    let mut text = uuid::Uuid::encode_buffer();
    let id: &str = execution_id.hyphenated().encode_lower(&mut text);
    let cold = shared.server.take_cold();
    shared.slots.set(slot, REQUEST);
    local.last_active_ms.store(started_ms, Ordering::Release);

    let response = shared
        .server
        .executor()
        .handle(hyper::Request::from_parts(parts, body), id)
        .await;
    let (mut head, body) = response.into_parts();
    add_response_headers(
        &mut head.headers,
        id,
        shared.server.release(),
        cold,
        started.elapsed(),
    );
    let status = head.status.as_u16();
    // hyper stops polling a body once it has written the length its head declares.
    let length = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .or_else(|| body.size_hint().exact());
    let finish = Finish {
        shared,
        slot,
        execution_id,
        status,
        started,
        started_ms,
        cold,
    };
    hyper::Response::from_parts(
        head,
        DirectBody {
            inner: body,
            finish: Some(finish),
            error_body: (status >= 400).then(Vec::new),
            unsent: length,
        },
    )
}

/// A JSON answer of the host's own on a direct connection, after which the connection closes.
fn answer(status: StatusCode, body: &serde_json::Value) -> hyper::Response<DirectBody> {
    let body = Bytes::from(body.to_string());
    let mut response = hyper::Response::new(DirectBody {
        inner: Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
        finish: None,
        error_body: None,
        unsent: None,
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 421 Misdirected Request (RFC 9110: retry on another connection), and the connection closes.
fn misdirected(message: &str) -> hyper::Response<DirectBody> {
    answer(
        StatusCode::MISDIRECTED_REQUEST,
        &serde_json::json!({ "error": message, "code": "misdirected_request" }),
    )
}

/// Ends the connection for both sides (every copy of the descriptor, the runner's too).
#[allow(unsafe_code)]
fn shutdown(socket: &OwnedFd) {
    // SAFETY: shutdown(2) on a descriptor we own; it touches no memory.
    unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) };
}

/// The `error` of a JSON error body, for the report.
fn error_message(body: &[u8], status: u16) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// How an answer ended.
enum Outcome {
    /// Its last byte was handed to hyper.
    Complete,
    /// Its body failed (a stream cut at the time limit, a trap mid-stream).
    Cut(String),
    /// Dropped before it was complete: the caller went away.
    Abandoned,
}

/// What is recorded when an answer ends.
struct Finish {
    shared: &'static Shared,
    slot: usize,
    execution_id: uuid::Uuid,
    status: u16,
    started: Instant,
    /// `started` on the direct clock.
    started_ms: u64,
    cold: bool,
}

impl Finish {
    fn run(self, outcome: Outcome, error_body: Option<&[u8]>) {
        let shared = self.shared;
        let local = shared.slots.local(self.slot);
        if matches!(outcome, Outcome::Complete)
            && !shared.slots.advance(self.slot, RESPONDING, DONE)
        {
            shared.slots.advance(self.slot, REQUEST, DONE);
        }
        let duration = self.started.elapsed();
        local
            .last_active_ms
            .store(self.started_ms + whole_ms(duration), Ordering::Release);
        let (status, error) = match outcome {
            Outcome::Complete => (
                self.status,
                error_body.map(|body| error_message(body, self.status)),
            ),
            Outcome::Cut(why) => (
                self.status,
                Some(format!("the answer was cut short: {why}")),
            ),
            Outcome::Abandoned => (
                CALLER_CLOSED,
                Some("the caller closed the connection before the answer was complete".to_string()),
            ),
        };
        shared.reports.push(Report {
            execution_id: self.execution_id,
            status,
            duration,
            cold: self.cold,
            error,
        });
    }
}

/// A response body that records the invocation when it ends.
pub(super) struct DirectBody {
    inner: ResponseBody,
    finish: Option<Finish>,
    /// The start of an error answer's body, for its report.
    error_body: Option<Vec<u8>>,
    /// What is left of the length the answer declared (None: it declared none).
    unsent: Option<u64>,
}

impl DirectBody {
    fn finish(&mut self, outcome: Outcome) {
        if let Some(finish) = self.finish.take() {
            finish.run(outcome, self.error_body.as_deref());
        }
    }
}

impl http_body::Body for DirectBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(Outcome::Complete),
            Poll::Ready(Some(Ok(frame))) => {
                let sent = frame.data_ref().map_or(0, |data| data.len() as u64);
                if let (Some(kept), Some(data)) = (self.error_body.as_mut(), frame.data_ref()) {
                    let room = ERROR_BODY_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..room.min(data.len())]);
                }
                if let Some(unsent) = self.unsent.as_mut() {
                    *unsent = unsent.saturating_sub(sent);
                }
                if self.inner.is_end_stream() || self.unsent == Some(0) {
                    self.finish(Outcome::Complete);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                let why = error.to_string();
                self.finish(Outcome::Cut(why));
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for DirectBody {
    fn drop(&mut self) {
        // An empty answer of a declared length is complete without a frame polled.
        let outcome = if self.unsent == Some(0) {
            Outcome::Complete
        } else {
            Outcome::Abandoned
        };
        self.finish(outcome);
    }
}

/// The connection's socket, after the bytes the runner read from it; keeps the slot's state as
/// the answer goes out.
struct DirectIo {
    stream: TcpStream,
    head: Bytes,
    shared: &'static Shared,
    slot: usize,
}

impl DirectIo {
    fn before_write(&self) {
        self.shared.slots.advance(self.slot, REQUEST, RESPONDING);
    }
}

impl AsyncRead for DirectIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.remaining());
            buf.put_slice(&self.head[..n]);
            self.head.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for DirectIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.before_write();
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.before_write();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if matches!(flushed, Poll::Ready(Ok(()))) {
            // Everything of a complete answer is with the kernel: the connection is idle.
            self.shared.slots.advance(self.slot, DONE, IDLE);
        }
        flushed
    }

    /// Nothing: when hyper is done with the connection it goes back to the runner, or [`serve`]
    /// shuts it down for both sides (every copy of the descriptor).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
