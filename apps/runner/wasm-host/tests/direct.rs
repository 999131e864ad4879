//! Direct connections as the runner hands them over (apps/runner/src/direct): the channel on
//! descriptor 4 (a Node IPC channel: a JSON line with the socket as SCM_RIGHTS), the message
//! pipe on 5, the shared slot file. The test plays the runner's part.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use support::{Host, HostOptions};

const SPACING: usize = 16;

/// The runner's side of one host's direct connections.
struct Runner {
    /// Kept for its lifetime: dropping it kills the host.
    _host: Host,
    channel: UnixStream,
    messages: Arc<Mutex<Vec<Value>>>,
    slots: PathBuf,
    listener: TcpListener,
}

impl Runner {
    fn start() -> Runner {
        let (channel, host_channel) = UnixStream::pair().unwrap();
        let (messages_read, messages_write) = std::io::pipe().unwrap();
        let slots = std::env::temp_dir().join(format!(
            "wasm-host-direct-slots-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&slots, vec![0u8; 4 * SPACING * 4]).unwrap();
        let mut options = HostOptions::semantics();
        options.env = [
            ("NODE_CHANNEL_FD", "4"),
            ("NODE_CHANNEL_SERIALIZATION_MODE", "json"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("IGNITE_DIRECT_SLOT_SPACING", "16"),
            ("IGNITE_DIRECT_IDLE_MS", "400"),
            ("IGNITE_DIRECT_PUBLIC", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(
            "IGNITE_DIRECT_SLOTS".to_string(),
            slots.display().to_string(),
        )])
        .collect();
        options.inherited = vec![
            (4, OwnedFd::from(host_channel)),
            (5, OwnedFd::from(messages_write)),
        ];
        let host = Host::start(options);
        let messages = Arc::new(Mutex::new(Vec::new()));
        {
            let messages = messages.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(messages_read).lines() {
                    let Ok(line) = line else { break };
                    messages
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&line).unwrap());
                }
            });
        }
        Runner {
            _host: host,
            channel,
            messages,
            slots,
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }

    /// A caller's new connection, handed to the host as `slot` with `head` already read.
    fn hand_over(&mut self, slot: usize, head: &[u8], access: Option<Value>) -> TcpStream {
        let caller = TcpStream::connect(self.listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = self.listener.accept().unwrap();
        let mut message = json!({ "type": "connection", "slot": slot, "head": BASE64.encode(head), "cold": false });
        if let Some(access) = access {
            message["access"] = access;
        }
        let line = json!({ "cmd": "NODE_HANDLE", "type": "net.Socket", "msg": message })
            .to_string()
            + "\n";
        send_with_fd(&self.channel, line.as_bytes(), accepted.as_raw_fd());
        // The runner keeps its copy paused; the test drops its own once it is passed.
        drop(accepted);
        let mut ack = [0u8; 256];
        let n = (&self.channel).read(&mut ack).unwrap();
        assert!(String::from_utf8_lossy(&ack[..n]).contains("NODE_HANDLE_ACK"));
        caller
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        caller
    }

    /// Waits (at most 5 s) for a message that `matches`.
    fn wait_for(&self, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(found) = self.messages.lock().unwrap().iter().find(|m| matches(m)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no such message: {:?}",
                self.messages.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn slot_state(&self, slot: usize) -> u32 {
        let bytes = std::fs::read(&self.slots).unwrap();
        u32::from_le_bytes(bytes[slot * 4..slot * 4 + 4].try_into().unwrap())
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.slots);
    }
}

/// One message on a unix socket with a descriptor as SCM_RIGHTS, as Node sends a handle.
fn send_with_fd(channel: &UnixStream, bytes: &[u8], fd: i32) {
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    // SAFETY: a zeroed msghdr pointed at live buffers; one SCM_RIGHTS message with one descriptor.
    unsafe {
        let mut header: libc::msghdr = std::mem::zeroed();
        header.msg_iov = &mut iov;
        header.msg_iovlen = 1;
        header.msg_control = control.as_mut_ptr().cast();
        header.msg_controllen = libc::CMSG_SPACE(4) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&header);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
        assert_eq!(
            libc::sendmsg(channel.as_raw_fd(), &header, 0),
            bytes.len() as isize
        );
    }
}

fn request(target: &str, body: &Value, headers: &[(&str, &str)]) -> Vec<u8> {
    let body = body.to_string();
    let mut out = format!("POST {target} HTTP/1.1\r\nhost: caller\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

/// An answer read off the caller's socket: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one answer with a content-length body.
fn read_reply(caller: &mut TcpStream) -> Reply {
    let mut buffer = Vec::new();
    let mut byte = [0u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        let n = caller.read(&mut byte).unwrap();
        assert_eq!(
            n,
            1,
            "the connection ended: {}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.push(byte[0]);
    }
    let head = String::from_utf8(buffer).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .expect("a content-length");
    let mut body = vec![0u8; length];
    caller.read_exact(&mut body).unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn is_uuid_v7(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|id| id.get_version_num() == 7)
}

#[test]
fn serves_a_handed_over_connection_as_the_runner_would() {
    let mut runner = Runner::start();
    assert_eq!(
        runner.wait_for(|m| m["type"] == "capabilities"),
        json!({ "type": "capabilities", "public": true })
    );
    let first = request(
        "/v1/invoke/org/semantics/orders/1?name=ada",
        &json!({ "action": "echo" }),
        &[("x-test-header", "yes")],
    );
    let mut caller = runner.hand_over(16, &first, None);
    let reply = read_reply(&mut caller);
    assert_eq!(reply.status, 200);
    let id = reply.header("x-ignite-execution-id").unwrap().to_string();
    assert!(is_uuid_v7(&id), "{id}");
    assert_eq!(reply.header("x-ignite-release"), Some("7"));
    assert_eq!(reply.header("x-ignite-cold"), Some("true"));
    assert!(reply.header("x-ignite-duration-ms").is_some());
    let body = reply.json();
    assert_eq!(body["path"], "/orders/1");
    assert_eq!(body["name"], "ada");
    assert_eq!(body["header"], "yes");
    assert_eq!(body["execution_id"], id.as_str());

    // Later requests come on the socket itself; a caller's own platform headers are dropped.
    caller
        .write_all(&request(
            "/v1/invoke/org/semantics",
            &json!({ "action": "echo" }),
            &[("x-ignite-execution-id", "forged")],
        ))
        .unwrap();
    let second = read_reply(&mut caller);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-ignite-cold"), Some("false"));
    assert_ne!(second.json()["execution_id"], "forged");
    assert_eq!(second.json()["served"], 1, "a fresh instance per request");

    // Past the time limit the host answers 504 itself and the connection goes on.
    caller
        .write_all(&request(
            "/v1/invoke/org/semantics",
            &json!({ "action": "spin" }),
            &[],
        ))
        .unwrap();
    let late = read_reply(&mut caller);
    assert_eq!(late.status, 504);
    assert_eq!(
        late.json(),
        json!({ "error": "the function did not finish within its time limit of 1000 ms", "code": "function_timeout" })
    );
    caller
        .write_all(&request(
            "/v1/invoke/org/semantics",
            &json!({ "action": "echo" }),
            &[],
        ))
        .unwrap();
    assert_eq!(read_reply(&mut caller).status, 200);
    assert!(
        runner
            .messages
            .lock()
            .unwrap()
            .iter()
            .all(|m| m["type"] != "timeout"),
        "the runner is never asked to condemn the host"
    );

    // The invocations are reported: a summary, then the packed records.
    let summary = runner.wait_for(|m| m["type"] == "summary" && m["statuses"]["504"] == 1);
    assert!(summary["count"].as_u64().unwrap() >= 1);
    let reports = runner.wait_for(|m| m["type"] == "reports");
    let packed = BASE64.decode(reports["records"].as_str().unwrap()).unwrap();
    assert_eq!(
        &packed[..16],
        uuid::Uuid::parse_str(&id).unwrap().as_bytes(),
        "the first record is the first invocation's"
    );

    // Another function on this connection: 421, closed, and the runner told.
    caller
        .write_all(&request("/v1/invoke/org/other", &json!({}), &[]))
        .unwrap();
    let misdirected = read_reply(&mut caller);
    assert_eq!(misdirected.status, 421);
    assert_eq!(misdirected.json()["code"], "misdirected_request");
    assert_eq!(misdirected.header("connection"), Some("close"));
    let released = runner.wait_for(|m| m["type"] == "released" && m["slot"] == 16);
    assert_eq!(released["closed"], true);
    assert_eq!(runner.slot_state(16), 0);
    let mut rest = Vec::new();
    assert_eq!(caller.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn gives_an_idle_connection_back_and_a_public_request_outside_its_terms() {
    let mut runner = Runner::start();
    let first = request(
        "/v1/invoke/org/semantics",
        &json!({ "action": "echo" }),
        &[],
    );
    let mut idle = runner.hand_over(0, &first, None);
    assert_eq!(read_reply(&mut idle).status, 200);
    // Idle past IGNITE_DIRECT_IDLE_MS (400): back to the runner, with nothing unanswered.
    let released = runner.wait_for(|m| m["type"] == "released" && m["slot"] == 0);
    assert_eq!(released["rest"], "");
    assert!(released.get("closed").is_none());

    let key = "Bearer ign_0123456789";
    let public = request(
        "/v1/orgs/org/apps/semantics/invoke/a?name=ada",
        &json!({ "action": "echo" }),
        &[("authorization", key)],
    );
    let mut caller = runner.hand_over(
        32,
        &public,
        Some(json!({ "authorization": key, "ttlMs": 60_000, "budget": 5 })),
    );
    let reply = read_reply(&mut caller);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["path"], "/a");
    // Another key: the request goes back to the runner unanswered, as bytes it can route again.
    let other = request(
        "/v1/orgs/org/apps/semantics/invoke",
        &json!({ "action": "echo" }),
        &[("authorization", "Bearer ign_another")],
    );
    caller.write_all(&other).unwrap();
    let released = runner.wait_for(|m| m["type"] == "released" && m["slot"] == 32);
    assert_eq!(released["served"], 1);
    let rest =
        String::from_utf8(BASE64.decode(released["rest"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        rest.starts_with("POST /v1/orgs/org/apps/semantics/invoke HTTP/1.1\r\n"),
        "{rest}"
    );
    assert!(
        rest.contains("authorization: Bearer ign_another\r\n"),
        "{rest}"
    );
    assert!(rest.ends_with("\r\n\r\n{\"action\":\"echo\"}"), "{rest}");
}
