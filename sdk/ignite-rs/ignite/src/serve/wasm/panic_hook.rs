//! Panics on wasm32: the component is built with `panic = "abort"` (the target cannot unwind),
//! so a panic cannot be caught and turned into a response the way the native serve loop does.
//! Instead the invocation keeps what it answers with (the `response-outparam`, later the
//! response stream) here, and the panic hook answers with the error before the component
//! traps: 500 `{"error": "<panic message>"}`, or a last `{"error": ...}` line if the response
//! is a stream, exactly what a native function sends.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use tokio::sync::mpsc;
use wasip2::http::types::ResponseOutparam;

use super::http_io::{self, StreamOut};
use crate::context::Context;
use crate::response::{error_body, Response};

/// What the invocation in progress answers with.
struct Slot {
    execution_id: HeaderValue,
    /// Until the response is started.
    outparam: Option<ResponseOutparam>,
    /// The invocation's context while the handler runs: its stream may have started without
    /// the glue knowing yet, and its temp store is removed.
    ctx: Option<Context>,
    /// While a streamed response is under way: where it goes, and the chunks queued for it.
    stream: Option<StreamOut>,
    queued: Option<Rc<RefCell<mpsc::Receiver<Bytes>>>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// Installs the hook, once per component instance (at the first request).
pub(super) fn install() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let message = crate::panic::message(info.payload());
        answer_with_panic(&message);
    }));
}

fn answer_with_panic(message: &str) {
    // The slot is never borrowed across code that can panic, but a panic in the glue itself
    // must not panic again here.
    let slot = CURRENT.with(|current| {
        current
            .try_borrow_mut()
            .ok()
            .and_then(|mut slot| slot.take())
    });
    let Some(mut slot) = slot else {
        eprintln!("ignite: panicked outside of an invocation: {message}");
        return;
    };
    let execution_id = slot.execution_id.to_str().unwrap_or_default().to_owned();
    eprintln!("ignite: invocation {execution_id} panicked: {message}");
    let mut error_line = error_body(message).to_vec();
    error_line.push(b'\n');
    // As on native: the stream's queued chunks still go out, then the error as the last line;
    // without a stream, a 500.
    if let Some(outparam) = slot.outparam.take() {
        match slot.ctx.as_ref().and_then(|ctx| ctx.stream().finish()) {
            Some(started) => {
                let mut stream =
                    http_io::start_stream(outparam, started.content_type, slot.execution_id);
                let mut receiver = started.receiver;
                send_queued(&mut stream, &mut receiver);
                stream.write_line(&error_line);
                stream.finish();
            }
            None => {
                let response = Response::error(StatusCode::INTERNAL_SERVER_ERROR, message);
                http_io::send_complete(outparam, response, slot.execution_id);
            }
        }
    } else if let Some(mut stream) = slot.stream.take() {
        if let Some(queued) = slot.queued.take() {
            if let Ok(mut receiver) = queued.try_borrow_mut() {
                send_queued(&mut stream, &mut receiver);
            }
        }
        stream.write_line(&error_line);
        stream.finish();
    }
    if let Some(ctx) = slot.ctx.take() {
        ctx.temp_store().close();
    }
}

fn send_queued(stream: &mut StreamOut, receiver: &mut mpsc::Receiver<Bytes>) {
    receiver.close();
    while let Ok(chunk) = receiver.try_recv() {
        stream.write(&chunk);
    }
}

/// The invocation in progress; leaving it (normally) clears the slot.
pub(super) struct Current(());

impl Current {
    pub(super) fn enter(execution_id: HeaderValue, outparam: ResponseOutparam) -> Current {
        CURRENT.with(|current| {
            *current.borrow_mut() = Some(Slot {
                execution_id,
                outparam: Some(outparam),
                ctx: None,
                stream: None,
                queued: None,
            });
        });
        Current(())
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let slot = CURRENT.with(|current| current.borrow_mut().take());
        // Every path answers before it returns; an unused outparam is dropped, which the host
        // reports as an error of its own.
        drop(slot);
    }
}

fn with_slot<T>(f: impl FnOnce(&mut Slot) -> T) -> T {
    CURRENT.with(|current| {
        let mut slot = current.borrow_mut();
        f(slot.as_mut().expect("an invocation is in progress"))
    })
}

/// The `response-outparam`, to answer now.
pub(super) fn take_outparam() -> ResponseOutparam {
    with_slot(|slot| slot.outparam.take()).expect("the response was not sent yet")
}

/// The invocation's context, once the handler was called.
pub(super) fn set_context(ctx: Option<Context>) {
    with_slot(|slot| slot.ctx = ctx);
}

/// The response is a stream from now on.
pub(super) fn set_stream(stream: StreamOut, queued: Rc<RefCell<mpsc::Receiver<Bytes>>>) {
    with_slot(|slot| {
        slot.stream = Some(stream);
        slot.queued = Some(queued);
    });
}

/// Sends a chunk of the streamed response.
pub(super) fn write_stream_chunk(chunk: &[u8]) {
    // Taken out while writing, so that the slot is not borrowed during the host call.
    let mut stream = with_slot(|slot| slot.stream.take()).expect("a stream is under way");
    stream.write(chunk);
    with_slot(|slot| slot.stream = Some(stream));
}

/// Ends the streamed response.
pub(super) fn finish_stream() {
    if let Some(stream) = with_slot(|slot| slot.stream.take()) {
        stream.finish();
    }
}
