//! Connected sockets a host hands over by descriptor: an attached Node `http.Server`'s WebSocket
//! upgrades, and the WebSockets an ASGI server such as uvicorn accepted. The engine keeps a
//! duplicate of the descriptor and runs the connection exactly as its own listener would, so
//! frames never cross into the host's language; the host then closes its own descriptor
//! without writing to it or shutting it down (the duplicate keeps the connection open).
//!
//! Only plain TCP and Unix stream sockets qualify: a TLS connection's records are encrypted
//! with keys and sequence numbers that live in the host's TLS layer. A host TLS server's
//! connections can instead be taken before its handshake, for the engine to terminate TLS
//! itself (`adopted_tls.rs`).

use crate::server::EngineServer;
use crate::transport::input_waiting::ReadTracked;
use bytes::Bytes;
#[cfg(unix)]
use futures_util::future::Either;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A duplicate of a host's connected socket, registered with the runtime's reactor.
#[cfg(unix)]
pub enum AdoptedSocket {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// Descriptors cannot be handed over on this platform: [`AdoptedSocket::duplicate`] always
/// fails, so the host keeps the connection.
#[cfg(not(unix))]
pub enum AdoptedSocket {}

impl AdoptedSocket {
    /// Duplicates the host's descriptor `fd` (close-on-exec) and registers the duplicate with
    /// the current runtime's reactor: call it inside the runtime's context. The host must keep
    /// `fd` open for the call. Fails, keeping nothing, when `fd` is not a connected TCP or Unix
    /// stream socket.
    pub fn duplicate(fd: i32) -> io::Result<AdoptedSocket> {
        Duplicate::of(fd)?.register()
    }

    /// The peer of a TCP connection (a Unix socket's is not worth reporting).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        imp::peer_addr(self)
    }

    /// This end's address of a TCP connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        imp::local_addr(self)
    }

    /// Takes the first `n` bytes off the socket, which a [`peek`] showed were all queued.
    pub fn discard(&self, n: usize) -> io::Result<()> {
        imp::discard(self, n)
    }
}

/// A duplicate of a host's connected socket not yet registered with a runtime: made on the
/// host's thread while it still holds the descriptor, registered later on a runtime thread
/// ([`Duplicate::register`]). What the registration allocates then comes from that thread's
/// allocator arena, beside the connection's other long-lived state, rather than from the
/// host's, where it would pin pages among the host's short-lived allocations.
pub struct Duplicate(imp::Duplicate);

impl Duplicate {
    /// Duplicates `fd` (close-on-exec); the host must keep `fd` open for the call. Fails,
    /// keeping nothing, when `fd` is not a connected TCP or Unix stream socket.
    pub fn of(fd: i32) -> io::Result<Duplicate> {
        imp::duplicate(fd).map(Duplicate)
    }

    /// Registers the duplicate with the current runtime's reactor: call it inside the
    /// runtime's context.
    pub fn register(self) -> io::Result<AdoptedSocket> {
        imp::register(self.0)
    }
}

/// Copies the bytes waiting on the host's descriptor `fd` into `buf` without taking them off
/// the socket; `WouldBlock` when none have arrived yet.
pub fn peek(fd: i32, buf: &mut [u8]) -> io::Result<usize> {
    imp::peek(fd, buf)
}

impl EngineServer {
    /// Serves a WebSocket upgrade request whose head the host parsed, on a socket it handed
    /// over: the returned future writes the 101 (or the refusal) and runs the connection until
    /// it ends. `head` is what the host had read past the request head (the client's first
    /// frames, if any). Call it within the runtime's context (the socket is registered with
    /// its reactor now), then spawn the future.
    ///
    /// On a current-thread runtime the socket is watched for reading only
    /// ([`crate::ReadOrderedStream`]), as the native listener's are there, so the clients of
    /// a host are read in the order their frames came. The socket reports what its client
    /// sent and the engine has not handled yet ([`crate::SocketInput`]).
    ///
    /// Not an `async fn`: the future is the WebSocket's own, chosen here for the socket's
    /// kind, so a connection's task holds no second copy of the request and the socket (an
    /// `async` wrapper keeps its arguments beside the future it awaits: about 1 KiB more
    /// per connection).
    pub fn serve_adopted_websocket(
        &self,
        socket: AdoptedSocket,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        head: Option<Bytes>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let head = head.filter(|h| !h.is_empty());
        #[cfg(unix)]
        {
            let server = self.clone();
            match socket {
                AdoptedSocket::Tcp(s) if imp::runs_in_wake_order() => {
                    match crate::ReadOrderedStream::new(s) {
                        Ok(s) => Either::Left(server.serve_adopted_stream(parts, remote, head, s)),
                        Err(e) => {
                            tracing::warn!(
                                "roomcast: could not register a taken-over WebSocket: {e}"
                            );
                            Either::Right(Either::Right(std::future::ready(())))
                        }
                    }
                }
                AdoptedSocket::Tcp(s) => Either::Right(Either::Left(Either::Left(
                    server.serve_adopted_stream(parts, remote, head, s),
                ))),
                AdoptedSocket::Unix(s) => Either::Right(Either::Left(Either::Right(
                    server.serve_adopted_stream(parts, remote, head, s),
                ))),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (parts, remote, head);
            let never: std::future::Ready<()> = match socket {};
            never
        }
    }

    /// The WebSocket on `stream`, its input tracked and `head` read first.
    #[cfg(unix)]
    fn serve_adopted_stream<S>(
        self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        head: Option<Bytes>,
        stream: S,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + tokio::io::AsyncWrite + std::os::fd::AsRawFd + Unpin + Send + 'static,
    {
        let (stream, input) = ReadTracked::new(stream);
        self.serve_websocket_socket(parts, remote, Prefixed::new(head, stream), Some(input))
    }
}

/// A stream whose first reads return the bytes the host had already read past the request
/// head.
pub(crate) struct Prefixed<T> {
    head: Option<Bytes>,
    inner: T,
}

impl<T> Prefixed<T> {
    pub(crate) fn new(head: Option<Bytes>, inner: T) -> Self {
        Prefixed { head, inner }
    }
}

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

write_through!(Prefixed);

#[cfg(unix)]
mod imp {
    use super::AdoptedSocket;
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

    /// Whether the runtime runs tasks in the order they were woken (a current-thread runtime).
    pub fn runs_in_wake_order() -> bool {
        tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread
    }

    pub struct Duplicate {
        fd: OwnedFd,
        kind: Kind,
    }

    pub fn duplicate(fd: RawFd) -> io::Result<Duplicate> {
        if fd < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no descriptor"));
        }
        // SAFETY: the host holds `fd` open for the whole call; it is only borrowed to
        // duplicate it (the duplicate is close-on-exec).
        let owned: OwnedFd = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?;
        let kind = socket_kind(&owned)?;
        Ok(Duplicate { fd: owned, kind })
    }

    pub fn register(duplicate: Duplicate) -> io::Result<AdoptedSocket> {
        let Duplicate { fd: owned, kind } = duplicate;
        let raw = owned.into_raw_fd();
        match kind {
            Kind::Tcp => {
                // SAFETY: `raw` is the duplicate made above, owned by nobody else now.
                let s = unsafe { std::net::TcpStream::from_raw_fd(raw) };
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                Ok(AdoptedSocket::Tcp(tokio::net::TcpStream::from_std(s)?))
            }
            Kind::Unix => {
                // SAFETY: as above.
                let s = unsafe { std::os::unix::net::UnixStream::from_raw_fd(raw) };
                s.set_nonblocking(true)?;
                Ok(AdoptedSocket::Unix(tokio::net::UnixStream::from_std(s)?))
            }
        }
    }

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

    pub fn discard(socket: &AdoptedSocket, mut n: usize) -> io::Result<()> {
        let fd = match socket {
            AdoptedSocket::Tcp(s) => s.as_raw_fd(),
            AdoptedSocket::Unix(s) => s.as_raw_fd(),
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

    pub fn peer_addr(socket: &AdoptedSocket) -> Option<SocketAddr> {
        match socket {
            AdoptedSocket::Tcp(s) => s.peer_addr().ok(),
            AdoptedSocket::Unix(_) => None,
        }
    }

    pub fn local_addr(socket: &AdoptedSocket) -> Option<SocketAddr> {
        match socket {
            AdoptedSocket::Tcp(s) => s.local_addr().ok(),
            AdoptedSocket::Unix(_) => None,
        }
    }

    enum Kind {
        Tcp,
        Unix,
    }

    fn socket_kind(fd: &OwnedFd) -> io::Result<Kind> {
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
        // SAFETY: as above.
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
mod imp {
    use super::AdoptedSocket;
    use std::io;
    use std::net::SocketAddr;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "taking over sockets is implemented on Unix only",
        )
    }

    pub enum Duplicate {}

    pub fn duplicate(_fd: i32) -> io::Result<Duplicate> {
        Err(unsupported())
    }

    pub fn register(duplicate: Duplicate) -> io::Result<AdoptedSocket> {
        match duplicate {}
    }

    pub fn peek(_fd: i32, _buf: &mut [u8]) -> io::Result<usize> {
        Err(unsupported())
    }

    pub fn discard(socket: &AdoptedSocket, _n: usize) -> io::Result<()> {
        match *socket {}
    }

    pub fn peer_addr(socket: &AdoptedSocket) -> Option<SocketAddr> {
        match *socket {}
    }

    pub fn local_addr(socket: &AdoptedSocket) -> Option<SocketAddr> {
        match *socket {}
    }
}
