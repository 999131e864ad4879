//! [`ResponseStream`]: a response sent to the caller in chunks while the handler runs.

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Waker;

use bytes::Bytes;
use http::HeaderValue;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// How many chunks may wait to be sent before [`ResponseStream::write`] waits for the caller.
#[cfg(not(target_arch = "wasm32"))]
const CAPACITY: usize = 16;

/// On wasm32 the component's one thread runs both the handler and the glue that sends chunks,
/// so writes never wait: chunks queue until the handler awaits (an async handler) or returns
/// (a synchronous one), then go out. The host's own flow control applies when they are sent.
#[cfg(target_arch = "wasm32")]
const CAPACITY: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// The default `content-type` of a streamed response: one JSON value per line.
const NDJSON: HeaderValue = HeaderValue::from_static("application/x-ndjson");

/// A streaming response: chunks the handler writes reach the caller as they are written,
/// while the handler keeps running. Get it with [`Context::stream`](crate::Context::stream).
///
/// # Semantics
///
/// - The first write starts the response: HTTP 200, `transfer-encoding: chunked`,
///   `content-type: application/x-ndjson` (change it with
///   [`set_content_type`](ResponseStream::set_content_type) before the first write) and
///   `x-ignite-execution-id`. From then on the status can no longer change.
/// - [`send_json`](ResponseStream::send_json) writes one JSON value followed by `\n`
///   (newline-delimited JSON); [`write`](ResponseStream::write) writes raw bytes.
/// - Writes wait (asynchronously) while 16 chunks are queued for a slow caller. If the caller
///   disconnects, an async handler is cancelled (its future is dropped at the `.await` it is
///   waiting on, as for any invocation whose caller goes away); a synchronous handler cannot
///   be interrupted, so its later writes fail instead.
/// - When the handler returns, the stream ends. What it returned is appended as a final line:
///   `Ok(value)` appends `value`'s JSON body (nothing when it is `null`, e.g. `Ok(())`; the
///   status and headers of a returned [`Response`](crate::Response) are ignored), `Err(e)` and
///   a panic append `{"error": "<message>"}`. The final line starts on a line of its own.
///   The HTTP response itself completes normally either way, so a client must check the last
///   line for an `"error"` key.
/// - If the handler never writes, the stream is not used and the response is the usual
///   non-streaming one.
/// - Writes after the handler returned (from a task it spawned) fail.
///
/// In a synchronous handler use [`blocking_write`](ResponseStream::blocking_write) and
/// [`blocking_send_json`](ResponseStream::blocking_send_json).
///
/// On wasm32 (a `wasi:http` component, one thread) the same calls work; writes never wait,
/// and chunks reach the caller each time an async handler awaits, or all when a synchronous
/// handler returns.
///
/// ```no_run
/// use ignite::prelude::*;
/// use std::time::Duration;
///
/// #[ignite::main]
/// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     let stream = ctx.stream();
///     for step in 1..=3 {
///         stream.send_json(&json!({ "step": step })).await?;
///         tokio::time::sleep(Duration::from_millis(100)).await;
///     }
///     Ok(json!({ "done": true })) // sent as the last line
/// }
/// ```
#[derive(Debug)]
pub struct ResponseStream {
    /// `IDLE`, then `STARTED` (first write) or `CLOSED` (the invocation ended unstreamed);
    /// `STARTED` becomes `CLOSED` when the invocation ends. Lets the common case (no
    /// streaming) skip the lock.
    state: AtomicU8,
    sender: OnceLock<mpsc::Sender<Bytes>>,
    slot: Mutex<Slot>,
}

const IDLE: u8 = 0;
const STARTED: u8 = 1;
const CLOSED: u8 = 2;

/// What the serve loop picks up: the receiving end once the stream started.
#[derive(Debug, Default)]
struct Slot {
    receiver: Option<mpsc::Receiver<Bytes>>,
    waker: Option<Waker>,
    content_type: Option<HeaderValue>,
}

/// The receiving side of a started stream, for the serve loop.
pub(crate) struct Started {
    pub(crate) receiver: mpsc::Receiver<Bytes>,
    pub(crate) content_type: HeaderValue,
}

impl ResponseStream {
    pub(crate) fn new() -> ResponseStream {
        ResponseStream {
            state: AtomicU8::new(IDLE),
            sender: OnceLock::new(),
            slot: Mutex::new(Slot::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes raw bytes to the caller (starting the stream if needed). Empty chunks are
    /// skipped.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     ctx.stream().set_content_type("text/plain; charset=utf-8")?;
    ///     ctx.stream().write("partial ").await?;
    ///     ctx.stream().write(String::from("results\n")).await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn write(&self, chunk: impl Into<Bytes>) -> impl Future<Output = Result<()>> + Send + '_ {
        let chunk = chunk.into();
        async move {
            let sender = self.start()?;
            if chunk.is_empty() {
                return Ok(());
            }
            sender.send(chunk).await.map_err(|_| closed())
        }
    }

    /// Writes `value` as one line of JSON (the value and `\n`).
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let items: Vec<String> = req.field("items")?;
    ///     for (index, item) in items.iter().enumerate() {
    ///         ctx.stream()
    ///             .send_json(&json!({ "index": index, "length": item.len() }))
    ///             .await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn send_json<T: Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        let line = json_line(value);
        async move { self.write(line?).await }
    }

    /// Like [`write`](ResponseStream::write), for synchronous handlers: blocks while the
    /// queue is full.
    ///
    /// # Panics
    ///
    /// When called from asynchronous code (on an async executor thread); use `write` there.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     for line in ["one\n", "two\n"] {
    ///         ctx.stream().blocking_write(line)?;
    ///         std::thread::sleep(std::time::Duration::from_millis(50));
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_write(&self, chunk: impl Into<Bytes>) -> Result<()> {
        let chunk = chunk.into();
        let sender = self.start()?;
        if chunk.is_empty() {
            return Ok(());
        }
        #[cfg(not(target_arch = "wasm32"))]
        let sent = sender.blocking_send(chunk);
        // Nothing to wait for on wasm32 (see `CAPACITY`): the queue never fills up.
        #[cfg(target_arch = "wasm32")]
        let sent = sender.try_send(chunk);
        sent.map_err(|_| closed())
    }

    /// Like [`send_json`](ResponseStream::send_json), for synchronous handlers.
    ///
    /// # Panics
    ///
    /// When called from asynchronous code; use `send_json` there.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     ctx.stream().blocking_send_json(&json!({ "progress": 0.5 }))?;
    ///     Ok(json!({ "progress": 1.0 }))
    /// }
    /// ```
    pub fn blocking_send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.blocking_write(json_line(value)?)
    }

    /// Sets the `content-type` of the streamed response (default `application/x-ndjson`).
    /// Fails once the stream has started or if `content_type` is not a valid header value.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     ctx.stream().set_content_type("text/csv")?;
    ///     ctx.stream().write("a,b\n1,2\n").await?;
    ///     Ok(())
    /// }
    /// ```
    pub fn set_content_type(&self, content_type: &str) -> Result<()> {
        let value = HeaderValue::from_str(content_type)
            .map_err(|_| Error::msg(format!("invalid content-type {content_type:?}")))?;
        let mut slot = self.lock();
        if self.state.load(Ordering::Acquire) != IDLE {
            return Err(Error::msg(
                "the response stream has already started (or the invocation has ended): set its content-type before the first write",
            ));
        }
        slot.content_type = Some(value);
        Ok(())
    }

    /// Whether the handler has started streaming (written at least once).
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     assert!(!ctx.stream().is_started());
    ///     ctx.stream().write("x").await?;
    ///     assert!(ctx.stream().is_started());
    ///     Ok(())
    /// }
    /// ```
    pub fn is_started(&self) -> bool {
        self.sender.get().is_some()
    }

    /// The sender, creating the channel (and waking the serve loop) on the first write.
    fn start(&self) -> Result<&mpsc::Sender<Bytes>> {
        if let Some(sender) = self.sender.get() {
            return Ok(sender);
        }
        let mut slot = self.lock();
        if let Some(sender) = self.sender.get() {
            return Ok(sender);
        }
        // Under the lock, so that `finish` sees either no stream or the receiver.
        if self
            .state
            .compare_exchange(IDLE, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(closed());
        }
        let (sender, receiver) = mpsc::channel(CAPACITY);
        slot.receiver = Some(receiver);
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
        Ok(self.sender.get_or_init(|| sender))
    }

    /// For the serve loop while the handler runs: the receiver if the stream has started,
    /// else `None` and `waker` is woken when it starts.
    pub(crate) fn poll_started(&self, waker: &Waker) -> Option<Started> {
        let mut slot = self.lock();
        match slot.receiver.take() {
            Some(receiver) => Some(Started {
                receiver,
                content_type: slot.content_type.take().unwrap_or(NDJSON),
            }),
            None => {
                match &mut slot.waker {
                    Some(existing) if existing.will_wake(waker) => {}
                    other => *other = Some(waker.clone()),
                }
                None
            }
        }
    }

    /// For the serve loop when the handler has returned: the receiver if the stream started;
    /// in any case later writes that would start a stream fail.
    pub(crate) fn finish(&self) -> Option<Started> {
        match self
            .state
            .compare_exchange(IDLE, CLOSED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) | Err(CLOSED) => {
                // Never started (a waker registered by `poll_started` is dropped with `self`).
                return None;
            }
            Err(_) => {}
        }
        let mut slot = self.lock();
        self.state.store(CLOSED, Ordering::Release);
        slot.waker = None;
        slot.receiver.take().map(|receiver| Started {
            receiver,
            content_type: slot.content_type.take().unwrap_or(NDJSON),
        })
    }
}

fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<Bytes> {
    let mut line = Vec::with_capacity(128);
    serde_json::to_writer(&mut line, value)
        .map_err(|error| Error::msg(format!("failed to serialize a stream line: {error}")))?;
    line.push(b'\n');
    Ok(Bytes::from(line))
}

fn closed() -> Error {
    Error::msg("the response stream is closed: the caller disconnected or the invocation ended")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn first_write_starts_the_stream_and_wakes_the_serve_loop() {
        let stream = ResponseStream::new();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        assert!(stream.poll_started(&waker).is_none());
        stream.set_content_type("text/plain").unwrap();
        stream.write("hello ").await.unwrap();
        stream.send_json(&[1, 2]).await.unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(stream.set_content_type("text/csv").is_err());
        let mut started = stream.poll_started(&waker).unwrap();
        assert_eq!(started.content_type, "text/plain");
        assert_eq!(started.receiver.recv().await.unwrap(), "hello ");
        assert_eq!(started.receiver.recv().await.unwrap(), "[1,2]\n");
        started.receiver.close();
        assert!(stream.write("late").await.is_err());
    }

    #[tokio::test]
    async fn finished_streams_reject_writes() {
        let stream = ResponseStream::new();
        assert!(stream.finish().is_none());
        let error = stream.write("late").await.unwrap_err();
        assert!(error.to_string().contains("closed"), "{error}");
    }
}
