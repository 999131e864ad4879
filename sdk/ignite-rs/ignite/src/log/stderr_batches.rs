//! Log lines to stderr in batches, off the handler's thread.
//!
//! A write to stderr is a system call, and each one wakes the runner that reads the other end
//! of the pipe: at tens of thousands of lines a second that costs more than the handlers. So a
//! line is appended to a buffer and a thread of the SDK's writes what has gathered while it
//! wrote the previous batch: one line alone goes out at once, a flood in large writes, and the
//! order of the lines is kept. What the buffer holds when the process dies without
//! [`flush`] (killed at its memory limit, say) is lost: the writes are never more than one
//! batch behind.

use std::io::Write as _;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

/// Past this many bytes waiting (stderr is not being read), a line is written by its own
/// thread, as an unbuffered write would be: memory stays bounded, and the writer waits.
const MAX_BUFFERED: usize = 1 << 20;

/// How long a batch gathers lines after its first.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

struct Batches {
    waiting: Mutex<Vec<u8>>,
    /// Held while a batch is written; taken while `waiting` is held, so batches go out in the
    /// order they were taken.
    writing: Mutex<()>,
    ready: Condvar,
}

static BATCHES: OnceLock<Option<Batches>> = OnceLock::new();

fn batches() -> Option<&'static Batches> {
    BATCHES
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("ignite-log".to_string())
                .spawn(|| {
                    if let Some(batches) = batches() {
                        batches.write_forever();
                    }
                })
                .ok()
                .map(|_| Batches {
                    waiting: Mutex::new(Vec::with_capacity(64 * 1024)),
                    writing: Mutex::new(()),
                    ready: Condvar::new(),
                })
        })
        .as_ref()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a line was appended leaves whole lines behind: go on with them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `bytes` (whole lines) to stderr, soon and in order.
pub(crate) fn write(bytes: &[u8]) {
    let Some(batches) = batches() else {
        // No thread to write them: as std's macros do.
        let _ = std::io::stderr().lock().write_all(bytes);
        return;
    };
    let mut waiting = lock(&batches.waiting);
    if waiting.len() + bytes.len() > MAX_BUFFERED {
        waiting.extend_from_slice(bytes);
        batches.write_out(waiting);
        return;
    }
    let was_empty = waiting.is_empty();
    waiting.extend_from_slice(bytes);
    drop(waiting);
    // The writer sleeps only on an empty buffer: a line after the first of a batch wakes nobody.
    if was_empty {
        batches.ready.notify_one();
    }
}

/// Writes what is waiting now, before this returns (at exit, before a panic's message).
pub(crate) fn flush() {
    if let Some(Some(batches)) = BATCHES.get() {
        batches.write_out(lock(&batches.waiting));
    }
}

impl Batches {
    fn write_forever(&self) {
        let mut spare = Vec::with_capacity(64 * 1024);
        loop {
            let mut waiting = lock(&self.waiting);
            while waiting.is_empty() {
                waiting = self
                    .ready
                    .wait(waiting)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            // Lines that come in the next moment join this batch (a line alone waits that long).
            drop(waiting);
            std::thread::sleep(GATHER);
            let mut waiting = lock(&self.waiting);
            std::mem::swap(&mut *waiting, &mut spare);
            let writing = lock(&self.writing);
            drop(waiting);
            // Nowhere to say that stderr is gone.
            let _ = std::io::stderr().lock().write_all(&spare);
            drop(writing);
            spare.clear();
            if spare.capacity() > MAX_BUFFERED {
                spare = Vec::with_capacity(64 * 1024);
            }
        }
    }

    /// Writes the waiting bytes on the calling thread, after any batch being written.
    fn write_out(&self, mut waiting: MutexGuard<'_, Vec<u8>>) {
        let batch = std::mem::take(&mut *waiting);
        let writing = lock(&self.writing);
        drop(waiting);
        let _ = std::io::stderr().lock().write_all(&batch);
        drop(writing);
    }
}
