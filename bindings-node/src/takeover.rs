//! WebSocket upgrades of an attached Node `http.Server`, taken over: JavaScript hands the
//! socket's file descriptor (and the bytes Node read past the request head); the core keeps
//! a duplicate of it and runs the connection on tokio exactly as the native listener does, so
//! frames never cross into JavaScript. JavaScript then closes its own descriptor — the
//! duplicate keeps the connection open.
//!
//! Only plain TCP and Unix stream sockets qualify: a TLS connection's bytes are encrypted by
//! Node's TLS layer, whose state cannot move to another process's or library's TLS stack.

use crate::http::RequestHead;
use crate::runtime;
use crate::server::NativeServer;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use std::sync::atomic::Ordering;

#[napi]
impl NativeServer {
    /// Takes over the upgrade request of the attached `http.Server` on descriptor `fd`: the
    /// core duplicates it, writes the 101 (or the refusal) and runs the WebSocket. JavaScript
    /// must then close its socket without writing to it or shutting it down. Throws (and
    /// keeps nothing) when the descriptor is not a stream socket the core can run; JavaScript
    /// then pipes the socket's bytes instead (`openWebSocket`).
    #[napi]
    pub fn take_over_web_socket(
        &self,
        fd: i32,
        request: RequestHead,
        head: Option<Buffer>,
    ) -> napi::Result<()> {
        let rt = runtime::get()?;
        let parts = request.parts()?;
        let remote = request.remote();
        let stream = {
            // Registering with tokio's reactor needs the runtime's context.
            let _entered = rt.enter();
            imp::adopt(fd).map_err(|e| {
                napi::Error::from_reason(format!(
                    "roomcast: cannot take over the WebSocket's descriptor {fd}: {e}"
                ))
            })?
        };
        let head = head
            .filter(|h| !h.is_empty())
            .map(|h| bytes::Bytes::copy_from_slice(&h));
        self.run_taken_over(rt, stream, parts, remote, head);
        Ok(())
    }
}

impl NativeServer {
    /// Runs a taken-over WebSocket upgrade on the runtime, as the native listener would.
    pub(crate) fn run_taken_over(
        &self,
        rt: &tokio::runtime::Runtime,
        stream: imp::Adopted,
        parts: http::request::Parts,
        remote: Option<std::net::SocketAddr>,
        head: Option<bytes::Bytes>,
    ) {
        let shared = self.shared.clone();
        shared.taken_over.fetch_add(1, Ordering::Relaxed);
        // Counted as in flight so that closing waits (boundedly) for its close handshake.
        let exchange = shared.in_flight.begin();
        rt.spawn(async move {
            let _exchange = exchange;
            match stream {
                #[cfg(unix)]
                imp::Adopted::Tcp(s) if imp::runs_in_wake_order() => {
                    // Watched for reading only, as on the native listener: the clients of an
                    // attached server are then read in the order their frames came too.
                    match roomcast::engineio::ReadOrderedStream::new(s) {
                        Ok(s) => {
                            let (s, input) = imp::tracked(s);
                            shared
                                .io
                                .serve_websocket_socket(
                                    parts,
                                    remote,
                                    Prefixed::new(head, s),
                                    input,
                                )
                                .await
                        }
                        Err(e) => tracing::warn!(
                            "roomcast: could not register a taken-over WebSocket: {e}"
                        ),
                    }
                }
                imp::Adopted::Tcp(s) => {
                    let (s, input) = imp::tracked(s);
                    shared
                        .io
                        .serve_websocket_socket(parts, remote, Prefixed::new(head, s), input)
                        .await
                }
                imp::Adopted::Unix(s) => {
                    let (s, input) = imp::tracked(s);
                    shared
                        .io
                        .serve_websocket_socket(parts, remote, Prefixed::new(head, s), input)
                        .await
                }
            }
        });
    }
}

#[cfg(unix)]
pub(crate) mod imp {
    use std::io;
    use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

    pub enum Adopted {
        Tcp(tokio::net::TcpStream),
        Unix(tokio::net::UnixStream),
    }

    /// Whether the runtime runs tasks in the order they were woken (the ordered scheduler, a
    /// current-thread runtime).
    pub fn runs_in_wake_order() -> bool {
        tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread
    }

    /// A duplicate of `fd` as a tokio stream (inside the runtime's context).
    pub fn adopt(fd: RawFd) -> io::Result<Adopted> {
        if fd < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no descriptor"));
        }
        // SAFETY: JavaScript passes the descriptor of a socket it holds open for the whole
        // call; it is only borrowed to duplicate it (close-on-exec).
        let owned: OwnedFd = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?;
        let kind = socket_kind(&owned)?;
        let raw = owned.into_raw_fd();
        match kind {
            Kind::Tcp => {
                // SAFETY: `raw` is the duplicate made above, owned by nobody else now.
                let s = unsafe { std::net::TcpStream::from_raw_fd(raw) };
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                Ok(Adopted::Tcp(tokio::net::TcpStream::from_std(s)?))
            }
            Kind::Unix => {
                // SAFETY: as above.
                let s = unsafe { std::os::unix::net::UnixStream::from_raw_fd(raw) };
                s.set_nonblocking(true)?;
                Ok(Adopted::Unix(tokio::net::UnixStream::from_std(s)?))
            }
        }
    }

    /// Copies the bytes waiting on `fd` into `buf` without taking them off the socket;
    /// `WouldBlock` when none have arrived yet.
    pub fn peek(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a valid out-buffer of its length; MSG_PEEK leaves the bytes queued.
        let n = unsafe {
            libc::recv(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Takes the first `n` bytes off the stream, which a `peek` showed were all queued.
    pub fn discard(stream: &Adopted, mut n: usize) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let fd = match stream {
            Adopted::Tcp(s) => s.as_raw_fd(),
            Adopted::Unix(s) => s.as_raw_fd(),
        };
        let mut sink = [0u8; 4096];
        while n > 0 {
            let want = n.min(sink.len());
            // SAFETY: `sink` is a valid out-buffer of at least `want` bytes.
            let got = unsafe { libc::recv(fd, sink.as_mut_ptr().cast(), want, libc::MSG_DONTWAIT) };
            if got < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            n -= got as usize;
        }
        Ok(())
    }

    /// The peer of a TCP connection (a Unix socket has none worth reporting).
    pub fn peer(stream: &Adopted) -> Option<std::net::SocketAddr> {
        match stream {
            Adopted::Tcp(s) => s.peer_addr().ok(),
            Adopted::Unix(_) => None,
        }
    }

    /// The stream, reporting what its client sent and the core has not handled yet: the
    /// long-polling requests of a session reach the core through Node's event loop, which can
    /// read one before tokio's reactor has reported the bytes the client sent earlier on this
    /// WebSocket, and the event dispatcher asks whether a client sent more behind an event
    /// (see `roomcast::InputWaiting`).
    pub fn tracked<S: std::os::fd::AsRawFd>(
        stream: S,
    ) -> (roomcast::ReadTracked<S>, Option<roomcast::InputWaiting>) {
        let (stream, input) = roomcast::ReadTracked::new(stream);
        (stream, Some(input))
    }

    enum Kind {
        Tcp,
        Unix,
    }

    fn socket_kind(fd: &OwnedFd) -> io::Result<Kind> {
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        let mut ty: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid descriptor, and out-pointers to properly sized locals.
        let rc = unsafe {
            libc::getsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut ty as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if ty != libc::SOCK_STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a stream socket",
            ));
        }
        // SAFETY: zeroed sockaddr_storage is a valid out-buffer for getsockname.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut alen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockname(
                raw,
                (&mut addr as *mut libc::sockaddr_storage).cast(),
                &mut alen,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        match addr.ss_family as libc::c_int {
            libc::AF_INET | libc::AF_INET6 => Ok(Kind::Tcp),
            libc::AF_UNIX => Ok(Kind::Unix),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "neither a TCP nor a Unix socket",
            )),
        }
    }
}

#[cfg(not(unix))]
pub(crate) mod imp {
    use std::io;

    pub enum Adopted {
        Tcp(tokio::net::TcpStream),
        Unix(tokio::io::DuplexStream),
    }

    pub fn tracked<S>(stream: S) -> (S, Option<roomcast::InputWaiting>) {
        (stream, None)
    }

    pub fn peek(_fd: i32, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub fn discard(_stream: &Adopted, _n: usize) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub fn peer(_stream: &Adopted) -> Option<std::net::SocketAddr> {
        None
    }

    pub fn adopt(_fd: i32) -> io::Result<Adopted> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "taking over sockets is implemented on Unix only",
        ))
    }
}

/// A stream whose first reads return the bytes Node had already read past the request head.
struct Prefixed<T> {
    head: Option<bytes::Bytes>,
    inner: T,
}

impl<T> Prefixed<T> {
    fn new(head: Option<bytes::Bytes>, inner: T) -> Self {
        Prefixed { head, inner }
    }
}

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(head) = self.head.as_mut() {
            let n = head.len().min(buf.remaining());
            buf.put_slice(&head.split_to(n));
            if head.is_empty() {
                self.head = None;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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
