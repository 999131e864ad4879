//! Test support: builds the fixture programs once, runs them as real processes, and talks to
//! them over real HTTP/1.1 (hyper's client, one connection per `Client`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The fixture programs, built once per test binary with the same cargo and profile as the
/// tests, into the workspace's target directory.
pub fn binary(name: &str) -> PathBuf {
    static BINARIES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BINARIES
        .get_or_init(build_fixtures)
        .get(name)
        .unwrap_or_else(|| panic!("fixture binary {name} was not built"))
        .clone()
}

fn build_fixtures() -> HashMap<String, PathBuf> {
    let workspace = manifest_dir().join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--bins",
            "--message-format=json-render-diagnostics",
        ])
        .args([
            "-p",
            "rust-hello-bin",
            "-p",
            "semantics",
            "-p",
            "sync-handler",
        ])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .stderr(Stdio::inherit());
    // Same profile as this test binary (target/<profile>/deps/<test>).
    let exe = std::env::current_exe().unwrap();
    if exe.components().any(|c| c.as_os_str() == "release") {
        command.arg("--release");
    }
    let output = command.output().expect("run cargo build for the fixtures");
    assert!(output.status.success(), "building the fixtures failed");
    let mut binaries = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" {
            if let Some(executable) = message["executable"].as_str() {
                let name = message["target"]["name"].as_str().unwrap().to_string();
                binaries.insert(name, PathBuf::from(executable));
            }
        }
    }
    binaries
}

/// Output of a child stream, collected by a thread.
#[derive(Default)]
struct Collected {
    text: Mutex<String>,
    changed: Condvar,
}

/// A fixture program running as a real process, on free ports it picked itself (PORT=0).
pub struct Server {
    child: Child,
    pub port: u16,
    pub probe_port: u16,
    stderr: Arc<Collected>,
    stdout: Arc<Collected>,
    readers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts `binary` with `env` (plus PORT=0 and IGNITE_PROBE_PORT=0 unless given).
    pub fn start(binary: &str, env: &[(&str, &str)]) -> Server {
        Server::start_command(Self::command(binary, env))
    }

    /// The command `start` runs, to adjust before `start_command`.
    pub fn command(binary_name: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(binary(binary_name));
        for (name, _) in std::env::vars() {
            if name.starts_with("IGNITE_") || name == "PORT" {
                command.env_remove(name);
            }
        }
        command.env("PORT", "0").env("IGNITE_PROBE_PORT", "0");
        for (name, value) in env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    pub fn start_command(mut command: Command) -> Server {
        let mut child = command.spawn().expect("spawn fixture");
        let stderr = Arc::new(Collected::default());
        let stdout = Arc::new(Collected::default());
        let readers = vec![
            collect(child.stderr.take().unwrap(), stderr.clone()),
            collect(child.stdout.take().unwrap(), stdout.clone()),
        ];
        let mut server = Server {
            child,
            port: 0,
            probe_port: 0,
            stderr,
            stdout,
            readers,
        };
        let line = server
            .wait_for_stderr(" listening on http://", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("the server did not start:\n{}", server.stderr()));
        // "ignite: org/f listening on http://127.0.0.1:P (readiness probe: http://127.0.0.1:Q/ready)"
        let ports: Vec<u16> = line
            .split("http://")
            .skip(1)
            .map(|rest| {
                let address = rest.split([' ', '/', ')']).next().unwrap();
                address.rsplit(':').next().unwrap().parse().unwrap()
            })
            .collect();
        server.port = ports[0];
        server.probe_port = ports[1];
        server
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text.lock().unwrap().clone()
    }

    /// Waits until a stderr line contains `needle`; returns that line.
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut text = self.stderr.text.lock().unwrap();
        loop {
            if let Some(line) = text.lines().find(|line| line.contains(needle)) {
                return Some(line.to_string());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            text = self
                .stderr
                .changed
                .wait_timeout(text, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Like `wait_for_stderr`, without blocking the test's async runtime.
    pub async fn stderr_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(line) = self.stderr().lines().find(|line| line.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no stderr line contains {needle:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: kill(2) with the pid of our own child.
        let result = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(result, 0, "kill failed");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for reader in self.readers.drain(..) {
                    reader.join().unwrap();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit in time; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then checks the exit code is 0 and nothing was written to stdout.
    pub fn stop(mut self) -> String {
        self.terminate();
        let status = self.wait(Duration::from_secs(15));
        let stderr = self.stderr();
        assert_eq!(status.code(), Some(0), "exit status; stderr:\n{stderr}");
        self.assert_stdout_empty();
        stderr
    }

    pub fn assert_stdout_empty(&self) {
        let stdout = self.stdout.text.lock().unwrap().clone();
        assert!(stdout.is_empty(), "the process wrote to stdout: {stdout:?}");
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.port).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Collected>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            into.text.lock().unwrap().push_str(&line);
            into.changed.notify_all();
            line.clear();
        }
    })
}

/// One HTTP/1.1 connection (kept alive across requests).
pub struct Client {
    sender: http1::SendRequest<Full<Bytes>>,
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "response body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }
}

pub const TIMEOUT: Duration = Duration::from_secs(20);

impl Client {
    pub async fn connect(port: u16) -> Client {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Client { sender }
    }

    /// Sends a request and returns the response head with its body still streaming.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> hyper::Response<Incoming> {
        let mut request = http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).unwrap();
        tokio::time::timeout(TIMEOUT, async {
            self.sender.ready().await.expect("connection ready");
            self.sender.send_request(request).await
        })
        .await
        .expect("response in time")
        .expect("response")
    }

    /// Sends a request and reads the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let response = self.send(method, path, headers, body).await;
        read_whole(response).await
    }

    /// POSTs a JSON body to `/`.
    pub async fn post(&mut self, body: &Value) -> Reply {
        self.request("POST", "/", &[], body.to_string()).await
    }

    /// POSTs a JSON body to `/`, returning the error if the connection fails.
    pub async fn try_post(&mut self, body: &Value) -> Result<Reply, hyper::Error> {
        let request = http::Request::builder()
            .method("POST")
            .uri("/")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// POSTs a JSON body to `/` with an execution id.
    pub async fn post_as(&mut self, execution_id: &str, body: &Value) -> Reply {
        self.request(
            "POST",
            "/",
            &[("x-ignite-execution-id", execution_id)],
            body.to_string(),
        )
        .await
    }
}

pub async fn read_whole(response: hyper::Response<Incoming>) -> Reply {
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(TIMEOUT, body.collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// Reads the next data frame of a streaming body (`None` at its end).
pub async fn next_chunk(body: &mut Incoming) -> Option<Bytes> {
    loop {
        let frame = tokio::time::timeout(TIMEOUT, body.frame())
            .await
            .expect("frame in time")?
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            return Some(data);
        }
    }
}

/// A fresh empty directory under the system temp dir.
pub fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ignite-test-{label}-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// This crate's folder as cargo gives it to the running test, not as it was when the test was
/// compiled: a target directory shared by clones at other paths may hold a test binary built
/// in another clone, which cargo still counts as fresh.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
