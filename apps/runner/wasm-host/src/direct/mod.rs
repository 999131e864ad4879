//! Direct connections: callers' connections handed over by the runner's direct port, served
//! here without the runner in the byte path — exactly as a native program built with the SDK
//! serves them (the protocol's reference is the SDK's `sdk/ignite-rs/ignite/src/serve/native/direct/`,
//! whose code much of this is ported from; the runner's side, `apps/runner/src/direct`, is the
//! same for both).
//!
//! The runner reads the first request of a new connection, picks the host of the function it
//! names and passes the socket itself (with the bytes it already read) over the Node IPC channel
//! (`NODE_CHANNEL_FD`, [`channel`]). From then on the host serves that connection for as long as
//! the caller keeps it, doing per request what the runner's proxy does: a UUIDv7 execution id,
//! the caller's `x-ignite-*` headers removed, the `/v1/invoke/{org}/{app}` prefix removed (a
//! request for another function gets 421 and the connection closes; [`route`]), the
//! `x-ignite-cold`/`-release`/`-duration-ms`/`-execution-id` headers, and a report of each
//! invocation to the runner ([`reports`], on the message pipe `IGNITE_DIRECT_MESSAGES_FD`,
//! [`outbox`]). Each request still gets a fresh component instance with the host's limits
//! ([`crate::executor`]). An idle connection (`IGNITE_DIRECT_IDLE_MS`), or every connection
//! when the host drains, goes back to the runner, which routes its next request again; each
//! connection's state is shared with the runner ([`slots`]) so that the runner can answer for
//! the host if it dies. Connections of the public route (`IGNITE_DIRECT_PUBLIC=1`) come with
//! their terms ([`Access`]), and a request outside them goes back to the runner unanswered.
//!
//! Where the host differs from a native program:
//! - **Time limit**: no watchdog thread. The executor's epoch deadline stops a guest that
//!   computes and a timer drops one that waits, on any of the runtime's threads, so the host
//!   answers its own 504 through hyper like any answer, the connection stays open and the host
//!   goes on serving. The host never sends the SDK's `timeout` message (which has the runner
//!   condemn the instance): a 504 is an ordinary, reported invocation.
//! - **Several requests at once** on one host (one per connection, each its own instance) are
//!   the normal case, up to the runner's in-flight slots per instance.
//! - **Cold**: `x-ignite-cold` is `true` for the first request the host serves, proxied or
//!   direct (as the host's proxied answers say).

mod channel;
mod connection;
mod inherited;
mod outbox;
mod reports;
mod route;
mod slots;

use std::fs::File;
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::Notify;

use self::channel::Channel;
use self::outbox::Outbox;
use self::reports::Reports;
use self::slots::{Slots, IDLE};
use crate::log_output::host_line;
use crate::server::Server;

/// The variables of direct connections the runner sets (the host's, never the guest's), besides
/// `NODE_CHANNEL_FD` and Node's other `NODE_CHANNEL_*`.
pub const DIRECT_VARIABLES: &[&str] = &[
    "IGNITE_DIRECT_SLOTS",
    "IGNITE_DIRECT_SLOTS_FD",
    "IGNITE_DIRECT_SLOT_SPACING",
    "IGNITE_DIRECT_MESSAGES_FD",
    "IGNITE_DIRECT_IDLE_MS",
    "IGNITE_DIRECT_PUBLIC",
    "IGNITE_MAX_BODY_BYTES",
];

/// Largest request body when the runner sets none: the runner's default (6 MiB).
const DEFAULT_MAX_BODY_BYTES: u64 = 6 * 1024 * 1024;
/// How often idle connections are looked for (they go back to the runner at most this late).
const IDLE_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// The direct mode's settings, from the environment the runner gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectConfig {
    /// `NODE_CHANNEL_FD`: the runner's channel.
    pub channel_fd: RawFd,
    /// `IGNITE_DIRECT_MESSAGES_FD`: the pipe the host tells the runner things on.
    pub messages_fd: RawFd,
    /// The shared slot file.
    pub slots: SlotFile,
    /// `IGNITE_DIRECT_SLOT_SPACING`: the runner numbers slots this far apart (1 if unset).
    pub slot_spacing: usize,
    /// `IGNITE_DIRECT_IDLE_MS`: an idle connection goes back to the runner after this.
    pub idle_return: Duration,
    /// `IGNITE_DIRECT_PUBLIC=1`: the runner hands over connections of the public route.
    pub public: bool,
    /// `IGNITE_MAX_BODY_BYTES`: the largest body of a request that goes back to the runner.
    pub max_body_bytes: usize,
}

/// Where the shared slot file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotFile {
    /// `IGNITE_DIRECT_SLOTS`: its path.
    Path(PathBuf),
    /// `IGNITE_DIRECT_SLOTS_FD`: an inherited descriptor (the sandbox sees no file of the runner's).
    Fd(RawFd),
}

impl SlotFile {
    fn open(&self) -> std::io::Result<File> {
        match self {
            SlotFile::Path(path) => File::options().read(true).write(true).open(path),
            SlotFile::Fd(fd) => inherited::take(*fd).map(File::from),
        }
    }

    fn describe(&self) -> String {
        match self {
            SlotFile::Path(path) => path.display().to_string(),
            SlotFile::Fd(fd) => format!("IGNITE_DIRECT_SLOTS_FD={fd}"),
        }
    }
}

impl DirectConfig {
    /// Reads the settings with `get` (a variable's non-empty value); None when the runner did
    /// not ask for direct connections (neither `IGNITE_DIRECT_SLOTS` nor `IGNITE_DIRECT_SLOTS_FD`).
    pub fn from_lookup<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<DirectConfig>, String> {
        let slots = match (get("IGNITE_DIRECT_SLOTS"), get("IGNITE_DIRECT_SLOTS_FD")) {
            (Some(path), None) => SlotFile::Path(PathBuf::from(path)),
            (None, Some(fd)) => SlotFile::Fd(
                fd.parse()
                    .ok()
                    .filter(|&fd: &RawFd| fd > 2)
                    .ok_or_else(|| {
                        format!(
                        "IGNITE_DIRECT_SLOTS_FD must be a descriptor number above 2, got {fd:?}"
                    )
                    })?,
            ),
            (Some(_), Some(_)) => {
                return Err(
                    "set IGNITE_DIRECT_SLOTS or IGNITE_DIRECT_SLOTS_FD, not both".to_string(),
                )
            }
            (None, None) => return Ok(None),
        };
        let number = |name: &str, default: Option<u64>| -> Result<u64, String> {
            match (get(name), default) {
                (Some(value), _) => value
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, got {value:?}")),
                (None, Some(default)) => Ok(default),
                (None, None) => Err(format!("IGNITE_DIRECT_SLOTS is set but {name} is not")),
            }
        };
        let descriptor = |name: &str| -> Result<RawFd, String> {
            let fd = number(name, None)?;
            RawFd::try_from(fd)
                .ok()
                .filter(|&fd| fd > 2)
                .ok_or_else(|| format!("{name} must be a descriptor number above 2, got {fd}"))
        };
        Ok(Some(DirectConfig {
            channel_fd: descriptor("NODE_CHANNEL_FD")?,
            messages_fd: descriptor("IGNITE_DIRECT_MESSAGES_FD")?,
            slots,
            slot_spacing: usize::try_from(number("IGNITE_DIRECT_SLOT_SPACING", Some(1))?)
                .ok()
                .filter(|&spacing| (1..=4096).contains(&spacing))
                .ok_or("IGNITE_DIRECT_SLOT_SPACING must be between 1 and 4096")?,
            idle_return: Duration::from_millis(number("IGNITE_DIRECT_IDLE_MS", Some(1_000))?),
            public: get("IGNITE_DIRECT_PUBLIC") == Some("1"),
            max_body_bytes: usize::try_from(number(
                "IGNITE_MAX_BODY_BYTES",
                Some(DEFAULT_MAX_BODY_BYTES),
            )?)
            .map_err(|_| "IGNITE_MAX_BODY_BYTES is too large".to_string())?,
        }))
    }
}

/// Milliseconds since the host started (never 0).
struct Clock(Instant);

impl Clock {
    fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// `instant` on this clock (an instant already read: reading the clock costs, per request).
    fn ms_at(&self, instant: Instant) -> u64 {
        whole_ms(instant.saturating_duration_since(self.0)) + 1
    }
}

/// `duration` in whole milliseconds, in u64 arithmetic (`as_millis` is u128, and this runs per request).
fn whole_ms(duration: Duration) -> u64 {
    duration.as_secs() * 1000 + u64::from(duration.subsec_millis())
}

/// What the direct connections of the host share. It lives as long as the process: connections
/// and threads borrow it, no reference is counted per request.
struct Shared {
    channel: Channel,
    outbox: Outbox,
    slots: Slots,
    reports: Reports,
    clock: Clock,
    server: Arc<Server>,
    idle_return_ms: u64,
    function_id: Box<str>,
    /// `/v1/orgs/{org}/apps/{app}/invoke`: the public route's prefix of this function.
    public_prefix: Box<str>,
    max_body_bytes: usize,
    /// True once the host drains (SIGTERM), or the runner says so (`{"type":"drain"}`: the
    /// instance is retired): every connection goes back once its request in flight is answered.
    draining: AtomicBool,
    /// Direct connections being served.
    open: AtomicUsize,
    none_open: Notify,
}

impl Shared {
    /// Every connection goes back to the runner once its request in flight is answered.
    fn drain(&self) {
        // SeqCst, as the nudge and a connection's check: a connection that missed the nudge
        // (its flag reset after it) reads `draining` after it.
        self.draining.store(true, Ordering::SeqCst);
        for slot in self.slots.numbers() {
            self.slots.local(slot).nudge();
        }
    }

    /// Tells the runner something; a closed pipe means the runner is gone (nothing to do).
    fn tell(&self, message: &Value) {
        if let Err(error) = self.outbox.send(message) {
            host_line(&format!(
                "could not write to the runner's message pipe: {error}"
            ));
        }
    }

    /// Tells the runner several things at once (lines already encoded).
    fn tell_encoded(&self, lines: &[u8]) {
        if let Err(error) = self.outbox.send_encoded(lines) {
            host_line(&format!(
                "could not write to the runner's message pipe: {error}"
            ));
        }
    }
}

/// The direct mode, once started.
pub struct Direct {
    shared: &'static Shared,
}

impl Direct {
    /// Opens the channel, the message pipe and the slot file, and starts the threads that
    /// receive connections, give idle ones back and send reports. Connections are served by
    /// `server` on `runtime`.
    pub fn start(
        config: DirectConfig,
        server: Arc<Server>,
        function_id: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<Direct, String> {
        let channel = Channel::open(config.channel_fd)
            .map_err(|error| format!("could not open the runner's channel: {error}"))?;
        let outbox = Outbox::open(config.messages_fd)
            .map_err(|error| format!("could not open the runner's message pipe: {error}"))?;
        let slots = config
            .slots
            .open()
            .and_then(|file| Slots::map(&file, config.slot_spacing))
            .map_err(|error| {
                format!(
                    "could not map the slot file {}: {error}",
                    config.slots.describe()
                )
            })?;
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            channel,
            outbox,
            slots,
            // The runtime's workers report invocations (and the drain's last flush).
            reports: Reports::new(runtime.metrics().num_workers() + 1),
            clock: Clock(Instant::now()),
            server,
            idle_return_ms: whole_ms(config.idle_return),
            function_id: function_id.into(),
            public_prefix: route::public_prefix(function_id).into(),
            max_body_bytes: config.max_body_bytes,
            draining: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            none_open: Notify::new(),
        }));
        if config.public {
            // Before any connection: the runner hands the host public connections once it knows.
            shared.tell(&serde_json::json!({ "type": "capabilities", "public": true }));
        }
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(run)
                .map(drop)
                .map_err(|error| format!("could not start the {name} thread: {error}"))
        };
        spawn("direct-receive", Box::new(move || receive(shared, runtime)))?;
        spawn("direct-idle", Box::new(move || give_back_idle(shared)))?;
        spawn("direct-reports", Box::new(move || reports::run(shared)))?;
        Ok(Direct { shared })
    }

    /// Sends every direct connection back to the runner once its request in flight is
    /// answered, and waits until none is left; then the last reports go out.
    pub async fn drain(&self) {
        self.shared.drain();
        loop {
            let none_open = self.shared.none_open.notified();
            if self.shared.open.load(Ordering::SeqCst) == 0 {
                break;
            }
            none_open.await;
        }
        reports::flush(self.shared);
    }

    /// Sends the reports gathered so far (a drain that ran out of time).
    pub fn flush_reports(&self) {
        reports::flush(self.shared);
    }
}

/// The channel's reader: each handed-over socket becomes a connection task.
fn receive(shared: &'static Shared, runtime: tokio::runtime::Handle) {
    let _context = runtime.enter();
    let result = shared.channel.receive(|message, fd| {
        let fd = match (message.get("type").and_then(Value::as_str), fd) {
            (Some("drain"), _) => {
                shared.drain();
                return;
            }
            (Some("connection"), Some(fd)) => fd,
            _ => return,
        };
        match Handover::parse(&message, fd, &shared.slots, shared.clock.now_ms()) {
            Ok(handover) => {
                shared.open.fetch_add(1, Ordering::SeqCst);
                runtime.spawn(connection::serve(shared, handover));
            }
            Err(error) => host_line(&format!("refused a connection from the runner: {error}")),
        }
    });
    // The runner is gone: its instances are stopped by their process group; nothing to do here.
    if let Err(error) = result {
        host_line(&format!("the runner's channel failed: {error}"));
    }
}

/// Nudges the connections idle for longer than `IGNITE_DIRECT_IDLE_MS`: their tasks give them
/// back (an idle connection holds an in-flight slot of the instance in the runner). One thread
/// for all of them, no timer per connection.
fn give_back_idle(shared: &Shared) {
    loop {
        std::thread::sleep(IDLE_CHECK_INTERVAL);
        let now = shared.clock.now_ms();
        for slot in shared.slots.numbers() {
            let local = shared.slots.local(slot);
            if shared.slots.get(slot) == IDLE
                && now.saturating_sub(local.last_active_ms.load(Ordering::Acquire))
                    >= shared.idle_return_ms
            {
                local.nudge();
            }
        }
    }
}

/// A connection as the runner hands it over.
struct Handover {
    socket: OwnedFd,
    slot: usize,
    /// What the runner already read from it (the first request's head, at least).
    head: Bytes,
    /// A connection of the public route: its terms (None: the internal route).
    access: Option<Access>,
}

/// The terms of a public connection (the runner's `DirectAccess`): what every request on it must
/// keep to, else it goes back to the runner.
struct Access {
    /// The Authorization value (presenting an Ignite API key) the runner authenticated; None: the
    /// caller presented no key (a public app). Every request's key must be these very bytes.
    authorization: Option<Bytes>,
    /// [`Clock`] ms from which the runner must check the key again.
    until_ms: u64,
    /// Requests it may carry (rate limits); None: no limit.
    budget: Option<u32>,
}

impl Access {
    fn parse(terms: &Value, now_ms: u64) -> Result<Access, String> {
        let ttl_ms = terms
            .get("ttlMs")
            .and_then(Value::as_u64)
            .ok_or("access without ttlMs")?;
        let authorization = match terms.get("authorization") {
            None | Some(Value::Null) => None,
            Some(Value::String(value)) => Some(Bytes::from(value.clone().into_bytes())),
            Some(_) => return Err("access.authorization is not a string".to_string()),
        };
        let budget = match terms.get("budget") {
            None | Some(Value::Null) => None,
            Some(budget) => Some(
                budget
                    .as_u64()
                    .and_then(|budget| u32::try_from(budget).ok())
                    .ok_or("access.budget is not a count")?,
            ),
        };
        Ok(Access {
            authorization,
            until_ms: now_ms.saturating_add(ttl_ms),
            budget,
        })
    }
}

impl Handover {
    fn parse(
        message: &Value,
        socket: OwnedFd,
        slots: &Slots,
        now_ms: u64,
    ) -> Result<Handover, String> {
        let slot = message
            .get("slot")
            .and_then(Value::as_u64)
            .map(|slot| slot as usize)
            .filter(|&slot| slots.contains(slot))
            .ok_or("no valid slot")?;
        let head = match message.get("head").and_then(Value::as_str) {
            Some(text) => BASE64.decode(text).map_err(|_| "head is not base64")?,
            None => Vec::new(),
        };
        let access = match message.get("access") {
            None | Some(Value::Null) => None,
            Some(terms) => Some(Access::parse(terms, now_ms)?),
        };
        Ok(Handover {
            socket,
            slot,
            head: Bytes::from(head),
            access,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Option<DirectConfig>, String> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        DirectConfig::from_lookup(|name| vars.get(name).copied())
    }

    #[test]
    fn reads_a_public_connection_s_terms() {
        let access = Access::parse(
            &serde_json::json!({ "authorization": "Bearer ign_x", "ttlMs": 10_000, "budget": 12 }),
            500,
        )
        .unwrap();
        assert_eq!(access.authorization.as_deref(), Some(&b"Bearer ign_x"[..]));
        assert_eq!((access.until_ms, access.budget), (10_500, Some(12)));
        let anonymous = Access::parse(&serde_json::json!({ "ttlMs": 5 }), 1).unwrap();
        assert_eq!((anonymous.authorization, anonymous.budget), (None, None));
        assert!(Access::parse(&serde_json::json!({}), 1).is_err());
        assert!(Access::parse(&serde_json::json!({ "ttlMs": 1, "budget": -1 }), 1).is_err());
    }

    #[test]
    fn off_unless_the_runner_asks() {
        assert_eq!(config(&[("NODE_CHANNEL_FD", "4")]), Ok(None));
    }

    #[test]
    fn reads_the_runner_settings() {
        let parsed = config(&[
            ("IGNITE_DIRECT_SLOTS_FD", "8"),
            ("NODE_CHANNEL_FD", "4"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("IGNITE_DIRECT_SLOT_SPACING", "16"),
            ("IGNITE_DIRECT_PUBLIC", "1"),
            ("IGNITE_DIRECT_IDLE_MS", "250"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            parsed,
            DirectConfig {
                channel_fd: 4,
                messages_fd: 5,
                slots: SlotFile::Fd(8),
                slot_spacing: 16,
                idle_return: Duration::from_millis(250),
                public: true,
                max_body_bytes: 6 << 20,
            }
        );
        let error = config(&[
            ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
            ("NODE_CHANNEL_FD", "4"),
        ])
        .unwrap_err();
        assert!(error.contains("IGNITE_DIRECT_MESSAGES_FD"), "{error}");
        let error = config(&[
            ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
            ("NODE_CHANNEL_FD", "4"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("IGNITE_DIRECT_SLOT_SPACING", "0"),
        ])
        .unwrap_err();
        assert!(error.contains("between 1 and 4096"), "{error}");
    }
}
