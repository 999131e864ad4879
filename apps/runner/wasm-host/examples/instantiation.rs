//! Prints how long a fresh instance costs: store + WASI context, then instantiation from the
//! linked component (pooling allocator, copy-on-write memory image), and a whole in-process
//! request (instance, handler, answer). Not a test: figures only.
//!
//! `cargo run --release --example instantiation -- COMPONENT.cwasm [N]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use ignite_wasm_host::{
    engine, load_component, ComponentSource, Executor, FunctionSettings, LogSink, LogStream,
    PoolSettings,
};

struct Quiet;

impl LogSink for Quiet {
    fn line(&self, _: &str, _: LogStream, _: &[u8]) {}
    fn host(&self, _: &str, _: &str) {}
}

fn quantiles(mut times: Vec<Duration>) -> String {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    format!(
        "p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, mean {:.1} µs (n={})",
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6,
        times.len()
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: instantiation COMPONENT.cwasm [N]");
    let n: usize = args.next().map(|n| n.parse().unwrap()).unwrap_or(5_000);
    let pool = PoolSettings::default();
    let engine = engine(&pool).unwrap();
    let started = Instant::now();
    let component = load_component(&engine, &ComponentSource::Path(path.into())).unwrap();
    println!(
        "load (map the .cwasm): {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let settings = FunctionSettings {
            function_id: "bench/instantiation".into(),
            env: vec![("GREETING".into(), "hi".into())],
            time_limit: Duration::from_secs(10),
            memory_limit_bytes: pool.max_memory_bytes,
            scratch_dir: std::env::var_os("BENCH_SCRATCH")
                .map(Into::into)
                .unwrap_or_else(|| std::env::temp_dir().join("ignite-wasm-host-bench")),
            max_instances: pool.max_instances,
        };
        let executor = Executor::new(&engine, &component, settings, Arc::new(Quiet)).unwrap();
        println!(
            "link (InstancePre): {:.2} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        // Warm the pool's slots and the page cache first.
        executor.time_instantiation(200).await.unwrap();
        let times = executor.time_instantiation(n).await.unwrap();
        println!("instantiation: {}", quantiles(times));
        let mut requests = Vec::with_capacity(n);
        for i in 0..n + 200 {
            let request = http::Request::builder()
                .method("POST")
                .uri("/")
                .header("host", "bench")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"message":"hi"}"#)))
                .unwrap();
            let started = Instant::now();
            let response = executor.handle(request, "bench").await;
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.unwrap();
            if i >= 200 {
                requests.push(started.elapsed());
            }
        }
        println!(
            "whole request in process (instance + handler + answer): {}",
            quantiles(requests)
        );
        println!(
            "the executor's own instantiation histogram: {}",
            executor.instantiation_times().summary()
        );
    });
}
