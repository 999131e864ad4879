//! Direct connections: callers' connections handed over by the runner, served here without the
//! runner in the byte path.
//!
//! The runner's direct port reads the first request of a new connection, picks an instance of
//! the function it names and passes the socket itself (with the bytes it already read) over its
//! channel (`NODE_CHANNEL_FD`, see [`channel`]). From then on this process serves that connection
//! for as long as the caller keeps it, doing per request what the runner's proxy does: a UUIDv7
//! execution id, `x-ignite-*` headers from the caller removed, the `/v1/invoke/{org}/{app}`
//! prefix removed (a request for another function gets 421 and the connection closes), the
//! time limit (504, see [`watchdog`]), the `x-ignite-cold`/`-release`/`-duration-ms` headers,
//! and a report of each invocation to the runner ([`reports`]). An idle connection, or every
//! connection when draining, goes back to the runner (its descriptor stays open there), which
//! routes its next request again; each connection's state is shared with the runner
//! ([`slots`]) so that the runner can answer for this process if it dies.
//!
//! The runner's public route, `/v1/orgs/{org}/apps/{app}/invoke{/path}` (what users and the CLI
//! call, with an API key), arrives here too when the runner sets `IGNITE_DIRECT_PUBLIC`: such a
//! connection comes with its terms ([`Access`]) — the caller's key, byte for byte, a time after
//! which the runner checks the key again, and a budget of requests (rate limits). A request that
//! does not keep to them is not served here: it goes back to the runner unanswered
//! ([`connection`]), which authenticates it and routes it anew.
//!
//! Enabled when the runner sets `IGNITE_DIRECT_SLOTS` or, from its sandbox,
//! `IGNITE_DIRECT_SLOTS_FD` (with `NODE_CHANNEL_FD`).

mod channel;
mod connection;
mod inherited;
mod outbox;
mod reports;
mod slots;
mod watchdog;

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::HeaderValue;
use serde_json::Value;
use tokio::sync::Notify;

use self::channel::Channel;
use self::outbox::Outbox;
use self::reports::Reports;
use self::slots::Slots;
use crate::handler::Handler;
use crate::invoke::{env_var, App};

/// The direct mode's settings, from the environment the runner gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DirectConfig {
    /// `NODE_CHANNEL_FD`: the runner's channel.
    channel_fd: i32,
    /// `IGNITE_DIRECT_MESSAGES_FD`: the pipe this process tells the runner things on.
    messages_fd: i32,
    /// The shared slot file.
    slots: SlotFile,
    /// `IGNITE_DIRECT_SLOT_SPACING`: the runner numbers slots this far apart (1 if unset).
    slot_spacing: usize,
    /// `IGNITE_TIME_LIMIT_MS`: an invocation's time limit.
    time_limit: Duration,
    /// `IGNITE_RELEASE`: the release number, for `x-ignite-release`.
    release: String,
    /// `IGNITE_DIRECT_IDLE_MS`: an idle connection goes back to the runner after this.
    idle_return: Duration,
    /// `IGNITE_DIRECT_PUBLIC=1`: the runner hands over connections of the public route.
    public: bool,
}

/// Where the shared slot file is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SlotFile {
    /// `IGNITE_DIRECT_SLOTS`: its path.
    Path(PathBuf),
    /// `IGNITE_DIRECT_SLOTS_FD`: an inherited descriptor (the sandbox sees no file of the runner's).
    Fd(i32),
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
    /// None when the runner did not ask for direct connections.
    pub(super) fn from_env() -> Result<Option<DirectConfig>, String> {
        DirectConfig::from_lookup(env_var)
    }

    fn from_lookup(
        lookup: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Option<DirectConfig>, String> {
        let slots = match (
            lookup("IGNITE_DIRECT_SLOTS")?,
            lookup("IGNITE_DIRECT_SLOTS_FD")?,
        ) {
            (Some(path), None) => SlotFile::Path(PathBuf::from(path)),
            (None, Some(fd)) => {
                SlotFile::Fd(fd.parse().ok().filter(|&fd: &i32| fd > 2).ok_or_else(|| {
                    format!(
                        "IGNITE_DIRECT_SLOTS_FD must be a descriptor number above 2, got {fd:?}"
                    )
                })?)
            }
            (Some(_), Some(_)) => {
                return Err(
                    "set IGNITE_DIRECT_SLOTS or IGNITE_DIRECT_SLOTS_FD, not both".to_string(),
                )
            }
            (None, None) => return Ok(None),
        };
        let number = |name: &str, default: Option<u64>| -> Result<u64, String> {
            match (lookup(name)?, default) {
                (Some(value), _) => value
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, got {value:?}")),
                (None, Some(default)) => Ok(default),
                (None, None) => Err(format!("IGNITE_DIRECT_SLOTS is set but {name} is not")),
            }
        };
        let descriptor = |name: &str| -> Result<i32, String> {
            let fd = number(name, None)?;
            i32::try_from(fd).map_err(|_| format!("{name} is not a descriptor: {fd}"))
        };
        let channel_fd = descriptor("NODE_CHANNEL_FD")?;
        let messages_fd = descriptor("IGNITE_DIRECT_MESSAGES_FD")?;
        Ok(Some(DirectConfig {
            channel_fd,
            messages_fd,
            slots,
            slot_spacing: usize::try_from(number("IGNITE_DIRECT_SLOT_SPACING", Some(1))?)
                .ok()
                .filter(|&spacing| (1..=4096).contains(&spacing))
                .ok_or("IGNITE_DIRECT_SLOT_SPACING must be between 1 and 4096")?,
            time_limit: Duration::from_millis(number("IGNITE_TIME_LIMIT_MS", None)?.max(1)),
            release: lookup("IGNITE_RELEASE")?.unwrap_or_default(),
            idle_return: Duration::from_millis(number("IGNITE_DIRECT_IDLE_MS", Some(1_000))?),
            public: lookup("IGNITE_DIRECT_PUBLIC")?.as_deref() == Some("1"),
        }))
    }
}

/// Milliseconds since the process started (never 0: 0 means "no deadline").
pub(super) struct Clock(Instant);

impl Clock {
    pub(super) fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// `instant` on this clock (an instant already read: reading the clock costs, per request).
    pub(super) fn ms_at(&self, instant: Instant) -> u64 {
        whole_ms(instant.saturating_duration_since(self.0)) + 1
    }
}

/// `duration` in whole milliseconds, in u64 arithmetic (`as_millis` is u128: a 128-bit division,
/// and this runs several times per request).
pub(super) fn whole_ms(duration: Duration) -> u64 {
    duration.as_secs() * 1000 + u64::from(duration.subsec_millis())
}

/// What the direct connections of this process share. It lives as long as the process (which
/// exits without dropping it): connections and threads borrow it, no reference is counted per
/// request.
pub(super) struct Shared {
    channel: Channel,
    outbox: Outbox,
    slots: Slots,
    reports: Reports,
    clock: Clock,
    time_limit: Duration,
    release: HeaderValue,
    idle_return: Duration,
    function_id: Box<str>,
    /// `/v1/orgs/{org}/apps/{app}/invoke`: the public route's prefix of this function.
    public_prefix: Box<str>,
    /// Largest request body (`IGNITE_MAX_BODY_BYTES`), for a request that goes back to the runner.
    max_body_bytes: usize,
    /// True once the process drains (SIGTERM), or the runner says so (`{"type":"drain"}`: the
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
    fn tell<T: serde::Serialize + ?Sized>(&self, message: &T) {
        if let Err(error) = self.outbox.send(message) {
            eprintln!("ignite: could not write to the runner's message pipe: {error}");
        }
    }

    /// Tells the runner several things at once (lines already encoded).
    fn tell_encoded(&self, lines: &[u8]) {
        if let Err(error) = self.outbox.send_encoded(lines) {
            eprintln!("ignite: could not write to the runner's message pipe: {error}");
        }
    }
}

/// The direct mode, once started.
pub(super) struct Direct {
    shared: &'static Shared,
}

impl Direct {
    /// Opens the channel and the slot file, and starts the threads that receive connections,
    /// watch time limits and send reports. Connections are served on `runtime`.
    pub(super) fn start<H: Handler>(
        config: DirectConfig,
        app: Arc<App<H>>,
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
        HeaderValue::from_str(&config.release)
            .map_err(|_| format!("IGNITE_RELEASE is not a header value: {:?}", config.release))?;
        // Static (the text leaked once): each response's copy is a pointer, where a shared value
        // would count references from every worker thread.
        let release = HeaderValue::from_static(Box::leak(config.release.into_boxed_str()));
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            channel,
            outbox,
            slots,
            // The runtime's workers and the watchdog report invocations.
            reports: Reports::new(runtime.metrics().num_workers() + 1),
            clock: Clock(Instant::now()),
            time_limit: config.time_limit,
            release,
            idle_return: config.idle_return,
            function_id: app.function_id().into(),
            public_prefix: public_prefix(app.function_id()).into(),
            max_body_bytes: app.max_body_bytes(),
            draining: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            none_open: Notify::new(),
        }));
        if config.public {
            // Before any connection: the runner hands this program public connections once it knows.
            shared.tell(&serde_json::json!({ "type": "capabilities", "public": true }));
        }
        // Like `shared`: one reference for the life of the process, none counted per request.
        let app: &'static App<H> = Box::leak(Box::new(app));
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(run)
                .map(drop)
                .map_err(|error| format!("could not start the {name} thread: {error}"))
        };
        spawn(
            "ignite-direct",
            Box::new(move || receive(shared, app, runtime)),
        )?;
        spawn("ignite-watchdog", Box::new(move || watchdog::run(shared)))?;
        spawn("ignite-reports", Box::new(move || reports::run(shared)))?;
        Ok(Direct { shared })
    }

    /// Sends every direct connection back to the runner once its request in flight is
    /// answered, and waits until none is left; then the last reports go out.
    pub(super) async fn drain(&self) {
        self.shared.drain();
        while self.shared.open.load(Ordering::SeqCst) > 0 {
            self.shared.none_open.notified().await;
        }
        reports::flush(self.shared);
    }
}

/// The channel's reader: each handed-over socket becomes a connection task.
fn receive<H: Handler>(
    shared: &'static Shared,
    app: &'static App<H>,
    runtime: tokio::runtime::Handle,
) {
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
                runtime.spawn(connection::serve(app, shared, handover));
            }
            Err(error) => eprintln!("ignite: refused a connection from the runner: {error}"),
        }
    });
    // The runner is gone: its instances are stopped by their process group; nothing to do here.
    if let Err(error) = result {
        eprintln!("ignite: the runner's channel failed: {error}");
    }
}

/// A connection as the runner hands it over.
pub(super) struct Handover {
    socket: OwnedFd,
    slot: usize,
    /// What the runner already read from it (the first request's head, at least).
    head: Bytes,
    /// Its first request started this instance.
    cold: bool,
    /// A connection of the public route: its terms (None: the internal route).
    access: Option<Access>,
}

/// The terms of a public connection (the runner's `DirectAccess`): what every request on it must
/// keep to, else it goes back to the runner.
pub(super) struct Access {
    /// The Authorization value (presenting an Ignite API key) the runner authenticated; None: the
    /// caller presented no key (a public app). Every request's key must be these very bytes.
    pub(super) authorization: Option<Bytes>,
    /// [`Clock`] ms from which the runner must check the key again.
    pub(super) until_ms: u64,
    /// Requests it may carry (rate limits); None: no limit.
    pub(super) budget: Option<u32>,
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

/// The public route's prefix of `org/app`.
fn public_prefix(function_id: &str) -> String {
    let (org, app) = function_id.split_once('/').unwrap_or((function_id, ""));
    format!("/v1/orgs/{org}/apps/{app}/invoke")
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
            cold: message.get("cold").and_then(Value::as_bool) == Some(true),
            access,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Option<DirectConfig>, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DirectConfig::from_lookup(|name| Ok(vars.get(name).cloned()))
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
        assert_eq!(
            public_prefix("acme/hello"),
            "/v1/orgs/acme/apps/hello/invoke"
        );
    }

    #[test]
    fn off_unless_the_runner_asks() {
        assert_eq!(config(&[("NODE_CHANNEL_FD", "4")]), Ok(None));
    }

    #[test]
    fn reads_the_runner_settings() {
        let parsed = config(&[
            ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
            ("NODE_CHANNEL_FD", "4"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("IGNITE_TIME_LIMIT_MS", "2000"),
            ("IGNITE_RELEASE", "3"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((parsed.channel_fd, parsed.messages_fd), (4, 5));
        assert_eq!(parsed.time_limit, Duration::from_millis(2000));
        assert_eq!(parsed.release, "3");
        assert_eq!(parsed.idle_return, Duration::from_secs(1));
        assert_eq!(parsed.slot_spacing, 1);
        assert!(!parsed.public);
        let spaced = |spacing: &str| {
            config(&[
                ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
                ("NODE_CHANNEL_FD", "4"),
                ("IGNITE_DIRECT_MESSAGES_FD", "5"),
                ("IGNITE_TIME_LIMIT_MS", "2000"),
                ("IGNITE_DIRECT_SLOT_SPACING", spacing),
            ])
            .map(|parsed| parsed.unwrap().slot_spacing)
        };
        assert_eq!(spaced("16"), Ok(16));
        assert!(spaced("0").unwrap_err().contains("between 1 and 4096"));
        assert!(config(&[
            ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
            ("IGNITE_TIME_LIMIT_MS", "1")
        ])
        .unwrap_err()
        .contains("NODE_CHANNEL_FD"));
        assert!(config(&[
            ("IGNITE_DIRECT_SLOTS", "/tmp/slots"),
            ("NODE_CHANNEL_FD", "x"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("IGNITE_TIME_LIMIT_MS", "1")
        ])
        .unwrap_err()
        .contains("whole number"));
    }
}
