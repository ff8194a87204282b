//! Wakes the Python thread that drains events without touching the GIL.
//!
//! The core calls the wake closure on its own threads; all it does here is write one byte to
//! a non-blocking socket pair whose other end an asyncio loop watches (`loop.add_reader`).
//! A full buffer means a wake-up is already pending, so a failed write is harmless.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct WakePair {
    reader: UnixStream,
    writer: UnixStream,
    /// The host thread is about to take the events itself (see [`WakePair::hold`]).
    held: AtomicBool,
    /// A wake-up was asked for, maybe while held.
    missed: AtomicBool,
}

impl WakePair {
    pub fn new() -> io::Result<WakePair> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(WakePair {
            reader,
            writer,
            held: AtomicBool::new(false),
            missed: AtomicBool::new(false),
        })
    }

    /// The descriptor the host watches for readability.
    pub fn fd(&self) -> RawFd {
        self.reader.as_raw_fd()
    }

    pub fn wake(&self) {
        // Marked before `held` is read: a `release` that this wake-up does not see held has
        // its mark to find.
        self.missed.store(true, Ordering::SeqCst);
        if self.held.load(Ordering::SeqCst) {
            return;
        }
        self.write();
    }

    fn write(&self) {
        let _ = (&self.writer).write(&[1]);
    }

    /// The host thread takes the queued events itself before it returns to its loop: wake-ups
    /// asked for meanwhile wait for [`WakePair::release`] instead of a write and a read of the
    /// socket pair each.
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Ends [`WakePair::hold`]: wakes the host if a wake-up was asked for and `pending` says
    /// something is still queued.
    pub fn release(&self, pending: impl FnOnce() -> bool) {
        self.held.store(false, Ordering::SeqCst);
        if self.missed.swap(false, Ordering::SeqCst) && pending() {
            self.write();
        }
    }

    /// Consumes pending wake-ups; call before taking queued events, so a wake-up that races
    /// with the drain is seen on the next turn instead of being lost.
    pub fn clear(&self) {
        // Always read: a flag saying whether a byte was written cannot skip this safely. The
        // writer is often preempted between its write and the flag (the woken host takes the
        // core), and the host would then find the descriptor readable and nothing to clear,
        // turn after turn, until the writer runs again.
        let mut buf = [0u8; 512];
        while let Ok(n) = (&self.reader).read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
    }
}
