//! A TCP stream that remembers whether the peer has started a request it has not finished:
//! hyper reports the same timeout for a keep-alive connection that sat idle (normal, closed
//! quietly) and for headers sent too slowly (an attack, counted and logged), and this tells
//! them apart at the cost of one relaxed store per read or write.
//!
//! It also ends the long-poll the connection's request waits in as soon as it reads the
//! client's close (see [`WaitingPoll`]).

use crate::EngineSession;
use parking_lot::Mutex;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The long-poll a connection's request waits in, if any. When the client closes the
/// connection, the poll is aborted (the session ends, as engine.io's "poll connection closed
/// prematurely") while the read reports the close, before hyper closes its side: a request
/// the client sends once it sees the connection closed, on another connection, finds the
/// session ended — not the dead poll still waiting (an overlap).
#[derive(Default)]
pub(crate) struct WaitingPoll(Mutex<Option<(Weak<EngineSession>, u64)>>);

impl WaitingPoll {
    /// The poll with `arrival` on `session` is about to wait.
    pub(crate) fn set(&self, session: &Arc<EngineSession>, arrival: u64) {
        *self.0.lock() = Some((Arc::downgrade(session), arrival));
    }

    /// The poll with `arrival` has its answer.
    pub(crate) fn clear(&self, arrival: u64) {
        let mut slot = self.0.lock();
        if slot.as_ref().is_some_and(|(_, a)| *a == arrival) {
            *slot = None;
        }
    }

    fn abort(&self) {
        let waiting = self.0.lock().take();
        if let Some((session, arrival)) = waiting {
            if let Some(session) = session.upgrade() {
                session.abort_poll(arrival);
            }
        }
    }
}

pub(crate) struct WatchedIo<T> {
    inner: T,
    /// Set by bytes read, cleared by bytes written (a response): while set, a request is
    /// under way.
    mid_request: Arc<AtomicBool>,
    waiting: Arc<WaitingPoll>,
}

impl<T> WatchedIo<T> {
    pub(crate) fn new(inner: T) -> (Self, Arc<AtomicBool>, Arc<WaitingPoll>) {
        let mid_request = Arc::new(AtomicBool::new(false));
        let waiting = Arc::new(WaitingPoll::default());
        (
            WatchedIo {
                inner,
                mid_request: mid_request.clone(),
                waiting: waiting.clone(),
            },
            mid_request,
            waiting,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let room = buf.remaining();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                self.mid_request.store(true, Ordering::Relaxed);
            }
            // End of stream, or a reset: the client is gone.
            Poll::Ready(Ok(())) if room > 0 => self.waiting.abort(),
            Poll::Ready(Err(_)) => self.waiting.abort(),
            _ => {}
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.mid_request.store(false, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.mid_request.store(false, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
