//! The native server's settings, from the environment.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::invoke::env_var;

/// Where and how the native server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Config {
    /// `IGNITE_HOST` (an IP address), default `127.0.0.1`.
    pub(super) host: IpAddr,
    /// `PORT`, default 8080 (0: any free port); unused with `IGNITE_LISTEN_FD`.
    pub(super) port: u16,
    /// `IGNITE_LISTEN_FD`: an inherited listening socket (unix or TCP) to serve on instead of
    /// `PORT`, as the runner's sandbox gives it (a sandbox has no network of its own).
    pub(super) listen_fd: Option<i32>,
    /// `IGNITE_PROBE_PORT`, default `PORT + 1` (0 when `PORT` is 0); `None` with
    /// `IGNITE_LISTEN_FD` and no `IGNITE_PROBE_PORT`: no probe (readiness goes by
    /// `IGNITE_READY_FD`).
    pub(super) probe_port: Option<u16>,
    /// `IGNITE_SHUTDOWN_TIMEOUT_MS`, default 10 000 ms.
    pub(super) shutdown_timeout: Duration,
}

const DEFAULT_PORT: u16 = 8080;
const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 10_000;

impl Config {
    pub(super) fn from_env() -> Result<Config, String> {
        Config::from_lookup(env_var)
    }

    fn from_lookup(
        lookup: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Config, String> {
        let host = match lookup("IGNITE_HOST")? {
            Some(host) if host == "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(host) => host.parse().map_err(|_| {
                format!(
                    "IGNITE_HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, got {host:?}"
                )
            })?,
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let port = match lookup("PORT")? {
            Some(port) => parse_port("PORT", &port)?,
            None => DEFAULT_PORT,
        };
        let listen_fd = match lookup("IGNITE_LISTEN_FD")? {
            Some(fd) => Some(fd.parse::<i32>().ok().filter(|&fd| fd > 2).ok_or_else(|| {
                format!("IGNITE_LISTEN_FD must be a descriptor number above 2, got {fd:?}")
            })?),
            None => None,
        };
        let probe_port = match lookup("IGNITE_PROBE_PORT")? {
            Some(probe_port) => Some(parse_port("IGNITE_PROBE_PORT", &probe_port)?),
            None if listen_fd.is_some() => None,
            None if port == 0 => Some(0),
            None => Some(port.checked_add(1).ok_or_else(|| {
                format!("PORT is {port}: set IGNITE_PROBE_PORT, PORT + 1 is not a port")
            })?),
        };
        if listen_fd.is_none() && port != 0 && probe_port == Some(port) {
            return Err(format!(
                "IGNITE_PROBE_PORT must differ from PORT (both are {port})"
            ));
        }
        let shutdown_timeout = match lookup("IGNITE_SHUTDOWN_TIMEOUT_MS")? {
            Some(ms) => Duration::from_millis(ms.parse().map_err(|_| {
                format!("IGNITE_SHUTDOWN_TIMEOUT_MS must be a number of milliseconds, got {ms:?}")
            })?),
            None => Duration::from_millis(DEFAULT_SHUTDOWN_TIMEOUT_MS),
        };
        Ok(Config {
            host,
            port,
            listen_fd,
            probe_port,
            shutdown_timeout,
        })
    }
}

fn parse_port(name: &str, value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| format!("{name} must be a port number (0-65535), got {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| Ok(vars.get(name).cloned()))
    }

    #[test]
    fn defaults() {
        assert_eq!(
            config(&[]).unwrap(),
            Config {
                host: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 8080,
                listen_fd: None,
                probe_port: Some(8081),
                shutdown_timeout: Duration::from_secs(10),
            }
        );
    }

    #[test]
    fn overrides_and_errors() {
        let c = config(&[
            ("PORT", "9000"),
            ("IGNITE_HOST", "0.0.0.0"),
            ("IGNITE_PROBE_PORT", "9100"),
            ("IGNITE_SHUTDOWN_TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert_eq!(c.host, "0.0.0.0".parse::<IpAddr>().unwrap());
        assert_eq!((c.port, c.probe_port), (9000, Some(9100)));
        assert_eq!(c.shutdown_timeout, Duration::from_millis(250));
        assert_eq!(config(&[("PORT", "0")]).unwrap().probe_port, Some(0));
        assert!(config(&[("PORT", "x")]).is_err());
        assert!(config(&[("PORT", "65535")]).is_err());
        assert!(config(&[("PORT", "9000"), ("IGNITE_PROBE_PORT", "9000")]).is_err());
        assert!(config(&[("IGNITE_HOST", "example.com")]).is_err());
        assert!(config(&[("IGNITE_SHUTDOWN_TIMEOUT_MS", "-1")]).is_err());
    }

    #[test]
    fn an_inherited_listener_needs_no_port() {
        let c = config(&[("IGNITE_LISTEN_FD", "6"), ("PORT", "9000")]).unwrap();
        assert_eq!((c.listen_fd, c.probe_port), (Some(6), None));
        let c = config(&[("IGNITE_LISTEN_FD", "6"), ("IGNITE_PROBE_PORT", "9000")]).unwrap();
        assert_eq!(c.probe_port, Some(9000));
        assert!(config(&[("IGNITE_LISTEN_FD", "2")])
            .unwrap_err()
            .contains("above 2"));
        assert!(config(&[("IGNITE_LISTEN_FD", "x")]).is_err());
    }
}
