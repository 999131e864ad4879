//! One request, one fresh instance: the store and its limits, instantiation from the linked
//! component, `wasi:http/incoming-handler.handle`, and the answer — the guest's own (streamed),
//! or the host's when the guest is stopped or fails before answering.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::{oneshot, Semaphore};
use wasmtime::component::Component;
use wasmtime::{Engine, Result, Store, Trap};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::WasiHttpView;

use crate::epoch::EpochTicker;
use crate::error_response::{error_response, FUNCTION_ERROR, FUNCTION_TIMEOUT, UNAVAILABLE};
use crate::guest_log::{GuestOutput, LogSink, LogStream};
use crate::guest_state::GuestState;
use crate::limits::{at_epoch_tick, MemoryLimitExceeded, MemoryLimiter, TimeLimitExceeded};
use crate::linker::link;
use crate::platform_headers::set_guest_headers;
use crate::stats::Histogram;
use crate::temp_dir::{TempDir, TempDirs};

/// The body of an answer: the guest's stream, or the host's JSON error.
pub type ResponseBody = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// Where the guest's temp directory appears inside it (`IGNITE_TEMP_DIR` for the SDK).
pub const GUEST_TEMP_DIR: &str = "/tmp";

/// What a function runs with.
#[derive(Debug, Clone)]
pub struct FunctionSettings {
    /// `org/app` (`IGNITE_FUNCTION_ID` for the guest, `ctx.function_id()`).
    pub function_id: String,
    /// The guest's environment (`ctx.env()`); `IGNITE_FUNCTION_ID` and `IGNITE_TEMP_DIR` are
    /// added.
    pub env: Vec<(String, String)>,
    /// Past it the execution is stopped: 504.
    pub time_limit: Duration,
    /// Linear memory an instance may grow to; past it the execution is stopped: 500.
    pub memory_limit_bytes: u64,
    /// Per-execution temp directories are made under it.
    pub scratch_dir: PathBuf,
    /// Instances alive at once; further requests wait for one to end.
    pub max_instances: u32,
}

/// How an execution ended, when it did not answer by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Stopped at the time limit.
    Timeout,
    /// Stopped at the memory limit.
    Memory,
    /// The guest called `exit`.
    Exit(i32),
    /// A trap, or a host error while it ran.
    Crash(String),
    /// It returned without setting its response.
    NoResponse,
}

/// Serves one function's component: a fresh instance per request.
pub struct Executor {
    engine: Engine,
    pre: ProxyPre<GuestState>,
    env: Arc<[(String, String)]>,
    time_limit: Duration,
    memory_limit_bytes: u64,
    temp_dirs: TempDirs,
    sink: Arc<dyn LogSink>,
    slots: Arc<Semaphore>,
    instantiation: Arc<Histogram>,
    _ticker: EpochTicker,
}

impl Executor {
    /// Links `component` once and starts the engine's epoch ticker. `engine` must be of this
    /// host's configuration ([`crate::engine`]) with a pool of at least `max_instances`.
    pub fn new(
        engine: &Engine,
        component: &Component,
        settings: FunctionSettings,
        sink: Arc<dyn LogSink>,
    ) -> Result<Executor> {
        let pre = link(engine, component)?;
        let mut env: Vec<(String, String)> = settings
            .env
            .into_iter()
            .filter(|(name, _)| name != "IGNITE_FUNCTION_ID" && name != "IGNITE_TEMP_DIR")
            .collect();
        env.push(("IGNITE_FUNCTION_ID".into(), settings.function_id));
        env.push(("IGNITE_TEMP_DIR".into(), GUEST_TEMP_DIR.into()));
        Ok(Executor {
            engine: engine.clone(),
            pre,
            env: env.into(),
            time_limit: settings.time_limit,
            memory_limit_bytes: settings.memory_limit_bytes,
            temp_dirs: TempDirs::new(&settings.scratch_dir)?,
            sink,
            slots: Arc::new(Semaphore::new(settings.max_instances.max(1) as usize)),
            instantiation: Arc::new(Histogram::default()),
            _ticker: EpochTicker::start(engine)?,
        })
    }

    /// How long instantiation took, request after request.
    pub fn instantiation_times(&self) -> &Histogram {
        &self.instantiation
    }

    /// Serves `request` as execution `execution_id` in a fresh instance (the request's
    /// `x-ignite-execution-id` is set to it; the caller removes the other `x-ignite-*` headers
    /// a caller may have sent, see [`crate::platform_headers`]). The answer's head
    /// comes back as soon as the guest sets it; its body streams while the guest writes it.
    pub async fn handle<B>(
        &self,
        mut request: http::Request<B>,
        execution_id: &str,
    ) -> http::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return unavailable("the host is shutting down");
        };
        let deadline = Instant::now() + self.time_limit;
        let execution: Arc<str> = execution_id.into();
        let temp = match self.temp_dirs.create() {
            Ok(temp) => temp,
            Err(error) => {
                self.sink.host(
                    &execution,
                    &format!("could not create a temp directory: {error}"),
                );
                return unavailable("the host could not prepare the execution");
            }
        };
        let mut store = match self.new_store(&execution, &temp, deadline) {
            Ok(store) => store,
            Err(error) => {
                self.sink.host(
                    &execution,
                    &format!("could not prepare the execution: {error}"),
                );
                return unavailable("the host could not prepare the execution");
            }
        };
        set_guest_headers(request.headers_mut(), execution_id);
        let (sender, receiver) = oneshot::channel();
        let resources = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .and_then(|request| {
                Ok((
                    request,
                    store.data_mut().http().new_response_outparam(sender)?,
                ))
            });
        let (request, outparam) = match resources {
            Ok(resources) => resources,
            Err(error) => {
                self.sink.host(
                    &execution,
                    &format!("the request cannot be handed to the guest: {error}"),
                );
                return error_response(
                    StatusCode::BAD_REQUEST,
                    FUNCTION_ERROR,
                    &format!("the request cannot be handed to the function: {error}"),
                );
            }
        };
        let pre = self.pre.clone();
        let instantiation = self.instantiation.clone();
        let sink = self.sink.clone();
        let limit_ms = self.time_limit.as_millis() as u64;
        let memory_mb = self.memory_limit_bytes >> 20;
        let run = tokio::spawn(async move {
            let call = async {
                let started = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                instantiation.record(started.elapsed());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, outparam)
                    .await
            };
            let result = tokio::time::timeout_at(deadline.into(), call).await;
            let failure = match result {
                Ok(Ok(())) => None,
                Err(_elapsed) => Some(Failure::Timeout),
                Ok(Err(error)) => Some(classify(&error, store.data())),
            };
            // The instance, its temp directory and its pool slot go now.
            drop(store);
            drop(temp);
            drop(permit);
            failure
        });
        match receiver.await {
            Ok(Ok(response)) => {
                // Answered; what happens to the instance afterwards is only logged (a panic
                // answers, then traps).
                let execution = execution.clone();
                tokio::spawn(async move {
                    if let Ok(Some(failure)) = run.await {
                        sink.host(
                            &execution,
                            &format!(
                                "after answering: {}",
                                describe(&failure, limit_ms, memory_mb)
                            ),
                        );
                    }
                });
                response
            }
            Ok(Err(code)) => {
                let message = format!("the function answered with an error: {code:?}");
                self.sink.host(&execution, &message);
                error_response(StatusCode::INTERNAL_SERVER_ERROR, FUNCTION_ERROR, &message)
            }
            Err(_no_answer) => {
                let failure = match run.await {
                    Ok(Some(failure)) => failure,
                    Ok(None) => Failure::NoResponse,
                    Err(join) => Failure::Crash(format!("the host's task failed: {join}")),
                };
                let message = describe(&failure, limit_ms, memory_mb);
                self.sink.host(&execution, &message);
                let status = if failure == Failure::Timeout {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                let code = if failure == Failure::Timeout {
                    FUNCTION_TIMEOUT
                } else {
                    FUNCTION_ERROR
                };
                error_response(status, code, &message)
            }
        }
    }

    /// A store for one execution: its WASI context, limits and deadline.
    fn new_store(
        &self,
        execution: &Arc<str>,
        temp: &TempDir,
        deadline: Instant,
    ) -> Result<Store<GuestState>> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(&self.env)
            .stdout(GuestOutput::new(
                execution.clone(),
                LogStream::Stdout,
                self.sink.clone(),
            ))
            .stderr(GuestOutput::new(
                execution.clone(),
                LogStream::Stderr,
                self.sink.clone(),
            ))
            // The temp directory is on a local tmpfs: its calls are cheaper inline than on the
            // blocking pool.
            .allow_blocking_current_thread(true)
            .preopened_dir(temp.path(), GUEST_TEMP_DIR, FsPerms::ReadWrite)?;
        let state = GuestState::new(wasi.build(), MemoryLimiter::new(self.memory_limit_bytes));
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        let limit_ms = self.time_limit.as_millis() as u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| at_epoch_tick(deadline, limit_ms));
        Ok(store)
    }

    /// Creates a store and instantiates the component without calling it, `n` times: how long
    /// each instantiation took (the benchmark's figure).
    pub async fn time_instantiation(&self, n: usize) -> Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let temp = self.temp_dirs.create()?;
            let deadline = Instant::now() + self.time_limit;
            let mut store = self.new_store(&"bench".into(), &temp, deadline)?;
            let started = Instant::now();
            let _proxy = self.pre.instantiate_async(&mut store).await?;
            times.push(started.elapsed());
        }
        Ok(times)
    }
}

/// What stopped the guest.
fn classify(error: &wasmtime::Error, state: &GuestState) -> Failure {
    if error.downcast_ref::<TimeLimitExceeded>().is_some() {
        return Failure::Timeout;
    }
    if state.limiter.exceeded() || error.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return Failure::Memory;
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Failure::Exit(exit.0);
    }
    match error.downcast_ref::<Trap>() {
        Some(trap) => Failure::Crash(trap.to_string()),
        None => Failure::Crash(format!("{error:#}")),
    }
}

/// The message of the answer (and of the log line) for a failure.
fn describe(failure: &Failure, limit_ms: u64, memory_mb: u64) -> String {
    match failure {
        Failure::Timeout => TimeLimitExceeded { limit_ms }.to_string(),
        Failure::Memory => MemoryLimitExceeded {
            limit_mb: memory_mb,
        }
        .to_string(),
        Failure::Exit(code) => {
            format!("the function exited while handling the request (exit code {code})")
        }
        Failure::Crash(why) => format!("the function crashed while handling the request ({why})"),
        Failure::NoResponse => "the function returned without sending a response".to_string(),
    }
}

fn unavailable(message: &str) -> http::Response<ResponseBody> {
    error_response(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, message)
}
