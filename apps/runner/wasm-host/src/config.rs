//! The settings of `ignite-wasm-host serve`, read from its environment. The runner gives the
//! host its whole environment explicitly; the variables below are the host's, every other one
//! is the guest's (`ctx.env()`).

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::Duration;

use crate::component::ComponentSource;
use crate::direct::{DirectConfig, DIRECT_VARIABLES};
use crate::executor::FunctionSettings;

/// The variables the host reads (besides every `IGNITE_HOST_*` one): none of them reaches the
/// guest, except `IGNITE_FUNCTION_ID`, which the guest gets as it is, and `IGNITE_TEMP_DIR`,
/// which it gets as `/tmp` (its own temp directory).
pub const HOST_VARIABLES: &[&str] = &[
    "IGNITE_LISTEN_FD",
    "IGNITE_READY_FD",
    "IGNITE_COMPONENT",
    "IGNITE_COMPONENT_FD",
    "IGNITE_TIME_LIMIT_MS",
    "IGNITE_MEMORY_LIMIT_MB",
    "IGNITE_FUNCTION_ID",
    "IGNITE_RELEASE",
    "IGNITE_TEMP_DIR",
    "IGNITE_SHUTDOWN_TIMEOUT_MS",
];

/// Prefix of the host's own tunables (never the guest's).
pub const HOST_PREFIX: &str = "IGNITE_HOST_";

/// Prefix of what Node tells a child about its IPC channel (`NODE_CHANNEL_FD`, the runner's
/// channel for direct connections, and `NODE_CHANNEL_SERIALIZATION_MODE`): the host's.
pub const NODE_CHANNEL_PREFIX: &str = "NODE_CHANNEL_";

/// Where the host serves HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenOn {
    /// An inherited listening socket, unix or TCP (`IGNITE_LISTEN_FD`).
    Fd(RawFd),
    /// An address to bind (`IGNITE_HOST_LISTEN_ADDR`, for running the host by hand).
    Addr(SocketAddr),
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to serve.
    pub listen: ListenOn,
    /// Where to write `ready\n` once serving (`IGNITE_READY_FD`).
    pub ready_fd: Option<RawFd>,
    /// The precompiled component.
    pub component: ComponentSource,
    /// The function's settings.
    pub function: FunctionSettings,
    /// `IGNITE_RELEASE`, for `x-ignite-release`.
    pub release: String,
    /// How long in-flight requests may take to finish after SIGTERM
    /// (`IGNITE_SHUTDOWN_TIMEOUT_MS`, default 10 s).
    pub shutdown_timeout: Duration,
    /// Direct connections from the runner's direct port, when it asks for them
    /// (`IGNITE_DIRECT_SLOTS` or `IGNITE_DIRECT_SLOTS_FD`, see [`crate::direct`]).
    pub direct: Option<DirectConfig>,
}

/// Defaults for what the runner leaves unset.
const DEFAULT_TIME_LIMIT_MS: u64 = 30_000;
const DEFAULT_MEMORY_LIMIT_MB: u64 = 128;
const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_MAX_INSTANCES: u32 = 256;

impl ServeConfig {
    /// Reads the settings from `vars` (the process environment); the message says what is wrong.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ServeConfig, String> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let get = |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
                .filter(|value| !value.is_empty())
        };
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match get(name) {
                None => Ok(default),
                Some(value) => value
                    .parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number, got {value:?}")),
            }
        };
        let descriptor = |name: &str| -> Result<Option<RawFd>, String> {
            match get(name) {
                None => Ok(None),
                Some(value) => match value.parse::<RawFd>() {
                    Ok(fd) if fd > 2 => Ok(Some(fd)),
                    _ => Err(format!(
                        "{name} must be a descriptor number above 2, got {value:?}"
                    )),
                },
            }
        };
        let listen = match (descriptor("IGNITE_LISTEN_FD")?, get("IGNITE_HOST_LISTEN_ADDR")) {
            (Some(fd), None) => ListenOn::Fd(fd),
            (None, Some(addr)) => ListenOn::Addr(addr.parse().map_err(|_| {
                format!("IGNITE_HOST_LISTEN_ADDR must be an address such as 127.0.0.1:8080, got {addr:?}")
            })?),
            (Some(_), Some(_)) => {
                return Err("set IGNITE_LISTEN_FD or IGNITE_HOST_LISTEN_ADDR, not both".into())
            }
            (None, None) => {
                return Err("IGNITE_LISTEN_FD (an inherited listening socket) is not set".into())
            }
        };
        let component = match (get("IGNITE_COMPONENT"), descriptor("IGNITE_COMPONENT_FD")?) {
            (Some(path), None) => ComponentSource::Path(PathBuf::from(path)),
            (None, Some(fd)) => ComponentSource::Fd(fd),
            (Some(_), Some(_)) => {
                return Err("set IGNITE_COMPONENT or IGNITE_COMPONENT_FD, not both".into())
            }
            (None, None) => {
                return Err("IGNITE_COMPONENT (a path) or IGNITE_COMPONENT_FD (a descriptor) of the precompiled component is not set".into())
            }
        };
        let time_limit_ms = number("IGNITE_TIME_LIMIT_MS", DEFAULT_TIME_LIMIT_MS)?.max(1);
        let memory_limit_mb = number("IGNITE_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB)?;
        if !(1..=65_536).contains(&memory_limit_mb) {
            return Err(format!(
                "IGNITE_MEMORY_LIMIT_MB must be between 1 and 65536, got {memory_limit_mb}"
            ));
        }
        let max_instances = number(
            "IGNITE_HOST_MAX_INSTANCES",
            u64::from(DEFAULT_MAX_INSTANCES),
        )?;
        let max_instances = u32::try_from(max_instances)
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                format!(
                    "IGNITE_HOST_MAX_INSTANCES must be between 1 and 10000, got {max_instances}"
                )
            })?;
        let scratch_dir = match get("IGNITE_TEMP_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::temp_dir().join("ignite-wasm-host"),
        };
        let release = get("IGNITE_RELEASE").unwrap_or("").to_string();
        if http::HeaderValue::from_str(&release).is_err() {
            return Err(format!(
                "IGNITE_RELEASE must be a header value, got {release:?}"
            ));
        }
        let env = vars
            .iter()
            .filter(|(name, _)| is_guest_variable(name))
            .cloned()
            .collect();
        Ok(ServeConfig {
            listen,
            ready_fd: descriptor("IGNITE_READY_FD")?,
            component,
            function: FunctionSettings {
                function_id: get("IGNITE_FUNCTION_ID")
                    .unwrap_or("local/function")
                    .to_string(),
                env,
                time_limit: Duration::from_millis(time_limit_ms),
                memory_limit_bytes: memory_limit_mb << 20,
                scratch_dir,
                max_instances,
            },
            release,
            shutdown_timeout: Duration::from_millis(number(
                "IGNITE_SHUTDOWN_TIMEOUT_MS",
                DEFAULT_SHUTDOWN_TIMEOUT_MS,
            )?),
            direct: DirectConfig::from_lookup(get)?,
        })
    }
}

/// Whether a variable of the host's environment is the guest's.
pub fn is_guest_variable(name: &str) -> bool {
    !name.starts_with(HOST_PREFIX)
        && !name.starts_with(NODE_CHANNEL_PREFIX)
        && !HOST_VARIABLES.contains(&name)
        && !DIRECT_VARIABLES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_runner_settings_and_leaves_the_rest_to_the_guest() {
        let config = ServeConfig::from_vars(vars(&[
            ("IGNITE_LISTEN_FD", "6"),
            ("IGNITE_READY_FD", "3"),
            ("IGNITE_COMPONENT_FD", "7"),
            ("IGNITE_TIME_LIMIT_MS", "250"),
            ("IGNITE_MEMORY_LIMIT_MB", "64"),
            ("IGNITE_FUNCTION_ID", "org/app"),
            ("IGNITE_RELEASE", "3"),
            ("IGNITE_TEMP_DIR", "/scratch"),
            ("IGNITE_HOST_MAX_INSTANCES", "8"),
            ("NODE_CHANNEL_FD", "4"),
            ("NODE_CHANNEL_SERIALIZATION_MODE", "json"),
            ("IGNITE_DIRECT_SLOTS_FD", "8"),
            ("IGNITE_DIRECT_MESSAGES_FD", "5"),
            ("GREETING", "hi"),
            ("PATH", "/usr/bin"),
        ]))
        .unwrap();
        assert!(config.direct.is_some());
        assert_eq!(config.listen, ListenOn::Fd(6));
        assert_eq!(config.ready_fd, Some(3));
        assert_eq!(config.component, ComponentSource::Fd(7));
        assert_eq!(config.function.time_limit, Duration::from_millis(250));
        assert_eq!(config.function.memory_limit_bytes, 64 << 20);
        assert_eq!(config.function.function_id, "org/app");
        assert_eq!(config.function.scratch_dir, PathBuf::from("/scratch"));
        assert_eq!(config.function.max_instances, 8);
        assert_eq!(config.release, "3");
        assert_eq!(
            config.function.env,
            vars(&[("GREETING", "hi"), ("PATH", "/usr/bin")])
        );
    }

    #[test]
    fn says_what_is_missing_or_wrong() {
        let error = ServeConfig::from_vars(vars(&[("IGNITE_COMPONENT", "/a.cwasm")])).unwrap_err();
        assert!(error.contains("IGNITE_LISTEN_FD"), "{error}");
        let error = ServeConfig::from_vars(vars(&[("IGNITE_LISTEN_FD", "6")])).unwrap_err();
        assert!(error.contains("IGNITE_COMPONENT"), "{error}");
        let error = ServeConfig::from_vars(vars(&[
            ("IGNITE_LISTEN_FD", "1"),
            ("IGNITE_COMPONENT", "/a.cwasm"),
        ]))
        .unwrap_err();
        assert!(error.contains("above 2"), "{error}");
        let error = ServeConfig::from_vars(vars(&[
            ("IGNITE_LISTEN_FD", "6"),
            ("IGNITE_COMPONENT", "/a.cwasm"),
            ("IGNITE_TIME_LIMIT_MS", "soon"),
        ]))
        .unwrap_err();
        assert!(error.contains("IGNITE_TIME_LIMIT_MS"), "{error}");
    }
}
