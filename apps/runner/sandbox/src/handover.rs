//! Descriptors across the launcher's two processes: the start request and the descriptors the
//! launcher opened for it go from the host side to the sandbox side over a socket pair
//! (`SCM_RIGHTS`), and land at the numbers the program expects.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::cmsg_space;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

/// Most descriptors one start hands over (the program and its passed files).
pub const MAX_FDS: usize = 16;
/// Largest start request (its environment included).
const MAX_REQUEST_BYTES: u64 = 4 << 20;

/// Sends `payload` with `fds`: a length, carrying the descriptors, then the bytes.
pub fn send(stream: &mut UnixStream, payload: &[u8], fds: &[RawFd]) -> Result<(), String> {
    let length = (payload.len() as u64).to_le_bytes();
    let iov = [IoSlice::new(&length)];
    let rights = [ControlMessage::ScmRights(fds)];
    let sent = sendmsg::<()>(stream.as_raw_fd(), &iov, &rights, MsgFlags::empty(), None)
        .map_err(|error| format!("could not hand the program over: {error}"))?;
    if sent != length.len() {
        return Err("could not hand the program over: short write".to_string());
    }
    stream.write_all(payload).map_err(|error| format!("could not hand the program over: {error}"))
}

/// Receives what `send` sent; `None` when the other side closed first.
pub fn receive(stream: &mut UnixStream) -> Result<Option<(Vec<u8>, Vec<OwnedFd>)>, String> {
    let mut length = [0u8; 8];
    let mut space = cmsg_space!([RawFd; MAX_FDS]);
    let (read, fds) = {
        let mut iov = [IoSliceMut::new(&mut length)];
        let message = recvmsg::<()>(stream.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(|error| format!("could not receive the program: {error}"))?;
        let mut fds = Vec::new();
        for control in message.cmsgs().map_err(|error| format!("could not receive the program: {error}"))? {
            if let ControlMessageOwned::ScmRights(received) = control {
                // SAFETY: the kernel just installed these descriptors in this process for us.
                fds.extend(received.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
        (message.bytes, fds)
    };
    if read == 0 {
        return Ok(None);
    }
    if read < length.len() {
        stream
            .read_exact(&mut length[read..])
            .map_err(|error| format!("could not receive the program: {error}"))?;
    }
    let size = u64::from_le_bytes(length);
    if size > MAX_REQUEST_BYTES {
        return Err(format!("the start request is {size} bytes, more than {MAX_REQUEST_BYTES}"));
    }
    let mut payload = vec![0u8; size as usize];
    stream
        .read_exact(&mut payload)
        .map_err(|error| format!("could not receive the program: {error}"))?;
    Ok(Some((payload, fds)))
}

/// Puts each `(descriptor, number)` at its number, open across `execve`; every other
/// descriptor from 3 up is closed on `execve`. Descriptors 0–2 are left as they are.
pub fn place(wanted: &[(RawFd, RawFd)]) -> Result<(), String> {
    // Copies first, far above every number involved: a source may sit at another's target.
    let mut staged = Vec::with_capacity(wanted.len());
    for &(source, target) in wanted {
        let copy = fcntl_raw(source, FcntlArg::F_DUPFD_CLOEXEC(256)).map_err(|error| format!("could not copy descriptor {source}: {error}"))?;
        staged.push((copy, target));
    }
    // SAFETY: close_range only changes descriptor flags of this process.
    let result = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as u32) };
    if result != 0 {
        return Err(format!("could not mark descriptors close-on-exec: {}", std::io::Error::last_os_error()));
    }
    for (copy, target) in staged {
        // dup2 onto another number: the new descriptor stays open across execve.
        // SAFETY: plain descriptor calls; `copy` is ours and closed right after.
        if unsafe { libc::dup2(copy, target) } < 0 {
            return Err(format!("could not place descriptor {target}: {}", std::io::Error::last_os_error()));
        }
        unsafe { libc::close(copy) };
    }
    Ok(())
}

/// Whether descriptor `fd` is open in this process.
pub fn is_open(fd: RawFd) -> bool {
    fcntl_raw(fd, FcntlArg::F_GETFD).is_ok()
}

/// `fd` moved to a number of at least `min`, close-on-exec.
pub fn lift(fd: OwnedFd, min: RawFd) -> Result<OwnedFd, String> {
    let raw = fcntl_raw(fd.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(min)).map_err(|error| format!("could not move a descriptor: {error}"))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn fcntl_raw(fd: RawFd, arg: FcntlArg) -> nix::Result<RawFd> {
    // SAFETY: `fd` is only used for this one call, which fails with EBADF if it is not open.
    fcntl(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }, arg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Seek;

    #[test]
    fn payload_and_descriptors_arrive_together() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut file = tempfile();
        file.write_all(b"hello").unwrap();
        let payload = vec![7u8; 300_000];
        let sender = std::thread::spawn(move || {
            send(&mut a, &payload, &[file.as_raw_fd()]).unwrap();
            drop(a);
        });
        let (received, fds) = receive(&mut b).unwrap().unwrap();
        sender.join().unwrap();
        assert_eq!(received.len(), 300_000);
        assert_eq!(fds.len(), 1);
        let mut copy = File::from(fds.into_iter().next().unwrap());
        copy.rewind().unwrap();
        let mut text = String::new();
        copy.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        assert!(receive(&mut b).unwrap().is_none());
    }

    fn tempfile() -> File {
        let path = std::env::temp_dir().join(format!("ignite-sandbox-handover-{}", std::process::id()));
        let file = File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        std::fs::remove_file(path).unwrap();
        file
    }
}
