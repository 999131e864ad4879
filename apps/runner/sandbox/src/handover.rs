//! Descriptors across the launcher's two processes: the start request and the descriptors the
//! launcher opened for it go from the host side to the sandbox side over a socket pair
//! (`SCM_RIGHTS`), and land at the numbers the program expects.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::cmsg_space;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    UnixCredentials,
};

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
    stream
        .write_all(payload)
        .map_err(|error| format!("could not hand the program over: {error}"))
}

/// A payload and the descriptors that came with it.
pub type Received = (Vec<u8>, Vec<OwnedFd>);

/// Receives what `send` sent; `None` when the other side closed first.
pub fn receive(stream: &mut UnixStream) -> Result<Option<Received>, String> {
    let mut length = [0u8; 8];
    let mut space = cmsg_space!([RawFd; MAX_FDS]);
    let (read, fds) = {
        let mut iov = [IoSliceMut::new(&mut length)];
        let message = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|error| format!("could not receive the program: {error}"))?;
        let mut fds = Vec::new();
        for control in message
            .cmsgs()
            .map_err(|error| format!("could not receive the program: {error}"))?
        {
            if let ControlMessageOwned::ScmRights(received) = control {
                // SAFETY: the kernel just installed these descriptors in this process for us.
                fds.extend(
                    received
                        .into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
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
        return Err(format!(
            "the start request is {size} bytes, more than {MAX_REQUEST_BYTES}"
        ));
    }
    let mut payload = vec![0u8; size as usize];
    stream
        .read_exact(&mut payload)
        .map_err(|error| format!("could not receive the program: {error}"))?;
    Ok(Some((payload, fds)))
}

/// How the program ended, as the sandbox's init tells the host side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code.
    Code(i32),
    /// A signal (this number) killed it.
    Signal(i32),
}

/// What comes back from the sandbox side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The program is about to be executed; its pid as the host side's namespace sees it.
    Started(i32),
    /// The program is gone.
    Ended(Ended),
}

/// Lets the host side's end see the senders' credentials (pids translated into its namespace).
pub fn pass_credentials(stream: &UnixStream) -> Result<(), String> {
    setsockopt(stream, sockopt::PassCred, &true)
        .map_err(|error| format!("could not receive credentials: {error}"))
}

/// The program's process says it is about to run, with its credentials (the kernel translates
/// its pid into the host's pid namespace).
pub fn send_credentials(stream: &mut UnixStream) -> Result<(), String> {
    let credentials = UnixCredentials::new();
    let iov = [IoSlice::new(b"p")];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmCredentials(&credentials)],
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(|error| format!("could not report the program's start: {error}"))
}

/// The init says how the program ended.
pub fn send_status(stream: &mut UnixStream, ended: Ended) -> std::io::Result<()> {
    let (kind, value) = match ended {
        Ended::Code(code) => (b'c', code),
        Ended::Signal(signal) => (b's', signal),
    };
    let mut message = [kind, 0, 0, 0, 0];
    message[1..].copy_from_slice(&value.to_le_bytes());
    stream.write_all(&message)
}

/// The next report from the sandbox side; `None` once it is gone without one.
pub fn receive_report(stream: &mut UnixStream) -> Result<Option<Report>, String> {
    let mut kind = [0u8; 1];
    let mut space = cmsg_space!(UnixCredentials);
    let (read, pid) = {
        let mut iov = [IoSliceMut::new(&mut kind)];
        let message = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|error| format!("could not hear from the sandbox: {error}"))?;
        let mut pid = None;
        for control in message
            .cmsgs()
            .map_err(|error| format!("could not hear from the sandbox: {error}"))?
        {
            if let ControlMessageOwned::ScmCredentials(credentials) = control {
                pid = Some(credentials.pid());
            }
        }
        (message.bytes, pid)
    };
    if read == 0 {
        return Ok(None);
    }
    match kind[0] {
        b'p' => pid
            .map(|pid| Some(Report::Started(pid)))
            .ok_or_else(|| "the program's start came without its pid".to_string()),
        b'c' | b's' => {
            let mut value = [0u8; 4];
            stream
                .read_exact(&mut value)
                .map_err(|error| format!("could not hear from the sandbox: {error}"))?;
            let value = i32::from_le_bytes(value);
            Ok(Some(Report::Ended(if kind[0] == b'c' {
                Ended::Code(value)
            } else {
                Ended::Signal(value)
            })))
        }
        other => Err(format!("the sandbox said something unknown ({other})")),
    }
}

/// Puts each `(descriptor, number)` at its number, open across `execve`; every other
/// descriptor from 3 up is closed on `execve`. Descriptors 0–2 are left as they are.
pub fn place(wanted: &[(RawFd, RawFd)]) -> Result<(), String> {
    // Copies first, far above every number involved: a source may sit at another's target.
    let mut staged = Vec::with_capacity(wanted.len());
    for &(source, target) in wanted {
        let copy = fcntl_raw(source, FcntlArg::F_DUPFD_CLOEXEC(256))
            .map_err(|error| format!("could not copy descriptor {source}: {error}"))?;
        staged.push((copy, target));
    }
    // SAFETY: close_range only changes descriptor flags of this process.
    let result = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if result != 0 {
        return Err(format!(
            "could not mark descriptors close-on-exec: {}",
            std::io::Error::last_os_error()
        ));
    }
    for (copy, target) in staged {
        // dup2 onto another number: the new descriptor stays open across execve.
        // SAFETY: plain descriptor calls; `copy` is ours and closed right after.
        if unsafe { libc::dup2(copy, target) } < 0 {
            return Err(format!(
                "could not place descriptor {target}: {}",
                std::io::Error::last_os_error()
            ));
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
    let raw = fcntl_raw(fd.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(min))
        .map_err(|error| format!("could not move a descriptor: {error}"))?;
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
        let path =
            std::env::temp_dir().join(format!("ignite-sandbox-handover-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(path).unwrap();
        file
    }
}
