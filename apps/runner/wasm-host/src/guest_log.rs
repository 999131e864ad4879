//! The guest's stdout and stderr: captured per execution, cut into lines, each line handed to
//! a [`LogSink`] with the execution id (the function's logs).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A line longer than this is handed over in pieces of this size.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Which of the guest's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// `wasi:cli/stdout` (`println!`).
    Stdout,
    /// `wasi:cli/stderr` (`eprintln!`, the SDK's own messages, panic messages).
    Stderr,
}

impl LogStream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// Where the guests' lines go.
pub trait LogSink: Send + Sync + 'static {
    /// One line (without its newline) the guest wrote while serving `execution_id`.
    fn line(&self, execution_id: &str, stream: LogStream, line: &[u8]);

    /// What the host has to say about execution `execution_id` (why it was stopped, say).
    fn host(&self, execution_id: &str, message: &str);
}

/// One execution's stdout or stderr, as given to its `WasiCtx`.
#[derive(Clone)]
pub struct GuestOutput {
    execution_id: Arc<str>,
    stream: LogStream,
    sink: Arc<dyn LogSink>,
}

impl GuestOutput {
    /// The `stream` of execution `execution_id`, into `sink`.
    pub fn new(execution_id: Arc<str>, stream: LogStream, sink: Arc<dyn LogSink>) -> GuestOutput {
        GuestOutput {
            execution_id,
            stream,
            sink,
        }
    }

    fn writer(&self) -> LineWriter {
        LineWriter {
            output: self.clone(),
            pending: Vec::new(),
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }
}

/// Cuts what the guest writes into lines. What is left without a newline when the stream goes
/// (the instance ended) is handed over as a last line.
struct LineWriter {
    output: GuestOutput,
    pending: Vec<u8>,
}

impl LineWriter {
    fn push(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (line, rest) = bytes.split_at(end);
            if self.pending.is_empty() {
                self.emit_long(line);
            } else {
                self.pending.extend_from_slice(line);
                let pending = std::mem::take(&mut self.pending);
                self.emit_long(&pending);
            }
            bytes = &rest[1..];
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= MAX_LINE_BYTES {
            let pending = std::mem::take(&mut self.pending);
            let whole = pending.len() / MAX_LINE_BYTES * MAX_LINE_BYTES;
            self.emit_long(&pending[..whole]);
            self.pending.extend_from_slice(&pending[whole..]);
        }
    }

    fn emit_long(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.emit(line);
            return;
        }
        for piece in line.chunks(MAX_LINE_BYTES) {
            self.emit(piece);
        }
    }

    fn emit(&self, line: &[u8]) {
        self.output
            .sink
            .line(&self.output.execution_id, self.output.stream, line);
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.emit_long(&pending);
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<(String, LogStream, String)>>);

    impl LogSink for Lines {
        fn line(&self, execution_id: &str, stream: LogStream, line: &[u8]) {
            self.0.lock().unwrap().push((
                execution_id.to_string(),
                stream,
                String::from_utf8_lossy(line).into_owned(),
            ));
        }

        fn host(&self, _execution_id: &str, _message: &str) {}
    }

    #[test]
    fn cuts_lines_and_keeps_the_rest_until_the_end() {
        let lines = Arc::new(Lines::default());
        let output = GuestOutput::new("e1".into(), LogStream::Stderr, lines.clone());
        let mut writer = output.writer();
        writer.push(b"one\ntw");
        writer.push(b"o\r\n\nthree");
        drop(writer);
        let got: Vec<String> = lines
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.2.clone())
            .collect();
        assert_eq!(got, ["one", "two", "", "three"]);
        assert!(lines
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|l| l.0 == "e1" && l.1 == LogStream::Stderr));
    }

    #[test]
    fn a_long_line_goes_in_pieces() {
        let lines = Arc::new(Lines::default());
        let output = GuestOutput::new("e2".into(), LogStream::Stdout, lines.clone());
        let mut writer = output.writer();
        writer.push(&vec![b'x'; MAX_LINE_BYTES + 10]);
        writer.push(b"\n");
        drop(writer);
        let sizes: Vec<usize> = lines.0.lock().unwrap().iter().map(|l| l.2.len()).collect();
        assert_eq!(sizes, [MAX_LINE_BYTES, 10]);
    }
}
