//! One handed-over connection: served with hyper until the caller closes it, it goes idle, or the
//! process drains; then given back to the runner (or closed).
//!
//! A public connection's request that does not keep to the connection's terms (another function,
//! another key, the key's time or the budget spent: see [`super::Access`]) is not served: its
//! service call fails with [`GiveBack`], carrying the request as bytes (its head written again,
//! its body read), so that hyper ends the connection without writing anything, and the connection
//! goes back to the runner with those bytes, which it authenticates and routes as a new request.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Buf, Bytes};
use http::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, TRANSFER_ENCODING,
};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::reports::{ExecutionId, Report};
use super::slots::{InFlight, Watched, DONE, IDLE, REQUEST, RESPONDING, TIMED_OUT};
use super::{whole_ms, Access, Handover, Shared};
use crate::handler::Handler;
use crate::invoke::{App, EXECUTION_ID};
use crate::response::APPLICATION_JSON;
use crate::serve::native::body::{self, Body};

/// The runner's invoke route: `/v1/invoke/{org}/{app}{/path}{?query}`.
const INVOKE_PREFIX: &str = "/v1/invoke/";
/// The public route: `/v1/orgs/{org}/apps/{app}/invoke{/path}{?query}`.
const PUBLIC_PREFIX: &str = "/v1/orgs/";
const COLD: http::HeaderName = http::HeaderName::from_static("x-ignite-cold");
const RELEASE: http::HeaderName = http::HeaderName::from_static("x-ignite-release");
const DURATION_MS: http::HeaderName = http::HeaderName::from_static("x-ignite-duration-ms");
/// Reported for an answer the caller did not wait for (nginx's convention, as the runner's).
const CALLER_CLOSED: u16 = 499;

/// How a connection ended here.
enum End {
    /// Back to the runner, with what was read of it and not handled (a pipelined request).
    Release(Bytes),
    /// Shut down (a misdirected request, a broken exchange).
    Close,
    /// The watchdog answered and told the runner.
    TimedOut,
}

pub(super) async fn serve<H: Handler>(
    app: &'static App<H>,
    shared: &'static Shared,
    handover: Handover,
) {
    let slot = handover.slot;
    let end = match run(app, shared, handover).await {
        Ok(end) => end,
        Err(error) => {
            eprintln!("ignite: could not serve a connection from the runner: {error}");
            End::Close
        }
    };
    let local = shared.slots.local(slot);
    let watched = local.watch.lock().unwrap_or_else(|e| e.into_inner()).take();
    local.deadline_ms.store(0, Ordering::Release);
    // What a budget's unused part is worked out from (counted only with a budget).
    let served = local.served.load(Ordering::Relaxed);
    match end {
        End::TimedOut => {}
        End::Release(rest) => {
            drop(watched);
            shared.slots.set(slot, IDLE);
            shared.tell(&serde_json::json!({ "type": "released", "slot": slot, "rest": BASE64.encode(&rest), "served": served }));
        }
        End::Close => {
            if let Some(watched) = watched {
                shutdown(&watched.socket);
            }
            shared.slots.set(slot, IDLE);
            shared.tell(&serde_json::json!({ "type": "released", "slot": slot, "closed": true, "served": served }));
        }
    }
    if shared.open.fetch_sub(1, Ordering::SeqCst) == 1 {
        shared.none_open.notify_one();
    }
}

async fn run<H: Handler>(
    app: &'static App<H>,
    shared: &'static Shared,
    handover: Handover,
) -> io::Result<End> {
    let Handover {
        socket,
        slot,
        head,
        cold,
        access,
    } = handover;
    let stream = std::net::TcpStream::from(socket);
    let watch_copy = OwnedFd::from(stream.try_clone()?);
    shared.slots.set(slot, IDLE);
    let local = shared.slots.local(slot);
    *local.watch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Watched {
        socket: watch_copy,
        request: None,
    });
    local
        .last_active_ms
        .store(shared.clock.now_ms(), Ordering::Release);
    stream.set_nonblocking(true)?;
    let stream = TcpStream::from_std(stream)?;
    let _ = stream.set_nodelay(true);

    local.closing.store(false, Ordering::Release);
    local.served.store(0, Ordering::Relaxed);
    let first = AtomicBool::new(cold);
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        let started = Instant::now();
        // A public connection's terms are checked here, before the request's future exists:
        // borrowed from this closure, nothing of them is copied or counted per request.
        let route = match &access {
            None => Route::Internal,
            Some(access) => admit(
                access,
                shared,
                slot,
                shared.clock.ms_at(started),
                &mut request,
            ),
        };
        let cold = match route {
            Route::GiveBack => false,
            _ => first.swap(false, Ordering::Relaxed),
        };
        async move {
            match route {
                Route::GiveBack => give_back(request, shared.max_body_bytes).await,
                Route::Internal => {
                    Ok(handle(app, shared, slot, cold, started, None, request).await)
                }
                Route::Public(uri) => {
                    Ok(handle(app, shared, slot, cold, started, Some(uri), request).await)
                }
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
    let idle_ms = shared.idle_return.as_millis() as u64;
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
        // Polled as a plain future (not `poll_without_shutdown`, which needs an `Unpin` service
        // future: a box per request); its final shutdown reaches `DirectIo`, which leaves the
        // socket as it is.
        tokio::select! {
            biased;
            result = &mut connection => break result,
            () = local.nudged(), if !shutting_down => {}
        }
    };
    if shared.slots.get(slot) == TIMED_OUT {
        return Ok(End::TimedOut);
    }
    // A request that goes back to the runner: nothing of it was answered here.
    let returned = match result {
        Ok(()) => None,
        Err(error) => match std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<GiveBack>())
        {
            Some(given) => Some(given.0.clone()),
            None => return Ok(End::Close),
        },
    };
    if local.closing.load(Ordering::Acquire) {
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
    /// The internal route: routed (and answered 421 if misdirected) by [`handle`].
    Internal,
    /// A public connection's request within its terms: the path its handler sees.
    Public(Uri),
    /// A public connection's request outside them: it goes back to the runner.
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
    Route::Public(uri)
}

/// Whether an Authorization value presents an Ignite API key (`Bearer ign_…`, as
/// `presentsApiKey` in @ignite/contracts): the platform's credential, which no handler is given.
fn presents_api_key(value: &[u8]) -> bool {
    const BEARER: &[u8] = b"bearer";
    if value.len() <= BEARER.len() || !value[..BEARER.len()].eq_ignore_ascii_case(BEARER) {
        return false;
    }
    let rest = &value[BEARER.len()..];
    let token = rest.trim_ascii_start();
    token.len() < rest.len() && token.starts_with(b"ign_")
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
    let body = match body::read(incoming, &parts.headers, limit).await {
        Ok(body) => body,
        Err(response) => {
            let (status, _, bytes) = response.into_parts();
            let mut answer = hyper::Response::new(DirectBody {
                inner: Body::Full(Some(bytes)),
                finish: None,
            });
            *answer.status_mut() = status;
            answer.headers_mut().insert(CONTENT_TYPE, APPLICATION_JSON);
            answer
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return Ok(answer);
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

/// An HTTP/1 request's bytes: its body whole, with its length (hyper already read it, and sent
/// any `100 Continue`).
fn request_bytes(
    method: &str,
    target: &str,
    version: http::Version,
    headers: &HeaderMap,
    body: &[u8],
) -> Vec<u8> {
    let version = if version == http::Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {target} {version}\r\n").as_bytes());
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == EXPECT {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// One request on a direct connection: what the runner's proxy would do around the invocation.
/// `routed`: the handler's path of a public connection's request (None: route it here).
async fn handle<H: Handler>(
    app: &App<H>,
    shared: &'static Shared,
    slot: usize,
    cold: bool,
    started: Instant,
    routed: Option<Uri>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<DirectBody> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let started_ms = shared.clock.ms_at(started);
    let local = shared.slots.local(slot);
    let (mut parts, body) = request.into_parts();
    parts.uri = match routed {
        Some(uri) => uri,
        None => match route(parts.uri.path_and_query(), &shared.function_id) {
            Ok(uri) => {
                // An Ignite key is the platform's credential, on this route too.
                if parts
                    .headers
                    .get(AUTHORIZATION)
                    .is_some_and(|value| presents_api_key(value.as_bytes()))
                {
                    parts.headers.remove(AUTHORIZATION);
                }
                uri
            }
            Err(message) => {
                local.closing.store(true, Ordering::Release);
                return misdirected(&message);
            }
        },
    };
    // The caller's own `x-ignite-*` headers (the runner's token among them) never reach the handler.
    let platform: Vec<_> = parts
        .headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-ignite-"))
        .cloned()
        .collect();
    for name in platform {
        parts.headers.remove(name);
    }
    let id = ExecutionId::starting_at(since_epoch);
    parts.headers.insert(EXECUTION_ID, id.header_value());

    shared.slots.set(slot, REQUEST);
    local.last_active_ms.store(started_ms, Ordering::Release);
    if let Some(watched) = local
        .watch
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        watched.request = Some(InFlight {
            execution_id: id,
            started_ms,
            cold,
        });
    }
    local
        .deadline_ms
        .store(started_ms + whole_ms(shared.time_limit), Ordering::Release);

    let response = super::super::handle(app, hyper::Request::from_parts(parts, body)).await;
    let (mut head, body) = response.into_parts();
    head.headers.insert(
        COLD,
        HeaderValue::from_static(if cold { "true" } else { "false" }),
    );
    head.headers.insert(RELEASE, shared.release.clone());
    head.headers
        .insert(DURATION_MS, milliseconds(started.elapsed()));
    let error = match (&body, head.status.as_u16() >= 400) {
        (Body::Full(Some(bytes)), true) => Some(error_message(bytes, head.status)),
        _ => None,
    };
    let finish = Finish {
        shared,
        slot,
        execution_id: id,
        status: head.status.as_u16(),
        error,
        started,
        started_ms,
        cold,
    };
    hyper::Response::from_parts(
        head,
        DirectBody {
            inner: body,
            finish: Some(finish),
        },
    )
}

/// `x-ignite-duration-ms`: milliseconds with two decimals (integer formatting, in u64: this runs
/// per request).
fn milliseconds(elapsed: std::time::Duration) -> HeaderValue {
    let hundredths = elapsed.as_secs() * 100_000 + u64::from(elapsed.subsec_nanos() / 10_000);
    let mut whole = itoa::Buffer::new();
    let whole = whole.format(hundredths / 100);
    let fraction = hundredths % 100;
    // Exactly as long as the text: `Bytes` then takes the buffer over, the header keeps it
    // without a copy (one allocation per request instead of two).
    let mut text = Vec::with_capacity(whole.len() + 3);
    text.extend_from_slice(whole.as_bytes());
    text.extend_from_slice(&[
        b'.',
        b'0' + (fraction / 10) as u8,
        b'0' + (fraction % 10) as u8,
    ]);
    HeaderValue::from_maybe_shared(Bytes::from(text))
        .expect("digits and a dot are a valid header value")
}

/// `/v1/invoke/{org}/{app}{/path}{?query}` of this function → `{/path}{?query}`.
fn route(target: Option<&PathAndQuery>, function_id: &str) -> Result<Uri, String> {
    let target = target.map(PathAndQuery::as_str).unwrap_or("/");
    // The usual case, names as they are: no decoding.
    if let Some(rest) = target
        .strip_prefix(INVOKE_PREFIX)
        .and_then(|rest| rest.strip_prefix(function_id))
    {
        match rest.as_bytes().first() {
            None => return Ok(Uri::from_static("/")),
            Some(b'/') => {
                if let Ok(uri) = rest.parse() {
                    return Ok(uri);
                }
            }
            Some(b'?') => {
                if let Ok(uri) = format!("/{rest}").parse() {
                    return Ok(uri);
                }
            }
            // A longer name that starts the same: decided below.
            Some(_) => {}
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let elsewhere = || {
        format!("this connection is bound to {function_id}; {path} is not one of its invocations: send it on a new connection")
    };
    let rest = path.strip_prefix(INVOKE_PREFIX).ok_or_else(elsewhere)?;
    let (org, after) = rest.split_once('/').ok_or_else(elsewhere)?;
    let (app, sub_path) = match after.find('/') {
        Some(at) => (&after[..at], &after[at..]),
        None => (after, "/"),
    };
    let org = percent_decode_str(org)
        .decode_utf8()
        .map_err(|_| elsewhere())?;
    let app = percent_decode_str(app)
        .decode_utf8()
        .map_err(|_| elsewhere())?;
    let named = function_id
        .split_once('/')
        .is_some_and(|(fn_org, fn_app)| *org == *fn_org && *app == *fn_app);
    if !named {
        return Err(elsewhere());
    }
    let uri = match query {
        Some(query) => format!("{sub_path}?{query}"),
        None => sub_path.to_string(),
    };
    uri.parse().map_err(|_| elsewhere())
}

/// `/v1/orgs/{org}/apps/{app}/invoke{/path}{?query}` of this function (`prefix`: its
/// `/v1/orgs/{org}/apps/{app}/invoke`) → `{/path}{?query}`; None for anything else.
fn route_public(target: Option<&PathAndQuery>, prefix: &str, function_id: &str) -> Option<Uri> {
    let target = target.map(PathAndQuery::as_str).unwrap_or("/");
    // The usual case, names as they are: no decoding.
    if let Some(rest) = target.strip_prefix(prefix) {
        match rest.as_bytes().first() {
            None => return Some(Uri::from_static("/")),
            Some(b'/') => return rest.parse().ok(),
            Some(b'?') => return format!("/{rest}").parse().ok(),
            // `/invokes`, or a longer app name that starts the same: decided below.
            Some(_) => {}
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let rest = path.strip_prefix(PUBLIC_PREFIX)?;
    let (org, rest) = rest.split_once('/')?;
    let (app, rest) = rest.strip_prefix("apps/")?.split_once('/')?;
    let sub_path = rest.strip_prefix("invoke")?;
    if !(sub_path.is_empty() || sub_path.starts_with('/')) {
        return None;
    }
    let org = percent_decode_str(org).decode_utf8().ok()?;
    let app = percent_decode_str(app).decode_utf8().ok()?;
    let named = function_id
        .split_once('/')
        .is_some_and(|(fn_org, fn_app)| *org == *fn_org && *app == *fn_app);
    if !named {
        return None;
    }
    let sub_path = if sub_path.is_empty() { "/" } else { sub_path };
    let uri = match query {
        Some(query) => format!("{sub_path}?{query}"),
        None => sub_path.to_string(),
    };
    uri.parse().ok()
}

/// 421 Misdirected Request (RFC 9110: retry on another connection), and the connection closes.
fn misdirected(message: &str) -> hyper::Response<DirectBody> {
    let body = serde_json::json!({ "error": message, "code": "misdirected_request" }).to_string();
    let mut response = hyper::Response::new(DirectBody {
        inner: Body::Full(Some(Bytes::from(body))),
        finish: None,
    });
    *response.status_mut() = StatusCode::MISDIRECTED_REQUEST;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Ends the connection for both sides (every copy of the descriptor, the runner's too).
#[allow(unsafe_code)]
fn shutdown(socket: &OwnedFd) {
    // SAFETY: shutdown(2) on a descriptor we own; it touches no memory.
    unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) };
}

/// The `error` of a JSON error body, for the report.
fn error_message(body: &Bytes, status: StatusCode) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("error")
                .and_then(|e| e.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()))
}

/// What is recorded when an answer is complete (or abandoned).
struct Finish {
    shared: &'static Shared,
    slot: usize,
    execution_id: ExecutionId,
    status: u16,
    error: Option<String>,
    started: Instant,
    /// `started` on [`super::Clock`].
    started_ms: u64,
    cold: bool,
}

impl Finish {
    fn run(self, complete: bool) {
        let shared = self.shared;
        let local = shared.slots.local(self.slot);
        {
            // Under the watchdog's lock: it may be answering for this request right now.
            let mut watched = local.watch.lock().unwrap_or_else(|e| e.into_inner());
            if shared.slots.get(self.slot) == TIMED_OUT {
                return;
            }
            local.deadline_ms.store(0, Ordering::Release);
            if let Some(watched) = watched.as_mut() {
                watched.request = None;
            }
        }
        if complete && !shared.slots.advance(self.slot, RESPONDING, DONE) {
            shared.slots.advance(self.slot, REQUEST, DONE);
        }
        let duration = self.started.elapsed();
        local
            .last_active_ms
            .store(self.started_ms + whole_ms(duration), Ordering::Release);
        let (status, error) = if complete {
            (self.status, self.error)
        } else {
            (
                CALLER_CLOSED,
                Some("the caller closed the connection before the answer was complete".to_string()),
            )
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
    inner: Body,
    finish: Option<Finish>,
}

impl DirectBody {
    fn finish(&mut self, complete: bool) {
        if let Some(finish) = self.finish.take() {
            finish.run(complete);
        }
    }
}

impl http_body::Body for DirectBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(true),
            Poll::Ready(Some(_)) if http_body::Body::is_end_stream(&self.inner) => {
                self.finish(true)
            }
            _ => {}
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
        self.finish(false);
    }
}

/// The connection's socket, after the bytes the runner read from it; keeps the slot's state as
/// the answer goes out, and refuses to write once the watchdog answered.
struct DirectIo {
    stream: TcpStream,
    head: Bytes,
    shared: &'static Shared,
    slot: usize,
}

impl DirectIo {
    fn before_write(&self) -> io::Result<()> {
        match self.shared.slots.get(self.slot) {
            TIMED_OUT => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "answered by the watchdog",
            )),
            REQUEST => {
                self.shared.slots.advance(self.slot, REQUEST, RESPONDING);
                Ok(())
            }
            _ => Ok(()),
        }
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
        self.before_write()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.before_write()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(target: &str) -> Result<String, String> {
        let pq: PathAndQuery = target.parse().unwrap();
        route(Some(&pq), "acme/hello").map(|uri| uri.to_string())
    }

    #[test]
    fn strips_the_invoke_prefix_of_this_function() {
        assert_eq!(routed("/v1/invoke/acme/hello").unwrap(), "/");
        assert_eq!(routed("/v1/invoke/acme/hello?x=1").unwrap(), "/?x=1");
        assert_eq!(
            routed("/v1/invoke/acme/hello/orders/42?name=ada").unwrap(),
            "/orders/42?name=ada"
        );
        assert_eq!(routed("/v1/invoke/ac%6De/hello/").unwrap(), "/");
    }

    fn routed_public(target: &str) -> Option<String> {
        let pq: PathAndQuery = target.parse().unwrap();
        route_public(Some(&pq), "/v1/orgs/acme/apps/hello/invoke", "acme/hello")
            .map(|uri| uri.to_string())
    }

    #[test]
    fn strips_the_public_prefix_of_this_function() {
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke").as_deref(),
            Some("/")
        );
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke?x=1").as_deref(),
            Some("/?x=1")
        );
        assert_eq!(
            routed_public("/v1/orgs/acme/apps/hello/invoke/orders/42?name=ada").as_deref(),
            Some("/orders/42?name=ada")
        );
        assert_eq!(
            routed_public("/v1/orgs/ac%6De/apps/hello/invoke/").as_deref(),
            Some("/")
        );
        for target in [
            "/v1/orgs/acme/apps/other/invoke",
            "/v1/orgs/acme/apps/hello2/invoke",
            "/v1/orgs/acme/apps/hello/invokes",
            "/v1/orgs/acme/apps/hello",
            "/v1/orgs/other/apps/hello/invoke",
            "/v1/invoke/acme/hello",
            "/healthz",
        ] {
            assert_eq!(routed_public(target), None, "{target}");
        }
    }

    #[test]
    fn knows_an_ignite_key_from_other_credentials() {
        assert!(presents_api_key(b"Bearer ign_abc"));
        assert!(presents_api_key(b"bearer \tign_abc"));
        assert!(!presents_api_key(b"Bearer eyJhbGciOi"));
        assert!(!presents_api_key(b"Basic aWduXzp4"));
        assert!(!presents_api_key(b"Bearerign_abc"));
        assert!(!presents_api_key(b"Bearer"));
    }

    #[test]
    fn writes_a_request_back_out_with_its_body_whole() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(EXPECT, HeaderValue::from_static("100-continue"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer ign_x"));
        let bytes = request_bytes(
            "POST",
            "/v1/orgs/a/apps/b/invoke?x=1",
            http::Version::HTTP_11,
            &headers,
            b"{}",
        );
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "POST /v1/orgs/a/apps/b/invoke?x=1 HTTP/1.1\r\ncontent-type: application/json\r\nauthorization: Bearer ign_x\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn writes_the_duration_with_two_decimals() {
        let ms = |micros| milliseconds(std::time::Duration::from_micros(micros));
        assert_eq!(ms(0), "0.00");
        assert_eq!(ms(50), "0.05");
        assert_eq!(ms(1_234), "1.23");
        assert_eq!(ms(12_345_678), "12345.67");
    }

    #[test]
    fn refuses_what_is_not_this_function() {
        for target in [
            "/v1/invoke/acme/other",
            "/v1/invoke/acme",
            "/healthz",
            "/v1/invoke/acme/hello2/x",
            "/v1/invoke/%FF/hello",
        ] {
            let error = routed(target).unwrap_err();
            assert!(error.contains("bound to acme/hello"), "{target}: {error}");
        }
    }
}
