//! The host's stderr, the runner's to read: one line per guest line, tagged with its
//! execution, and the host's own lines.
//!
//! ```text
//! exec <execution-id> stdout <text>   a line the guest wrote to stdout while serving <execution-id>
//! exec <execution-id> stderr <text>   the same for stderr (the SDK's messages, panics)
//! host <execution-id> <text>          the host about that execution (stopped at a limit, trapped)
//! host - <text>                       the host about itself (listening, ready, figures, errors)
//! ```
//!
//! Execution ids have no spaces (see [`crate::platform_headers::execution_id`]); `<text>` is
//! the rest of the line, as the guest wrote it (not necessarily UTF-8, no newline, at most
//! [`crate::guest_log::MAX_LINE_BYTES`]).

use std::io::Write;

use crate::guest_log::{LogSink, LogStream};

/// Writes the lines to the process's stderr, each with one `write` (whole lines: the lock of
/// std's stderr keeps threads' lines apart).
pub struct StderrLog;

impl LogSink for StderrLog {
    fn line(&self, execution_id: &str, stream: LogStream, line: &[u8]) {
        write_line(&format_line(execution_id, stream, line));
    }

    fn host(&self, execution_id: &str, message: &str) {
        write_line(&format_host(Some(execution_id), message));
    }
}

/// `exec <id> <stream> <text>\n`.
pub fn format_line(execution_id: &str, stream: LogStream, line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + execution_id.len() + 14);
    out.extend_from_slice(b"exec ");
    out.extend_from_slice(execution_id.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

/// `host <id or -> <text>\n` (a newline in the text becomes a space).
pub fn format_host(execution_id: Option<&str>, message: &str) -> Vec<u8> {
    format!(
        "host {} {}\n",
        execution_id.unwrap_or("-"),
        message.replace('\n', " ")
    )
    .into_bytes()
}

/// A host line about the host itself.
pub fn host_line(message: &str) {
    write_line(&format_host(None, message));
}

fn write_line(bytes: &[u8]) {
    let _ = std::io::stderr().lock().write_all(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_formats() {
        assert_eq!(
            format_line("0198-a", LogStream::Stderr, b"action echo"),
            b"exec 0198-a stderr action echo\n"
        );
        assert_eq!(
            format_host(Some("0198-a"), "stopped\nhere"),
            b"host 0198-a stopped here\n"
        );
        assert_eq!(format_host(None, "ready"), b"host - ready\n");
    }
}
