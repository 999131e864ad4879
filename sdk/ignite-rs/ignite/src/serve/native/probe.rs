//! The readiness probe, on a listener of its own so that it never shadows a path of the
//! function: `GET /ready` is 200 `{"status":"ready"}`, or 503 `{"status":"draining"}` once
//! shutdown has begun.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::body::Body;
use super::listener::{Accepted, Listener};
use crate::response::APPLICATION_JSON;

/// Serves the probe until the task is aborted.
pub(super) async fn serve(listener: Listener, draining: Arc<AtomicBool>) {
    loop {
        let stream = match listener.accept().await {
            Ok(Accepted::Tcp(stream)) => stream,
            // The probe is always a TCP port of its own.
            Ok(Accepted::Unix(_)) => continue,
            Err(error) => {
                eprintln!("ignite: readiness probe: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let draining = draining.clone();
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let draining = draining.load(Ordering::SeqCst);
            async move { Ok::<_, Infallible>(respond(&request, draining)) }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(request: &hyper::Request<Incoming>, draining: bool) -> hyper::Response<Body> {
    let (status, body): (StatusCode, &'static [u8]) = match (request.method(), request.uri().path())
    {
        (&Method::GET | &Method::HEAD, "/ready") if draining => {
            (StatusCode::SERVICE_UNAVAILABLE, br#"{"status":"draining"}"#)
        }
        (&Method::GET | &Method::HEAD, "/ready") => (StatusCode::OK, br#"{"status":"ready"}"#),
        (_, "/ready") => (
            StatusCode::METHOD_NOT_ALLOWED,
            br#"{"error":"method not allowed"}"#,
        ),
        _ => (StatusCode::NOT_FOUND, br#"{"error":"not found"}"#),
    };
    let mut response = hyper::Response::new(Body::Full(Some(Bytes::from_static(body))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON);
    response
}
