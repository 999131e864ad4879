//! Between hyper and an invocation: reading request bodies, writing responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::invoke::{self, StreamBody, EXECUTION_ID};
use crate::response::{Response, APPLICATION_JSON};

/// A response body: a whole JSON document, or a stream driven by the handler.
pub(super) enum Body {
    Full(Option<Bytes>),
    Stream(StreamBody),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(body) => Poll::Ready(body.take().map(|body| Ok(Frame::data(body)))),
            Body::Stream(stream) => stream
                .poll_chunk(cx)
                .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(body)) => SizeHint::with_exact(body.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// Reads a whole request body, at most `limit` bytes.
pub(super) async fn read(
    body: Incoming,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, Response> {
    if invoke::declares_too_large(headers, limit) {
        return Err(invoke::body_too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(invoke::body_too_large(limit))
        }
        Err(error) => Err(invoke::body_unreadable(&error.to_string())),
    }
}

/// The HTTP response for a whole [`Response`].
pub(super) fn complete(response: Response, execution_id: HeaderValue) -> hyper::Response<Body> {
    let (status, mut headers, body) = response.into_parts();
    // (Most responses have no headers of their own: skip the lookup then.)
    if headers.is_empty() || !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    }
    headers.insert(EXECUTION_ID, execution_id);
    let mut response = hyper::Response::new(Body::Full(Some(body)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The HTTP response for a stream: 200, chunked.
pub(super) fn stream(stream: StreamBody, execution_id: HeaderValue) -> hyper::Response<Body> {
    let content_type = stream.content_type().clone();
    let mut response = hyper::Response::new(Body::Stream(stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(EXECUTION_ID, execution_id);
    response
}
