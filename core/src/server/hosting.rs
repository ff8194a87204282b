//! The host-driven transports of [`Server`]: a host's own HTTP server (Node's `http.Server`,
//! ASGI, WSGI) hands requests and upgraded connections to the Engine.IO server under it.

use super::Server;
use crate::transport::external::{InputWaiting, WebSocketChannel};
use bytes::Bytes;
use std::future::Future;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

impl Server {
    /// Whether a request path belongs to the Socket.IO server (its path, or the client bundle).
    pub fn handles_path(&self, path: &str) -> bool {
        self.engine().handles_path(path)
    }

    /// Answers one HTTP request of the Socket.IO path: see
    /// [`crate::EngineServer::handle_http`].
    pub async fn handle_http(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        body: Bytes,
    ) -> Option<http::Response<Bytes>> {
        self.engine().handle_http(parts, remote, body).await
    }

    /// [`Server::handle_http`] with a body that may still be arriving: see
    /// [`crate::EngineServer::handle_http_streaming`].
    pub async fn handle_http_streaming<B>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        body: B,
    ) -> Option<http::Response<Bytes>>
    where
        B: hyper::body::Body,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        self.engine()
            .handle_http_streaming(parts, remote, body)
            .await
    }

    /// Takes over the byte stream of a WebSocket upgrade request: see
    /// [`crate::EngineServer::serve_websocket_io`].
    pub fn serve_websocket_io<IO>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        io: IO,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.engine().serve_websocket_io(parts, remote, io)
    }

    /// [`Server::serve_websocket_io`] for a socket the host can peek at: see
    /// [`crate::EngineServer::serve_websocket_socket`].
    pub fn serve_websocket_socket<IO>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        io: IO,
        input_waiting: Option<InputWaiting>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.engine()
            .clone()
            .serve_websocket_socket(parts, remote, io, input_waiting)
    }

    /// Serves a WebSocket upgrade on a socket the host handed over by descriptor: see
    /// [`crate::EngineServer::serve_adopted_websocket`]. The socket is registered with this
    /// server's runtime here, from any thread; spawn the future on that runtime.
    pub fn serve_adopted_websocket(
        &self,
        socket: crate::engineio::AdoptedSocket,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        head: Option<Bytes>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let _entered = self.runtime().enter();
        self.engine()
            .serve_adopted_websocket(socket, parts, remote, head)
    }

    /// Opens a message-level WebSocket for a host that does the framing itself (ASGI): see
    /// [`crate::EngineServer::open_websocket`].
    pub fn open_websocket(
        &self,
        parts: &http::request::Parts,
        remote: Option<SocketAddr>,
    ) -> Result<WebSocketChannel, u16> {
        self.engine().open_websocket(parts, remote)
    }
}
