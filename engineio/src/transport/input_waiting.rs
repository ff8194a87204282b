//! What a connection's client has sent that the server has not read, or not handled, yet.
//!
//! The reactor's readiness is a cached report: another thread (a host's event loop) can look
//! at a connection before the runtime has woken for bytes that already arrived, or while the
//! runtime holds bytes it has read and not handled. [`ReadTracked`] wraps a connection's
//! socket and answers for both through its [`SocketInput`].

use parking_lot::{Mutex, RwLock};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A connection's input, as another thread can ask about it. Used twice:
/// - a probing WebSocket whose session's polls are read by another event loop (a Node
///   `http.Server`) asks [`SocketInput::waiting`]: that loop can read a poll before this
///   runtime's reactor has noticed the `5` the client sent earlier on the WebSocket;
/// - a session asks [`SocketInput::unhandled`] for its running WebSocket
///   ([`crate::EngineSession::input`]): a host that handles events a turn after
///   they arrive can tell whether the client had already sent more (a disconnect, say).
pub type InputWaiting = Arc<SocketInput>;

/// Called once the bytes a [`SocketInput::unhandled_or_notify`] saw are handled.
pub type InputNotify = Arc<dyn Fn() + Send + Sync>;

pub struct SocketInput {
    /// Set before each read of the socket, cleared when a read finds nothing: while set, the
    /// reader holds (or is taking) bytes it has not finished handling. The reader reads again
    /// only once it has handled everything read before.
    in_hand: AtomicBool,
    /// The socket, until its stream is dropped: a peek holds the read lock, so the descriptor
    /// cannot be closed (and its number reused) under it.
    #[cfg(unix)]
    fd: RwLock<Option<std::os::fd::RawFd>>,
    /// Someone waits for the bytes to be handled: the reader calls `notify` when it next finds
    /// the socket empty (or the stream is dropped). Checked on every empty read, hence the flag
    /// in front of the lock.
    watched: AtomicBool,
    notify: Mutex<Option<InputNotify>>,
}

impl SocketInput {
    /// Whether bytes (or the end of the stream) wait in the kernel's queue.
    pub fn waiting(&self) -> bool {
        #[cfg(unix)]
        {
            let fd = self.fd.read();
            let Some(fd) = *fd else { return false };
            let mut byte = 0u8;
            // SAFETY: a one-byte out-buffer; MSG_PEEK leaves the byte queued, MSG_DONTWAIT never
            // blocks. `fd` is open: the stream that owns it clears it (under the write lock)
            // before it closes it.
            let n = unsafe {
                libc::recv(
                    fd,
                    (&mut byte as *mut u8).cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            // 0 is the end of the stream: also something the reader has yet to read.
            n >= 0
        }
        #[cfg(not(unix))]
        false
    }

    /// Whether the client sent bytes the server has not finished handling: read and in hand,
    /// or still in the kernel's queue.
    pub fn unhandled(&self) -> bool {
        // Asked in this order: the reader sets `in_hand` before it takes bytes off the queue,
        // so bytes are always seen in one place or the other.
        self.in_hand.load(Ordering::SeqCst) || self.waiting()
    }

    /// [`SocketInput::unhandled`], and when true, `notify` is called once those bytes are
    /// handled (the reader found the socket empty after them, or the stream ended).
    pub fn unhandled_or_notify(&self, notify: &InputNotify) -> bool {
        if !self.unhandled() {
            return false;
        }
        *self.notify.lock() = Some(notify.clone());
        self.watched.store(true, Ordering::SeqCst);
        // Asked again after the flag is up: the reader clears `in_hand` before it looks at the
        // flag, so either this sees the bytes handled or the reader sees the flag.
        if self.unhandled() {
            return true;
        }
        self.watched.store(false, Ordering::SeqCst);
        self.notify.lock().take();
        false
    }

    /// Whether any of `inputs` has bytes its server has not finished handling; when true,
    /// `notify` is called once those of one of them are handled. The kernel is asked about
    /// all the sockets in one system call.
    pub fn any_unhandled(inputs: &[InputWaiting], notify: &InputNotify) -> bool {
        if inputs
            .iter()
            .any(|i| i.in_hand.load(Ordering::SeqCst) && i.unhandled_or_notify(notify))
        {
            return true;
        }
        #[cfg(unix)]
        {
            let readable = {
                // Held across the poll: no descriptor is closed (and its number reused) under it.
                let fds: Vec<_> = inputs.iter().map(|i| i.fd.read()).collect();
                let mut polled: Vec<libc::pollfd> = fds
                    .iter()
                    .map(|fd| libc::pollfd {
                        // A negative descriptor is skipped by poll.
                        fd: fd.unwrap_or(-1),
                        events: libc::POLLIN,
                        revents: 0,
                    })
                    .collect();
                // SAFETY: `polled` is a valid array of its length; a timeout of 0 never blocks.
                let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, 0) };
                if n <= 0 {
                    return false;
                }
                polled.iter().position(|p| p.revents != 0)
            };
            // Asked again one by one (and watched) outside the locks.
            if let Some(first) = readable {
                return inputs[first..]
                    .iter()
                    .any(|i| i.unhandled_or_notify(notify));
            }
            false
        }
        #[cfg(not(unix))]
        false
    }

    /// The reader found the socket empty: everything it read is handled.
    fn handled(&self) {
        self.in_hand.store(false, Ordering::SeqCst);
        if self.watched.load(Ordering::SeqCst) {
            self.watched.store(false, Ordering::SeqCst);
            let notify = self.notify.lock().take();
            if let Some(notify) = notify {
                notify();
            }
        }
    }
}

/// A socket stream that keeps its [`SocketInput`] current.
pub struct ReadTracked<S> {
    inner: S,
    input: InputWaiting,
}

impl<S> ReadTracked<S> {
    /// Wraps `inner`; its descriptor is asked about until the wrapper is dropped.
    #[cfg(unix)]
    pub fn new(inner: S) -> (ReadTracked<S>, InputWaiting)
    where
        S: std::os::fd::AsRawFd,
    {
        let input = Arc::new(SocketInput {
            in_hand: AtomicBool::new(false),
            fd: RwLock::new(Some(inner.as_raw_fd())),
            watched: AtomicBool::new(false),
            notify: Mutex::new(None),
        });
        (
            ReadTracked {
                inner,
                input: input.clone(),
            },
            input,
        )
    }
}

impl<S> Drop for ReadTracked<S> {
    fn drop(&mut self) {
        // Before `inner` (a field, dropped after this) closes the descriptor.
        #[cfg(unix)]
        {
            *self.input.fd.write() = None;
        }
        // Nothing more will be read: whoever waits for this socket's bytes waits no longer.
        self.input.handled();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadTracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.input.in_hand.store(true, Ordering::SeqCst);
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_pending() {
            // Everything read before was handled (the reader only reads again then), and the
            // queue was empty: what arrives now waits in the kernel, where `waiting` sees it.
            self.input.handled();
        }
        polled
    }
}

write_through!(ReadTracked);

#[cfg(all(test, unix))]
mod tests {
    use super::ReadTracked;
    use futures_util::FutureExt;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn reports_bytes_in_the_queue_and_in_hand_until_the_next_empty_read() {
        let (mut client, server) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        server.set_nonblocking(true).expect("nonblocking");
        let server = tokio::net::UnixStream::from_std(server).expect("register");
        let (mut tracked, input) = ReadTracked::new(server);
        assert!(!input.unhandled(), "nothing sent yet");
        client.write_all(b"xy").expect("write");
        assert!(
            input.waiting() && input.unhandled(),
            "two bytes in the queue"
        );
        let mut buf = [0u8; 2];
        tracked.read_exact(&mut buf).await.expect("read");
        assert!(!input.waiting(), "the queue is empty");
        assert!(input.unhandled(), "read, and not known to be handled");
        let notified = Arc::new(AtomicUsize::new(0));
        let count = notified.clone();
        let notify: super::InputNotify = Arc::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        });
        assert!(input.unhandled_or_notify(&notify), "still in hand");
        assert_eq!(notified.load(Ordering::SeqCst), 0);
        // A read that finds nothing means everything before it was handled.
        let mut more = [0u8; 1];
        assert!(
            tracked.read(&mut more).now_or_never().is_none(),
            "nothing more was sent"
        );
        assert!(!input.unhandled(), "handled, and nothing queued");
        assert_eq!(notified.load(Ordering::SeqCst), 1, "told once handled");
        assert!(!input.unhandled_or_notify(&notify), "nothing to wait for");
        drop(client);
        assert!(
            input.unhandled(),
            "the end of the stream is still to be read"
        );
        drop(tracked);
        assert!(!input.unhandled(), "a dropped stream has nothing to tell");
    }

    #[tokio::test]
    async fn asks_about_many_sockets_at_once() {
        let mut pairs = Vec::new();
        let mut inputs = Vec::new();
        for _ in 0..3 {
            let (client, server) = std::os::unix::net::UnixStream::pair().expect("socket pair");
            server.set_nonblocking(true).expect("nonblocking");
            let (tracked, input) =
                ReadTracked::new(tokio::net::UnixStream::from_std(server).expect("register"));
            pairs.push((client, tracked));
            inputs.push(input);
        }
        let notify: super::InputNotify = Arc::new(|| {});
        assert!(
            !super::SocketInput::any_unhandled(&inputs, &notify),
            "nothing sent"
        );
        pairs[2].0.write_all(b"x").expect("write");
        assert!(
            super::SocketInput::any_unhandled(&inputs, &notify),
            "the third has a byte"
        );
        let mut byte = [0u8; 1];
        pairs[2].1.read_exact(&mut byte).await.expect("read");
        assert!(
            super::SocketInput::any_unhandled(&inputs, &notify),
            "read, not yet handled"
        );
        assert!(pairs[2].1.read(&mut byte).now_or_never().is_none());
        assert!(
            !super::SocketInput::any_unhandled(&inputs, &notify),
            "all handled"
        );
        drop(pairs.remove(0).1);
        assert!(
            !super::SocketInput::any_unhandled(&inputs, &notify),
            "a dropped stream is skipped"
        );
    }
}
