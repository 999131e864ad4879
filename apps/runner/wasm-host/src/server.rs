//! HTTP/1.1 with keep-alive on the listener, many requests at once (each its own instance),
//! the platform's response headers, readiness after a probe, and a drain on shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::Empty;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;

use crate::executor::{Executor, ResponseBody};
use crate::listener::{Connection, Listener};
use crate::log_output::host_line;
use crate::platform_headers::{add_response_headers, execution_id, strip_platform_headers};

/// The serving side of one host.
pub struct Server {
    executor: Arc<Executor>,
    release: HeaderValue,
    /// No request served yet: the next one is the cold one.
    cold: AtomicBool,
}

impl Server {
    /// Serves `executor`'s function, answering with `x-ignite-release: release`.
    pub fn new(executor: Arc<Executor>, release: &str) -> Result<Server, String> {
        let release = HeaderValue::from_str(release)
            .map_err(|_| format!("the release {release:?} is not a header value"))?;
        Ok(Server {
            executor,
            release,
            cold: AtomicBool::new(true),
        })
    }

    /// The executor requests run in (direct connections call it themselves).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// `x-ignite-release`'s value.
    pub fn release(&self) -> &HeaderValue {
        &self.release
    }

    /// Whether the request being started is the first the host serves (then no later one is),
    /// proxied or on a direct connection: `x-ignite-cold`.
    pub fn take_cold(&self) -> bool {
        self.cold.load(Ordering::Relaxed) && self.cold.swap(false, Ordering::Relaxed)
    }

    /// Runs the SDK's readiness probe (`x-ignite-probe`: the function sets itself up without
    /// calling the handler) in an instance of its own: whether the component starts.
    pub async fn probe(&self) -> Result<(), String> {
        let request = http::Request::builder()
            .method("GET")
            .uri("/")
            .header("x-ignite-probe", "1")
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        let response = self.executor.handle(request, "probe").await;
        if response.status() == StatusCode::OK {
            return Ok(());
        }
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        Err(format!(
            "the function's readiness probe answered {status}: {body}"
        ))
    }

    /// One request from a caller: its execution id (the runner's, or a new one), no other
    /// `x-ignite-*` header of the caller's, a fresh instance, the platform's headers on the
    /// answer.
    pub async fn handle<B>(&self, mut request: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let started = Instant::now();
        let id = execution_id(request.headers());
        strip_platform_headers(request.headers_mut());
        let cold = self.take_cold();
        let mut response = self.executor.handle(request, &id).await;
        add_response_headers(
            response.headers_mut(),
            &id,
            &self.release,
            cold,
            started.elapsed(),
        );
        response
    }

    /// Accepts connections until `shutdown` resolves, then lets the requests in flight finish
    /// (at most `drain` long) and returns.
    pub async fn serve(
        self: Arc<Self>,
        listener: Listener,
        shutdown: impl Future<Output = ()>,
        drain: Duration,
    ) {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let connection = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            match connection {
                Ok(Connection::Unix(stream)) => self.spawn_connection(&graceful, stream),
                Ok(Connection::Tcp(stream)) => self.spawn_connection(&graceful, stream),
                Err(error) => {
                    host_line(&format!("accept failed: {error}"));
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(drain) => {
                host_line(&format!("requests still in flight after {} ms: stopping anyway", drain.as_millis()));
            }
        }
    }

    fn spawn_connection<S>(self: &Arc<Self>, graceful: &GracefulShutdown, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let server = self.clone();
        let service = hyper::service::service_fn(move |request| {
            let server = server.clone();
            async move { Ok::<_, Infallible>(server.handle(request).await) }
        });
        let connection = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A caller that goes away mid-request is no news.
            let _ = connection.await;
        });
    }
}

/// Writes `ready\n` to the descriptor and closes it.
pub fn write_ready(fd: RawFd) -> std::io::Result<()> {
    use std::io::Write;
    // SAFETY: the descriptor the runner handed over for this; the host owns it from now on.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(b"ready\n")
}
