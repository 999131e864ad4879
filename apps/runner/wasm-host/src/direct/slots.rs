//! Where each handed-over connection stands, shared with the runner.
//!
//! The runner numbers the connections it hands over (slots) and creates a file of little-endian
//! `u32`s (`IGNITE_DIRECT_SLOTS`, or the descriptor `IGNITE_DIRECT_SLOTS_FD` in a sandbox), slot
//! `n`'s state at index `n`; the host maps it shared and keeps each slot's state there with plain
//! atomic stores, no system call per request. Slots are numbered `IGNITE_DIRECT_SLOT_SPACING`
//! apart (a cache line each: the worker threads serving neighbouring connections do not take a
//! line from each other's cores on every request). The runner reads the file only when the host
//! is gone, to answer for it: a request that was read but not answered gets the runner's 500 (or
//! memory-limit) JSON error, an idle connection is routed again, anything else is closed.
//!
//! The states are the SDK's (`sdk/ignite-rs/ignite/src/serve/native/direct/slots.rs`, and
//! `DirectSlotState` in @ignite/contracts) but for `TIMED_OUT`, which the host never sets: it
//! answers its own 504 through hyper like any answer, and the connection goes on.
// mmap of the shared slot file: std has no shared mappings.
#![allow(unsafe_code)]

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
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

/// The shared states, plus what only the host needs per slot.
pub(super) struct Slots {
    states: &'static [AtomicU32],
    spacing: usize,
    /// Slot `n`'s at `n / spacing`.
    local: Vec<SlotLocal>,
}

/// A slot's private part, on cache lines of its own (two: adjacent lines are fetched in pairs):
/// each connection's task writes its slot on every request, from whichever worker thread runs it.
#[derive(Default)]
#[repr(align(128))]
pub(super) struct SlotLocal {
    /// Clock ms of the last request start or answer end (idle connections go back to the runner).
    pub(super) last_active_ms: AtomicU64,
    /// The connection's task, and whether it was asked to check if it should go back to the
    /// runner (idle too long, or the host drains): see [`SlotLocal::nudge`].
    wake: AtomicWaker,
    nudged: AtomicBool,
    /// The connection's caller asked for another function (421): it closes once that is answered.
    pub(super) closing: AtomicBool,
    /// Requests of a public connection's budget served so far (counted only when it has one).
    pub(super) served: AtomicU32,
}

impl SlotLocal {
    /// Wakes the connection's task to check whether it should go back to the runner: the idle
    /// thread does it (no timer per connection), and a drain. Not repeated while a nudge is
    /// pending; an unused slot's nudge is only a flag.
    pub(super) fn nudge(&self) {
        if !self.nudged.swap(true, Ordering::SeqCst) {
            self.wake.wake();
        }
    }

    /// Forgets the pending nudge: the task checks now.
    pub(super) fn checked(&self) {
        self.nudged.store(false, Ordering::SeqCst);
    }

    /// Ready once nudged; polled with the connection on every wake-up of its task.
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
        // the life of the process; the runner only reads it after the host is gone.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_slot_s_state_in_the_shared_file() {
        let path = std::env::temp_dir().join(format!("wasm-host-slots-{}", std::process::id()));
        std::fs::write(&path, vec![0u8; 4 * 16 * 3]).unwrap();
        let file = File::options().read(true).write(true).open(&path).unwrap();
        let slots = Slots::map(&file, 16).unwrap();
        assert_eq!(slots.numbers().collect::<Vec<_>>(), [0, 16, 32]);
        assert!(slots.contains(16) && !slots.contains(17) && !slots.contains(48));
        slots.set(16, REQUEST);
        assert!(slots.advance(16, REQUEST, RESPONDING));
        assert!(!slots.advance(16, REQUEST, DONE));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes[16 * 4..16 * 4 + 4], RESPONDING.to_le_bytes());
        std::fs::remove_file(&path).unwrap();
    }
}
