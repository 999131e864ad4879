//! What the host tells the runner: one JSON value per line on a pipe of its own
//! (`IGNITE_DIRECT_MESSAGES_FD`), which the runner reads directly (reports, released
//! connections), as the SDK's `serve/native/direct/outbox.rs`. A pipe rather than the channel:
//! the channel passes through the runner's spawn helper, which would have to parse and re-send
//! every report.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::sync::Mutex;

pub(super) struct Outbox {
    pipe: Mutex<File>,
}

impl Outbox {
    /// Takes over descriptor `fd` (`IGNITE_DIRECT_MESSAGES_FD`, inherited from the runner):
    /// blocking writes, the reports thread may wait for the runner.
    pub(super) fn open(fd: RawFd) -> io::Result<Outbox> {
        Ok(Outbox {
            pipe: Mutex::new(File::from(super::inherited::take(fd)?)),
        })
    }

    /// Writes one message (a line of JSON).
    pub(super) fn send(&self, message: &serde_json::Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
        line.push(b'\n');
        self.send_encoded(&line)
    }

    /// Writes lines already encoded (each a JSON value and its newline), in one piece.
    pub(super) fn send_encoded(&self, lines: &[u8]) -> io::Result<()> {
        let mut pipe = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        pipe.write_all(lines)
    }
}
