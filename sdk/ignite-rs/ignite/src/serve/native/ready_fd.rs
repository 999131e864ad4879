//! `IGNITE_READY_FD`: tells the runner "ready" through an inherited file descriptor, so it
//! does not have to poll the readiness probe during a cold start.

use std::fs::File;
use std::io::Write;

use crate::invoke::env_var;

/// The inherited descriptor named by `IGNITE_READY_FD`, owned by this process.
#[derive(Debug)]
pub(super) struct ReadyFd(File);

impl ReadyFd {
    /// Takes ownership of the descriptor named by `IGNITE_READY_FD`, if set. Call it before the
    /// process opens any file, so the number cannot name one of our own descriptors.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub(super) fn from_env() -> Result<Option<ReadyFd>, String> {
        use std::os::fd::{FromRawFd, RawFd};

        let Some(value) = env_var("IGNITE_READY_FD")? else {
            return Ok(None);
        };
        let fd: RawFd = value.trim().parse().map_err(|_| {
            format!("IGNITE_READY_FD must be a file descriptor number, got {value:?}")
        })?;
        if fd <= 2 {
            return Err(format!(
                "IGNITE_READY_FD must not be stdin, stdout or stderr, got {fd}"
            ));
        }
        // SAFETY: F_GETFD only reads the descriptor's flags; it fails with EBADF if `fd` is
        // not open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(format!(
                "IGNITE_READY_FD={fd} is not an open file descriptor"
            ));
        }
        // SAFETY: `fd` is open (checked above) and was inherited from the parent for this
        // process to own: nothing else in the process knows it, since this runs before the
        // serve loop opens any descriptor.
        let file = unsafe { File::from_raw_fd(fd) };
        Ok(Some(ReadyFd(file)))
    }

    /// `IGNITE_READY_FD` is only supported on Unix.
    #[cfg(not(unix))]
    pub(super) fn from_env() -> Result<Option<ReadyFd>, String> {
        match env_var("IGNITE_READY_FD")? {
            Some(_) => Err("IGNITE_READY_FD is only supported on Unix".to_string()),
            None => Ok(None),
        }
    }

    /// Writes `ready\n` and closes the descriptor.
    pub(super) fn notify(mut self) {
        if let Err(error) = self.0.write_all(b"ready\n").and_then(|()| self.0.flush()) {
            eprintln!("ignite: could not write to IGNITE_READY_FD: {error}");
        }
    }
}
