//! The native serve loop: hyper's HTTP/1.1 server (keep-alive) on a multi-threaded tokio
//! runtime, a readiness probe on its own port, `IGNITE_READY_FD`, and a graceful shutdown on
//! SIGTERM/SIGINT.

mod blocking;
mod body;
mod config;
mod connections;
mod direct;
mod listener;
mod probe;
mod ready_fd;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::blocking::BlockingFn;
use self::config::Config;
use self::connections::Connections;
use self::direct::{Direct, DirectConfig};
use self::listener::{Accepted, Inherited, Listener};
use self::ready_fd::ReadyFd;
use crate::handler::Handler;
use crate::invoke::{self, App, Outcome, Settings};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Runs the serve loop until SIGTERM/SIGINT, then exits the process: 0 after a graceful
/// shutdown, 1 if the server could not start.
pub(crate) fn run<H: Handler>(handler: H, crate_name: &'static str) -> ! {
    let started = start(handler, crate_name);
    // Exit runs no destructors: the log lines still waiting go out first.
    crate::log::flush();
    let code = match started {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("ignite: {message}");
            1
        }
    };
    std::process::exit(code)
}

fn start<H: Handler>(handler: H, crate_name: &str) -> Result<(), String> {
    // First, before any descriptor is opened (see `ReadyFd::from_env`).
    let ready = ReadyFd::from_env()?;
    let config = Config::from_env()?;
    let inherited = config.listen_fd.map(Inherited::take).transpose()?;
    let direct = DirectConfig::from_env()?;
    let settings = Settings::from_env(crate_name)?;
    crate::log::install_panic_hook();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ignite-worker")
        .build()
        .map_err(|error| format!("could not start the tokio runtime: {error}"))?;
    let app = Arc::new(App::new(handler, settings));
    let direct = match direct {
        Some(direct) => Some(Direct::start(
            direct,
            app.clone(),
            runtime.handle().clone(),
        )?),
        None => None,
    };
    let result = runtime.block_on(serve(app.clone(), config, inherited, ready, direct));
    // Synchronous handlers still running past the shutdown timeout are abandoned.
    runtime.shutdown_timeout(Duration::from_millis(100));
    app.cleanup();
    result
}

async fn serve<H: Handler>(
    app: Arc<App<H>>,
    config: Config,
    inherited: Option<Inherited>,
    ready: Option<ReadyFd>,
    direct: Option<Direct>,
) -> Result<(), String> {
    let listener = match inherited {
        Some(inherited) => inherited.register()?,
        None => Listener::bind(SocketAddr::new(config.host, config.port), "PORT").await?,
    };
    let probe = match config.probe_port {
        Some(port) => {
            Some(Listener::bind(SocketAddr::new(config.host, port), "IGNITE_PROBE_PORT").await?)
        }
        None => None,
    };
    let mut signals = Signals::new()?;
    let probed = match &probe {
        Some(probe) => format!(" (readiness probe: {}/ready)", probe.describe()),
        None => String::new(),
    };
    eprintln!(
        "ignite: {} listening on {}{probed}",
        app.function_id(),
        listener.describe()
    );
    if let Some(ready) = ready {
        ready.notify();
    }

    let draining = Arc::new(AtomicBool::new(false));
    let probe = probe.map(|probe| tokio::spawn(probe::serve(probe, draining.clone())));
    let connections = Arc::new(Connections::new());
    let mut http = http1::Builder::new();
    http.keep_alive(true);

    let signal = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => break signal,
            accepted = listener.accept() => match accepted {
                Ok(Accepted::Tcp(stream)) => {
                    let _ = stream.set_nodelay(true);
                    spawn_connection(&app, &http, &connections, stream);
                }
                Ok(Accepted::Unix(stream)) => spawn_connection(&app, &http, &connections, stream),
                Err(error) => {
                    // Out of descriptors, say: back off instead of spinning.
                    eprintln!("ignite: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    };

    // Drain: the probe reports 503, no new connection is accepted, idle keep-alive
    // connections close (direct ones go back to the runner), in-flight requests finish
    // (within the timeout).
    drop(listener);
    draining.store(true, Ordering::SeqCst);
    eprintln!(
        "ignite: {signal}: draining in-flight requests (at most {} ms)",
        config.shutdown_timeout.as_millis()
    );
    let direct_drained = async {
        if let Some(direct) = &direct {
            direct.drain().await;
        }
    };
    tokio::select! {
        _ = async { tokio::join!(connections.close_all(), direct_drained) } => eprintln!("ignite: drained, exiting"),
        () = tokio::time::sleep(config.shutdown_timeout) => {
            eprintln!("ignite: shutdown timeout elapsed with requests in flight, exiting");
        }
        signal = signals.recv() => eprintln!("ignite: {signal} again, exiting now"),
    }
    if let Some(probe) = probe {
        probe.abort();
    }
    Ok(())
}

/// Serves one accepted connection (keep-alive) on its own task, tracked for the drain.
fn spawn_connection<H: Handler, S>(
    app: &Arc<App<H>>,
    http: &http1::Builder,
    connections: &Arc<Connections>,
    stream: S,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let app = app.clone();
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(handle(&app, request).await) }
    });
    // Connection errors are the caller's (reset, malformed request).
    let connection = http.serve_connection(TokioIo::new(stream), service);
    tokio::spawn(connections.track(connection));
}

/// One HTTP request: read the body, run the invocation, write the response.
async fn handle<H: Handler>(
    app: &App<H>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<body::Body> {
    let execution_id = invoke::execution_id(request.headers());
    let (parts, incoming) = request.into_parts();
    let bytes = match body::read(incoming, &parts.headers, app.max_body_bytes()).await {
        Ok(bytes) => bytes,
        Err(response) => return body::complete(response, execution_id),
    };
    match app.invoke(execution_id.clone(), parts, bytes).await {
        Outcome::Complete(response) => body::complete(response, execution_id),
        Outcome::Stream(stream) => body::stream(stream, execution_id),
    }
}

/// SIGTERM and SIGINT (Ctrl-C).
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let listen =
            |kind| signal(kind).map_err(|error| format!("could not listen for signals: {error}"));
        Ok(Signals {
            terminate: listen(SignalKind::terminate())?,
            interrupt: listen(SignalKind::interrupt())?,
        })
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    fn new() -> Result<Signals, String> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
