//! Wakes the Python thread that drains events without touching the GIL.
//!
//! The core calls the wake closure on its own threads; all it does here is write one byte to
//! a non-blocking socket pair whose other end an asyncio loop watches (`loop.add_reader`).
//! A full buffer means a wake-up is already pending, so a failed write is harmless.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

pub struct WakePair {
    reader: UnixStream,
    writer: UnixStream,
}

impl WakePair {
    pub fn new() -> io::Result<WakePair> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(WakePair { reader, writer })
    }

    /// The descriptor the host watches for readability.
    pub fn fd(&self) -> RawFd {
        self.reader.as_raw_fd()
    }

    pub fn wake(&self) {
        let _ = (&self.writer).write(&[1]);
    }

    /// Consumes pending wake-ups; call before taking queued events, so a wake-up that races
    /// with the drain is seen on the next turn instead of being lost.
    pub fn clear(&self) {
        let mut buf = [0u8; 512];
        while let Ok(n) = (&self.reader).read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
    }
}
