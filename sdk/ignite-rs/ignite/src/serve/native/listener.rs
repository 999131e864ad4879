//! Where the serve loop accepts connections: a TCP port of its own (`PORT`), or a listening
//! socket the runner passed down (`IGNITE_LISTEN_FD`: a unix socket in the runner's sandbox, which
//! has no network at all).
// from_raw_fd and getsockopt: taking over an inherited listening socket by number.
#![allow(unsafe_code)]

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A listening socket, before the runtime runs (taken over at start, registered later).
pub(super) enum Inherited {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// The serve loop's listener.
pub(super) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// An accepted connection.
pub(super) enum Accepted {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Inherited {
    /// Takes over descriptor `fd`, which must be a listening TCP or unix socket. Call it before
    /// the process opens any descriptor of its own, so that the number cannot name one of them.
    pub(super) fn take(fd: RawFd) -> Result<Inherited, String> {
        let option = |name: libc::c_int| -> Result<libc::c_int, String> {
            let mut value: libc::c_int = 0;
            let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: getsockopt writes at most `length` bytes into `value`.
            let result = unsafe {
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    name,
                    (&mut value as *mut libc::c_int).cast(),
                    &mut length,
                )
            };
            if result == 0 {
                Ok(value)
            } else {
                Err(format!(
                    "IGNITE_LISTEN_FD={fd} is not a socket ({})",
                    std::io::Error::last_os_error()
                ))
            }
        };
        if option(libc::SO_ACCEPTCONN)? != 1 {
            return Err(format!(
                "IGNITE_LISTEN_FD={fd} is a socket that does not listen"
            ));
        }
        let domain = option(libc::SO_DOMAIN)?;
        // SAFETY: `fd` is a listening socket (checked above) the runner passed for this process
        // to own; nothing else in the process knows it.
        let inherited = unsafe {
            match domain {
                libc::AF_UNIX => Inherited::Unix(std::os::unix::net::UnixListener::from_raw_fd(fd)),
                libc::AF_INET | libc::AF_INET6 => {
                    Inherited::Tcp(std::net::TcpListener::from_raw_fd(fd))
                }
                _ => {
                    return Err(format!(
                        "IGNITE_LISTEN_FD={fd} is neither a TCP nor a unix socket"
                    ))
                }
            }
        };
        Ok(inherited)
    }

    /// The listener on the runtime (call inside it).
    pub(super) fn register(self) -> Result<Listener, String> {
        let describe =
            |error: std::io::Error| format!("could not serve on IGNITE_LISTEN_FD: {error}");
        match self {
            Inherited::Tcp(listener) => {
                listener.set_nonblocking(true).map_err(describe)?;
                TcpListener::from_std(listener)
                    .map(Listener::Tcp)
                    .map_err(describe)
            }
            Inherited::Unix(listener) => {
                listener.set_nonblocking(true).map_err(describe)?;
                UnixListener::from_std(listener)
                    .map(Listener::Unix)
                    .map_err(describe)
            }
        }
    }
}

impl Listener {
    /// A TCP listener on `address`.
    pub(super) async fn bind(address: SocketAddr, what: &str) -> Result<Listener, String> {
        TcpListener::bind(address)
            .await
            .map(Listener::Tcp)
            .map_err(|error| format!("could not listen on {address} ({what}): {error}"))
    }

    pub(super) async fn accept(&self) -> std::io::Result<Accepted> {
        match self {
            Listener::Tcp(listener) => listener
                .accept()
                .await
                .map(|(stream, _)| Accepted::Tcp(stream)),
            Listener::Unix(listener) => listener
                .accept()
                .await
                .map(|(stream, _)| Accepted::Unix(stream)),
        }
    }

    /// Where it listens, for the start-up line.
    pub(super) fn describe(&self) -> String {
        match self {
            Listener::Tcp(listener) => listener
                .local_addr()
                .map(|address| format!("http://{address}"))
                .unwrap_or_else(|_| "a TCP socket".to_string()),
            Listener::Unix(_) => "an inherited unix socket".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    #[test]
    fn takes_listening_sockets_only() {
        let path =
            std::env::temp_dir().join(format!("ignite-listener-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(matches!(
            Inherited::take(unix.into_raw_fd()),
            Ok(Inherited::Unix(_))
        ));
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(matches!(
            Inherited::take(tcp.into_raw_fd()),
            Ok(Inherited::Tcp(_))
        ));
        let connected = std::os::unix::net::UnixStream::connect(&path);
        drop(connected);
        let file = std::fs::File::open("/dev/null").unwrap();
        let error = Inherited::take(file.into_raw_fd()).err().unwrap();
        assert!(error.contains("is not a socket"), "{error}");
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let error = Inherited::take(a.into_raw_fd()).err().unwrap();
        assert!(error.contains("does not listen"), "{error}");
        std::fs::remove_file(path).unwrap();
    }
}
