//! What the integration tests share: the fixture built as a component the way the compile
//! worker builds it (packages/testing/src/wasm-component.ts, same manifest, same
//! cache), precompiled once per cache key, a host process started as the runner starts it
//! (a unix listener on descriptor 6, a ready pipe on 3), and a small HTTP/1.1 client.

#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};

/// `~/.cache/ignite` (`IGNITE_CACHE_HOME`).
pub fn cache_home() -> PathBuf {
    match std::env::var_os("IGNITE_CACHE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ignite"),
    }
}

fn repo_root() -> PathBuf {
    manifest_dir().join("../../..").canonicalize().unwrap()
}

/// How to run cargo for wasm32-wasip2: the default toolchain if it has the target, else the
/// one provisioning assembled (`<cache>/wasm-toolchain/toolchain.json`).
fn wasm_cargo() -> (String, Vec<(String, String)>) {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    if !sysroot.is_empty()
        && Path::new(&sysroot)
            .join("lib/rustlib/wasm32-wasip2/lib")
            .exists()
    {
        return ("cargo".into(), Vec::new());
    }
    let manifest = cache_home().join("wasm-toolchain/toolchain.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|_| {
        panic!(
            "no wasm32-wasip2 toolchain: provision it with `node scripts/platform/main.mts test` (or npm test), which writes {}",
            manifest.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let flags: Vec<&str> = json["rustflags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag.as_str().unwrap())
        .collect();
    (
        json["cargo"].as_str().unwrap().to_string(),
        vec![
            ("RUSTC".into(), json["rustc"].as_str().unwrap().to_string()),
            ("CARGO_ENCODED_RUSTFLAGS".into(), flags.join("\x1f")),
        ],
    )
}

/// Builds an SDK fixture into a component (cached: an unchanged fixture is not rebuilt) and
/// returns its path. The manifest is wasm-component.ts's, byte for byte, so both share the
/// build.
pub fn build_component(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_build_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = repo_root();
    let source = match name {
        "rust-hello" => root.join("sdk/ignite-rs/code_sources/rust-hello/src/lib.rs"),
        "handler-semantics" => root.join("sdk/ignite-rs/fixtures/handler-semantics/src/lib.rs"),
        other => panic!("unknown fixture {other}"),
    };
    let sdk = root.join("sdk/ignite-rs/ignite");
    let cache = cache_home().join("runner-wasm-test");
    let project = cache.join(name);
    std::fs::create_dir_all(&project).unwrap();
    let json = |path: &Path| serde_json::to_string(path.to_str().unwrap()).unwrap();
    let manifest = [
        "[package]".to_string(),
        format!("name = \"{name}\""),
        "version = \"0.1.0\"".into(),
        "edition = \"2021\"".into(),
        "publish = false".into(),
        String::new(),
        "[lib]".into(),
        format!("path = {}", json(&source)),
        "crate-type = [\"cdylib\"]".into(),
        String::new(),
        "[dependencies]".into(),
        format!("ignite = {{ path = {} }}", json(&sdk)),
        "serde = { version = \"1\", features = [\"derive\"] }".into(),
        "serde_json = \"1\"".into(),
        "tokio = { version = \"1\", features = [\"macros\", \"sync\", \"io-util\", \"rt\", \"time\"] }".into(),
        String::new(),
        "[profile.release]".into(),
        "opt-level = \"s\"".into(),
        "lto = true".into(),
        "codegen-units = 1".into(),
        "strip = true".into(),
        "panic = \"abort\"".into(),
        String::new(),
        "[workspace]".into(),
        String::new(),
    ]
    .join("\n");
    let manifest_path = project.join("Cargo.toml");
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(manifest.as_str()) {
        std::fs::write(&manifest_path, &manifest).unwrap();
    }
    let (cargo, env) = wasm_cargo();
    let target_dir = cache.join("target");
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest_path)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .envs(env);
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the {name} component failed");
    target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

/// The fixture precompiled for this host's engine, named as the compile worker names it
/// (`<sha256>.<cache key>.cwasm`), in a cache of its own: precompiled once per component and key.
pub fn precompiled(name: &str) -> PathBuf {
    static DONE: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let done = DONE.get_or_init(|| Mutex::new(Vec::new()));
    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = done.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let component = build_component(name);
    let bytes = std::fs::read(&component).unwrap();
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let engine = ignite_wasm_host::engine(&ignite_wasm_host::PoolSettings::default()).unwrap();
    let key = ignite_wasm_host::cache_key(&engine);
    let dir = cache_home().join("wasm-host-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(ignite_wasm_host::precompiled_file_name(&sha256, &key));
    if !path.exists() {
        let compiled = ignite_wasm_host::precompile(&engine, &bytes).unwrap();
        let staged = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&staged, compiled).unwrap();
        std::fs::rename(&staged, &path).unwrap();
    }
    done.push((name.to_string(), path.clone()));
    path
}

/// The host program cargo built for the integration tests.
pub fn host_binary() -> &'static str {
    match option_env!("CARGO_BIN_EXE_ignite-wasm-host") {
        Some(path) => path,
        None => panic!("the host binary is known to integration tests only"),
    }
}

/// How a test host is started.
pub struct HostOptions {
    /// The precompiled component.
    pub component: PathBuf,
    /// Hand it over as a descriptor (`IGNITE_COMPONENT_FD=7`, as the sandbox does) instead of a path.
    pub as_descriptor: bool,
    /// Extra environment (the guest's, or settings).
    pub env: Vec<(String, String)>,
    /// `IGNITE_TIME_LIMIT_MS`.
    pub time_limit_ms: u64,
    /// `IGNITE_MEMORY_LIMIT_MB`.
    pub memory_limit_mb: u64,
    /// Further descriptors the host inherits, at the numbers given (the runner's channel on 4
    /// and message pipe on 5, for direct connections).
    pub inherited: Vec<(i32, OwnedFd)>,
}

impl HostOptions {
    /// handler-semantics with a 1 s time limit and 64 MiB.
    pub fn semantics() -> HostOptions {
        HostOptions {
            component: precompiled("handler-semantics"),
            as_descriptor: true,
            env: Vec::new(),
            time_limit_ms: 1_000,
            memory_limit_mb: 64,
            inherited: Vec::new(),
        }
    }
}

/// A running host process.
pub struct Host {
    pub child: Child,
    pub socket: PathBuf,
    pub scratch: PathBuf,
    stderr: Arc<Mutex<Vec<u8>>>,
    dir: PathBuf,
}

fn unique_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("ignite-wasm-host-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: a two-int buffer for pipe2.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Host {
    /// Starts the host; waits for `ready` on its ready pipe. Panics with its stderr if it
    /// exits instead.
    pub fn start(options: HostOptions) -> Host {
        match Host::try_start(options) {
            Ok(host) => host,
            Err(stderr) => panic!("the host did not get ready: {stderr}"),
        }
    }

    /// Starts the host; `Err(its stderr)` if it exits before it is ready.
    pub fn try_start(options: HostOptions) -> Result<Host, String> {
        let dir = unique_dir("host");
        let socket = dir.join("http.sock");
        let scratch = dir.join("scratch");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let (ready_read, ready_write) = pipe();
        let component_file = std::fs::File::open(&options.component).unwrap();
        let mut command = Command::new(host_binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("IGNITE_LISTEN_FD", "6")
            .env("IGNITE_READY_FD", "3")
            .env("IGNITE_TIME_LIMIT_MS", options.time_limit_ms.to_string())
            .env(
                "IGNITE_MEMORY_LIMIT_MB",
                options.memory_limit_mb.to_string(),
            )
            .env("IGNITE_FUNCTION_ID", "org/semantics")
            .env("IGNITE_RELEASE", "7")
            .env("IGNITE_TEMP_DIR", &scratch)
            .env("IGNITE_SHUTDOWN_TIMEOUT_MS", "5000")
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if options.as_descriptor {
            command.env("IGNITE_COMPONENT_FD", "7");
        } else {
            command.env("IGNITE_COMPONENT", &options.component);
        }
        let (listen_fd, ready_fd, component_fd) = (
            listener.as_raw_fd(),
            ready_write.as_raw_fd(),
            component_file.as_raw_fd(),
        );
        let mut sources = vec![listen_fd, ready_fd, component_fd];
        let mut targets = vec![6, 3, 7];
        for (target, fd) in &options.inherited {
            sources.push(fd.as_raw_fd());
            targets.push(*target);
        }
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Out of the way first: a source may already sit on another one's target.
                let mut moved = [0; 16];
                for (slot, from) in sources.iter().enumerate() {
                    moved[slot] = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 100);
                    if moved[slot] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (from, to) in moved.into_iter().zip(targets.iter().copied()) {
                    if libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap();
        drop(ready_write);
        drop(listener);
        drop(component_file);
        drop(options.inherited);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        {
            let stderr = stderr.clone();
            let mut pipe = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    stderr.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
            });
        }
        let mut ready = std::fs::File::from(ready_read);
        let mut said = String::new();
        let _ = ready.read_to_string(&mut said);
        if said != "ready\n" {
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(50));
            return Err(String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned());
        }
        Ok(Host {
            child,
            socket,
            scratch,
            stderr,
            dir,
        })
    }

    /// What the host wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until its stderr contains `text` (at most 5 s).
    pub fn wait_for_stderr(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stderr = self.stderr();
            if stderr.contains(text) || Instant::now() > deadline {
                return stderr;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A new keep-alive connection.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.socket).await
    }

    /// One request on a connection of its own.
    pub async fn call(&self, body: serde_json::Value) -> Answer {
        self.connect().await.post(body, &[]).await
    }

    /// `n` requests at once, each on a connection of its own.
    pub async fn call_many(&self, n: usize, body: serde_json::Value) -> Vec<Answer> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let socket = self.socket.clone();
                let body = body.clone();
                tokio::spawn(async move { Client::connect(&socket).await.post(body, &[]).await })
            })
            .collect();
        let mut answers = Vec::with_capacity(n);
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    /// One request, in a task of its own (runs while the test does other things).
    pub fn spawn_call(&self, body: serde_json::Value) -> tokio::task::JoinHandle<Answer> {
        let socket = self.socket.clone();
        tokio::spawn(async move { Client::connect(&socket).await.post(body, &[]).await })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An answer, read whole: its status, headers, body, and when each body frame arrived.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    pub frames: Vec<(Duration, usize)>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// One HTTP/1.1 connection to the host.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn connect(socket: &Path) -> Client {
        let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        Client { sender }
    }

    pub async fn post(&mut self, body: serde_json::Value, headers: &[(&str, &str)]) -> Answer {
        let mut request = http::Request::builder()
            .method("POST")
            .uri("/invoke/path?name=ada")
            .header("host", "function")
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        self.sender.ready().await.unwrap();
        let sent = Instant::now();
        let response = self.sender.send_request(request).await.unwrap();
        let (parts, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data() {
                frames.push((sent.elapsed(), data.len()));
                bytes.extend_from_slice(&data);
            }
        }
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
            frames,
        }
    }
}

/// This crate's folder as cargo gives it to the running test, not as it was when the test was
/// compiled: a target directory shared by clones at other paths may hold a test binary built
/// in another clone, which cargo still counts as fresh.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
