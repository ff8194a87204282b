//! An Engine.IO server without Socket.IO: the native listener (long-polling, WebSocket, the
//! upgrade between them, heartbeats) hands each session's messages to one
//! [`SessionHandler`], which answers with [`EngineSession::send`].

use crate::engineio::session::{Message, SessionHandler};
use crate::engineio::{CloseReason, EngineConfig, EngineSession};
use crate::server::{Server, ServerConfig, ServerShared};
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use tokio::runtime::Handle;

/// An Engine.IO v4 server (and v3 with [`EngineConfig::allow_eio3`]).
///
/// ```no_run
/// use roomcast::engineio::session::{Message, SessionHandler};
/// use roomcast::engineio::{EngineServer, Frame};
/// use roomcast::{EngineConfig, EngineSession};
/// use std::sync::Arc;
///
/// struct Echo;
/// impl SessionHandler for Echo {
///     fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>) {
///         let _ = session.send(match message {
///             Message::Text(t) => Frame::message(t),
///             Message::Binary(b) => Frame::Binary(b),
///         });
///     }
///     fn on_close(&self, _: &Arc<EngineSession>, _: roomcast::engineio::CloseReason) {}
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let server = EngineServer::new(EngineConfig::default(), Arc::new(Echo));
/// server.listen("127.0.0.1:3000").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EngineServer {
    server: Server,
}

impl EngineServer {
    /// Creates a server on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime; use [`EngineServer::with_runtime`] there.
    pub fn new(config: EngineConfig, handler: Arc<dyn SessionHandler>) -> EngineServer {
        EngineServer::with_runtime(config, handler, Handle::current())
    }

    /// Creates a server whose tasks run on `runtime`.
    pub fn with_runtime(
        config: EngineConfig,
        handler: Arc<dyn SessionHandler>,
        runtime: Handle,
    ) -> EngineServer {
        let config = ServerConfig {
            engine: config,
            ..ServerConfig::default()
        };
        EngineServer {
            server: Server::build(config, runtime, Some(handler)),
        }
    }

    /// Binds the listener and serves in the background; returns the bound address.
    pub async fn listen(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<SocketAddr> {
        self.server.listen(addr).await
    }

    /// Serves on an already bound listener.
    pub fn listen_on(&self, listener: tokio::net::TcpListener) -> std::io::Result<SocketAddr> {
        self.server.listen_on(listener)
    }

    /// Closes every session ("server shutting down"), flushes and releases the ports.
    pub async fn close(&self) {
        self.server.close().await;
    }
}

/// Sits between a session and the user's handler, so the server forgets the session when it
/// closes, as the Socket.IO client does.
struct Attached {
    handler: Arc<dyn SessionHandler>,
    server: Weak<ServerShared>,
}

/// Gives a new session to the server's Engine.IO handler.
pub(crate) fn attach(
    session: &Arc<EngineSession>,
    handler: Arc<dyn SessionHandler>,
    server: &Arc<ServerShared>,
) {
    session.set_handler(Arc::new(Attached {
        handler: handler.clone(),
        server: Arc::downgrade(server),
    }));
    handler.on_open(session);
}

impl SessionHandler for Attached {
    fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>) {
        self.handler.on_message(session, message);
    }

    fn on_close(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        self.handler.on_close(session, reason);
        if let Some(server) = self.server.upgrade() {
            server.release_session(session, reason);
        }
    }
}
