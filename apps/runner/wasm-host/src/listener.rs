//! The listening socket: inherited (`IGNITE_LISTEN_FD`, unix or TCP), or bound here.

use std::io;
use std::os::fd::{FromRawFd, RawFd};

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::config::ListenOn;

/// A listening socket.
pub enum Listener {
    /// A unix socket (the runner's).
    Unix(UnixListener),
    /// A TCP socket (tests, running by hand).
    Tcp(TcpListener),
}

/// An accepted connection.
pub enum Connection {
    /// Over a unix socket.
    Unix(UnixStream),
    /// Over TCP.
    Tcp(TcpStream),
}

impl Listener {
    /// Takes over the inherited socket or binds the address. Must run inside the tokio runtime.
    pub async fn open(on: &ListenOn) -> Result<Listener, String> {
        match on {
            ListenOn::Addr(addr) => TcpListener::bind(addr)
                .await
                .map(Listener::Tcp)
                .map_err(|error| format!("could not listen on {addr}: {error}")),
            ListenOn::Fd(fd) => from_fd(*fd),
        }
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<Connection> {
        match self {
            Listener::Unix(listener) => Ok(Connection::Unix(listener.accept().await?.0)),
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                // Small streamed chunks go out at once.
                stream.set_nodelay(true)?;
                Ok(Connection::Tcp(stream))
            }
        }
    }

    /// `unix:<path>` or `tcp:<address>`, for the log.
    pub fn describe(&self) -> String {
        match self {
            Listener::Unix(listener) => match listener.local_addr() {
                Ok(addr) => match addr.as_pathname() {
                    Some(path) => format!("unix:{}", path.display()),
                    None => "unix:(unnamed)".to_string(),
                },
                Err(_) => "unix".to_string(),
            },
            Listener::Tcp(listener) => match listener.local_addr() {
                Ok(addr) => format!("tcp:{addr}"),
                Err(_) => "tcp".to_string(),
            },
        }
    }
}

fn socket_option(fd: RawFd, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reading an int option into a buffer of its size.
    let result = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut length,
        )
    };
    if result == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn from_fd(fd: RawFd) -> Result<Listener, String> {
    let listening = socket_option(fd, libc::SO_ACCEPTCONN)
        .map_err(|error| format!("IGNITE_LISTEN_FD={fd} is not a socket ({error})"))?;
    if listening == 0 {
        return Err(format!(
            "IGNITE_LISTEN_FD={fd} is a socket that does not listen"
        ));
    }
    let domain = socket_option(fd, libc::SO_DOMAIN)
        .map_err(|error| format!("IGNITE_LISTEN_FD={fd}: {error}"))?;
    let failed = |error: io::Error| format!("could not serve on IGNITE_LISTEN_FD={fd}: {error}");
    match domain {
        libc::AF_UNIX => {
            // SAFETY: an open listening unix socket the host owns from now on.
            let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
            listener.set_nonblocking(true).map_err(failed)?;
            UnixListener::from_std(listener)
                .map(Listener::Unix)
                .map_err(failed)
        }
        libc::AF_INET | libc::AF_INET6 => {
            // SAFETY: an open listening TCP socket the host owns from now on.
            let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            listener.set_nonblocking(true).map_err(failed)?;
            TcpListener::from_std(listener)
                .map(Listener::Tcp)
                .map_err(failed)
        }
        _ => Err(format!(
            "IGNITE_LISTEN_FD={fd} is neither a TCP nor a unix socket"
        )),
    }
}
