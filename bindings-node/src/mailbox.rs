//! The one road from the I/O threads to JavaScript.
//!
//! Two producers feed a server's JavaScript side: the core's [`roomcast::EventQueue`] (socket
//! lifecycle, events, ack completions) and this binding's own [`Mailbox`] (HTTP responses,
//! WebSocket bytes, close completion). Both wake the same [`Waker`], which writes one byte to
//! a socket pair at most once until JavaScript drains — so a burst of thousands of events
//! costs one hop to the JavaScript thread, and a tokio worker never blocks on it.
//!
//! JavaScript watches the other end of the pair as a `net.Socket` and drains on `data`. A
//! threadsafe function would do the same, but it wakes the loop while holding its queue's
//! mutex: with the worker and the JavaScript thread on one core, the woken thread takes the
//! core, finds the mutex held, and both switch twice more, on every wake-up.

use bytes::Bytes;
use parking_lot::Mutex;
use std::io::Write;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Something for JavaScript that is not a core [`roomcast::HostEvent`].
pub enum Delivery {
    /// The answer to a request handed over by `handleHttp`; `None`: not a Socket.IO request.
    Http {
        token: u64,
        response: Option<http::Response<Bytes>>,
    },
    /// Bytes to write to the Node socket of a WebSocket.
    WsData { token: u64, data: Bytes },
    /// The core is done with a WebSocket: end the Node socket.
    WsEnd { token: u64 },
    /// The core caught up with a paused WebSocket's input: resume reading it.
    WsResume { token: u64 },
    /// `close()` has finished.
    Closed { token: u64 },
    /// The `allowRequest` hook must vet a handshake; answer with `answerAllowRequest`.
    AllowRequest {
        token: u64,
        request: roomcast::handshake::RequestInfo,
    },
    /// A connection of the attached `https.Server` the core terminated TLS on, whose first
    /// request is for Node's HTTP server.
    TlsConnection(crate::tls_takeover::PendingTlsConnection),
    /// An `io.engine` event JavaScript listens to.
    Engine(crate::engine_events::EngineEvent),
}

pub struct Waker {
    writer: UnixStream,
    /// The end JavaScript watches, until it takes it.
    reader: Mutex<Option<UnixStream>>,
    /// A drain is scheduled and has not started yet.
    scheduled: AtomicBool,
}

impl Waker {
    pub fn new() -> std::io::Result<Arc<Waker>> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(Arc::new(Waker {
            writer,
            reader: Mutex::new(Some(reader)),
            scheduled: AtomicBool::new(false),
        }))
    }

    /// The descriptor JavaScript reads wake-ups from; it owns it from then on (None after the
    /// first call).
    pub fn take_reader_fd(&self) -> Option<RawFd> {
        self.reader.lock().take().map(IntoRawFd::into_raw_fd)
    }

    /// Schedules a drain unless one is already pending. Never blocks: a full socket buffer
    /// means wake-ups are already waiting to be read.
    pub fn wake(&self) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            let _ = (&self.writer).write(&[1]);
        }
    }

    /// Called by the drain before it takes the queues: anything pushed from now on wakes
    /// JavaScript again.
    pub fn begin_drain(&self) {
        self.scheduled.store(false, Ordering::Release);
    }
}

/// The binding's own deliveries, drained together with the core's queue.
pub struct Mailbox {
    items: Mutex<Vec<Delivery>>,
    waker: Arc<Waker>,
}

impl Mailbox {
    pub fn new(waker: Arc<Waker>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            items: Mutex::new(Vec::new()),
            waker,
        })
    }

    pub fn push(&self, delivery: Delivery) {
        self.items.lock().push(delivery);
        self.waker.wake();
    }

    pub fn take(&self) -> Vec<Delivery> {
        std::mem::take(&mut *self.items.lock())
    }
}
