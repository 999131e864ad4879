//! A bare hyper 1.x HTTP/1.1 server with keep-alive: the baseline the Ignite serve loop is
//! measured against. `PORT` (default 8080), `IGNITE_FUNCTION_ID` (default `local/bare-hyper`).
//!
//! The request handling mirrors the rust-hello handler's own work (read the "message" field
//! into a `String`, build the answer with `serde_json::json!`, serialize it), so that the
//! difference between the two servers is the SDK's serve loop, not the handler.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

const EXECUTION_ID: HeaderName = HeaderName::from_static("x-ignite-execution-id");

#[derive(Deserialize)]
struct Input {
    message: Option<String>,
}

async fn handle(function_id: Arc<str>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let execution_id = match request.headers().get(EXECUTION_ID) {
        Some(value) => value.clone(),
        None => HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).unwrap(),
    };
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let message: String = serde_json::from_slice::<Input>(&body)
        .ok()
        .and_then(|input| input.message)
        .unwrap_or_else(|| "Hello from Rust!".to_string());
    let output = serde_json::to_vec(&serde_json::json!({
        "message": message,
        "execution_id": execution_id.to_str().unwrap_or_default(),
        "function_id": &*function_id,
    }))
    .unwrap();
    let mut response = Response::new(Full::new(Bytes::from(output)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(EXECUTION_ID, execution_id);
    response
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8080);
    let function_id: Arc<str> = std::env::var("IGNITE_FUNCTION_ID")
        .unwrap_or_else(|_| "local/bare-hyper".to_string())
        .into();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    eprintln!("bare-hyper listening on http://127.0.0.1:{port}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let function_id = function_id.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let function_id = function_id.clone();
                async move { Ok::<_, Infallible>(handle(function_id, request).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
