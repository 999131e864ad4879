//! `ignite-wasm-host`: `precompile IN.wasm OUT.cwasm` (prints the cache key), `cache-key`,
//! `serve` (settings from the environment). See the crate's README.

use std::process::ExitCode;
use std::sync::Arc;

use ignite_wasm_host::config::ServeConfig;
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

/// Compiles IN to OUT (written whole, then renamed into place) and prints the cache key.
fn precompile_file(input: &str, output: &str) -> Result<(), String> {
    let engine = engine(&PoolSettings::default()).map_err(|error| format!("{error:#}"))?;
    let bytes = std::fs::read(input).map_err(|error| format!("could not read {input}: {error}"))?;
    let compiled = precompile(&engine, &bytes).map_err(|error| format!("{input}: {error:#}"))?;
    let staged = format!("{output}.tmp-{}", std::process::id());
    std::fs::write(&staged, &compiled)
        .map_err(|error| format!("could not write {staged}: {error}"))?;
    std::fs::rename(&staged, output)
        .map_err(|error| format!("could not write {output}: {error}"))?;
    println!("{}", cache_key(&engine));
    Ok(())
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
        host_line(&format!(
            "serving {} on {} (engine {})",
            config.function.function_id,
            listener.describe(),
            cache_key(&engine)
        ));
        if let Some(fd) = config.ready_fd {
            write_ready(fd)
                .map_err(|error| format!("could not write to IGNITE_READY_FD={fd}: {error}"))?;
        }
        let shutdown = async {
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            host_line("stopping: no new connections, finishing the requests in flight");
        };
        server
            .serve(listener, shutdown, config.shutdown_timeout)
            .await;
        host_line(&format!(
            "stopped; instantiation {}",
            executor.instantiation_times().summary()
        ));
        Ok(())
    })
}
