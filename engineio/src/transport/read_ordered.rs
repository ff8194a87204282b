//! A TCP stream whose readiness to read is reported only when data arrives, so that an event
//! loop serving many connections reads them in the order their data came.
//!
//! tokio registers a `TcpStream` for reading and writing with edge-triggered epoll. The
//! kernel then queues a socket as ready whenever it becomes writable too: when the peer
//! acknowledges what was written, which on loopback happens at once. A socket queued that way
//! keeps its place in the kernel's ready list when its next data arrives, so its data is
//! reported ahead of data that reached other connections earlier: three clients' CONNECTs,
//! sent in order right after their handshakes, were read in another order. Node's event loop
//! watches for writability only while a write waits, and reads in arrival order.
//!
//! This stream does the same: it is registered for reading only, writes go straight to the
//! socket, and only a write the socket refuses (its buffer full) registers a duplicate of the
//! descriptor for writability, until that write went out. The duplicate is a separate entry
//! in the kernel's interest list, so its readiness never moves the reading entry. Its first
//! read waits for the kernel's report too (a connection is accepted with its request there,
//! see `bind_listener`, and the report lists connections in the order they were accepted):
//! read before it, the socket would stay listed at its registration's place and its next data
//! be reported ahead of data that came before.

use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

pub struct ReadOrderedStream {
    reading: AsyncFd<TcpStream>,
    /// Registered while a write waits for room in the socket's buffer.
    writing: Option<AsyncFd<OwnedFd>>,
}

impl ReadOrderedStream {
    /// Takes `stream` over from tokio's own registration. Within a runtime.
    pub fn new(stream: tokio::net::TcpStream) -> io::Result<ReadOrderedStream> {
        let stream = stream.into_std()?;
        Ok(ReadOrderedStream {
            reading: register(stream, Interest::READABLE)?,
            writing: None,
        })
    }

    /// Writes with `write`, waiting for room only when the socket refuses it.
    fn poll_write_with(
        &mut self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if self.writing.is_none() {
            match write(self.reading.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let duplicate = self.reading.get_ref().as_fd().try_clone_to_owned()?;
                    self.writing = Some(register(duplicate, Interest::WRITABLE)?);
                }
                done => return Poll::Ready(done),
            }
        }
        let stream = self.reading.get_ref();
        let done = loop {
            let Some(writing) = self.writing.as_ref() else {
                return Poll::Ready(Err(io::ErrorKind::WouldBlock.into()));
            };
            let mut guard = ready!(writing.poll_write_ready(cx))?;
            if let Ok(done) = guard.try_io(|_| write(stream)) {
                break done;
            }
        };
        // Went out: the duplicate is not needed until the buffer fills again.
        self.writing = None;
        Poll::Ready(done)
    }
}

/// Registers a descriptor the value owns (it stays open, and the same, while registered).
fn register<T: AsFd + std::os::fd::AsRawFd>(
    inner: T,
    interest: Interest,
) -> io::Result<AsyncFd<T>> {
    // SAFETY: `TcpStream` and `OwnedFd` own their descriptor: it is open and unchanged until
    // the `AsyncFd` holding them is dropped.
    unsafe { AsyncFd::register_with_interest(inner, interest) }.map_err(io::Error::from)
}

impl std::os::fd::AsRawFd for ReadOrderedStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.reading.get_ref().as_raw_fd()
    }
}

impl AsyncRead for ReadOrderedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let stream = this.reading.get_ref();
        loop {
            let mut guard = ready!(this.reading.poll_read_ready(cx))?;
            // SAFETY: `read` only writes into the slice, and only the `n` bytes it reports
            // are marked initialised.
            let unfilled =
                unsafe { &mut *(buf.unfilled_mut() as *mut [MaybeUninit<u8>] as *mut [u8]) };
            match guard.try_io(|_| (&*stream).read(unfilled)) {
                Ok(Ok(n)) => {
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for ReadOrderedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |mut s: &TcpStream| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with(cx, |mut s: &TcpStream| s.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.reading.get_ref().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            done => Poll::Ready(done),
        }
    }
}
