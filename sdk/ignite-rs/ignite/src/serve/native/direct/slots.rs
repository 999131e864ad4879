//! Where each handed-over connection stands, shared with the runner.
//!
//! The runner numbers the connections it hands over (slots) and creates a file of little-endian
//! `u32`s (`IGNITE_DIRECT_SLOTS`), slot `n`'s state at index `n`; this process maps it shared and
//! keeps each slot's state there with plain atomic stores, no system call per request. The runner
//! numbers slots `IGNITE_DIRECT_SLOT_SPACING` apart (16: a cache line each), so that the worker
//! threads serving neighbouring connections do not take the same line from each other's cores on
//! every request. The runner reads the file only when this process is gone, to answer for it: a
//! request that was read but not answered gets the runner's 500 (or memory-limit) JSON error, an
//! idle connection is routed again as if it were new, anything else is closed.
// mmap of the shared slot file: std has no shared mappings.
#![allow(unsafe_code)]

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

/// Between requests (or before the first one): the runner may route the connection again.
pub(super) const IDLE: u32 = 0;
/// A request is being handled and nothing of its answer is written yet.
pub(super) const REQUEST: u32 = 1;
/// Its answer is being written.
pub(super) const RESPONDING: u32 = 2;
/// The answer is complete, not yet flushed to the socket.
pub(super) const DONE: u32 = 3;
/// The time limit ran out: this process answered 504 (or cut the answer) and shut the socket.
pub(super) const TIMED_OUT: u32 = 4;

/// The shared states, plus what only this process needs per slot.
pub(super) struct Slots {
    states: &'static [AtomicU32],
    spacing: usize,
    /// Slot `n`'s at `n / spacing`.
    local: Vec<SlotLocal>,
}

/// A slot's private part. Aligned to its own cache lines (two: adjacent lines are fetched in
/// pairs): each connection's task writes its slot on every request, from whichever worker
/// thread runs it, and neighbours sharing a line would take it from each other's cores.
#[derive(Default)]
#[repr(align(128))]
pub(super) struct SlotLocal {
    /// When the request in progress must be answered, in ms since [`super::Clock`]'s start (0: none).
    pub(super) deadline_ms: AtomicU64,
    /// What the time-limit watchdog needs to answer for the request itself.
    pub(super) watch: Mutex<Option<Watched>>,
    /// Clock ms of the last request start or answer end (idle connections go back to the runner).
    pub(super) last_active_ms: AtomicU64,
    /// The connection's task, and whether it was asked to check if it should go back to the
    /// runner (idle too long, or the process drains): see [`SlotLocal::nudge`].
    wake: AtomicWaker,
    nudged: AtomicBool,
    /// The connection's caller asked for another function (421): it closes once that is answered.
    pub(super) closing: AtomicBool,
    /// Requests of a public connection's budget served so far (counted only when it has one).
    pub(super) served: AtomicU32,
}

/// The connection as the watchdog sees it: its own copy of the descriptor (so that a number the
/// connection task closed and the kernel reused is never written to) and the request in progress.
pub(super) struct Watched {
    pub(super) socket: OwnedFd,
    pub(super) request: Option<InFlight>,
}

/// The request a connection is handling.
pub(super) struct InFlight {
    pub(super) execution_id: super::reports::ExecutionId,
    /// [`super::Clock`] ms.
    pub(super) started_ms: u64,
    pub(super) cold: bool,
}

impl SlotLocal {
    /// Wakes the connection's task to check whether it should go back to the runner: the
    /// watchdog thread does it (so there is no timer per connection), and a drain. Not repeated
    /// while a nudge is pending; an unused slot's nudge is only a flag.
    pub(super) fn nudge(&self) {
        if !self.nudged.swap(true, Ordering::SeqCst) {
            self.wake.wake();
        }
    }

    /// Forgets the pending nudge: the task checks now.
    pub(super) fn checked(&self) {
        self.nudged.store(false, Ordering::SeqCst);
    }

    /// Ready once nudged. Polled with the connection on every wake-up of its task: a flag and a
    /// waker slot (two uncontended atomic operations), where a `Notify` took a lock each time.
    pub(super) fn nudged(&self) -> Nudged<'_> {
        Nudged(self)
    }
}

/// See [`SlotLocal::nudged`].
pub(super) struct Nudged<'a>(&'a SlotLocal);

impl Future for Nudged<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Registered before the flag is read: a nudge after the read wakes this waker.
        self.0.wake.register(cx.waker());
        if self.0.nudged.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Slots {
    /// Maps the runner's slot file (opened for reading and writing), whose slots are numbered
    /// `spacing` apart.
    pub(super) fn map(file: &File, spacing: usize) -> io::Result<Slots> {
        let len = file.metadata()?.len() as usize;
        let count = len / 4;
        if count < spacing {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "it holds no slot",
            ));
        }
        // SAFETY: a shared read-write mapping of the whole file, which stays mapped (leaked) for
        // the life of the process; the runner only reads it after this process is gone.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                count * 4,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the mapping is page-aligned, `count * 4` bytes long and lives forever;
        // AtomicU32 has the layout of u32.
        let states = unsafe { std::slice::from_raw_parts(address.cast::<AtomicU32>(), count) };
        Ok(Slots {
            states,
            spacing,
            local: (0..count.div_ceil(spacing))
                .map(|_| SlotLocal::default())
                .collect(),
        })
    }

    /// Every slot's number.
    pub(super) fn numbers(&self) -> impl Iterator<Item = usize> {
        let spacing = self.spacing;
        (0..self.local.len()).map(move |index| index * spacing)
    }

    /// `slot` is one of the runner's numbers.
    pub(super) fn contains(&self, slot: usize) -> bool {
        slot.is_multiple_of(self.spacing) && slot < self.states.len()
    }

    pub(super) fn local(&self, slot: usize) -> &SlotLocal {
        &self.local[slot / self.spacing]
    }

    /// Moves `slot` from `from` to `to`; false if it was in another state.
    pub(super) fn advance(&self, slot: usize, from: u32, to: u32) -> bool {
        self.states[slot]
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(super) fn set(&self, slot: usize, state: u32) {
        self.states[slot].store(state, Ordering::Release);
    }

    pub(super) fn get(&self, slot: usize) -> u32 {
        self.states[slot].load(Ordering::Acquire)
    }
}
