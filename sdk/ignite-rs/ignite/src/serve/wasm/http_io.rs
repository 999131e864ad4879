//! Between the host's `wasi:http` resources and an invocation: the request's parts and body,
//! the response's head and body.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method as WasiMethod, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::streams::{OutputStream, StreamError};

use crate::invoke::{self, EXECUTION_ID};
use crate::response::{Response, APPLICATION_JSON};

/// How much of the request body is asked for at a time.
const READ_CHUNK: u64 = 64 * 1024;

/// The request's headers (entries that are not valid HTTP are skipped: hosts validate them).
fn headers_of(request: &IncomingRequest) -> HeaderMap {
    let fields = request.headers();
    let entries = fields.entries();
    let mut headers = HeaderMap::with_capacity(entries.len());
    for (name, value) in entries {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// Method, path and query, headers.
pub(super) fn parts_of(request: &IncomingRequest) -> http::request::Parts {
    let method = match request.method() {
        WasiMethod::Get => Method::GET,
        WasiMethod::Head => Method::HEAD,
        WasiMethod::Post => Method::POST,
        WasiMethod::Put => Method::PUT,
        WasiMethod::Delete => Method::DELETE,
        WasiMethod::Connect => Method::CONNECT,
        WasiMethod::Options => Method::OPTIONS,
        WasiMethod::Trace => Method::TRACE,
        WasiMethod::Patch => Method::PATCH,
        // Hosts only pass valid method tokens.
        WasiMethod::Other(other) => Method::from_bytes(other.as_bytes()).unwrap_or_default(),
    };
    let uri = request
        .path_with_query()
        .filter(|path| !path.is_empty())
        .and_then(|path| path.parse::<Uri>().ok())
        .unwrap_or_else(|| Uri::from_static("/"));
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.headers = headers_of(request);
    parts
}

/// Reads the whole request body, at most `limit` bytes (413 beyond, as on native).
pub(super) fn read_body(
    request: IncomingRequest,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, Response> {
    if invoke::declares_too_large(headers, limit) {
        return Err(invoke::body_too_large(limit));
    }
    let unreadable = |detail: String| invoke::body_unreadable(&detail);
    let body = request
        .consume()
        .map_err(|()| unreadable("the body was already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|()| unreadable("the body stream was already taken".into()))?;
    let mut buffer = BytesMut::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if buffer.len() + chunk.len() > limit {
                    return Err(invoke::body_too_large(limit));
                }
                buffer.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(error)) => {
                return Err(unreadable(error.to_debug_string()));
            }
        }
    }
    // Children first: the stream, then the body (its trailers are not used), then the request.
    drop(stream);
    drop(IncomingBody::finish(body));
    drop(request);
    Ok(buffer.freeze())
}

/// An `outgoing-response` with this status and these headers. A header the host refuses (a
/// connection-level one such as `connection` or `transfer-encoding`) is left out and logged.
fn outgoing_response(status: StatusCode, headers: &HeaderMap) -> OutgoingResponse {
    let fields = Fields::new();
    for (name, value) in headers {
        if let Err(error) = fields.append(name.as_str(), value.as_bytes()) {
            eprintln!("ignite: response header {name} left out: the host refused it ({error:?})");
        }
    }
    let response = OutgoingResponse::new(fields);
    // Any `StatusCode` is a valid 100..=999 code.
    let _ = response.set_status_code(status.as_u16());
    response
}

/// Sends a whole response: status, headers (`content-type` defaults to JSON, the execution id
/// and `content-length` are set) and body.
pub(super) fn send_complete(out: ResponseOutparam, response: Response, execution_id: HeaderValue) {
    let (status, mut headers, body) = response.into_parts();
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    }
    headers.insert(EXECUTION_ID, execution_id);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let response = outgoing_response(status, &headers);
    let outgoing = response
        .body()
        .expect("the body of a new outgoing-response is available");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing
        .write()
        .expect("the stream of a new outgoing-body is available");
    // A failed write means the caller is gone: nothing left to do.
    let written = write_all(&stream, &body);
    drop(stream);
    if written.is_ok() {
        let _ = OutgoingBody::finish(outgoing, None);
    }
}

/// A streamed response under way.
pub(super) struct StreamOut {
    /// `None` once a write failed (the caller went away).
    stream: Option<OutputStream>,
    body: OutgoingBody,
    /// Whether the last chunk sent ended a line.
    at_line_start: bool,
}

/// Starts a streamed response: 200, the stream's `content-type`, the execution id, no length.
pub(super) fn start_stream(
    out: ResponseOutparam,
    content_type: HeaderValue,
    execution_id: HeaderValue,
) -> StreamOut {
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(EXECUTION_ID, execution_id);
    let response = outgoing_response(StatusCode::OK, &headers);
    let body = response
        .body()
        .expect("the body of a new outgoing-response is available");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().ok();
    StreamOut {
        stream,
        body,
        at_line_start: true,
    }
}

impl StreamOut {
    /// Sends one chunk now.
    pub(super) fn write(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.at_line_start = chunk.ends_with(b"\n");
        if let Some(stream) = &self.stream {
            if write_all(stream, chunk).is_err() {
                self.stream = None;
            }
        }
    }

    /// Sends `line` as a line of its own (after a newline if the stream is mid-line).
    pub(super) fn write_line(&mut self, line: &[u8]) {
        if !self.at_line_start {
            self.write(b"\n");
        }
        self.write(line);
    }

    /// Ends the response body.
    pub(super) fn finish(mut self) {
        let complete = self.stream.take().is_some();
        if complete {
            let _ = OutgoingBody::finish(self.body, None);
        }
    }
}

/// Writes all of `bytes` as fast as the host takes them, then flushes.
fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), StreamError> {
    while !bytes.is_empty() {
        let permit = loop {
            let permit = stream.check_write()?;
            if permit > 0 {
                break permit;
            }
            stream.subscribe().block();
        };
        let length = bytes
            .len()
            .min(usize::try_from(permit).unwrap_or(usize::MAX));
        stream.write(&bytes[..length])?;
        bytes = &bytes[length..];
    }
    stream.blocking_flush()
}
