//! Connections of a host's TLS server (Node's `https.Server`) taken over as they are
//! accepted, before the host's TLS layer reads them. A TLS session cannot move between
//! processes' TLS stacks once it has started, so the engine terminates TLS on every such
//! connection itself and then looks at the first request: a WebSocket upgrade of the
//! engine's path runs here as on the native listener; anything else goes back to the host as
//! plaintext on one end of a local socket pair, the engine moving bytes between the other end
//! and the TLS connection.

use super::adopted::{AdoptedSocket, Prefixed};
use super::request_head::{FirstRequest, MAX_HEAD_BYTES};
use super::tls::{TlsSessionInfo, TlsSettings, TlsStream};
use crate::server::EngineServer;
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What became of a TLS connection the engine took over.
pub enum AdoptedTls {
    /// Its first request upgraded to a WebSocket of the engine's path: spawn this future,
    /// which writes the 101 and runs the connection until it ends.
    WebSocket(Pin<Box<dyn Future<Output = ()> + Send + 'static>>),
    /// Anything else, for the host to serve.
    HandBack(HandedBack),
    /// The handshake failed, or the client left before a request.
    Closed,
}

/// A connection's plaintext, handed back to the host's HTTP server.
pub struct HandedBack {
    /// The host's end of the socket pair: the client's bytes (from its first request on)
    /// arrive here, and what the host writes goes to the client encrypted. Blocking mode;
    /// the host's event loop sets its own.
    pub socket: std::os::unix::net::UnixStream,
    pub remote: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub session: TlsSessionInfo,
}

impl EngineServer {
    /// Terminates TLS on `socket` and routes its first request (see the module docs). Call
    /// it within the runtime's context: the bytes of a handed-back connection are moved on a
    /// task of their own, which ends when either side closes.
    pub async fn serve_adopted_tls(self, socket: AdoptedSocket, tls: TlsSettings) -> AdoptedTls {
        let remote = socket.peer_addr();
        let local = socket.local_addr();
        match socket {
            AdoptedSocket::Tcp(s) => route(self, s, &tls, remote, local).await,
            AdoptedSocket::Unix(s) => route(self, s, &tls, remote, local).await,
        }
    }
}

async fn route<S>(
    server: EngineServer,
    stream: S,
    tls: &TlsSettings,
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
) -> AdoptedTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stream = match tls.accept(stream).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::debug!(error = %e, ?remote, "TLS handshake failed");
            return AdoptedTls::Closed;
        }
    };
    // A client that keeps its connection open without a request (a browser's preconnect) is
    // handed to the host once the handshake timeout has passed again: the host's own timeouts
    // then apply.
    let deadline = tokio::time::Instant::now() + tls.handshake_timeout();
    let mut read = BytesMut::with_capacity(4096);
    loop {
        match server.first_request(&read) {
            FirstRequest::Upgrade {
                mut parts,
                head_len,
            } => {
                parts.extensions.insert(crate::handshake::Encrypted);
                let rest = read.split_off(head_len).freeze();
                let rest = (!rest.is_empty()).then_some(rest);
                let io = Prefixed::new(rest, stream);
                // The 101 is written here, so the WebSocket's future holds only what the
                // connection runs with: a future that also answered the upgrade would keep
                // room for its arguments, the TLS stream among them (over 1 KiB).
                return match server.accept_websocket_io(parts, remote, io, None).await {
                    Some((io, deflate, opening)) => AdoptedTls::WebSocket(Box::pin(
                        super::websocket::run_upgraded(io, deflate, opening),
                    )),
                    None => AdoptedTls::Closed,
                };
            }
            FirstRequest::Other => break,
            FirstRequest::Partial if read.len() >= MAX_HEAD_BYTES => break,
            FirstRequest::Partial => {}
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut read)).await {
            Ok(Ok(0)) if read.is_empty() => return AdoptedTls::Closed,
            // Half a request and then the end: the host answers it as it would.
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return AdoptedTls::Closed,
            Err(_) => break,
        }
    }
    hand_back(stream, read.freeze(), remote, local)
}

fn hand_back<S>(
    stream: TlsStream<S>,
    read: Bytes,
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
) -> AdoptedTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let session = TlsSessionInfo::of(&stream);
    let pair = std::os::unix::net::UnixStream::pair().and_then(|(host, engine)| {
        engine.set_nonblocking(true)?;
        Ok((host, tokio::net::UnixStream::from_std(engine)?))
    });
    let (host, engine) = match pair {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(error = %e, "roomcast: no socket pair to hand a TLS connection back");
            return AdoptedTls::Closed;
        }
    };
    tokio::spawn(relay(stream, engine, read));
    AdoptedTls::HandBack(HandedBack {
        socket: host,
        remote,
        local,
        session,
    })
}

/// Moves bytes between the client's TLS connection and the host's end of the pair, starting
/// with what was read while looking for the first request.
async fn relay<S>(mut tls: TlsStream<S>, mut host: tokio::net::UnixStream, read: Bytes)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if !read.is_empty() && host.write_all(&read).await.is_err() {
        return;
    }
    // Either side's end or error ends the connection; nothing is left to report.
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut host).await;
}
