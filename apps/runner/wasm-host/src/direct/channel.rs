//! The channel from the runner: a Node.js IPC channel (`NODE_CHANNEL_FD`), the one way a
//! Node.js process can pass a socket to another process.
//!
//! Node's protocol (serialization `json`, the default): each message is one line of JSON. A
//! message that carries a descriptor is `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":…}`,
//! sent with the descriptor as `SCM_RIGHTS` ancillary data on its first byte; the receiver
//! answers `{"cmd":"NODE_HANDLE_ACK"}` (or `NODE_HANDLE_NACK` to have it sent again), and the
//! sender sends nothing else with a descriptor until then. Other `NODE_*` commands are Node's
//! own housekeeping and are ignored here. Only the runner writes messages here; this process
//! answers on its message pipe ([`super::outbox`]). Ported from the SDK's
//! `serve/native/direct/channel.rs`: the protocol is the same for a native program and the wasm host.
// recvmsg with SCM_RIGHTS: nothing in std receives descriptors.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use serde_json::Value;

/// Largest message line accepted (a handoff carries at most the request head it was routed by).
const MAX_LINE: usize = 1 << 20;
/// Descriptors one `recvmsg` can carry (Node sends one per message).
const MAX_FDS: usize = 16;

/// One end of the runner's channel.
pub(super) struct Channel {
    fd: OwnedFd,
    /// Whole lines go out one at a time: the reader (acknowledgements), the report flusher and
    /// the connections (releases) all write.
    writer: Mutex<()>,
}

impl Channel {
    /// Takes over descriptor `fd` (`NODE_CHANNEL_FD`, inherited from the runner).
    pub(super) fn open(fd: RawFd) -> io::Result<Channel> {
        let fd = super::inherited::take(fd)?;
        Ok(Channel {
            fd,
            writer: Mutex::new(()),
        })
    }

    /// Sends one message (a JSON value, as one line).
    fn send(&self, message: &Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
        line.push(b'\n');
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut rest = &line[..];
        while !rest.is_empty() {
            // SAFETY: `rest` is a valid buffer; MSG_NOSIGNAL turns a closed channel into EPIPE.
            let written = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if written < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            rest = &rest[written as usize..];
        }
        Ok(())
    }

    /// Reads messages until the runner closes the channel, calling `deliver` with each one
    /// (`msg` of a handle message, with its descriptor). Blocks: run it on a thread of its own.
    pub(super) fn receive(
        &self,
        mut deliver: impl FnMut(Value, Option<OwnedFd>),
    ) -> io::Result<()> {
        let mut pending: Vec<u8> = Vec::new();
        let mut fds: VecDeque<OwnedFd> = VecDeque::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = self.recv(&mut buffer, &mut fds)?;
            if read == 0 {
                return Ok(());
            }
            pending.extend_from_slice(&buffer[..read]);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
                let line = &pending[start..start + end];
                start += end + 1;
                let Ok(message) = serde_json::from_slice::<Value>(line) else {
                    crate::log_output::host_line(
                        "ignored a message from the runner that is not JSON",
                    );
                    continue;
                };
                match message.get("cmd").and_then(Value::as_str) {
                    Some("NODE_HANDLE") => match fds.pop_front() {
                        Some(fd) => {
                            self.send(&serde_json::json!({ "cmd": "NODE_HANDLE_ACK" }))?;
                            let inner = message.get("msg").cloned().unwrap_or(Value::Null);
                            deliver(inner, Some(fd));
                        }
                        None => self.send(&serde_json::json!({ "cmd": "NODE_HANDLE_NACK" }))?,
                    },
                    Some(cmd) if cmd.starts_with("NODE_") => {}
                    _ => deliver(message, None),
                }
            }
            pending.drain(..start);
            if pending.len() > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a message from the runner is longer than 1 MiB",
                ));
            }
        }
    }

    /// One `recvmsg`: bytes into `buffer`, descriptors onto `fds`.
    fn recv(&self, buffer: &mut [u8], fds: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
        // u64 words keep the control buffer aligned for `cmsghdr`.
        let mut control = [0u64; (MAX_FDS * 4 + 64) / 8];
        loop {
            let mut iov = libc::iovec {
                iov_base: buffer.as_mut_ptr().cast(),
                iov_len: buffer.len(),
            };
            // SAFETY: zeroed msghdr is valid; its pointers are set to live buffers below.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_iov = &mut iov;
            header.msg_iovlen = 1;
            header.msg_control = control.as_mut_ptr().cast();
            header.msg_controllen = std::mem::size_of_val(&control) as _;
            // SAFETY: header points at valid buffers for the duration of the call.
            let read =
                unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut header, libc::MSG_CMSG_CLOEXEC) };
            if read < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            // SAFETY: walking the control messages the kernel just wrote, with libc's macros.
            unsafe {
                let mut cmsg = libc::CMSG_FIRSTHDR(&header);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET
                        && (*cmsg).cmsg_type == libc::SCM_RIGHTS
                    {
                        let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                        let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                            / std::mem::size_of::<RawFd>();
                        for i in 0..count {
                            fds.push_back(OwnedFd::from_raw_fd(std::ptr::read_unaligned(
                                data.add(i),
                            )));
                        }
                    }
                    cmsg = libc::CMSG_NXTHDR(&header, cmsg);
                }
            }
            return Ok(read as usize);
        }
    }
}
