//! The host against the real handler-semantics component: every semantic case the parity suite
//! checks on wasm, served by `ignite-wasm-host serve` started as the runner starts it.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Host, HostOptions};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn answers_200_json_with_the_execution_id_and_a_fresh_instance_each_time() {
    let host = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        let mut client = host.connect().await;
        let mut ids = Vec::new();
        for n in 0..4 {
            let answer = client
                .post(
                    json!({"action": "echo", "n": n}),
                    &[
                        ("x-test-header", "yes"),
                        ("x-ignite-function-id", "other/app"),
                    ],
                )
                .await;
            assert_eq!(answer.status, 200, "{answer:?}");
            let body = answer.json();
            let id = answer.header("x-ignite-execution-id").unwrap().to_string();
            assert_eq!(body["execution_id"], id.as_str());
            assert_eq!(uuid_version(&id), 7);
            assert_eq!(body["function_id"], "org/semantics");
            assert_eq!(body["served"], 1, "a fresh instance per request");
            assert_eq!(body["body"], json!({"action": "echo", "n": n}));
            assert_eq!(body["path"], "/invoke/path");
            assert_eq!(body["name"], "ada");
            assert_eq!(body["header"], "yes");
            assert_eq!(
                answer.header("x-ignite-cold"),
                Some(if n == 0 { "true" } else { "false" })
            );
            assert_eq!(answer.header("x-ignite-release"), Some("7"));
            let duration: f64 = answer
                .header("x-ignite-duration-ms")
                .unwrap()
                .parse()
                .unwrap();
            assert!(duration > 0.0 && duration < 1_000.0, "{duration}");
            ids.push(id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 4);

        // The runner's own id is kept.
        let answer = client
            .post(
                json!({"action": "echo"}),
                &[("x-ignite-execution-id", "0198-runner-id")],
            )
            .await;
        assert_eq!(
            answer.header("x-ignite-execution-id"),
            Some("0198-runner-id")
        );
        assert_eq!(answer.json()["execution_id"], "0198-runner-id");

        // Many at once, each its own instance.
        let answers = host
            .call_many(20, json!({"action": "sleep", "ms": 50}))
            .await;
        assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
        let answers = host.call_many(20, json!({"action": "echo"})).await;
        assert!(answers.iter().all(|a| a.json()["served"] == 1));
    });
}

fn uuid_version(id: &str) -> u8 {
    u8::from_str_radix(&id[14..15], 16).unwrap()
}

#[test]
fn err_and_panic_answer_500_error_and_the_next_request_is_served() {
    let host = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        let failed = host
            .call(json!({"action": "err", "message": "order not paid"}))
            .await;
        assert_eq!(
            (failed.status, failed.json()),
            (500, json!({"error": "order not paid"}))
        );
        let panicked = host
            .call(json!({"action": "panic", "message": "boom"}))
            .await;
        assert_eq!(
            (panicked.status, panicked.json()),
            (500, json!({"error": "boom"}))
        );
        let next = host.call(json!({"action": "echo"})).await;
        assert_eq!(
            (next.status, next.json()["served"].clone()),
            (200, json!(1))
        );
    });
    let stderr = host.wait_for_stderr("after answering");
    assert!(
        stderr.contains("after answering: the function crashed"),
        "{stderr}"
    );
}

#[test]
fn a_spinning_handler_gets_504_at_its_limit_while_requests_to_it_and_another_host_are_answered() {
    let host = Host::start(HostOptions::semantics());
    let other = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        for action in [json!({"action": "spin"}), json!({"action": "sleep", "ms": 60_000})] {
            let started = std::time::Instant::now();
            let slow = host.spawn_call(action.clone());
            tokio::time::sleep(Duration::from_millis(100)).await;
            let meanwhile = other.call_many(2, json!({"action": "echo"})).await;
            assert!(meanwhile.iter().all(|a| a.status == 200), "{meanwhile:?}");
            let same_host = host.call(json!({"action": "echo"})).await;
            assert_eq!(same_host.status, 200);
            let timed_out = slow.await.unwrap();
            let elapsed = started.elapsed();
            assert_eq!(
                (timed_out.status, timed_out.json()),
                (
                    504,
                    json!({"error": "the function did not finish within its time limit of 1000 ms", "code": "function_timeout"})
                ),
                "{action}"
            );
            assert!(elapsed >= Duration::from_millis(1_000) && elapsed < Duration::from_millis(3_000), "{action}: {elapsed:?}");
            assert_eq!(host.call(json!({"action": "echo"})).await.status, 200);
        }
    });
}

#[test]
fn unbounded_memory_growth_gets_the_memory_json_and_the_next_request_is_served() {
    let host = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        let grown = host.call(json!({"action": "grow"})).await;
        assert_eq!(
            (grown.status, grown.json()),
            (
                500,
                json!({"error": "the function exceeded its memory limit of 64 MiB and was stopped", "code": "function_error"})
            )
        );
        assert_eq!(host.call(json!({"action": "echo"})).await.status, 200);
    });
}

#[test]
fn the_guest_gets_its_environment_and_a_temp_store_removed_after() {
    let mut options = HostOptions::semantics();
    options.env = vec![
        ("GREETING".into(), "hi".into()),
        ("IGNITE_HOST_MAX_INSTANCES".into(), "4".into()),
    ];
    let host = Host::start(options);
    runtime().block_on(async {
        let env = host
            .call(json!({"action": "env", "name": "GREETING"}))
            .await;
        assert_eq!(env.status, 200);
        let env = env.json();
        assert_eq!(env["value"], "hi");
        let names: Vec<&str> = env["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(names.contains(&"GREETING"), "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with("IGNITE_")), "{names:?}");

        let temp = host.call(json!({"action": "temp"})).await;
        assert_eq!(temp.status, 200);
        let temp = temp.json();
        assert_eq!(temp["content"], "scratch data");
        assert_eq!(temp["files"], json!(["a.txt"]));
        assert!(
            temp["bad_name"].as_str().unwrap().contains("escape"),
            "{temp}"
        );
        assert!(
            temp["path"].as_str().unwrap().starts_with("/tmp/"),
            "{temp}"
        );
    });
    // Every execution's directory is gone (removed right after the execution).
    std::thread::sleep(Duration::from_millis(100));
    let left: Vec<_> = std::fs::read_dir(&host.scratch).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_stream_arrives_in_pieces() {
    let host = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        let answer = host
            .call(json!({"action": "stream", "pause_ms": 300}))
            .await;
        assert_eq!(answer.status, 200);
        let text = String::from_utf8(answer.body.clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .trim()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                json!({"chunk": 1}),
                json!({"chunk": 2}),
                json!({"done": true})
            ]
        );
        assert!(answer.frames.len() >= 2, "{:?}", answer.frames);
        let (first, last) = (answer.frames[0].0, answer.frames[answer.frames.len() - 1].0);
        assert!(
            last - first >= Duration::from_millis(250),
            "{:?}",
            answer.frames
        );
    });
}

#[test]
fn stderr_lines_carry_the_execution_id() {
    let host = Host::start(HostOptions::semantics());
    let id = runtime().block_on(async {
        let answer = host.call(json!({"action": "echo"})).await;
        answer.header("x-ignite-execution-id").unwrap().to_string()
    });
    let line = format!("exec {id} stderr action echo in {id}\n");
    let stderr = host.wait_for_stderr(&line);
    assert!(stderr.contains(&line), "{stderr}");
    assert!(
        stderr.contains("host - serving org/semantics on unix:"),
        "{stderr}"
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits() {
    let mut host = Host::start(HostOptions::semantics());
    runtime().block_on(async {
        let slow = host.spawn_call(json!({"action": "sleep", "ms": 400}));
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(host.child.id() as i32, libc::SIGTERM) };
        let answer = slow.await.unwrap();
        assert_eq!(answer.status, 200);
    });
    let status = host.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_stale_precompiled_file_is_refused_with_a_clear_error() {
    let component = std::fs::read(support::build_component("handler-semantics")).unwrap();
    // Another engine configuration: what an older or differently configured host made.
    let mut config = ignite_wasm_host::engine::config(&ignite_wasm_host::PoolSettings::default());
    config.epoch_interruption(false);
    let other = wasmtime::Engine::new(&config).unwrap();
    let stale = ignite_wasm_host::precompile(&other, &component).unwrap();
    let dir = std::env::temp_dir().join(format!("ignite-wasm-host-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let named = dir.join(ignite_wasm_host::precompiled_file_name(
        "ab12",
        &ignite_wasm_host::cache_key(&other),
    ));
    std::fs::write(&named, &stale).unwrap();

    // By its name.
    let mut options = HostOptions::semantics();
    options.component = named.clone();
    options.as_descriptor = false;
    let error = Host::try_start(options).err().expect("refused");
    assert!(
        error.contains("was precompiled for engine wasmtime-48.0.8-"),
        "{error}"
    );
    assert!(error.contains("precompile the component again"), "{error}");

    // As a descriptor: Wasmtime's own check.
    let mut options = HostOptions::semantics();
    options.component = named;
    let error = Host::try_start(options).err().expect("refused");
    assert!(error.contains("does not fit this host"), "{error}");
    assert!(error.contains("precompile the component again"), "{error}");

    // Not precompiled at all.
    let raw = dir.join("raw.wasm");
    std::fs::write(&raw, &component).unwrap();
    let mut options = HostOptions::semantics();
    options.component = raw;
    let error = Host::try_start(options).err().expect("refused");
    assert!(
        error.contains("is not a precompiled component but WebAssembly to compile"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_component_path_works_as_well_as_a_descriptor() {
    let mut options = HostOptions::semantics();
    options.as_descriptor = false;
    let host = Host::start(options);
    runtime().block_on(async {
        assert_eq!(host.call(json!({"action": "echo"})).await.status, 200);
    });
}

#[test]
fn the_precompile_command_writes_the_file_and_prints_the_cache_key() {
    let component = support::build_component("handler-semantics");
    let dir = std::env::temp_dir().join(format!("ignite-wasm-host-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.cwasm");
    let output = std::process::Command::new(support::host_binary())
        .arg("precompile")
        .arg(&component)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let engine = ignite_wasm_host::engine(&ignite_wasm_host::PoolSettings::default()).unwrap();
    let key = ignite_wasm_host::cache_key(&engine);
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{key}\n"));
    let loaded =
        ignite_wasm_host::load_component(&engine, &ignite_wasm_host::ComponentSource::Path(out));
    assert!(loaded.is_ok());
    let output = std::process::Command::new(support::host_binary())
        .arg("cache-key")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{key}\n"));
    // A core module is refused.
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let output = std::process::Command::new(support::host_binary())
        .arg("precompile")
        .arg(&core)
        .arg(dir.join("core.cwasm"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("a core WebAssembly module, not a component"));
    std::fs::remove_dir_all(&dir).unwrap();
}
