//! The serve loop's semantics, over real HTTP against the fixture programs running as real
//! processes (see `support`). Every test also checks that nothing was written to stdout and
//! that SIGTERM makes the process exit 0.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{next_chunk, scratch_dir, Client, Server};

const HELLO: &str = "rust-hello-bin";
const SEMANTICS: &str = "semantics";
const SYNC: &str = "sync-handler";

#[tokio::test]
async fn hello_fixture_serves_the_contract_over_one_keep_alive_connection() {
    let server = Server::start(HELLO, &[("IGNITE_FUNCTION_ID", "org/hello")]);
    let mut client = server.client().await;

    let reply = client
        .post_as("exec-123", &json!({ "message": "hi there" }))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-ignite-execution-id"), Some("exec-123"));
    assert_eq!(
        reply.json(),
        json!({ "message": "hi there", "execution_id": "exec-123", "function_id": "org/hello" })
    );

    // No execution id sent (run by hand): the program makes a UUIDv7 and returns it.
    let reply = client.post(&json!({})).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["message"], "Hello from Rust!");
    let id = body["execution_id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(reply.header("x-ignite-execution-id"), Some(id));

    // The function id header overrides IGNITE_FUNCTION_ID.
    let reply = client
        .request(
            "POST",
            "/",
            &[("x-ignite-function-id", "acme/other")],
            r#"{"message": 5}"#,
        )
        .await;
    assert_eq!(reply.json()["function_id"], "acme/other");
    assert_eq!(reply.json()["message"], "Hello from Rust!");

    let stderr = server.stop();
    assert!(
        stderr.contains("org/hello listening on http://127.0.0.1:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn function_id_falls_back_to_local_and_the_crate_name() {
    let server = Server::start(HELLO, &[]);
    let reply = server.client().await.post(&json!({})).await;
    assert_eq!(reply.json()["function_id"], "local/rust-hello");
    server.stop();
}

#[tokio::test]
async fn errors_and_panics_are_500_and_the_function_keeps_serving() {
    let server = Server::start(SEMANTICS, &[]);
    let mut client = server.client().await;

    let reply = client
        .post_as("e-1", &json!({ "action": "err", "message": "boom" }))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-ignite-execution-id"), Some("e-1"));
    assert_eq!(reply.json(), json!({ "error": "boom" }));

    let reply = client.post(&json!({ "action": "io_err" })).await;
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.json(),
        json!({ "error": "No such file or directory (os error 2)" })
    );

    // A missing field propagated with `?`.
    let reply = client.post(&json!({ "action": "err" })).await;
    assert_eq!(
        reply.json(),
        json!({ "error": "field \"message\" is missing" })
    );

    let reply = client
        .post_as("p-1", &json!({ "action": "panic", "message": "kaboom" }))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("x-ignite-execution-id"), Some("p-1"));
    assert_eq!(reply.json(), json!({ "error": "kaboom" }));

    // The same connection, and a new one, still work.
    let reply = client.post(&json!({})).await;
    assert_eq!(reply.status, 200);
    let reply = server.client().await.post(&json!({})).await;
    assert_eq!(reply.status, 200);

    // In the function's log: the error, and the panic with where it happened, each as a
    // line of its invocation.
    let stderr = server.stop();
    assert!(
        stderr.contains("\u{1e}exec e-1 stderr invocation e-1 failed: boom\n"),
        "{stderr}"
    );
    let panic_line = stderr
        .lines()
        .find(|line| line.starts_with("\u{1e}exec p-1 stderr panicked at "))
        .unwrap_or_else(|| panic!("no panic line in {stderr}"));
    assert!(
        panic_line.contains("semantics/src/main.rs:") && panic_line.ends_with(": kaboom"),
        "{panic_line}"
    );
}

#[tokio::test]
async fn log_lines_carry_the_invocation_they_belong_to() {
    let server = Server::start(SEMANTICS, &[]);
    let mut client = server.client().await;
    let reply = client
        .post_as("log-1", &json!({ "action": "log", "marker": "m1" }))
        .await;
    assert_eq!(reply.status, 200);
    let stderr = server.stop();
    for tagged in [
        "\u{1e}exec log-1 stderr first m1\n",
        "\u{1e}exec log-1 stderr second m1\n",
        "\u{1e}exec log-1 stdout to stdout m1\n",
        "\u{1e}exec log-1 stderr helper m1\n",
        "\u{1e}exec log-1 stderr handler called log-1\n",
    ] {
        assert!(stderr.contains(tagged), "{tagged:?} missing in {stderr}");
    }
    // Where the invocation cannot be known: std's macro, a task of its own.
    for untagged in ["std's own m1", "spawned m1"] {
        let line = stderr
            .lines()
            .find(|line| line.contains(untagged))
            .unwrap_or_else(|| panic!("{untagged:?} missing in {stderr}"));
        assert_eq!(line, untagged);
    }
}

#[tokio::test]
async fn a_flood_of_lines_from_invocations_at_once_arrives_whole_and_in_order() {
    const LINES: usize = 5_000;
    let server = Server::start(SEMANTICS, &[]);
    let mut clients = Vec::new();
    for c in 0..6 {
        let mut client = server.client().await;
        clients.push(tokio::spawn(async move {
            let id = format!("flood-{c}");
            let reply = client
                .post_as(&id, &json!({ "action": "lines", "count": LINES }))
                .await;
            assert_eq!(reply.status, 200);
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let stderr = server.stop();
    for c in 0..6 {
        let tag = format!("\u{1e}exec flood-{c} stderr line ");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&tag)).collect();
        assert_eq!(lines.len(), LINES, "the lines of flood-{c}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(*line, format!("{tag}{i} of flood-{c}"));
        }
    }
}

#[tokio::test]
async fn invalid_json_is_400_and_the_handler_is_not_called() {
    let server = Server::start(SEMANTICS, &[]);
    let mut client = server.client().await;
    let reply = client
        .request(
            "POST",
            "/",
            &[("x-ignite-execution-id", "bad-json-1")],
            "{oops",
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-ignite-execution-id"), Some("bad-json-1"));
    assert_eq!(
        reply.json(),
        json!({ "error": "request body is not valid JSON: key must be a string at line 1 column 2" })
    );
    let reply = client
        .request("POST", "/", &[("x-ignite-execution-id", "good-1")], "{}")
        .await;
    assert_eq!(reply.status, 200);
    let stderr = server.stop();
    assert!(
        stderr.contains("\u{1e}exec good-1 stderr handler called good-1"),
        "{stderr}"
    );
    assert!(!stderr.contains("handler called bad-json-1"), "{stderr}");
}

#[tokio::test]
async fn request_accessors_empty_body_and_every_path_reach_the_handler() {
    let server = Server::start(SEMANTICS, &[]);
    let mut client = server.client().await;

    // An empty body is `{}`; GET works; /ready on PORT is the handler's, not the probe's.
    let reply = client.request("GET", "/ready", &[], "").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["body"], json!({}));
    assert_eq!(body["raw_len"], 0);
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/ready");

    let reply = client
        .request(
            "PATCH",
            "/some/path?name=J%C3%BCrgen&tag=a+b%26c&tag=second",
            &[("X-TEST-header", "Value")],
            r#"{"k": [1, 2]}"#,
        )
        .await;
    let body = reply.json();
    assert_eq!(body["method"], "PATCH");
    assert_eq!(body["path"], "/some/path");
    assert_eq!(body["query"], "name=J%C3%BCrgen&tag=a+b%26c&tag=second");
    assert_eq!(body["name"], "Jürgen");
    assert_eq!(body["tag"], "a b&c");
    assert_eq!(body["header"], "Value");
    assert_eq!(body["header_lower"], "Value");
    assert_eq!(body["header_upper"], "Value");
    assert_eq!(body["body"], json!({ "k": [1, 2] }));
    assert_eq!(body["raw_len"], 13);

    let reply = client.request("DELETE", "/x/y", &[], "").await;
    assert_eq!(reply.json()["method"], "DELETE");
    server.stop();
}

#[tokio::test]
async fn field_errors_name_the_field() {
    let server = Server::start(SEMANTICS, &[]);
    let reply = server
        .client()
        .await
        .post(&json!({ "action": "field", "count": "x" }))
        .await;
    assert_eq!(
        reply.json(),
        json!({
            "count": "field \"count\": expected u32, found string \"x\"",
            "missing": "field \"missing\" is missing",
            "optional": null,
        })
    );
    server.stop();
}

#[tokio::test]
async fn response_kinds() {
    let server = Server::start(SEMANTICS, &[]);
    let mut client = server.client().await;
    let reply = client.post(&json!({ "action": "response" })).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("x-custom"), Some("yes"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({ "created": true }));
    for (action, body) in [
        ("string", "\"plain string\""),
        ("unit", "null"),
        ("json", "[1,2,3]"),
    ] {
        let reply = client.post(&json!({ "action": action })).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.text(), body);
    }
    server.stop();
}

#[tokio::test]
async fn env_is_the_functions_environment_without_platform_variables() {
    let server = Server::start(
        SEMANTICS,
        &[
            ("MY_SETTING", "abc"),
            ("IGNITE_FUNCTION_ID", "org/env"),
            ("IGNITE_SOMETHING_INTERNAL", "secret"),
        ],
    );
    let reply = server
        .client()
        .await
        .post(&json!({ "action": "env", "name": "MY_SETTING" }))
        .await;
    let body = reply.json();
    assert_eq!(body["value"], "abc");
    assert_eq!(body["process_function_id"], "org/env");
    let names: Vec<&str> = body["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert!(names.contains(&"MY_SETTING"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|name| name.starts_with("IGNITE_") || *name == "PORT"),
        "{names:?}"
    );
    server.stop();
}

#[tokio::test]
async fn temp_store_is_private_to_the_invocation_and_removed_when_it_ends() {
    let parent = scratch_dir("temp");
    let server = Server::start(SEMANTICS, &[("IGNITE_TEMP_DIR", parent.to_str().unwrap())]);
    let mut client = server.client().await;
    let first = client.post(&json!({ "action": "temp" })).await.json();
    let second = client.post(&json!({ "action": "temp" })).await.json();
    assert_eq!(first["content"], "scratch data");
    assert_eq!(first["files"], json!(["a.txt", "b.txt"]));
    assert!(
        first["bad_name"]
            .as_str()
            .unwrap()
            .contains("invalid file name"),
        "{first}"
    );
    let (path, dir) = (
        first["path"].as_str().unwrap(),
        first["dir"].as_str().unwrap(),
    );
    assert!(dir.starts_with(parent.to_str().unwrap()), "{dir}");
    assert_ne!(dir, second["dir"].as_str().unwrap());
    // Gone as soon as the response arrived.
    assert!(!std::path::Path::new(path).exists());
    assert!(!std::path::Path::new(dir).exists());
    server.stop();
    // The process's own directory is gone too.
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
    std::fs::remove_dir_all(parent).unwrap();
}

#[tokio::test]
async fn streamed_chunks_reach_the_caller_while_the_handler_runs() {
    let server = Server::start(SEMANTICS, &[]);
    let mut streaming = server.client().await;
    let response = streaming
        .send(
            "POST",
            "/",
            &[("x-ignite-execution-id", "s-1")],
            json!({ "action": "stream", "key": "k1" }).to_string(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert_eq!(headers["transfer-encoding"], "chunked");
    assert_eq!(headers["x-ignite-execution-id"], "s-1");
    let mut body = response.into_body();

    // The handler is now blocked until we release it: chunk 1 must already be here.
    let first: Value = serde_json::from_slice(&next_chunk(&mut body).await.unwrap()).unwrap();
    assert_eq!(first["chunk"], 1);
    let temp = first["temp"].as_str().unwrap().to_string();
    assert!(
        std::path::Path::new(&temp).exists(),
        "the invocation is still running"
    );

    let released = server
        .client()
        .await
        .post(&json!({ "action": "release", "key": "k1" }))
        .await;
    assert_eq!(released.status, 200);

    let mut rest = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(
        String::from_utf8(rest).unwrap(),
        "{\"chunk\":2}\n{\"done\":true}\n"
    );
    assert!(
        !std::path::Path::new(&temp).exists(),
        "temp store removed at the end"
    );

    // The connection is still usable after a streamed response.
    assert_eq!(streaming.post(&json!({})).await.status, 200);
    server.stop();
}

#[tokio::test]
async fn an_error_or_panic_after_streaming_began_is_a_final_error_line() {
    let server = Server::start(SEMANTICS, &[]);
    for (end, last) in [
        ("err", r#"{"error":"failed after streaming"}"#),
        ("panic", r#"{"error":"panicked after streaming"}"#),
    ] {
        let key = format!("end-{end}");
        let mut client = server.client().await;
        let response = client
            .send(
                "POST",
                "/",
                &[],
                json!({ "action": "stream", "key": key, "end": end }).to_string(),
            )
            .await;
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        assert!(next_chunk(&mut body).await.is_some());
        server
            .client()
            .await
            .post(&json!({ "action": "release", "key": key }))
            .await;
        let mut rest = Vec::new();
        while let Some(chunk) = next_chunk(&mut body).await {
            rest.extend_from_slice(&chunk);
        }
        assert_eq!(
            String::from_utf8(rest).unwrap(),
            format!("{{\"chunk\":2}}\n{last}\n")
        );
    }

    let mut client = server.client().await;
    let reply = client.post(&json!({ "action": "raw_stream" })).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(
        reply.text(),
        "partial line\n{\"error\":\"raw stream failed\"}\n"
    );

    let reply = client.post(&json!({ "action": "quick_stream" })).await;
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.text(), "1\n2\n");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_requests() {
    let server = Server::start(SEMANTICS, &[]);
    let port = server.port;
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            tokio::spawn(async move {
                let mut client = Client::connect(port).await;
                let id = format!("c-{i}");
                let reply = client
                    .post_as(&id, &json!({ "action": "sleep", "ms": 200 }))
                    .await;
                (id, reply)
            })
        })
        .collect();
    for task in tasks {
        let (id, reply) = task.await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["execution_id"], id.as_str());
        assert_eq!(reply.header("x-ignite-execution-id"), Some(id.as_str()));
    }
    // One after the other they would take 20 s.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    server.stop();
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_zero() {
    let mut server = Server::start(SEMANTICS, &[]);
    let mut idle = server.client().await;
    assert_eq!(idle.post(&json!({})).await.status, 200);

    let mut busy = server.client().await;
    let in_flight = tokio::spawn(async move {
        busy.post_as("drain-1", &json!({ "action": "sleep", "ms": 1500 }))
            .await
    });
    server.stderr_line("sleep started drain-1").await;

    let mut probe = Client::connect(server.probe_port).await;
    assert_eq!(probe.request("GET", "/ready", &[], "").await.status, 200);
    server.terminate();

    // The probe reports draining while the request finishes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = probe.request("GET", "/ready", &[], "").await;
        if reply.status == 503 {
            assert_eq!(reply.json(), json!({ "status": "draining" }));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the probe never reported draining"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // No new connections are accepted.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .is_err());

    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["slept"], 1500);

    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    server.assert_stdout_empty();
    let stderr = server.stderr();
    assert!(stderr.contains("SIGTERM: draining"), "{stderr}");
    assert!(stderr.contains("drained, exiting"), "{stderr}");
    drop(idle);
}

#[tokio::test]
async fn draining_is_bounded_by_the_shutdown_timeout() {
    let mut server = Server::start(SEMANTICS, &[("IGNITE_SHUTDOWN_TIMEOUT_MS", "300")]);
    let mut client = server.client().await;
    let in_flight = tokio::spawn(async move {
        client
            .try_post(&json!({ "action": "sleep", "ms": 30000 }))
            .await
            .is_err()
    });
    server.stderr_line("sleep started").await;
    let started = Instant::now();
    server.terminate();
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(in_flight.await.unwrap(), "the abandoned request fails");
    assert!(server.stderr().contains("shutdown timeout elapsed"));
    server.assert_stdout_empty();
}

#[tokio::test]
async fn readiness_probe_and_ready_fd() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let (mut reader, writer) = std::io::pipe().unwrap();
    let fd = writer.as_raw_fd();
    let mut command = Server::command(SEMANTICS, &[("IGNITE_READY_FD", &fd.to_string())]);
    // SAFETY: only async-signal-safe fcntl calls between fork and exec, on a descriptor the
    // child inherits.
    unsafe {
        command.pre_exec(move || {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            Ok(())
        });
    }
    let server = Server::start_command(command);
    drop(writer);
    // "ready\n", then EOF: the program closed its end.
    let mut ready = String::new();
    reader.read_to_string(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    assert_eq!(server.client().await.post(&json!({})).await.status, 200);

    let mut probe = Client::connect(server.probe_port).await;
    let reply = probe.request("GET", "/ready", &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({ "status": "ready" }));
    assert_eq!(probe.request("GET", "/other", &[], "").await.status, 404);
    assert_eq!(probe.request("POST", "/ready", &[], "").await.status, 405);
    server.stop();
}

#[tokio::test]
async fn ready_fd_is_signalled_only_when_the_listener_is_bound() {
    // Without IGNITE_READY_FD nothing is written anywhere (stdout stays empty); with an
    // invalid one the program refuses to start.
    let mut command = Server::command(HELLO, &[("IGNITE_READY_FD", "987")]);
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("IGNITE_READY_FD=987 is not an open file descriptor"));
}

#[tokio::test]
async fn invalid_settings_stop_the_program_with_exit_code_1() {
    for (name, value, message) in [
        ("PORT", "http", "PORT must be a port number"),
        (
            "IGNITE_HOST",
            "example.com",
            "IGNITE_HOST must be an IP address",
        ),
        (
            "IGNITE_SHUTDOWN_TIMEOUT_MS",
            "soon",
            "IGNITE_SHUTDOWN_TIMEOUT_MS must be a number",
        ),
    ] {
        let output = Server::command(HELLO, &[(name, value)]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}={value}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let server = Server::start(SEMANTICS, &[("IGNITE_MAX_BODY_BYTES", "1024")]);
    let mut client = server.client().await;
    let big = json!({ "pad": "x".repeat(2000) }).to_string();
    let reply = client
        .request("POST", "/", &[("x-ignite-execution-id", "big-1")], big)
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("x-ignite-execution-id"), Some("big-1"));
    assert_eq!(
        reply.json(),
        json!({
            "error": "request body is larger than the limit of 1024 bytes",
            "code": "payload_too_large",
            "limitBytes": 1024,
        })
    );
    let small = json!({ "pad": "x".repeat(900) }).to_string();
    let reply = server.client().await.request("POST", "/", &[], small).await;
    assert_eq!(reply.status, 200);
    server.stop();
}

#[tokio::test]
async fn synchronous_handlers_run_off_the_executor_threads() {
    let server = Server::start(SYNC, &[]);
    let mut client = server.client().await;

    let reply = client.post_as("sync-1", &json!({})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({ "block_on": 42, "execution_id": "sync-1" })
    );

    let reply = client.post(&json!({ "action": "err" })).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json(), json!({ "error": "sync failure" }));
    let reply = client
        .post_as("sync-panic", &json!({ "action": "panic" }))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json(), json!({ "error": "sync panic" }));
    assert_eq!(client.post(&json!({})).await.status, 200);
    // On the blocking thread too, lines and the panic are the invocation's.
    let reply = client
        .post_as("sync-log", &json!({ "action": "log" }))
        .await;
    assert_eq!(reply.status, 200);
    server
        .stderr_line("\u{1e}exec sync-log stderr sync line sync-log")
        .await;
    server
        .stderr_line("\u{1e}exec sync-panic stderr panicked at ")
        .await;

    // Streaming from a synchronous handler: chunk 1 arrives ~300 ms before the end.
    let response = client
        .send("POST", "/", &[], json!({ "action": "stream" }).to_string())
        .await;
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let mut body = response.into_body();
    let first = next_chunk(&mut body).await.unwrap();
    let first_at = Instant::now();
    assert_eq!(&first[..], b"{\"chunk\":1}\n");
    let mut rest = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        rest.extend_from_slice(&chunk);
    }
    assert!(first_at.elapsed() >= Duration::from_millis(150));
    assert_eq!(rest, b"{\"chunk\":2}\n{\"done\":true}\n");

    // Four blocking sleeps at once on a 2-thread executor: they run in parallel.
    let started = Instant::now();
    let port = server.port;
    let sleeps: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                Client::connect(port)
                    .await
                    .post(&json!({ "action": "sleep", "ms": 300 }))
                    .await
                    .status
            })
        })
        .collect();
    for sleep in sleeps {
        assert_eq!(sleep.await.unwrap(), 200);
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop();
}
