//! `ignite-wasm-host`: `precompile IN.wasm OUT.cwasm` (prints the cache key), `cache-key`,
//! `serve` (settings from the environment). See the crate's README.

use std::os::fd::{FromRawFd, RawFd};
use std::process::ExitCode;
use std::sync::Arc;

use ignite_wasm_host::config::ServeConfig;
use ignite_wasm_host::direct::Direct;
use ignite_wasm_host::listener::Listener;
use ignite_wasm_host::log_output::{host_line, StderrLog};
use ignite_wasm_host::server::{write_ready, Server};
use ignite_wasm_host::{cache_key, engine, load_component, precompile, Executor, PoolSettings};

const USAGE: &str = "usage: ignite-wasm-host precompile IN.wasm OUT.cwasm | cache-key | serve (settings from the environment, see the README)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["precompile", input, output] => precompile_file(input, output),
        ["cache-key"] => engine(&PoolSettings::default())
            .map(|engine| println!("{}", cache_key(&engine)))
            .map_err(|error| format!("{error:#}")),
        ["serve"] => return serve(),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ignite-wasm-host: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Compiles IN to OUT and prints the cache key. OUT is written whole under a temporary name,
/// then renamed into place; an OUT of `/proc/self/fd/N` is an inherited descriptor (how the
/// runner's sandbox hands over the file to fill: there is no directory to rename in) and is
/// written through that descriptor, from its start.
fn precompile_file(input: &str, output: &str) -> Result<(), String> {
    let engine = engine(&PoolSettings::default()).map_err(|error| format!("{error:#}"))?;
    let bytes = match inherited_descriptor(input) {
        Some(fd) => read_descriptor(fd),
        None => std::fs::read(input),
    }
    .map_err(|error| format!("could not read {input}: {error}"))?;
    let compiled = precompile(&engine, &bytes).map_err(|error| format!("{input}: {error:#}"))?;
    match inherited_descriptor(output) {
        Some(fd) => write_descriptor(fd, &compiled)
            .map_err(|error| format!("could not write {output}: {error}"))?,
        None => {
            let staged = format!("{output}.tmp-{}", std::process::id());
            std::fs::write(&staged, &compiled)
                .map_err(|error| format!("could not write {staged}: {error}"))?;
            std::fs::rename(&staged, output)
                .map_err(|error| format!("could not write {output}: {error}"))?;
        }
    }
    println!("{}", cache_key(&engine));
    Ok(())
}

/// `/proc/self/fd/N` (N above 2) → N.
fn inherited_descriptor(path: &str) -> Option<RawFd> {
    path.strip_prefix("/proc/self/fd/")?
        .parse::<RawFd>()
        .ok()
        .filter(|fd| *fd > 2)
}

/// The whole file behind an inherited descriptor, read through the descriptor itself (reopening
/// `/proc/self/fd/N` would check the file's permissions against the sandbox's uid).
fn read_descriptor(fd: RawFd) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    // SAFETY: a descriptor the caller handed over for this; owned (and closed) here.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Replaces the content of the file behind an inherited descriptor (opened for writing) with `bytes`.
fn write_descriptor(fd: RawFd, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    // SAFETY: as in `read_descriptor`.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(bytes)?;
    file.sync_data()
}

fn serve() -> ExitCode {
    match try_serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            host_line(&format!("error: {message}"));
            ExitCode::FAILURE
        }
    }
}

fn try_serve() -> Result<(), String> {
    let config =
        ServeConfig::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))?;
    let engine = engine(&PoolSettings {
        max_instances: config.function.max_instances,
        max_memory_bytes: config.function.memory_limit_bytes,
    })
    .map_err(|error| format!("the engine could not be configured: {error:#}"))?;
    let component =
        load_component(&engine, &config.component).map_err(|error| format!("{error:#}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("could not start the tokio runtime: {error}"))?;
    runtime.block_on(async {
        let executor = Executor::new(
            &engine,
            &component,
            config.function.clone(),
            Arc::new(StderrLog),
        )
        .map_err(|error| format!("{error:#}"))?;
        let executor = Arc::new(executor);
        let server = Arc::new(Server::new(executor.clone(), &config.release)?);
        let listener = Listener::open(&config.listen).await?;
        server.probe().await?;
        // Before `ready`: the runner hands the host connections once it is ready, and its
        // capabilities (public connections) are told first.
        let direct = match config.direct.clone() {
            Some(direct) => Some(Direct::start(
                direct,
                server.clone(),
                &config.function.function_id,
                tokio::runtime::Handle::current(),
            )?),
            None => None,
        };
        host_line(&format!(
            "serving {} on {}{} (engine {})",
            config.function.function_id,
            listener.describe(),
            if direct.is_some() {
                " and direct connections"
            } else {
                ""
            },
            cache_key(&engine)
        ));
        if let Some(fd) = config.ready_fd {
            write_ready(fd)
                .map_err(|error| format!("could not write to IGNITE_READY_FD={fd}: {error}"))?;
        }
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let signalled = async {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            host_line("stopping: no new connections, finishing the requests in flight");
            let _ = stopping.send(true);
        };
        let mut listening = stopped.clone();
        let shutdown = async move {
            let _ = listening.wait_for(|stop| *stop).await;
        };
        // Direct connections go back to the runner once their request in flight is answered,
        // within the same time as the host's own connections.
        let direct_drained = async {
            let Some(direct) = &direct else { return };
            let mut draining = stopped.clone();
            let _ = draining.wait_for(|stop| *stop).await;
            if tokio::time::timeout(config.shutdown_timeout, direct.drain())
                .await
                .is_err()
            {
                direct.flush_reports();
            }
        };
        let serving = async {
            tokio::join!(
                server
                    .clone()
                    .serve(listener, shutdown, config.shutdown_timeout),
                direct_drained
            );
        };
        tokio::select! {
            () = serving => {}
            () = async { signalled.await; std::future::pending::<()>().await } => {}
        }
        host_line(&format!(
            "stopped; instantiation {}",
            executor.instantiation_times().summary()
        ));
        Ok(())
    })
}
