//! Descriptors the runner passed down (the channel, the message pipe).
// from_raw_fd and fcntl: taking over an inherited descriptor by number.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Takes over inherited descriptor `fd`: blocking I/O (it is used from threads of its own), and
/// not inherited in turn by the handler's own child processes.
pub(super) fn take(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fd` is a descriptor the runner passed for this purpose, named in the environment;
    // nothing else in the process owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = owned.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor this process owns.
    unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFL);
        if flags < 0 || libc::fcntl(raw, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(owned)
}
