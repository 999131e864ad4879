//! The time limit of direct invocations, and idle connections going back to the runner.
//!
//! A thread of its own, not a tokio timer: a handler that never yields (a busy loop, a blocking
//! call inside `async fn`) can hold every worker of the runtime, and the answer must go out
//! anyway. Past a request's deadline the watchdog answers 504 itself on the connection (through
//! its own copy of the descriptor) if nothing of the answer was written yet, else cuts the
//! answer; shuts the socket; reports the invocation; and tells the runner, which stops sending
//! this process connections and stops it once what else is in flight is answered (as it does
//! when one of its proxied invocations runs out of time).
// send and shutdown on the slot's own descriptor copy, from outside the runtime.
#![allow(unsafe_code)]

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::reports::Report;
use super::slots::{DONE, IDLE, REQUEST, RESPONDING, TIMED_OUT};
use super::Shared;

/// How often deadlines are checked: the 504 goes out at most this late.
const INTERVAL: Duration = Duration::from_millis(5);

pub(super) fn run(shared: &Shared) {
    let idle_ms = shared.idle_return.as_millis() as u64;
    loop {
        std::thread::sleep(INTERVAL);
        let now = shared.clock.now_ms();
        for slot in shared.slots.numbers() {
            let local = shared.slots.local(slot);
            let deadline = local.deadline_ms.load(Ordering::Acquire);
            if deadline != 0 && now >= deadline {
                expire(shared, slot);
            }
            // An idle connection holds an instance slot in the runner: its task gives it back
            // (it checks again).
            if shared.slots.get(slot) == IDLE
                && now.saturating_sub(local.last_active_ms.load(Ordering::Acquire)) >= idle_ms
            {
                local.nudge();
            }
        }
    }
}

fn expire(shared: &Shared, slot: usize) {
    let local = shared.slots.local(slot);
    let guard = local.watch.lock().unwrap_or_else(|e| e.into_inner());
    // Checked again under the lock: the answer may have completed meanwhile.
    if local.deadline_ms.swap(0, Ordering::AcqRel) == 0 {
        return;
    }
    let Some(watched) = guard.as_ref() else {
        return;
    };
    let Some(request) = watched.request.as_ref() else {
        return;
    };
    let socket = watched.socket.as_raw_fd();
    let limit_ms = shared.time_limit.as_millis();
    let message = format!("the function did not finish within its time limit of {limit_ms} ms");
    if shared.slots.advance(slot, REQUEST, TIMED_OUT) {
        let body = serde_json::json!({ "error": message, "code": "function_timeout" }).to_string();
        let duration_ms = shared.clock.now_ms().saturating_sub(request.started_ms);
        let head = format!(
            "HTTP/1.1 504 Gateway Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-ignite-execution-id: {}\r\nx-ignite-cold: {}\r\nx-ignite-release: {}\r\nx-ignite-duration-ms: {duration_ms}\r\n\r\n",
            body.len(),
            request.execution_id,
            request.cold,
            shared.release.to_str().unwrap_or(""),
        );
        let answer = [head.as_bytes(), body.as_bytes()].concat();
        // SAFETY: writing a valid buffer to a descriptor this slot owns (a dup of the
        // connection's); MSG_DONTWAIT: a caller that reads nothing cannot block the watchdog.
        unsafe {
            libc::send(
                socket,
                answer.as_ptr().cast(),
                answer.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            );
        }
    } else if !(shared.slots.advance(slot, RESPONDING, TIMED_OUT)
        || shared.slots.advance(slot, DONE, TIMED_OUT))
    {
        return;
    }
    // SAFETY: shutting down a socket this slot owns; the caller sees the end of the connection.
    unsafe {
        libc::shutdown(socket, libc::SHUT_RDWR);
    }
    shared.reports.push(Report {
        execution_id: request.execution_id,
        status: 504,
        duration: Duration::from_millis(shared.clock.now_ms().saturating_sub(request.started_ms)),
        cold: request.cold,
        error: Some(message),
    });
    eprintln!(
        "ignite: invocation {} ran past the time limit of {limit_ms} ms",
        request.execution_id
    );
    drop(guard);
    super::reports::flush(shared);
    shared.tell(&serde_json::json!({ "type": "timeout", "slot": slot }));
}
